"""The write-off pack as an Excel workbook for sign-off, and its conclusion paragraph."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from closelib.nb.excel import Cover, Sheet, write_workbook
from closelib.nb.markup import md
from closelib.periods import Period


def signoff_frame(customers: pd.DataFrame, params: dict, fmt) -> pd.DataFrame:
    """One block per approver role with candidates (and the preparer's block first)."""
    wo = params["write_off"]
    rows = [
        ("Prepared by", f"role: {wo['preparer_role']}", ""),
        ("", "Name", ""),
        ("", "Signature", ""),
        ("", "Date", ""),
        ("", "", ""),
    ]
    for tier in wo["approval_matrix"]:
        mine = customers[customers["approver"] == tier["role"]]
        if mine.empty:
            continue
        amounts = "; ".join(
            f"{e} {fmt(int(g['total'].sum()), g['currency'].iloc[0])} {g['currency'].iloc[0]}"
            for e, g in mine.groupby("entity")
        )
        rows += [
            (
                f"Approved by: {tier['role']}",
                f"{len(mine)} customer(s), {int(mine['documents'].sum())} document(s): {amounts}",
                "",
            ),
            ("", "Name", ""),
            ("", "Signature", ""),
            ("", "Date", ""),
            ("", "", ""),
        ]
    rows.append(("Rule", "The preparer may not approve; each role signs only for its own tier.", ""))
    return pd.DataFrame(rows, columns=["Sign-off", "Detail", "Entry"])


def write_pack(
    path: Path,
    period: Period,
    params: dict,
    candidates: pd.DataFrame,
    held: pd.DataFrame,
    customers: pd.DataFrame,
    tiers: pd.DataFrame,
    journals: pd.DataFrame,
    recoveries: pd.DataFrame,
    evidence: dict[str, pd.DataFrame],
    currency_of,
    fmt,
    cover: Cover | None = None,
) -> Path:
    with_ccy = lambda f: f.assign(currency=f["entity"].map(currency_of)) if "currency" not in f and len(f) else f  # noqa: E731
    title = [
        f"{params['company']}: write-off pack {period}",
        f"Period end {period.end.date()}; amounts in each entity's functional currency",
    ]
    sheets = [
        Sheet(
            "Summary",
            with_ccy(tiers),
            ["total", "reserve_held"],
            currency_column="currency" if len(tiers) else None,
            title=title,
            total=True,
        ),
        Sheet("Customers", customers, ["total", "reserve_held", "pnl_effect"], currency_column="currency", total=True),
        Sheet(
            "Candidates", candidates, ["amount", "open_amount", "reserve_held"], currency_column="currency", total=True
        ),
        Sheet("Held back", held, ["amount", "open_amount"], currency_column="currency", total=True),
        Sheet(
            "Evidence - profile",
            evidence["profile"],
            ["credit_limit", "open_balance", "paid_24m"],
            currency_column="credit_currency",
        ),
        Sheet(
            "Evidence - documents", evidence["open_documents"], ["amount", "open_amount"], currency_column="currency"
        ),
        Sheet("Evidence - payments", evidence["payments"], ["amount"], currency_column="currency"),
        Sheet(
            "Evidence - activities",
            evidence["activities"],
            [c for c in ("promised_amount", "received") if c in evidence["activities"].columns],
            currency_column="currency",
        ),
        Sheet("Evidence - disputes", evidence["disputes"], ["amount"], currency_column="currency"),
        Sheet("Journals", journals, ["debit", "credit"], currency_column="currency", total=True),
        Sheet("Recoveries", recoveries, ["amount"], currency_column="currency", total=True),
        Sheet(
            "Sign-off",
            signoff_frame(customers, params, fmt),
            [],
            title=title,
            widths={"Sign-off": 34, "Detail": 70, "Entry": 40},
        ),
    ]
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime(), cover=cover)


def conclusion(
    customers: pd.DataFrame, held: pd.DataFrame, recoveries: pd.DataFrame, fmt, entities: list[str] | None = None
) -> str:
    """The closing paragraph: per entity what is proposed (an entity with none says so)."""
    entities = entities if entities is not None else sorted(set(customers["entity"]))
    if customers.empty and not entities:
        text = "No document meets the write-off criteria this period."
    else:
        parts = []
        groups = dict(tuple(customers.groupby("entity")))
        for entity in entities:
            if entity not in groups:
                held_here = int((held["entity"] == entity).sum()) if "entity" in held.columns else 0
                parts.append(
                    f"**{md(entity)}**: no write-off candidates this period"
                    + (f" ({held_here} document(s) meeting the criteria are held back)." if held_here else ".")
                )
                continue
            g = groups[entity]
            ccy = g["currency"].iloc[0]
            parts.append(
                f"**{md(entity)}**: {int(g['documents'].sum())} document(s) of {len(g)} customer(s), "
                f"{fmt(int(g['total'].sum()), ccy)} {ccy}, against which {fmt(int(g['reserve_held'].sum()), ccy)} "
                f"is already reserved, so the write-off charges {fmt(int(g['pnl_effect'].sum()), ccy)} {ccy} "
                f"more to bad-debt expense through the reserve true-up. Approvers: "
                + ", ".join(md(a) for a in sorted(set(g["approver"])))
                + "."
            )
        text = "\n\n".join(parts)
    if len(held):
        text += f"\n\n{len(held)} document(s) meeting the criteria are held back (open disputes, kept payment plans)."
    if len(recoveries):
        text += f"\n\n{len(recoveries)} recovery(ies) on written-off documents were booked in the period."
    return text
