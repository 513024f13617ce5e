"""What the cash application workpaper shows and leaves behind.

- :func:`proposal_table`: one line per proposed application, numbered per entity, with the rule,
  confidence and reason; :func:`upload` is the same in the contract's ``applications`` layout
  (``cash_application.csv``, amounts as decimal text in the source's currency) for the ERP.
- :func:`adjustment_table`: the bank charges and short-pays proposed with the tolerance rule.
- :func:`by_rule`: sources, lines and amount per entity and rule, and what stays unmatched.
- :func:`worklist`: what stays unmatched, aged, with the best candidates.
- :func:`age_table` and :func:`age_chart`: unapplied cash by age before and after the proposals.
- :func:`entity_figures` and :func:`conclusion`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.cashapp.candidates import RECEIPT, money_text
from closelib.areas.cashapp.match import RULE_TEXT, RULES, Proposals
from closelib.book.fx import translate
from closelib.nb.excel import Sheet, write_workbook
from closelib.nb.excelcover import Cover
from closelib.nb.markup import md
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure

AGE_BOUNDS = (30, 60, 90, 180)  # the unapplied cash bands of the reconciliation and collections
UPLOAD_COLUMNS = ["application_id", "applied_date", "source_id", "target_id", "amount"]
CANDIDATES_SHOWN = 3
NO_DOCUMENT = "the customer has no open document"
NO_NAME = "no payer name to compare"


def age_labels() -> list[str]:
    return (
        [f"0-{AGE_BOUNDS[0]} days"]
        + [f"{a + 1}-{b} days" for a, b in itertools.pairwise(AGE_BOUNDS)]
        + [f"over {AGE_BOUNDS[-1]} days"]
    )


def age_band(days: pd.Series) -> pd.Categorical[str]:
    codes = np.searchsorted(np.asarray(AGE_BOUNDS), days.to_numpy(dtype="int64"), side="left")
    return pd.Categorical.from_codes(codes, categories=pd.Index(age_labels()), ordered=True)


def proposal_table(result: Proposals, period: Period) -> pd.DataFrame:
    """Proposed applications, entity by entity and source by source in rule order, numbered per entity
    (``CA-<entity>-<period>-000001``) and dated at the period end."""
    lines = result.lines.sort_values(["src", "tgt"], kind="stable")
    src = lines["src"].to_numpy(dtype="int64")
    tgt = lines["tgt"].to_numpy(dtype="int64")
    s, t = result.sources, result.targets
    table = pd.DataFrame(
        {
            "entity": s["entity"].to_numpy()[src],
            "source_id": s["source_id"].to_numpy()[src],
            "source_kind": s["source_kind"].to_numpy()[src],
            "source_date": s["date"].to_numpy()[src],
            "customer_id": t["customer_id"].to_numpy()[tgt],
            "target_id": t["document_id"].to_numpy()[tgt],
            "due_date": t["due_date"].to_numpy()[tgt],
            "currency": s["currency"].to_numpy()[src],
            "amount": lines["amount"].to_numpy(dtype="int64"),
            "rule": lines["rule"].to_numpy(),
            "confidence": lines["confidence"].to_numpy(dtype="float64").round(2),
            "reason": lines["reason"].to_numpy(),
        }
    )
    table = table.sort_values("entity", kind="stable", ignore_index=True)  # per entity, sources in rule order
    number = table.groupby("entity", sort=False).cumcount() + 1
    table.insert(0, "application_id", "CA-" + table["entity"] + f"-{period}-" + number.map("{:06d}".format))
    table.insert(1, "applied_date", period.end.strftime("%Y-%m-%d"))
    return table.reset_index(drop=True)


def upload(proposals: pd.DataFrame) -> pd.DataFrame:
    """The proposals in the contract's ``applications`` layout, amounts as exact decimal text."""
    frame = proposals[UPLOAD_COLUMNS].copy()
    frame["amount"] = money.format_minor_array(proposals["amount"], proposals["currency"]).to_numpy()
    return frame


