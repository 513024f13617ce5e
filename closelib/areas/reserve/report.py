"""The reserve shown: figures, tables, the loss curve, checks, the Excel pack and the conclusion."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import pandas as pd

from closelib import money
from closelib.areas.reserve.compute import ReserveResult
from closelib.areas.reserve.customers import COLUMNS_BEFORE
from closelib.asof.aging import AgingPolicy, aging_table
from closelib.nb.charts import percent_axis
from closelib.nb.excel import Cover, Sheet, write_workbook
from closelib.nb.markup import md
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure


SUMMARY_LINES = {
    "Gross open invoices and debit memos (reserve.gross_receivables)": "gross_receivables",
    "  of which under specific reserve": "specific_gross",
    "  of which in the collective pool": "collective_gross",
    "Collective allowance (provision matrix)": "collective",
    "Forward-looking overlay": "overlay",
    "Specific reserves (reserve.specific)": "specific",
    "Allowance required (reserve.allowance_required)": "required",
    "Allowance booked in the GL (reserve.allowance_booked)": "booked",
    "True-up proposed (reserve.true_up)": "true_up",
}
FIGURES = {
    "gross_receivables": "gross_receivables",
    "collective": "collective",
    "overlay": "overlay",
    "specific": "specific",
    "allowance_required": "required",
    "allowance_booked": "booked",
    "true_up": "true_up",
}


def bucket_figures(matrix: pd.DataFrame, labels: list[str]) -> dict[str, dict[str, tuple[int, int, float]]]:
    """Per entity, per bucket label: (gross, allowance, effective rate) over its pools."""
    out: dict[str, dict[str, tuple[int, int, float]]] = {}
    for key, m in matrix.groupby(["entity", "bucket"], sort=False):
        entity, bucket = cast(tuple[str, str], key)
        gross, allowance = int(m["gross"].sum()), int(m["allowance"].sum())
        rate = float(m["loss_rate"].iloc[0]) if len(m) == 1 else (allowance / gross if gross else 0.0)
        out.setdefault(entity, {})[bucket] = (gross, allowance, round(rate, 6))
    return {e: {b: out[e][b] for b in labels if b in out[e]} for e in out}


def aging_by_bucket(aged: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Aging table per entity and pool (INV/DM and CM), bucket columns summing to the total."""
    table = aging_table(aged, ["entity", "pool"])
    return table.reindex(columns=[*labels, "total"], fill_value=0).reset_index()


def roll_matrix(rolls: pd.DataFrame, entity: str, labels: list[str]) -> pd.DataFrame:
    """Monthly roll rates (rows: transition month end; columns: bucket) for one entity, all pools."""
    mine = rolls[rolls["entity"] == entity].groupby(["month_end", "bucket"])[["exposed", "rolled"]].sum()
    rate = (mine["rolled"] / mine["exposed"].where(mine["exposed"] > 0)).unstack("bucket")
    return rate.reindex(columns=labels).round(4)


def loss_curve_chart(rates: pd.DataFrame, labels: list[str]) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    for (entity, pool), m in rates.groupby(["entity", "pool"]):
        m = m.set_index("bucket").reindex(labels)
        ax.plot(labels, m["loss_rate"].to_numpy(dtype=float) * 100, marker="o", label=f"{entity} {pool}")
    ax.set_ylabel("loss rate")
    percent_axis(ax, decimals=1)
    ax.set_title("Loss rate by aging bucket")
    if len(rates):  # an empty book has no line to label
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def booked_matches(journals: pd.DataFrame) -> bool:
    """Every proposed journal balances (debits equal credits per journal)."""
    if journals.empty:
        return True
    net = (journals["debit"] - journals["credit"]).groupby(journals["journal_id"]).sum()
    return bool((net == 0).all())


