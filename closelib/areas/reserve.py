"""The allowance for expected credit losses on trade receivables (CONTRACT ``reserve.*``).

IFRS 9 simplified approach / ASC 326: a provision matrix on the open invoices and debit
memos, aged at the period end, plus specific reserves for named and bankrupt customers,
whose balances leave the collective pool so nothing is reserved twice.

Rounding: each line of the matrix (entity, pool, bucket) is ``gross x rate`` rounded half
up to the minor unit; the overlay is its own line per bucket (``gross x rate x multiplier``
rounded, less the base line); totals are sums of rounded lines. Money is int64 minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pandas as pd

from closelib import money
from closelib.areas.recon import gl_balance
from closelib.asof.aging import AgingPolicy, aging_at, aging_table
from closelib.asof.rollrate import agings, build_history, loss_rates, roll_rates
from closelib.book.model import Book
from closelib.nb.excel import Sheet, write_workbook
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class ReserveResult:
    aged: pd.DataFrame  # open INV/DM/CM at D with bucket, pool, specific flag
    matrix: pd.DataFrame  # entity, pool, bucket, gross, rate, base, overlay_rate, overlay, allowance
    specific: pd.DataFrame  # entity, customer_id, name, gross, rate, allowance, reason
    rates: pd.DataFrame  # loss rates used per entity/pool/bucket with their basis
    rolls: pd.DataFrame | None  # roll-rate history (roll_rate method)
    history: pd.DataFrame | None  # monthly agings (roll_rate method)
    summary: pd.DataFrame  # per entity: gross, collective, overlay, specific, required, booked, true_up
    roll_forward: dict[str, pd.DataFrame]
    journals: pd.DataFrame
    problems: list[str]


def pools_of(book: Book, pool_by: str) -> pd.Series | None:
    if pool_by == "none":
        return None
    segments = book.customers.set_index("customer_id")["segment"]
    return segments.replace("", "unassigned").fillna("unassigned")


def aged_receivables(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Open INV, DM and CM at the period end with bucket and pool (CMs are aged for the tie only)."""
    aged = aging_at(book, period.end, AgingPolicy.from_params(params))
    pools = pools_of(book, params["reserve"]["pool_by"])
    aged["pool"] = "all" if pools is None else aged["customer_id"].map(pools).fillna("unassigned").to_numpy()
    return aged


def specific_reserves(book: Book, aged: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, list[str]]:
    """Named customers (rate or amount) and bankrupt customers (``bankrupt_rate``), per entity."""
    res = params["reserve"]
    receivable = aged[aged["doc_type"].isin(["INV", "DM"])]
    gross = receivable.groupby(["customer_id", "entity"])["open_amount"].sum()
    names = book.customers.set_index("customer_id")["name"]
    status = book.customers.set_index("customer_id")["status"]
    rows, problems, named = [], [], set()
    for item in res["specific"]:
        cid = item["customer_id"]
        named.add(cid)
        if cid not in names.index:
            problems.append(f"reserve.specific: customer {cid!r} is not in customers")
            continue
        mine = gross[gross.index.get_level_values(0) == cid]
        if mine.empty:
            problems.append(f"reserve.specific: customer {cid} has no open invoices at the period end")
            continue
        if "amount" in item and len(mine) > 1:
            problems.append(f"reserve.specific: customer {cid} has balances in {len(mine)} entities; give a rate")
            continue
        for (_, entity), value in mine.items():
            ccy = book.currency_of(entity)
            if "amount" in item:
                amount = money.to_minor(item["amount"], ccy)
                if amount > value:
                    problems.append(
                        f"reserve.specific: {cid} amount {item['amount']} exceeds its open balance "
                        f"{money.format_minor(int(value), ccy)}; capped at the balance"
                    )
                amount = min(amount, int(value))
                rate = amount / value if value else 0.0
            else:
                rate = float(item["rate"])
                amount = money.apply_rate(int(value), item["rate"])
            rows.append((entity, cid, names[cid], "parameters", int(value), rate, amount, item["reason"]))
    bankrupt = [c for c in status[status == "bankrupt"].index if c not in named]
    for key, value in gross[gross.index.get_level_values(0).isin(bankrupt)].items():
        cid, entity = cast(tuple[str, str], key)  # the (customer_id, entity) group key
        rows.append(
            (
                entity,
                cid,
                names[cid],
                "bankrupt",
                int(value),
                float(res["bankrupt_rate"]),
                money.apply_rate(int(value), res["bankrupt_rate"]),
                "customer is bankrupt",
            )
        )
    frame = pd.DataFrame(
        rows, columns=["entity", "customer_id", "name", "source", "gross", "rate", "allowance", "reason"]
    ).astype({"gross": "int64", "allowance": "int64"})
    return frame.sort_values(["entity", "customer_id"], ignore_index=True), problems


