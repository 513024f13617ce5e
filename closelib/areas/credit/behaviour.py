"""Credit review: payment behaviour, from the applications of receipts to invoices and debit memos.

The payment date is the receipt's date; days to pay = payment date - document date (not below
0), days beyond terms = payment date - due date (not below 0); averages are weighted by the
amount applied; the share paid late is the amount applied after the due date over all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.credit.lookback import months_before
from closelib.asof.instalments import application_due_dates
from closelib.book.arrays import isin
from closelib.book.links import links
from closelib.book.model import Book
from closelib.nb.charts import freeze_tick_labels, keep_legend_pixels, money_axis
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def payment_history(book: Book, day: pd.Timestamp, months: int = 24, ordered: bool = True) -> pd.DataFrame:
    """Every application of a receipt (dated within ``months`` before ``day``) to an INV/DM:
    customer, document, dates, amount, days to pay, days beyond terms, late. A payment of a
    document with an instalment schedule is one row per instalment it settles, each against
    that instalment's due date (:func:`closelib.asof.instalments.application_due_dates`).
    Sorted by customer, payment date and document unless ``ordered`` is false (for sums per
    customer, which are integer and so the same in any order: sorting a million rows by their
    text ids was half of the review queue's history).

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
    return out.sort_values(["customer_id", "paid_date", "document_id"], ignore_index=True) if ordered else out


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
    days to pay and beyond terms, share late: :func:`behaviour` of each month's payments.

    One pass over the history, the sums per month in int64 (exact, so in any order), each
    average then one division of two sums as :func:`behaviour` makes it: a weighted average where
    the month's amount is above 0, the share late where it is not 0 (24 calls of
    :func:`behaviour` on a month's rows cost a memo 30 ms)."""
    periods = period.back(months)
    first = (periods[0].year - 1970) * 12 + periods[0].month - 1  # months since 1970-01
    paid = history["paid_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("int64")
    slot = paid - first
    keep = (slot >= 0) & (slot < months) & ~np.isnat(history["paid_date"].to_numpy(dtype="datetime64[ns]"))
    slot = slot[keep]
    amount = history["amount"].to_numpy(dtype="int64")[keep]

    def per_month(values: np.ndarray) -> np.ndarray:
        total = np.zeros(months, dtype="int64")
        np.add.at(total, slot, values)
        return total

    paid_total = per_month(amount)
    to_pay = per_month(history["days_to_pay"].to_numpy(dtype="int64")[keep] * amount)
    beyond = per_month(history["days_beyond_terms"].to_numpy(dtype="int64")[keep] * amount)
    late = per_month(np.where(history["late"].to_numpy(dtype=bool)[keep], amount, 0))
    positive, nonzero = paid_total > 0, paid_total != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "month": [str(p) for p in periods],
                "amount_paid": paid_total,
                "weighted_days_to_pay": np.where(positive, to_pay / paid_total, np.nan),
                "weighted_days_beyond_terms": np.where(positive, beyond / paid_total, np.nan),
                "share_paid_late": np.where(nonzero, late / paid_total, np.nan),
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


def dbt_change_of(
    history: pd.DataFrame, customer_id: str, day: pd.Timestamp, recent_months: int = 3, prior_months: int = 12
) -> dict[str, float | None]:
    """:func:`dbt_change` of one customer (``None`` for what it leaves NaN or without a row): the
    same sums and divisions over that customer's rows, without grouping the history by customer
    (a memo's history is one customer's)."""
    mine = (history["customer_id"] == customer_id).to_numpy(dtype=bool)
    paid = history["paid_date"].to_numpy(dtype="datetime64[ns]")[mine]
    amount = history["amount"].to_numpy(dtype="int64")[mine]
    weighted = history["days_beyond_terms"].to_numpy(dtype="int64")[mine] * amount
    split = months_before(day, recent_months).to_datetime64()
    start = months_before(day, recent_months + prior_months).to_datetime64()

    def average(rows: np.ndarray) -> float | None:
        total = amount[rows].sum()
        return float(weighted[rows].sum() / total) if rows.any() and total > 0 else None

    recent, prior = average(paid > split), average((paid > start) & (paid <= split))
    change = recent - prior if recent is not None and prior is not None else None
    return {"dbt_recent": recent, "dbt_prior": prior, "dbt_change": change}


def trend_chart(trend: pd.DataFrame, customer: str, currency: str) -> Figure:
    """Bars: amount paid per month (major units); lines: weighted days to pay and beyond terms.

    A figure of its own, not pyplot's: shown with :func:`closelib.nb.charts.show_chart`, it is drawn
    once (pyplot's inline display drew it three times: 0.5 s a memo). The figure is made once per
    kernel for the window's months (the same for every memo of a close) and each call sets its
    bars, lines, title and currency (:func:`_trend_figure`): show it before the next call, which
    reuses it."""
    fig, ax, days = _trend_figure(tuple(str(m) for m in trend["month"]))
    paid = [float(money.from_minor(int(v), currency)) for v in trend["amount_paid"]]  # display only
    bars = ax.containers[0]
    for bar, value in zip(bars, paid, strict=True):
        bar.set_height(value)
    bars.set_label(f"paid ({currency})")
    fig.legends[0].get_texts()[0].set_text(f"paid ({currency})")
    ax.set_ylabel(f"paid ({currency})")
    money_axis(ax, currency)  # separators, no "1e6" offset text over the title
    ax.relim()
    ax.autoscale_view()
    to_pay, beyond = days.get_lines()
    to_pay.set_ydata(trend["weighted_days_to_pay"].to_numpy(dtype="float64"))
    beyond.set_ydata(trend["weighted_days_beyond_terms"].to_numpy(dtype="float64"))
    # the top from the lines, as autoscaling finds it; the bottom at 0 (set_ylim turns autoscaling off)
    days.relim()
    days.set_autoscaley_on(True)
    days.autoscale_view(scalex=False)
    days.set_ylim(bottom=0)
    ax.title.set_text(f"{customer}: payment behaviour by month of payment")
    return fig


# The trend chart's figure for each window of months, made once per kernel (the memos of a close
# run one after another in one kernel, all with the same 24 months). Made anew for every memo, its
# 24 month ticks were created and their labels measured again at each draw: 0.15 s of each memo.
_TREND_FIGURES: dict[tuple[str, ...], tuple[Figure, Axes, Axes]] = {}


def _trend_figure(months: tuple[str, ...]) -> tuple[Figure, Axes, Axes]:
    """The trend chart's figure, axes and twin axes for ``months``: bars and lines with no values
    yet, the style, labels and legend of :func:`trend_chart`, and a fixed layout."""
    if months in _TREND_FIGURES:
        return _TREND_FIGURES[months]
    from matplotlib.figure import Figure as PlainFigure

    fig = PlainFigure(figsize=(9, 3.4))
    ax = fig.subplots()
    empty = [0.0] * len(months)
    ax.bar(list(months), empty, color="#d0d7de", label="paid")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    days = ax.twinx()
    days.plot(list(months), empty, marker="o", color="#0969da", label="days to pay")
    days.plot(list(months), empty, marker="o", color="#cf222e", label="days beyond terms")
    days.set_ylabel("days (amount-weighted)")
    bar_handles, bar_labels = ax.get_legend_handles_labels()
    line_handles, line_labels = days.get_legend_handles_labels()
    fig.legend(
        bar_handles + line_handles, bar_labels + line_labels, loc="lower center", ncol=3, fontsize=8, frameon=False
    )
    # y given: the title stays just above the axes (where matplotlib's automatic placement puts
    # it, nothing being above the axes) without measuring every tick label at each draw
    ax.set_title(" ", fontsize=10, y=1.0)
    # Fixed margins, not tight_layout: measuring every tick label cost 0.4 s per memo.
    fig.subplots_adjust(left=0.12, right=0.91, top=0.9, bottom=0.3)
    freeze_tick_labels(ax.xaxis)  # the months: the same in every memo
    keep_legend_pixels(fig.legends[0])  # the same in every memo of a currency
    _TREND_FIGURES[months] = fig, ax, days
    return fig, ax, days
