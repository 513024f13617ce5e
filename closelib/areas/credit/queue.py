"""Credit review: the period's review queue, payment behaviour, and one memo per customer.

The queue (``credit_review`` parameters) takes the customers whose status is in
``statuses`` and marks a customer *due* when

* its review cycle has run out: ``last_review_date`` + ``cycle_months`` of its risk-rating
  band is on or before the period end (never reviewed = due);
* or a trigger fired:
  - utilisation (exposure / credit limit) above ``triggers.utilisation_above`` (an exposure
    with a zero credit limit is over any threshold);
  - days beyond terms worsening: the amount-weighted average days beyond terms of the
    payments of the last ``windows.recent_months`` months is at least
    ``triggers.days_beyond_terms_increase`` days above that of the ``windows.prior_months``
    months before;
  - broken promises to pay due in the last ``windows.promise_months`` months at least
    ``triggers.broken_promises`` (0 disables the trigger);
  - an exposure jump: exposure up more than ``triggers.exposure_jump`` (a rate) over the
    exposure ``windows.jump_months`` months earlier (no exposure then is no jump: a new
    customer is due as never reviewed, and exposure without a limit trips utilisation).

Priority: more triggers first, then longer overdue by cycle (never reviewed first), then
worse risk rating, then higher utilisation, then customer id. The first ``max_memos`` get
a memo; the rest are listed as carried over to the next period.

Exposure is the open INV, DM and CM (as of the date) in the customer's credit currency;
documents in another currency are not translated and are reported apart.

Payment behaviour comes from the applications of receipts to invoices and debit memos: the
payment date is the receipt's date; days to pay = payment date - document date (not below
0), days beyond terms = payment date - due date (not below 0); averages are weighted by the
amount applied; the share paid late is the amount applied after the due date over all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib import money
from closelib.areas.collections.promises import broken_promises
from closelib.areas.credit.caps import max_financials_age
from closelib.asof.instalments import application_due_dates
from closelib.asof.openitems import open_items
from closelib.book.arrays import id_array, index_in, isin, lookup
from closelib.book.fx import rates_in_force, translate
from closelib.book.links import links
from closelib.book.model import Book, derived
from closelib.nb.charts import money_axis
from closelib.params import rating_band_value
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_STATUSES = ("active", "on_hold", "suspended", "in_collections")
DEFAULT_WINDOWS = {
    "behaviour_months": 24,
    "recent_months": 3,
    "prior_months": 12,
    "promise_months": 6,
    "jump_months": 3,
    "billing_months": 12,
    "suspension_months": 12,
    "referral_months": 12,
}


def windows(params: dict) -> dict:
    """The look-back windows (months), defaults filled in (older runs' parameters lack them)."""
    return {**DEFAULT_WINDOWS, **(params["credit_review"].get("windows") or {})}


def months_before(day: pd.Timestamp, months: int) -> pd.Timestamp:
    return (pd.Timestamp(day) - pd.DateOffset(months=int(months))).normalize()


# ---------------------------------------------------------------- a customer's slice of the book


def customer_book(book: Book, customer_ids: Iterable[str]) -> Book:
    """The book restricted to some customers' documents, receipts, applications and history
    (customers table kept whole, for groups). Per-customer work on a large book stays fast:
    the rows come from an index of the book by customer, built once per book (each memo in a
    shared kernel reuses it), and keep the book's row order."""
    index = _customer_index(book)
    codes = index.codes(customer_ids)
    t = book.tables
    tables = dict(t)
    for name in _CustomerIndex.TABLES:
        tables[name] = rows_of(t[name], index.rows(name, codes))
    return Book(book.source, tables, book.files, book.present, dict(book.entity_currency))


def rows_of(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``frame.iloc[rows]`` for a few sorted ``rows`` of a large frame, its Arrow columns taken a
    chunk at a time. Arrow's take over a column of several chunks first joins the chunks (a
    copy of the whole column: 7 ms for 60 rows of a million strings, 0.2 s a memo over the
    customer tables); taken chunk by chunk it costs the rows taken."""
    columns: dict[str, Any] = {}
    for name in frame.columns:
        values = frame[name].array
        chunked = getattr(values, "_pa_array", None)
        if isinstance(chunked, pa.ChunkedArray) and chunked.num_chunks > 1:
            taken = _take_by_chunk(chunked, rows)
            if isinstance(values, pd.arrays.ArrowStringArray):
                # the column's own dtype (its missing value): pandas-stubs lack the dtype argument
                columns[name] = pd.arrays.ArrowStringArray(taken, dtype=values.dtype)  # type: ignore[call-arg]
            else:
                columns[name] = pd.arrays.ArrowExtensionArray(taken)
        else:
            columns[name] = values.take(rows)
    return pd.DataFrame(columns, index=frame.index[rows], columns=frame.columns)


def _take_by_chunk(chunked: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    starts = np.cumsum([0] + [len(c) for c in chunked.chunks])
    chunk_of = np.searchsorted(starts, rows, side="right") - 1
    parts = [
        chunked.chunk(int(c)).take(pa.array(rows[chunk_of == c] - starts[c])) for c in np.unique(chunk_of).tolist()
    ]
    return pa.chunked_array(parts, type=chunked.type)


class _CustomerIndex:
    """Row positions of each customer's rows in every per-customer table, sorted by customer
    once, so one customer's rows are a binary search away. Applications and adjustments
    belong to the customer of the document or receipt they link to (``asof.links``)."""

    TABLES = ("documents", "receipts", "applications", "adjustments", "disputes", "activities", "financials")

    def __init__(self, book: Book) -> None:

        self.frames = tuple(book.tables[name] for name in self.TABLES)
        self._table = id_array(book.customers["customer_id"])
        codes = {
            name: index_in(book.tables[name]["customer_id"], self._table)
            for name in ("documents", "receipts", "disputes", "activities", "financials")
        }
        found = links(book)

        def via(rows: np.ndarray, owner: np.ndarray) -> np.ndarray:
            return np.where(rows >= 0, owner[np.where(rows >= 0, rows, 0)] if len(owner) else -1, -1)

        doc, rec = codes["documents"], codes["receipts"]
        # An application is the customer's when its target, its source document or its source
        # receipt is: up to three owners per row, kept as three keyed copies of the row.
        app_rows = np.arange(len(book.applications), dtype="int64")
        codes["applications"] = np.concatenate(
            [via(found.app_target, doc), via(found.app_source_doc, doc), via(found.app_source_rec, rec)]
        )
        self._app_rows = np.concatenate([app_rows, app_rows, app_rows])
        codes["adjustments"] = via(found.adj_doc, doc)
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, values in codes.items():
            order = np.argsort(values, kind="stable")
            self._sorted[name] = (values[order], order)

    def current(self, book: Book) -> bool:
        return all(a is book.tables[name] for a, name in zip(self.frames, self.TABLES, strict=False))

    def codes(self, customer_ids: Iterable[str]) -> np.ndarray:

        found = index_in(pd.Series(list(dict.fromkeys(customer_ids)), dtype="str"), self._table)
        return found[found >= 0]

    def rows(self, name: str, codes: np.ndarray) -> np.ndarray:
        keys, order = self._sorted[name]
        parts = [order[np.searchsorted(keys, c, "left") : np.searchsorted(keys, c, "right")] for c in codes]
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype="int64")
        if name == "applications":
            rows = self._app_rows[rows]
        return np.unique(rows)  # sorted: the book's own row order


def _customer_index(book: Book) -> _CustomerIndex:
    return derived(book, "_customer_index", _CustomerIndex)


# ---------------------------------------------------------------- exposure


def exposure(book: Book, day: pd.Timestamp) -> pd.DataFrame:
    """Per customer, as of ``day``: open INV/DM/CM in the limit's currency (``exposure``), items in
    other currencies translated into it at the **closing rate** (the ``fx_rates`` rate in force on
    ``day``, directly or through the entity's functional currency) included and shown apart as
    ``translated_exposure``, and the count of items no rate translates (``other_currency_items``,
    left out)."""
    items = open_items(book, day, ("INV", "DM", "CM"))
    cust = book.customers.set_index("customer_id")
    ccy = lookup(items["customer_id"], cust["credit_currency"]).astype(object)
    same = items["currency"].to_numpy() == ccy.to_numpy()
    translated = _at_closing_rate(book, items[~same], ccy[~same], day)
    known = translated.notna().to_numpy()
    result = pd.DataFrame(index=cust.index)
    own = items[same].groupby("customer_id")["open_amount"].sum()
    other = translated[known].groupby(items[~same]["customer_id"].to_numpy()[known]).sum()
    result["translated_exposure"] = other.reindex(cust.index).fillna(0)
    result["exposure"] = own.reindex(cust.index).fillna(0) + result["translated_exposure"]
    result["other_currency_items"] = items[~same][~known].groupby("customer_id").size().reindex(cust.index).fillna(0)
    return result.astype("int64")


def _at_closing_rate(book: Book, items: pd.DataFrame, target: pd.Series, day: pd.Timestamp) -> pd.Series:
    """Open amounts in ``target`` currency at the closing rate (NaN where no rate is in force):
    the direct pair, else through the functional currency (two translations, each per line)."""
    if items.empty:
        return pd.Series(dtype="float64", index=items.index)
    when = pd.Series(np.full(len(items), np.datetime64(day, "ns")))
    direct = rates_in_force(book.fx_rates, when, items["currency"], target)
    amount = translate(items["open_amount"], direct, items["currency"], target)
    to_fun = rates_in_force(book.fx_rates, when, items["currency"], items["functional_currency"])
    fun_to = rates_in_force(book.fx_rates, when, items["functional_currency"], target)
    via = translate(
        translate(items["open_amount"], to_fun, items["currency"], items["functional_currency"]),
        fun_to,
        items["functional_currency"],
        target,
    )
    value = np.where(np.isfinite(direct), amount, np.where(np.isfinite(to_fun) & np.isfinite(fun_to), via, 0))
    found = np.isfinite(direct) | (np.isfinite(to_fun) & np.isfinite(fun_to))
    return pd.Series(np.where(found, value, np.nan), index=items.index)


def utilisation(exposure_minor, limit_minor) -> float | None:
    """exposure / limit; ``inf`` for an exposure against a zero limit, ``None`` for nothing against nothing."""
    exposure_minor, limit_minor = int(exposure_minor), int(limit_minor)
    if limit_minor > 0:
        return exposure_minor / limit_minor
    return float("inf") if exposure_minor > 0 else None


# ---------------------------------------------------------------- payment behaviour


def payment_history(book: Book, day: pd.Timestamp, months: int = 24) -> pd.DataFrame:
    """Every application of a receipt (dated within ``months`` before ``day``) to an INV/DM:
    customer, document, dates, amount, days to pay, days beyond terms, late. A payment of a
    document with an instalment schedule is one row per instalment it settles, each against
    that instalment's due date (:func:`closelib.asof.instalments.application_due_dates`).

    Applications are joined to their receipt and document through the book's row links
    (:func:`closelib.book.links.links`), not by merging on text ids: a million applications join
    in a fraction of a second instead of seconds."""

    day = pd.Timestamp(day)
    found = links(book)
    apps, rec, docs = book.applications, book.receipts, book.documents
    rec_row, doc_row = found.app_source_rec, found.app_target
    paid_all = rec["receipt_date"].to_numpy()
    invoice_like = isin(docs["doc_type"], ["INV", "DM"])
    linked = (rec_row >= 0) & (doc_row >= 0)
    paid = paid_all[np.where(linked, rec_row, 0)] if len(rec) else np.full(len(apps), np.datetime64("NaT"))
    keep = (
        linked
        & (apps["applied_date"].to_numpy() <= day.to_datetime64())
        & (paid <= day.to_datetime64())
        & (paid > months_before(day, months).to_datetime64())
    )
    keep &= invoice_like[np.where(linked, doc_row, 0)] if len(docs) else False
    r, d, a = rec_row[keep], doc_row[keep], np.flatnonzero(keep)

    def at(frame: pd.DataFrame, column: str, rows: np.ndarray) -> pd.Series:
        return pd.Series(frame[column].array.take(rows), name=column)

    amount = apps["amount"].to_numpy()[a].astype("int64")
    due_values = docs["due_date"].to_numpy(dtype="datetime64[ns]")[d]
    split = application_due_dates(book)  # a payment of a scheduled document, by instalment settled
    if len(split):
        part = pd.Series(np.arange(len(a)), index=a).reindex(split["position"].to_numpy()).to_numpy()
        hit = ~np.isnan(part)
        rows, whole = part[hit].astype("int64"), np.ones(len(a), dtype=bool)
        whole[rows] = False
        r, d, a = np.r_[r[whole], r[rows]], np.r_[d[whole], d[rows]], np.r_[a[whole], a[rows]]
        amount = np.r_[amount[whole], split["amount"].to_numpy(dtype="int64")[hit]]
        due_values = np.r_[due_values[whole], split["due_date"].to_numpy(dtype="datetime64[ns]")[hit]]
    paid_date = at(rec, "receipt_date", r)
    document_date, due_date = at(docs, "document_date", d), pd.Series(due_values, name="due_date")
    to_pay = (paid_date - document_date).dt.days.clip(lower=0)
    beyond = (paid_date - due_date).dt.days
    out = pd.DataFrame(
        {
            "customer_id": at(docs, "customer_id", d),
            "document_id": at(docs, "document_id", d),
            "receipt_id": at(rec, "receipt_id", r),
            "document_date": document_date,
            "due_date": due_date,
            "paid_date": paid_date,
            "currency": at(docs, "currency", d),
            "amount": amount,
            "days_to_pay": to_pay.astype("int64"),
            "days_beyond_terms": beyond.clip(lower=0).astype("int64"),
            "late": beyond > 0,
        }
    )
    return out.sort_values(["customer_id", "paid_date", "document_id"], ignore_index=True)


def _weighted(frame: pd.DataFrame, column: str) -> float | None:
    weight = frame["amount"].sum()
    return float((frame[column] * frame["amount"]).sum() / weight) if weight > 0 else None


def behaviour(history: pd.DataFrame) -> dict:
    """One customer's (or any set's) weighted averages: days to pay, days beyond terms, share late."""
    total = int(history["amount"].sum()) if len(history) else 0
    return {
        "payments": int(history["receipt_id"].nunique()) if len(history) else 0,
        "documents_paid": int(history["document_id"].nunique()) if len(history) else 0,
        "amount_paid": total,
        "weighted_days_to_pay": _weighted(history, "days_to_pay") if total else None,
        "weighted_days_beyond_terms": _weighted(history, "days_beyond_terms") if total else None,
        "share_paid_late": float(history.loc[history["late"], "amount"].sum() / total) if total else None,
    }


def behaviour_by_customer(history: pd.DataFrame) -> pd.DataFrame:
    """:func:`behaviour` for every customer of ``history`` (vectorised)."""
    h = history.assign(
        w_dtp=history["days_to_pay"] * history["amount"],
        w_dbt=history["days_beyond_terms"] * history["amount"],
        late_amount=history["amount"].where(history["late"], 0),
    )
    g = h.groupby("customer_id").agg(
        amount=("amount", "sum"), w_dtp=("w_dtp", "sum"), w_dbt=("w_dbt", "sum"), late_amount=("late_amount", "sum")
    )
    amount = g["amount"].where(g["amount"] > 0)
    return pd.DataFrame(
        {
            "weighted_days_to_pay": g["w_dtp"] / amount,
            "weighted_days_beyond_terms": g["w_dbt"] / amount,
            "share_paid_late": g["late_amount"] / amount,
        }
    )


def monthly_trend(history: pd.DataFrame, period: Period, months: int = 24) -> pd.DataFrame:
    """Per month of payment (every month of the window, empty ones too): amount paid, weighted
    days to pay and beyond terms, share late."""
    labels = [str(p) for p in period.back(months)]  # as the strftime below writes them
    month = history["paid_date"].dt.strftime("%Y-%m")
    rows = []
    for label in labels:
        b = behaviour(history[month == label])
        rows.append(
            {
                "month": label,
                "amount_paid": b["amount_paid"],
                "weighted_days_to_pay": b["weighted_days_to_pay"],
                "weighted_days_beyond_terms": b["weighted_days_beyond_terms"],
                "share_paid_late": b["share_paid_late"],
            }
        )
    frame = pd.DataFrame(rows)
    return frame.astype(
        {
            "amount_paid": "int64",
            "weighted_days_to_pay": "float64",
            "weighted_days_beyond_terms": "float64",
            "share_paid_late": "float64",
        }
    )


def dbt_change(
    history: pd.DataFrame, day: pd.Timestamp, recent_months: int = 3, prior_months: int = 12
) -> pd.DataFrame:
    """Per customer: weighted days beyond terms in the recent window, in the prior window, change."""
    split = months_before(day, recent_months)
    start = months_before(day, recent_months + prior_months)
    recent = behaviour_by_customer(history[history["paid_date"] > split])["weighted_days_beyond_terms"]
    prior = behaviour_by_customer(history[(history["paid_date"] > start) & (history["paid_date"] <= split)])[
        "weighted_days_beyond_terms"
    ]
    frame = pd.DataFrame({"dbt_recent": recent, "dbt_prior": prior})
    frame["dbt_change"] = frame["dbt_recent"] - frame["dbt_prior"]
    return frame


def trend_chart(trend: pd.DataFrame, customer: str, currency: str) -> Figure:
    """Bars: amount paid per month (major units); lines: weighted days to pay and beyond terms.

    A figure of its own, not pyplot's: shown with :func:`closelib.nb.charts.show_chart`, it is drawn
    once (pyplot's inline display drew it three times: 0.5 s a memo)."""
    from matplotlib.figure import Figure as PlainFigure

    fig = PlainFigure(figsize=(9, 3.4))
    ax = fig.subplots()
    paid = [float(money.from_minor(int(v), currency)) for v in trend["amount_paid"]]  # display only
    ax.bar(trend["month"], paid, color="#d0d7de", label=f"paid ({currency})")
    ax.set_ylabel(f"paid ({currency})")
    money_axis(ax, currency)  # separators, no "1e6" offset text over the title
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    days = ax.twinx()
    days.plot(trend["month"], trend["weighted_days_to_pay"], marker="o", color="#0969da", label="days to pay")
    days.plot(
        trend["month"], trend["weighted_days_beyond_terms"], marker="o", color="#cf222e", label="days beyond terms"
    )
    days.set_ylabel("days (amount-weighted)")
    days.set_ylim(bottom=0)
    bar_handles, bar_labels = ax.get_legend_handles_labels()
    line_handles, line_labels = days.get_legend_handles_labels()
    fig.legend(
        bar_handles + line_handles, bar_labels + line_labels, loc="lower center", ncol=3, fontsize=8, frameon=False
    )
    ax.set_title(f"{customer}: payment behaviour by month of payment", fontsize=10)
    # Fixed margins, not tight_layout: measuring every tick label cost 0.4 s per memo.
    fig.subplots_adjust(left=0.12, right=0.91, top=0.9, bottom=0.3)
    return fig


# ---------------------------------------------------------------- collections trail


def promises(book: Book, day: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    """Promises to pay due by ``day`` (with grace), with ``received`` and ``broken`` (from the
    write-off pack's rule: less than promised received between the promise and its date + grace)."""

    return broken_promises(book, pd.Timestamp(day), int(grace_days))


def broken_count(book: Book, day: pd.Timestamp, grace_days: int, months: int) -> pd.Series:
    """Broken promises per customer whose promised date falls in the last ``months`` months."""
    p = promises(book, day, grace_days)
    if p.empty:
        return pd.Series(dtype="int64")
    p = p[p["broken"] & (p["promised_date"] > months_before(day, months))]
    return p.groupby("customer_id").size().astype("int64")


def suspensions(book: Book, day: pd.Timestamp, months: int) -> pd.Series:
    acts = book.activities
    s = acts[
        (acts["type"] == "suspension")
        & (acts["activity_date"] <= day)
        & (acts["activity_date"] > months_before(day, months))
    ]
    return s.groupby("customer_id").size().astype("int64")


# ---------------------------------------------------------------- the review queue


QUEUE_COLUMNS = [
    "priority",
    "customer_id",
    "name",
    "status",
    "risk_rating",
    "last_review_date",
    "next_review_due",
    "credit_currency",
    "credit_limit",
    "exposure",
    "utilisation",
    "exposure_before",
    "exposure_change",
    "dbt_recent",
    "dbt_prior",
    "dbt_change",
    "broken_promises",
    "financials_year_end",
    "financials",
    "cycle_due",
    "triggers",
    "reasons",
]


def signals(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Every reviewable customer with what the queue decides on (one row each)."""
    cr = params["credit_review"]
    win = windows(params)
    trig = cr["triggers"]
    day = period.end
    statuses = cr.get("statuses") or list(DEFAULT_STATUSES)
    cust = book.customers[book.customers["status"].isin(statuses)].set_index("customer_id")
    now = exposure(book, day)
    before = exposure(book, period.shift(-int(win["jump_months"])).end)
    history = payment_history(book, day, int(win["recent_months"]) + int(win["prior_months"]))
    dbt = dbt_change(history, day, int(win["recent_months"]), int(win["prior_months"])).reindex(cust.index)
    broken = broken_count(book, day, int(params["collections"]["promise_grace_days"]), int(win["promise_months"]))
    f = pd.DataFrame(index=cust.index)
    f["name"] = cust["name"]
    f["status"] = cust["status"]
    f["risk_rating"] = cust["risk_rating"].astype("int64")
    f["last_review_date"] = cust["last_review_date"]
    cycle = [int(rating_band_value(cr["cycle_months"], int(r))) for r in f["risk_rating"]]
    f["cycle_months"] = cycle
    # One calendar-month offset per distinct cycle (a handful), not one per customer.
    due = pd.Series(pd.NaT, index=f.index, dtype=f["last_review_date"].dtype)
    for months in sorted(set(cycle)):
        mine = f["cycle_months"] == months
        due[mine] = f.loc[mine, "last_review_date"] + pd.DateOffset(months=months)
    f["next_review_due"] = due
    f["credit_currency"] = cust["credit_currency"]
    f["credit_limit"] = cust["credit_limit"].astype("int64")
    f["exposure"] = now["exposure"].reindex(f.index).fillna(0).astype("int64")
    f["exposure_before"] = before["exposure"].reindex(f.index).fillna(0).astype("int64")
    f["utilisation"] = [utilisation(e, lim) for e, lim in zip(f["exposure"], f["credit_limit"], strict=False)]
    f["utilisation"] = f["utilisation"].astype("float64")
    f["exposure_change"] = [
        (e - b) / b if b > 0 else None for e, b in zip(f["exposure"], f["exposure_before"], strict=False)
    ]
    f["exposure_change"] = f["exposure_change"].astype("float64")
    f[["dbt_recent", "dbt_prior", "dbt_change"]] = dbt[["dbt_recent", "dbt_prior", "dbt_change"]]
    f["broken_promises"] = broken.reindex(f.index).fillna(0).astype("int64")
    f["financials_year_end"], f["financials"] = financials_state(book, day, params, f.index)
    f["cycle_due"] = f["next_review_due"].isna() | (f["next_review_due"] <= day)
    f["months_overdue"] = [999.0 if pd.isna(n) else (day - n).days / 30.4375 for n in f["next_review_due"]]

    f["triggers"], f["reasons"] = _triggers_and_reasons(f, trig, win)
    return f.reset_index()


def financials_state(book: Book, day: pd.Timestamp, params: dict, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Per customer: the year end of the latest statements on or before ``day`` and "current",
    "stale" (older than ``credit_review.max_financials_age_months``: not scored) or "none"."""
    fin = book.financials
    latest = fin[fin["fiscal_year_end"] <= day].groupby("customer_id")["fiscal_year_end"].max()
    year_end = latest.reindex(customers).astype("datetime64[ns]")
    months = max_financials_age(params)
    stale = year_end < months_before(day, months)
    state = pd.Series(np.where(year_end.isna(), "none", np.where(stale, "stale", "current")), index=customers)
    return year_end, state


def _triggers_and_reasons(f: pd.DataFrame, trig: dict, win: dict) -> tuple[np.ndarray, list[str]]:
    """Per row of :func:`signals`: how many triggers fired and the reasons, in the order
    utilisation, days beyond terms, broken promises, exposure jump, cycle (not a trigger).

    One pass per trigger over typed columns (itertuples rows are untyped); a row's reasons keep
    that order because each pass appends after the one before."""
    reasons: list[list[str]] = [[] for _ in range(len(f))]
    triggers = np.zeros(len(f), dtype="int64")

    def fired(i: int, reason: str) -> None:
        reasons[i].append(reason)
        triggers[i] += 1

    threshold = float(trig["utilisation_above"])
    util: pd.Series[float] = f["utilisation"]
    limit: pd.Series[int] = f["credit_limit"]
    for i, (u, lim) in enumerate(zip(util, limit, strict=True)):
        if pd.notna(u) and u > threshold:
            fired(i, "exposure with no credit limit" if lim <= 0 else f"utilisation {u:.0%} above {threshold:.0%}")

    increase = int(trig["days_beyond_terms_increase"])
    change: pd.Series[float] = f["dbt_change"]
    prior: pd.Series[float] = f["dbt_prior"]
    recent: pd.Series[float] = f["dbt_recent"]
    for i, (c, p, r) in enumerate(zip(change, prior, recent, strict=True)):
        if pd.notna(c) and c > 0 and c >= increase:
            fired(
                i,
                f"days beyond terms up {c:.1f} days ({p:.1f} -> {r:.1f}) over the last {win['recent_months']} months",
            )

    most = int(trig["broken_promises"])  # 0 disables the trigger
    broken: pd.Series[int] = f["broken_promises"]
    for i, n in enumerate(broken):
        if most > 0 and n >= most:
            fired(i, f"{n} broken promise(s) to pay in {win['promise_months']} months")

    jump = float(trig["exposure_jump"])
    exposure_change: pd.Series[float] = f["exposure_change"]
    for i, e in enumerate(exposure_change):
        if pd.notna(e) and e > jump:
            fired(i, f"exposure up {e:.0%} in {win['jump_months']} months")

    cycle_due: pd.Series[bool] = f["cycle_due"]
    last: pd.Series[pd.Timestamp] = f["last_review_date"]
    next_due: pd.Series[pd.Timestamp] = f["next_review_due"]
    cycle: pd.Series[int] = f["cycle_months"]
    rating: pd.Series[int] = f["risk_rating"]
    for i, (due, reviewed, nxt, months, r) in enumerate(zip(cycle_due, last, next_due, cycle, rating, strict=True)):
        if due:
            reasons[i].append(
                "never reviewed"
                if pd.isna(reviewed)
                else f"cycle review due {nxt.date()} ({months}-month cycle, rating {r})"
            )
    return triggers, ["; ".join(r) for r in reasons]


def review_queue(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """The customers due for review, in priority order (``priority`` 1 first), with ``memo``
    True for the first ``max_memos`` and False for those carried over."""
    f = signals(book, period, params)
    due = f[f["cycle_due"] | (f["triggers"] > 0)].copy()
    due["_util"] = due["utilisation"].fillna(-1.0)
    due = due.sort_values(
        ["triggers", "months_overdue", "risk_rating", "_util", "customer_id"],
        ascending=[False, False, False, False, True],
        ignore_index=True,
    )
    due["priority"] = np.arange(1, len(due) + 1, dtype="int64")
    due["memo"] = due["priority"] <= int(params["credit_review"]["max_memos"])
    return due[[*QUEUE_COLUMNS, "memo"]]