def gross_ties(aged: pd.DataFrame, matrix: pd.DataFrame, specific: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Per entity: (gross open INV/DM, matrix gross + specific gross), which must be equal."""
    receivable = aged[aged["doc_type"].isin(["INV", "DM"])].groupby("entity")["open_amount"].sum()
    parts = matrix.groupby("entity")["gross"].sum().add(specific.groupby("entity")["gross"].sum(), fill_value=0)
    entities = sorted(set(receivable.index) | set(parts.index))
    return {e: (int(receivable.get(e, 0)), int(parts.get(e, 0))) for e in entities}


def write_pack(
    res: ReserveResult,
    path: Path,
    period: Period,
    params: dict,
    backtest: pd.DataFrame | None = None,
    prior: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    cover: Cover | None = None,
) -> Path:
    """The reserve workbook: summary, aging, the customer aged listing (complete: every customer
    with open items), provision matrix, specific reserves, rates, the allowance roll-forward,
    journals, backtest, prior period and a sign-off sheet."""

    title = [
        f"{params['company']}: bad-debt reserve {period}",
        f"method {params['reserve']['method']}, "
        f"overlay x{params['reserve']['overlay']['overall']} ({params['reserve']['overlay']['reason'] or 'none'})",
    ]
    summary = res.summary.drop(columns=["collective_gross", "specific_gross"])
    money_cols = ["gross_receivables", "collective", "overlay", "specific", "required", "booked", "true_up"]
    sheets = [
        Sheet("Summary", summary, money_cols, currency_column="currency", title=title),
        Sheet(
            "Provision matrix",
            res.matrix.assign(
                currency=res.matrix["entity"].map(
                    dict(zip(res.summary["entity"], res.summary["currency"], strict=False))
                )
            ),
            ["gross", "base", "overlay", "allowance"],
            currency_column="currency",
            rate_columns=["loss_rate", "overlay_rate"],
            total=True,
        ),
        Sheet(
            "Specific reserves",
            res.specific.assign(
                currency=res.specific["entity"].map(
                    dict(zip(res.summary["entity"], res.summary["currency"], strict=False))
                )
            ),
            ["gross", "allowance"],
            currency_column="currency",
            rate_columns=["rate"],
            total=True,
        ),
        Sheet(
            "Loss rates",
            res.rates,
            ["exposed", "rolled"] if "exposed" in res.rates else [],
            currency_column=None,
            rate_columns=[c for c in ("roll_rate", "loss_rate") if c in res.rates],
        ),
        Sheet("True-up journals", res.journals, ["debit", "credit"], currency_column="currency", total=True),
    ]
    if "exposed" in res.rates:  # exposure amounts are per entity currency
        sheets[3] = Sheet(
            "Loss rates",
            res.rates.assign(
                currency=res.rates["entity"].map(
                    dict(zip(res.summary["entity"], res.summary["currency"], strict=False))
                )
            ),
            ["exposed", "rolled"],
            currency_column="currency",
            rate_columns=["roll_rate", "loss_rate"],
        )
    currency_of = dict(zip(res.summary["entity"], res.summary["currency"], strict=False))
    labels = AgingPolicy.from_params(params).labels
    aging = aging_by_bucket(res.aged, labels)
    sheets.insert(
        1,
        Sheet(
            "Aging",
            aging.assign(currency=aging["entity"].map(currency_of)) if len(aging) else aging.assign(currency=""),
            [*labels, "total"],
            currency_column="currency",
            title=["Open invoices, debit and credit memos by aging bucket at the period end"],
            total=True,
        ),
    )
    sheets.append(
        Sheet(
            "Roll-forward",
            roll_forward_frame(res.roll_forward, currency_of),
            ["amount"],
            currency_column="currency",
            title=["Allowance roll-forward: opening + provision - write-offs + recoveries = closing"],
        )
    )
    sheets.append(
        Sheet(
            "Customer aged TB",
            res.customers,
            [c for c in res.customers.columns if c not in COLUMNS_BEFORE],
            currency_column="currency",
            total=True,
        )
    )
    if backtest is not None:
        sheets.append(
            Sheet(
                "Backtest",
                backtest,
                ["gross", "allowance", "written_off_since", "still_open", "settled"],
                currency_column="currency",
            )
        )
    if prior is not None:
        by_bucket, coverage = prior
        money_cols = ["gross", "gross_prior", "allowance", "allowance_prior", "change"]
        sheets.append(Sheet("Prior period", by_bucket, money_cols, currency_column="currency"))
        money_cols = ["required", "over_90", "required_prior", "over_90_prior"]
        sheets.append(
            Sheet(
                "Coverage over 90 days",
                coverage,
                money_cols,
                currency_column="currency",
                rate_columns=[c for c in ("coverage", "coverage_prior") if c in coverage.columns],
            )
        )
    sheets.append(
        Sheet(
            "Sign-off",
            signoff_frame(res, fmt=money.display),
            title=title,
            widths={"Sign-off": 34, "Detail": 70, "Entry": 40},
        )
    )
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime(), cover=cover)


def roll_forward_frame(roll_forward: dict[str, pd.DataFrame], currency_of: dict[str, str]) -> pd.DataFrame:
    """Every entity's allowance roll-forward lines in one table (an unknown balance stays blank)."""
    parts = [roll.assign(entity=e, currency=currency_of.get(e, "")) for e, roll in sorted(roll_forward.items())]
    if not parts:
        return pd.DataFrame(columns=["entity", "currency", "line", "amount"])
    return pd.concat(parts, ignore_index=True)[["entity", "currency", "line", "amount"]]


def signoff_frame(res: ReserveResult, fmt: money.MoneyFormat) -> pd.DataFrame:
    """Preparer and reviewer blocks, then one approval block per entity's true-up journal."""
    rows: list[tuple[str, str, str]] = []
    for role in ("Prepared by", "Reviewed by"):
        rows += [(role, "Name", ""), ("", "Signature", ""), ("", "Date", ""), ("", "", "")]
    for row in res.summary.to_dict("records"):
        if row["booked"] is None or pd.isna(row["booked"]):
            detail = "no true-up: the GL has no allowance balance for this period"
        else:
            ccy = row["currency"]
            detail = (
                f"required {fmt(int(row['required']), ccy)} {ccy}, booked {fmt(int(row['booked']), ccy)} {ccy}, "
                f"true-up {fmt(int(row['true_up']), ccy)} {ccy}"
            )
        rows += [(f"True-up approved: {row['entity']}", detail, ""), ("", "Name", ""), ("", "Signature", "")]
        rows += [("", "Date", ""), ("", "", "")]
    rows.append(("Record", "Sign-offs of record are made with `close signoff` and shown in the period binder.", ""))
    return pd.DataFrame(rows, columns=["Sign-off", "Detail", "Entry"])


def conclusion(res: ReserveResult, params: dict, fmt: money.MoneyFormat) -> str:
    """The closing paragraph, written from the numbers."""
    parts = []
    for row in res.summary.to_dict("records"):
        e, ccy = row["entity"], row["currency"]
        if row["booked"] is None or pd.isna(row["booked"]):
            parts.append(
                f"**{md(e)}**: required allowance {fmt(row['required'], ccy)} {ccy}; the GL has no allowance "
                f"balance for this period, so no true-up is proposed."
            )
            continue
        share = row["required"] / row["gross_receivables"] if row["gross_receivables"] else 0.0
        up = int(row["true_up"])
        action = (
            "no true-up is needed"
            if up == 0
            else f"a true-up of {fmt(abs(up), ccy)} {ccy} is proposed ("
            + ("Dr bad-debt expense, Cr allowance" if up > 0 else "Dr allowance, Cr bad-debt expense")
            + ")"
        )
        parts.append(
            f"**{md(e)}**: required allowance {fmt(row['required'], ccy)} {ccy} ({share:.2%} of "
            f"{fmt(row['gross_receivables'], ccy)} gross receivables: collective {fmt(row['collective'], ccy)}, "
            f"overlay {fmt(row['overlay'], ccy)}, specific {fmt(row['specific'], ccy)}); booked "
            f"{fmt(int(row['booked']), ccy)}; {action}."
        )
    floors = res.rates[res.rates["basis"].str.startswith("floor")]
    if len(floors):
        parts.append(
            f"{len(floors)} of {len(res.rates)} bucket rates use the floor from `reserve.floor_rates` "
            "(short history or a computed rate below the floor); see the basis column in section 2."
        )
    return "\n\n".join(parts)


def no_journal_reasons(summary: pd.DataFrame, fmt: money.MoneyFormat) -> dict[str, str]:
    """Why an entity has no true-up journal: nothing to true up, or no booked allowance to true up."""
    out = {}
    for row in summary.to_dict("records"):
        if row["booked"] is None or pd.isna(row["booked"]):
            out[row["entity"]] = "no true-up journal: the GL has no allowance balance for this period"
        else:
            ccy = row["currency"]
            out[row["entity"]] = (
                f"no true-up journal: the allowance booked equals the {fmt(int(row['required']), ccy)} required"
            )
    return out


def roll_forward_check(roll: pd.DataFrame, currency: str, fmt: money.MoneyFormat) -> tuple[bool, str, str]:
    """(passed, detail, severity): an error when the allowance does not roll forward; a warning
    when it cannot be proved because the GL has no prior-period (or current) balance."""
    lines = roll.set_index("line")["amount"]
    rolled, booked = lines["closing allowance, rolled forward"], lines["closing allowance booked (GL)"]
    if pd.isna(rolled) or pd.isna(booked):
        return False, "the GL has no allowance balance for the prior or current period: not provable", "warning"
    return (
        bool(rolled == booked),
        f"rolled forward {fmt(int(rolled), currency)} vs booked {fmt(int(booked), currency)} {currency}",
        "error",
    )