def collective_rates(
    book: Book, period: Period, params: dict
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Loss rate per entity, pool and bucket: the policy matrix or measured roll rates."""
    res = params["reserve"]
    policy = AgingPolicy.from_params(params)
    labels = policy.labels
    if res["method"] == "fixed_rates":
        pools = pools_of(book, res["pool_by"])
        pool_names = ["all"] if pools is None else sorted(set(pools))
        rows = [
            {
                "entity": e,
                "pool": p,
                "bucket": b,
                "loss_rate": float(res["fixed_rates"][b]),
                "basis": "policy matrix (reserve.fixed_rates)",
            }
            for e in book.entities
            for p in pool_names
            for b in labels
        ]
        return pd.DataFrame(rows), None, None
    history = build_history(book, period, int(res["lookback_months"]), pools_of(book, res["pool_by"]))
    rolls = roll_rates(history, policy.basis, policy.bounds)
    rates = loss_rates(rolls, labels, res["floor_rates"], int(res["min_exposure_months"]))
    return rates, rolls, agings(history, policy.basis, policy.bounds)


def provision_matrix(
    aged: pd.DataFrame,
    specific: pd.DataFrame,
    rates: pd.DataFrame,
    params: dict,
    labels: list[str],
    floors: dict[str, float],
) -> pd.DataFrame:
    """Gross open INV/DM per entity, pool and bucket outside the specific reserves, times the rate."""
    overlay = params["reserve"]["overlay"]
    pooled = aged[aged["doc_type"].isin(["INV", "DM"])]
    excluded = pd.MultiIndex.from_frame(specific[["customer_id", "entity"]]) if len(specific) else None
    if excluded is not None:
        keys = pd.MultiIndex.from_frame(pooled[["customer_id", "entity"]])
        pooled = pooled[~keys.isin(excluded)]
    gross = pooled.groupby(["entity", "pool", "bucket"], observed=False)["open_amount"].sum().astype("int64")
    matrix = gross.rename("gross").reset_index()
    matrix["bucket"] = matrix["bucket"].astype(str)
    matrix = matrix.merge(
        rates[["entity", "pool", "bucket", "loss_rate", "basis"]], how="left", on=["entity", "pool", "bucket"]
    )
    # A pool with no history (new segment) falls back to its floor rate.
    missing = matrix["loss_rate"].isna()
    if missing.any():
        matrix["loss_rate"] = matrix["loss_rate"].fillna(matrix["bucket"].map({k: float(v) for k, v in floors.items()}))
        matrix["basis"] = matrix["basis"].where(~missing, "floor: no history for this pool")
    matrix["base"] = [money.apply_rate(int(g), r) for g, r in zip(matrix["gross"], matrix["loss_rate"], strict=False)]
    multiplier = [float(overlay["overall"]) * float(overlay["per_bucket"].get(b, 1.0)) for b in matrix["bucket"]]
    matrix["overlay_rate"] = [round(min(r * m, 1.0), 6) for r, m in zip(matrix["loss_rate"], multiplier, strict=False)]
    matrix["overlay"] = [
        money.apply_rate(int(g), r) - int(b)
        for g, r, b in zip(matrix["gross"], matrix["overlay_rate"], matrix["base"], strict=False)
    ]
    matrix["allowance"] = matrix["base"] + matrix["overlay"]
    order = {label: i for i, label in enumerate(labels)}
    matrix = matrix.sort_values(["entity", "pool", "bucket"], key=lambda s: s.map(order) if s.name == "bucket" else s)
    return matrix.astype({"base": "int64", "overlay": "int64", "allowance": "int64"}).reset_index(drop=True)


def allowance_roll_forward(book: Book, period: Period, params: dict, entity: str) -> pd.DataFrame:
    """Opening (GL at prior end) + provision - write-offs + recoveries = closing (GL at end)."""
    gl = params["gl"]
    allowance, expense = (gl["allowance_account"],), (gl["bad_debt_expense_account"],)
    opening = gl_balance(book, entity, period.shift(-1), allowance, credit_positive=True)
    closing = gl_balance(book, entity, period, allowance, credit_positive=True)
    ytd = gl_balance(book, entity, period, expense) or 0
    prior_ytd = 0 if period.month == 1 else (gl_balance(book, entity, period.shift(-1), expense) or 0)
    adj = book.adjustments
    docs_entity = book.documents.set_index("document_id")["entity"]
    start, end = period.shift(-1).end, period.end
    mine = adj[
        (adj["document_id"].map(docs_entity) == entity)
        & (adj["adjustment_date"] > start)
        & (adj["adjustment_date"] <= end)
    ]
    write_offs = int(-mine.loc[mine["type"] == "write_off", "amount"].sum())
    recoveries = int(mine.loc[mine["type"] == "recovery", "amount"].sum())
    provision = ytd - prior_ytd
    lines = [
        ("opening allowance (GL, prior period end)", opening),
        ("provision charged (bad-debt expense)", provision),
        ("write-offs", -write_offs),
        ("recoveries", recoveries),
    ]
    expected = None if opening is None else opening + provision - write_offs + recoveries
    lines += [("closing allowance, rolled forward", expected), ("closing allowance booked (GL)", closing)]
    frame = pd.DataFrame(lines, columns=["line", "amount"])
    frame["amount"] = frame["amount"].astype("Int64")
    return frame


def true_up_journals(summary: pd.DataFrame, params: dict, period: Period) -> pd.DataFrame:
    """One balanced journal per entity: Dr expense / Cr allowance when more is required, else the reverse."""
    gl = params["gl"]
    rows = []
    for row in summary.to_dict("records"):
        amount = int(row["true_up"])
        if amount == 0:
            continue
        entity, currency = row["entity"], row["currency"]
        jid = f"RSV-{entity}-{period}"
        text = (
            f"Bad-debt reserve true-up {period}: required {money.format_minor(int(row['required']), currency)}"
            f", booked {money.format_minor(int(row['booked']), currency)}"
        )
        dr, cr = (
            (gl["bad_debt_expense_account"], gl["allowance_account"])
            if amount > 0
            else (gl["allowance_account"], gl["bad_debt_expense_account"])
        )
        rows.append((entity, jid, str(period.end.date()), dr, abs(amount), 0, currency, text))
        rows.append((entity, jid, str(period.end.date()), cr, 0, abs(amount), currency, text))
    return pd.DataFrame(
        rows, columns=["entity", "journal_id", "date", "account", "debit", "credit", "currency", "description"]
    ).astype({"debit": "int64", "credit": "int64"})


def compute(book: Book, period: Period, params: dict) -> ReserveResult:
    """The whole reserve for the period: aged items, specific reserves, matrix, summary, journals."""
    labels = AgingPolicy.from_params(params).labels
    floors = params["reserve"]["floor_rates"]
    aged = aged_receivables(book, period, params)
    specific, problems = specific_reserves(book, aged, params)
    rates, rolls, history = collective_rates(book, period, params)
    matrix = provision_matrix(aged, specific, rates, params, labels, floors)
    rows = []
    for entity in book.entities:
        m = matrix[matrix["entity"] == entity]
        s = specific[specific["entity"] == entity]
        receivable = aged[(aged["entity"] == entity) & aged["doc_type"].isin(["INV", "DM"])]
        booked = gl_balance(book, entity, period, (params["gl"]["allowance_account"],), credit_positive=True)
        collective, overlay, spec = int(m["base"].sum()), int(m["overlay"].sum()), int(s["allowance"].sum())
        required = collective + overlay + spec
        rows.append(
            {
                "entity": entity,
                "currency": book.currency_of(entity),
                "gross_receivables": int(receivable["open_amount"].sum()),
                "collective_gross": int(m["gross"].sum()),
                "specific_gross": int(s["gross"].sum()),
                "collective": collective,
                "overlay": overlay,
                "specific": spec,
                "required": required,
                "booked": booked,
                "true_up": None if booked is None else required - booked,
            }
        )
    summary = pd.DataFrame(rows)
    journals = true_up_journals(summary.dropna(subset=["true_up"]), params, period)
    return ReserveResult(
        aged,
        matrix,
        specific,
        rates,
        rolls,
        history,
        summary,
        {e: allowance_roll_forward(book, period, params, e) for e in book.entities},
        journals,
        problems,
    )


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
    ax.set_ylabel("loss rate %")
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


def write_pack(res: ReserveResult, path: Path, period: Period, params: dict) -> Path:
    """The reserve workbook: summary, provision matrix, specific reserves, rates, journals."""

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
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime())


def conclusion(res: ReserveResult, params: dict, fmt: money.MoneyFormat) -> str:
    """The closing paragraph, written from the numbers."""
    parts = []
    for row in res.summary.to_dict("records"):
        e, ccy = row["entity"], row["currency"]
        if row["booked"] is None or pd.isna(row["booked"]):
            parts.append(
                f"**{e}**: required allowance {fmt(row['required'], ccy)} {ccy}; the GL has no allowance "
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
            f"**{e}**: required allowance {fmt(row['required'], ccy)} {ccy} ({share:.2%} of "
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