def write_upload(path: Path, proposals: pd.DataFrame) -> Path:
    """``cash_application.csv``: the header even when nothing is proposed."""
    upload(proposals).to_csv(path, index=False, lineterminator="\n")
    return path


def adjustment_table(result: Proposals) -> pd.DataFrame:
    adj = result.adjustments
    src = adj["src"].to_numpy(dtype="int64")
    tgt = adj["tgt"].to_numpy(dtype="int64")
    s, t = result.sources, result.targets
    reason = np.where(
        adj["kind"].to_numpy() == "bank charge",
        "the payer's bank kept its fee: write off to bank charges",
        "paid short: agree with the customer, then claim or write off",
    )
    return pd.DataFrame(
        {
            "entity": s["entity"].to_numpy()[src],
            "source_id": s["source_id"].to_numpy()[src],
            "customer_id": t["customer_id"].to_numpy()[tgt],
            "document_id": t["document_id"].to_numpy()[tgt],
            "currency": t["currency"].to_numpy()[tgt],
            "amount": adj["amount"].to_numpy(dtype="int64"),
            "kind": adj["kind"].to_numpy(),
            "reason": reason,
        }
    )


def by_rule(result: Proposals, proposals: pd.DataFrame) -> pd.DataFrame:
    """Per entity and currency: sources, lines and amount by rule, then what stays unmatched."""
    kinds = pd.Series(result.sources["source_kind"].to_numpy(), index=result.sources["source_id"])
    rows = proposals.assign(source_kind=proposals["source_id"].map(kinds))
    grouped = (
        rows.groupby(["entity", "currency", "rule"], sort=False)
        .agg(sources=("source_id", "nunique"), lines=("amount", "size"), amount=("amount", "sum"))
        .reset_index()
    )
    left = result.sources[result.sources["remaining"] > 0]
    unmatched = (
        left.groupby(["entity", "currency"], sort=False)
        .agg(sources=("source_id", "size"), amount=("remaining", "sum"))
        .reset_index()
        .assign(rule="unmatched", lines=0)
    )
    table = pd.concat([grouped, unmatched], ignore_index=True)
    order = {rule: i for i, rule in enumerate([*RULES, "unmatched"])}
    table = table.sort_values(["entity", "currency", "rule"], key=lambda c: c.map(order) if c.name == "rule" else c)
    table["what"] = table["rule"].map({**RULE_TEXT, "unmatched": "left for the worklist"})
    table["amount"] = table["amount"].astype("int64")
    return table[["entity", "currency", "rule", "what", "sources", "lines", "amount"]].reset_index(drop=True)


