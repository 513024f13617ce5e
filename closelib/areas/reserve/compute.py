"""The allowance computed: aged receivables, specific reserves, loss rates, matrix, roll-forward, true-up.

IFRS 9 simplified approach / ASC 326: a provision matrix on the open invoices and debit
memos, aged at the period end, plus specific reserves for named and bankrupt customers,
whose balances leave the collective pool so nothing is reserved twice.

Rounding: each line of the matrix (entity, pool, bucket) is ``gross x rate`` rounded half
up to the minor unit; the overlay is its own line per bucket (``gross x rate x multiplier``
rounded, less the base line); totals are sums of rounded lines. Money is int64 minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.recon.ledger import gl_balance
from closelib.areas.reserve.customers import customer_aged_listing
from closelib.areas.reserve.window import BACKTEST_MONTHS, reserve_history
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.asof.rollrate import agings, loss_rates, roll_rates
from closelib.book.fx import translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import Period


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
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)  # the customer aged trial balance, complete


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
                        f"{money.display(int(value), ccy)} {ccy}; capped at the balance"
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


def floors_in_use(params: dict, labels: list[str]) -> dict[str, float]:
    """The floor of every bucket under ``roll_rate``: ``reserve.floor_rates``, zero where absent."""
    given = params["reserve"]["floor_rates"]
    return {label: float(given.get(label, 0.0)) for label in labels}


def floor_note(params: dict, labels: list[str]) -> str:
    """One line for the notebook: the floors in use, and which are zero because none is given."""
    if params["reserve"]["method"] != "roll_rate":
        return "Policy matrix (`reserve.fixed_rates`): floors are not used."
    given = params["reserve"]["floor_rates"]
    floors = floors_in_use(params, labels)
    shown = ", ".join(f"{b} {floors[b]:.2%}" for b in labels)
    absent = [b for b in labels if b not in given]
    zero = f"; no floor given for {', '.join(absent)}, so zero" if absent else ""
    return f"**Floors** (`reserve.floor_rates`; a bucket left out has a floor of zero): {shown}{zero}."


def collective_rates(
    book: Book, period: Period, params: dict, backtest_follows: bool = False, monthly_agings: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Loss rate per entity, pool and bucket: the policy matrix or measured roll rates (with the
    roll-rate history and, unless ``monthly_agings`` is False, the monthly agings).
    ``backtest_follows``: build the backtest's longer window and keep it (see :func:`compute`)."""
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
    # With a backtest to follow, its longer window is built here and kept: this one, the
    # backtest's and the prior period's are cut from it (:mod:`.window`).
    lookback = int(res["lookback_months"])
    longest = lookback + BACKTEST_MONTHS if backtest_follows else lookback
    history = reserve_history(book, period, lookback, pools_of(book, res["pool_by"]), res["pool_by"], longest)
    rolls = roll_rates(history, policy.basis, policy.bounds)
    rates = loss_rates(rolls, labels, floors_in_use(params, labels), int(res["min_exposure_months"]))
    return rates, rolls, agings(history, policy.basis, policy.bounds) if monthly_agings else None


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
    start, end = period.shift(-1).end, period.end
    # each adjustment's document through the book's row links (an unknown document: no entity)
    row = links(book).adj_doc
    entity_of = (
        book.documents["entity"].iloc[np.maximum(row, 0)].to_numpy(dtype=object)
        if len(book.documents)
        else np.full(len(row), None, dtype=object)
    )
    date = adj["adjustment_date"]
    mine = (row >= 0) & (entity_of == entity) & ((date > start) & (date <= end)).to_numpy()
    # the GL carries each write-off and recovery in the functional currency (a foreign-currency
    # document's at its booking rate): each adjustment's functional effect, not its own amount
    functional = translation(book).adj_amount
    kind = adj["type"].to_numpy(dtype=object)
    write_offs = int(-functional[mine & (kind == "write_off")].sum())
    recoveries = int(functional[mine & (kind == "recovery")].sum())
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
            f"Bad-debt reserve true-up {period}: required {money.display(int(row['required']), currency)} {currency}"
            f", booked {money.display(int(row['booked']), currency)} {currency}"
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


def compute(
    book: Book, period: Period, params: dict, backtest_follows: bool = False, *, shown: bool = True
) -> ReserveResult:
    """The whole reserve for the period: aged items, specific reserves, matrix, summary, journals.

    ``backtest_follows``: the caller will run :func:`backtest` and :func:`prior_comparison` next
    (the reserve notebook): the backtest's roll-rate window is built once, kept on the book and
    the three windows cut from it; :func:`prior_comparison` lets it go. Otherwise (the write-off
    notebook) only the reserve's own window is built, and not kept.

    ``shown=False`` (:func:`.backtest.prior_comparison`, which compares the required allowance
    only): what is only shown is not made: no monthly agings (``history`` None), no roll-forward
    (empty) and no customer listing (empty)."""
    labels = AgingPolicy.from_params(params).labels
    floors = floors_in_use(params, labels)
    aged = aged_receivables(book, period, params)
    specific, problems = specific_reserves(book, aged, params)
    rates, rolls, history = collective_rates(book, period, params, backtest_follows, monthly_agings=shown)
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
        {e: allowance_roll_forward(book, period, params, e) for e in book.entities} if shown else {},
        journals,
        problems,
        customer_aged_listing(aged, book, labels) if shown else pd.DataFrame(),
    )