def nearest_documents(left: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """For each source, the customer's open document nearest in amount at or below what is left
    and the nearest above (``source_id``, ``document_id``, ``currency``, ``open``): two sorted
    as-of joins, so a customer with thousands of open items costs no more than one with two."""
    keys = ["entity", "currency", "customer_id"]
    wanted = left[["source_id", *keys, "remaining"]].sort_values("remaining", kind="stable")
    owed = docs[[*keys, "document_id", "remaining"]].rename(columns={"remaining": "open"})
    owed = owed.sort_values("open", kind="stable")
    below = pd.merge_asof(wanted, owed, left_on="remaining", right_on="open", by=keys, direction="backward")
    above = pd.merge_asof(
        wanted, owed, left_on="remaining", right_on="open", by=keys, direction="forward", allow_exact_matches=False
    )
    found = [below, above]
    near = pd.concat(found, ignore_index=True).dropna(subset=["document_id"])
    near["open"] = near["open"].astype("int64")
    near["gap"] = (near["open"] - near["remaining"]).abs()
    return near.sort_values(["source_id", "gap", "document_id"], kind="stable")[
        ["source_id", "document_id", "currency", "open"]
    ]


def worklist(result: Proposals) -> pd.DataFrame:
    """Sources left (wholly or partly) unmatched, oldest first, with their best candidates:
    the customer's open documents nearest in amount (below and above), or for an unidentified
    receipt the customers its payer name resembles most (with the score)."""
    s = result.sources
    left = s[s["remaining"] > 0].copy()
    left["age"] = age_band(left["age_days"])
    near = nearest_documents(left[left["customer_id"] != ""], result.targets[result.targets["remaining"] > 0])
    near["text"] = near["document_id"] + " (" + money_text(near["open"], near["currency"]).to_numpy() + " open)"
    documents = near.groupby("source_id", sort=False)["text"].agg("; ".join)
    names = result.name_candidates.copy()
    names["source_id"] = s["source_id"].to_numpy()[names["src"].to_numpy(dtype="int64")]
    names = names.groupby("source_id", sort=False).head(CANDIDATES_SHOWN)
    names["text"] = (
        names["customer_id"]
        + " "
        + names["name"].astype(str)
        + " ("
        + names["score"].round(0).astype(int).astype(str)
        + ")"
    )
    customers = names.groupby("source_id", sort=False)["text"].agg("; ".join)
    best = left["source_id"].map(documents).astype(object)
    best = best.where(best.notna(), left["source_id"].map(customers).astype(object))
    table = pd.DataFrame(
        {
            "entity": left["entity"],
            "source_id": left["source_id"],
            "source_kind": left["source_kind"],
            "customer_id": left["customer_id"].where(left["customer_id"] != "", "(unidentified)"),
            "payer_name": left["payer_name"],
            "date": left["date"],
            "age_days": left["age_days"],
            "age": left["age"].astype(str),
            "currency": left["currency"],
            "available": left["available"],
            "unmatched": left["remaining"],
            "remittance": left["remittance"].str.slice(0, 120),
            "best_candidates": best.where(best.notna(), np.where(left["customer_id"] != "", NO_DOCUMENT, NO_NAME)),
        }
    )
    return table.sort_values(["entity", "date", "source_id"], kind="stable").reset_index(drop=True)


def age_table(result: Proposals) -> pd.DataFrame:
    """Unapplied cash (receipts) by entity and age band, before and after the proposals."""
    cash = result.sources[result.sources["source_kind"] == RECEIPT].copy()
    cash["age"] = age_band(cash["age_days"])
    table = (
        cash.groupby(["entity", "currency", "age"], observed=False)
        .agg(receipts=("source_id", "size"), before=("available", "sum"), after=("remaining", "sum"))
        .reset_index()
    )
    table = table[table["receipts"] > 0].copy()
    table["age"] = table["age"].astype(str)
    for column in ("before", "after"):
        table[column] = table[column].astype("int64")
    table["cleared"] = table["before"] - table["after"]
    return table.reset_index(drop=True)


def age_chart(table: pd.DataFrame) -> Figure:
    """Unapplied cash by age, before and after the proposals, one panel per entity and currency."""
    import matplotlib.pyplot as plt

    groups = list(table.groupby(["entity", "currency"], sort=True)) or [(("(none)", ""), table)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2), squeeze=False)
    labels = age_labels()
    for ax, ((entity, currency), part) in zip(axes[0], groups, strict=False):
        part = part.set_index("age").reindex(labels)
        x = np.arange(len(labels))
        digits = money.minor_digits(str(currency)) if currency else 0
        scale = 10**digits
        ax.bar(
            x - 0.2, part["before"].fillna(0).to_numpy(dtype="float64") / scale, 0.4, label="before", color="#9a6700"
        )
        ax.bar(x + 0.2, part["after"].fillna(0).to_numpy(dtype="float64") / scale, 0.4, label="after", color="#0969da")
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_title(f"{entity}: unapplied cash ({currency})")
        ax.legend()
    fig.tight_layout()
    return fig


def entity_figures(result: Proposals, proposals: pd.DataFrame, currency_of: dict[str, str]) -> dict[str, dict]:
    """Per entity, in its functional currency: proposed amount and count, unmatched amount, match
    rate (proposed over what was available: receipts and credit memos), and unapplied cash and
    credit memos before the proposals. A source in another currency counts at its booking rate:
    what it had available and what it has left are each translated (per line, half away from
    zero) and what is proposed from it is their difference, so available = proposed + unmatched
    holds exactly in the functional currency."""
    out: dict[str, dict] = {}
    s = result.sources
    for entity, currency in sorted(currency_of.items()):
        mine = s[s["entity"] == entity]
        rate = mine["booking_rate"].to_numpy(dtype="float64")
        available = translate(mine["available"].to_numpy(dtype="int64"), rate, mine["currency"], currency)
        remaining = translate(mine["remaining"].to_numpy(dtype="int64"), rate, mine["currency"], currency)
        receipt = (mine["source_kind"] == RECEIPT).to_numpy()
        total_available, proposed = money.total(available), money.total(available - remaining)
        out[entity] = {
            "proposed_amount": proposed,
            "proposed_count": int((proposals["entity"] == entity).sum()),
            "unmatched_amount": money.total(remaining),
            "match_rate": round(proposed / total_available, 4) if total_available else None,
            "unapplied_before": money.total(available[receipt]),
            "credit_memos_before": money.total(available[~receipt]),
            "other_currencies": int((mine["currency"] != currency).sum()),
        }
    return out


def conclusion(figures: dict[str, dict], adjustments: pd.DataFrame, problems: list[str], fmt, currency_of) -> str:
    """One paragraph per entity: what is proposed, what is left, and what the preparer does next."""
    lines = ["## Conclusion", ""]
    if problems:
        lines.append("**The proposals over-apply and must not be uploaded:** " + md("; ".join(problems)) + ".")
        lines.append("")
    for entity, f in figures.items():
        ccy = currency_of[entity]
        available = f["unapplied_before"] + f["credit_memos_before"]
        if not available:
            lines.append(
                f"- **{md(entity)}**: no unapplied cash and no open credit memo at the period end: nothing to apply."
            )
            continue
        adj = adjustments[adjustments["entity"] == entity]
        rate = f"{f['match_rate']:.1%}" if f["match_rate"] is not None else "n/a"
        text = (
            f"- **{md(entity)}**: {f['proposed_count']} application(s) of "
            f"{fmt(f['proposed_amount'], ccy)} {ccy} proposed "
            f"({rate} of the {fmt(available, ccy)} {ccy} unapplied cash and credit memos); "
            f"{fmt(f['unmatched_amount'], ccy)} {ccy} stays unmatched and is on the worklist."
        )
        if len(adj):
            text += (
                f" {len(adj)} adjustment(s) of {fmt(money.total(adj['amount']), ccy)} {ccy}"
                " (bank charges and short-pays)"
                " need approval before they are posted."
            )
        if f["other_currencies"]:
            text += (
                f" {f['other_currencies']} item(s) in other currencies count at their booking rate"
                f" (each matched in its own currency)."
            )
        lines.append(text)
    lines.append("")
    lines.append(
        "The proposals are not postings: `cash_application.csv` is uploaded to the ERP only after the preparer has "
        "reviewed the lines below the confidence the team accepts (remittance 0.8 and above is usually taken as is; "
        "amount-only and payer-name matches deserve a look), and the adjustments are approved."
    )
    return "\n".join(lines)


def write_pack(
    path: Path,
    rules: pd.DataFrame,
    proposals: pd.DataFrame,
    adjustments: pd.DataFrame,
    work: pd.DataFrame,
    period: Period,
    cover: Cover | None = None,
) -> Path:
    """``cash_application.xlsx``: summary by rule, proposals, adjustments and the worklist (text
    cells formula-safe, money in its currency's format, dated by the period end, not the clock)."""
    title = [f"Cash application proposals at {period.end.date()}"]
    sheets = [
        Sheet("Summary", rules, ["amount"], currency_column="currency", title=title),
        Sheet("Proposals", proposals, ["amount"], currency_column="currency", title=title, total=True),
        Sheet("Adjustments", adjustments, ["amount"], currency_column="currency", title=title, total=True),
        Sheet("Worklist", work, ["available", "unmatched"], currency_column="currency", title=title, total=True),
    ]
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime(), cover=cover)
