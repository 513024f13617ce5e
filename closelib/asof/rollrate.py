"""Monthly as-of agings over a window and the roll rates measured on them.

One pass builds, for every INV/DM, its open amount at each month end of the window (a
documents x months integer matrix: events are binned to the first month end on or after
their date and cumulated), so twelve agings cost about as much as one. No per-document
Python loop.

Roll rate of bucket *i* (dollar-weighted over the window): of the amounts open in bucket
*i* at a month end that would have aged past the bucket by the next month end if unpaid
(*exposed*), the share still open there, plus what was written off in between
(*rolled*). Amounts that stay within a wide bucket are neither.

The last bucket rolls to write-off, measured only on amounts whose fate is known (no
censoring bias: an amount still open in the bucket at the window's end has not yet had its
chance to be written off, so it is in neither side)::

    last-bucket rate = W / (W + P) = W / (opening + entries - closing)

over the window, of the amounts in the last bucket: W = written off (net of recoveries),
P = paid, credited or adjusted away (everything else that left the bucket); opening and
closing are the bucket's balance at the window's first and last month ends, entries what
aged into it in between (first seen there at a month end, plus what was written off during
that month). In a steady book where everything reaching the bucket is written off k months
later this is 100 % for any k (write-offs over opening plus entries would give n / (n + k)
over an n-month window). Per transition month the frame carries ``exposed`` = W + P (the
amount resolved) and ``rolled`` = W, so months add up.

Loss rate of a bucket = its roll rate x the next bucket's loss rate; a bucket with fewer
than ``min_exposure_months`` months of exposure uses its floor rate, and no loss rate is
below its floor (an absent floor is zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from closelib.asof.instalments import allocate
from closelib.book.arrays import id_array, index_in
from closelib.book.fx import translate, translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.params import bucket_labels
from closelib.periods import Period

RATE_DECIMALS = 6  # loss rates are rounded to 0.0001 % before they are applied to money


@dataclass
class History:
    docs: pd.DataFrame  # INV/DM with entity, customer, pool, due/doc dates, amount
    month_ends: pd.DatetimeIndex
    open: np.ndarray  # int64 [docs, months]: open amount at each month end (0 before issue)
    written_off: np.ndarray  # int64 [docs, months]: write-offs (positive) in (previous end, this end]
    recovered: np.ndarray  # int64 [docs, months]: recoveries (positive) in (previous end, this end]


def _bin(month_ends: np.ndarray, dates: pd.Series) -> np.ndarray:
    """Index of the first month end on or after each date (dates before the window -> 0)."""
    return np.searchsorted(month_ends, dates.to_numpy(dtype="datetime64[ns]"), side="left")


def build_history(
    book: Book,
    period: Period,
    months: int,
    pools: pd.Series | None = None,
    doc_types: tuple[str, ...] = ("INV", "DM"),
    instalments: bool = False,
) -> History:
    """Open amounts of every INV/DM (or ``doc_types``) at the ``months + 1`` month ends ending
    with ``period``. A CM's open amount rises (towards zero) as it is applied.

    Amounts are in the entity's functional currency at each document's booking rate (a
    foreign-currency document's open amount translated at every month end). With
    ``instalments`` a scheduled document is one row per instalment (its due date, its share
    of the open amount settled in due-date order; write-offs and recoveries on its first row),
    as the collections KPIs count past due; the reserve's loss rates are measured on documents."""
    ends = pd.DatetimeIndex([p.end for p in period.back(months + 1)])
    end_values = ends.to_numpy(dtype="datetime64[ns]")
    all_docs = book.documents
    keep = (all_docs["doc_type"].isin(list(doc_types)) & (all_docs["document_date"] <= ends[-1])).to_numpy()
    docs = all_docs[keep].reset_index(drop=True)
    n, m = len(docs), len(ends)
    # Row in ``docs`` of every document row (-1 when left out); applications and adjustments
    # point at document rows through the book's links (one hash lookup per book, not per call).
    link = links(book)
    row_of = np.where(keep, np.cumsum(keep) - 1, -1)[link.doc_first] if len(keep) else np.zeros(0, dtype="int64")

    def rows(positions: np.ndarray) -> np.ndarray:
        return (
            np.where(positions >= 0, row_of[np.maximum(positions, 0)], -1)
            if len(row_of)
            else np.full(len(positions), -1, dtype="int64")
        )

    width = m + 1  # column m collects events after the window
    delta = np.zeros(n * width, dtype="int64")
    np.add.at(delta, np.arange(n) * width + _bin(end_values, docs["document_date"]), docs["amount"].to_numpy())
    apps = book.applications
    app_rows = rows(link.app_target)
    hit = app_rows >= 0
    app_cols = _bin(end_values, apps["applied_date"])
    np.add.at(delta, app_rows[hit] * width + app_cols[hit], -apps["amount"].to_numpy(dtype="int64")[hit])
    if "CM" in doc_types:
        src_rows = rows(link.app_source_doc)
        out = src_rows >= 0
        np.add.at(delta, src_rows[out] * width + app_cols[out], apps["amount"].to_numpy(dtype="int64")[out])
    adj = book.adjustments
    adj_all_rows = rows(link.adj_doc)
    adj_hit = adj_all_rows >= 0
    adj = adj[adj_hit]
    adj_rows = adj_all_rows[adj_hit]
    adj_cols = _bin(end_values, adj["adjustment_date"])
    np.add.at(delta, adj_rows * width + adj_cols, adj["amount"].to_numpy(dtype="int64"))
    open_ = np.cumsum(delta.reshape(n, width)[:, :m], axis=1)
    del delta
    wo = np.zeros(n * width, dtype="int64")
    is_wo = (adj["type"] == "write_off").to_numpy()
    np.add.at(wo, adj_rows[is_wo] * width + adj_cols[is_wo], -adj["amount"].to_numpy(dtype="int64")[is_wo])
    rec = np.zeros(n * width, dtype="int64")
    is_rec = (adj["type"] == "recovery").to_numpy()
    np.add.at(rec, adj_rows[is_rec] * width + adj_cols[is_rec], adj["amount"].to_numpy(dtype="int64")[is_rec])
    docs["pool"] = "all" if pools is None else docs["customer_id"].map(pools).fillna("unassigned").to_numpy()
    wo_ = np.ascontiguousarray(wo.reshape(n, width)[:, :m])
    rec_ = np.ascontiguousarray(rec.reshape(n, width)[:, :m])
    fx = translation(book)
    docs["functional_currency"] = fx.doc_functional[keep]
    docs["booking_rate"] = fx.doc_rate[keep]
    if instalments and book.has("payment_schedules") and len(book.payment_schedules):
        docs, open_, wo_, rec_ = _by_instalment(book, docs, open_, wo_, rec_)
    return History(docs, ends, *_in_functional(docs, open_, wo_, rec_))


def _by_instalment(
    book: Book, docs: pd.DataFrame, open_: np.ndarray, wo: np.ndarray, rec: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Scheduled documents as one row per instalment (see :func:`build_history`); transaction
    currency, translated afterwards with the cumulative rule (so a document's rows add up)."""
    sched = book.payment_schedules
    row = index_in(sched["document_id"], id_array(docs["document_id"]))
    sched, row = sched[row >= 0], row[row >= 0]
    if not len(row):
        return docs, open_, wo, rec
    order = np.lexsort((sched["instalment"].to_numpy(), sched["due_date"].to_numpy(dtype="datetime64[ns]"), row))
    sched, row = sched.iloc[order], row[order]
    amount = docs["amount"].to_numpy(dtype="int64")
    cleared = amount[:, None] - open_
    parts = (
        np.column_stack(
            [
                allocate(sched["amount"].to_numpy(dtype="int64"), row, cleared[:, j], np.maximum(-cleared[:, j], 0))
                for j in range(open_.shape[1])  # one vectorised pass per month end of the window
            ]
        )
        if open_.shape[1]
        else np.zeros((len(row), 0), dtype="int64")
    )
    first = np.r_[True, row[1:] != row[:-1]]
    scheduled = np.zeros(len(docs), dtype=bool)
    scheduled[row] = True
    rest = np.flatnonzero(~scheduled)
    split = docs.iloc[row].assign(due_date=sched["due_date"].to_numpy(dtype="datetime64[ns]"), _first=first)
    frame = pd.concat([docs.iloc[rest].assign(_first=True), split], ignore_index=True)
    frame["_group"] = np.r_[rest, row]
    return (
        frame,
        np.vstack([open_[rest], parts]),
        np.vstack([wo[rest], np.where(first[:, None], wo[row], 0)]),
        np.vstack([rec[rest], np.where(first[:, None], rec[row], 0)]),
    )


def _in_functional(
    docs: pd.DataFrame, open_: np.ndarray, wo: np.ndarray, rec: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matrices in the functional currency: only the rows of foreign-currency documents are
    translated (open amounts by the cumulative rule within a document's instalments)."""
    rate = docs["booking_rate"].to_numpy(dtype="float64")
    currency = docs["currency"].to_numpy(dtype=object)
    functional = docs["functional_currency"].to_numpy(dtype=object)
    foreign = np.flatnonzero((currency != functional) | (rate != 1.0))
    if not len(foreign) or not open_.shape[1]:
        return open_, wo, rec
    m = open_.shape[1]
    group = docs["_group"].to_numpy()[foreign] if "_group" in docs else foreign

    def tr(values: np.ndarray) -> np.ndarray:
        flat = translate(
            values.ravel(),
            np.repeat(rate[foreign], m),
            np.repeat(currency[foreign], m),
            np.repeat(functional[foreign], m),
        )
        return flat.reshape(len(foreign), m)

    cumulative = pd.DataFrame(open_[foreign]).groupby(group).cumsum().to_numpy(dtype="int64")
    open_, wo, rec = open_.copy(), wo.copy(), rec.copy()
    open_[foreign] = tr(cumulative) - tr(cumulative - open_[foreign])
    wo[foreign] = tr(wo[foreign])
    rec[foreign] = tr(rec[foreign])
    return open_, wo, rec


def bucket_matrix(history: History, basis: str, bounds: list[int]) -> np.ndarray:
    """Bucket index of every document at every month end (by days past due, or age)."""
    column = "due_date" if basis == "due_date" else "document_date"
    ref = history.docs[column].to_numpy(dtype="datetime64[D]").astype("int64")
    ends = history.month_ends.to_numpy(dtype="datetime64[D]").astype("int64")
    days = ends[None, :] - ref[:, None]
    return np.searchsorted(np.asarray(bounds), days, side="left")


def agings(history: History, basis: str, bounds: list[int]) -> pd.DataFrame:
    """Monthly as-of agings: one row per (entity, pool, month end, bucket) with the open amount."""
    buckets = bucket_matrix(history, basis, bounds)
    labels = bucket_labels(bounds)
    rows = []
    for key, idx in history.docs.groupby(["entity", "pool"]).indices.items():
        entity, pool = cast(tuple[str, str], key)
        for j, end in enumerate(history.month_ends):
            amounts = history.open[idx, j]
            sums = np.bincount(buckets[idx, j], weights=None, minlength=len(labels))
            totals = np.zeros(len(labels), dtype="int64")
            np.add.at(totals, buckets[idx, j], amounts)
            for k, label in enumerate(labels):
                if sums[k] or totals[k]:
                    rows.append((entity, pool, end.date(), label, int(totals[k])))
    return pd.DataFrame(rows, columns=["entity", "pool", "month_end", "bucket", "open_amount"])


def roll_rates(history: History, basis: str, bounds: list[int]) -> pd.DataFrame:
    """Per (entity, pool, bucket, transition month): exposed and rolled amounts (int64)."""
    labels = bucket_labels(bounds)
    last = len(labels) - 1
    buckets = bucket_matrix(history, basis, bounds)
    ends = history.month_ends.to_numpy(dtype="datetime64[D]").astype("int64")
    records = []
    group = history.docs["entity"].astype(str) + "\x1f" + history.docs["pool"].astype(str)
    codes, keys = pd.factorize(group, sort=True)
    groups = int(codes.max()) + 1 if len(codes) else 0
    for j in range(len(ends) - 1):
        now, nxt = history.open[:, j], history.open[:, j + 1]
        b_now = buckets[:, j]
        b_next = buckets[:, j + 1]  # the same searchsorted of the next month end's days
        wo = history.written_off[:, j + 1]
        rec = history.recovered[:, j + 1]
        held = now > 0
        exposed = held & ((b_next > b_now) | (wo > 0)) & (b_now < last)
        rolled = np.where(exposed, np.minimum(np.maximum(nxt, 0), now) + wo, 0)
        in_last = b_now == last  # a recovery can reopen an amount written off to zero
        entered = held & (b_now < last) & (b_next == last)
        # Buckets 0..last-1 in one pass: sums per (bucket, group) of the exposed rows.
        exp = np.zeros((last + 1) * groups, dtype="int64")
        rol = np.zeros((last + 1) * groups, dtype="int64")
        key = b_now[exposed] * groups + codes[exposed]
        np.add.at(exp, key, now[exposed])
        np.add.at(rol, key, rolled[exposed])
        # Last bucket: only amounts whose fate is known. W = net write-offs; resolved (W + P) =
        # what left the bucket this month: the fall in its open amount (an entrant counts from
        # the month end it is first seen there, plus what was written off during the month).
        net_wo = wo - rec
        num = np.where(in_last | entered, net_wo, 0)
        den = np.where(in_last, np.maximum(now, 0) - np.maximum(nxt, 0), 0) + np.where(entered, net_wo, 0)
        tail = (in_last | entered) & ((num != 0) | (den != 0))
        exp[last * groups :] = 0
        rol[last * groups :] = 0
        np.add.at(exp, last * groups + codes[tail], den[tail])
        np.add.at(rol, last * groups + codes[tail], num[tail])
        records.append((exp, rol))
    if records:
        months = len(records)
        frame = pd.DataFrame(
            {
                "group": np.tile(np.arange(groups), months * (last + 1)),
                "month": np.repeat(np.arange(months), (last + 1) * groups),
                "bucket": np.tile(np.repeat(np.arange(last + 1), groups), months),
                "exposed": np.concatenate([e for e, _ in records]),
                "rolled": np.concatenate([r for _, r in records]),
            }
        )
    else:
        frame = pd.DataFrame(columns=["group", "month", "bucket", "exposed", "rolled"])
    split = pd.Series(keys)[frame["group"].to_numpy()].str.split("\x1f", expand=True) if len(frame) else None
    frame["entity"] = split[0].to_numpy() if split is not None else []
    frame["pool"] = split[1].to_numpy() if split is not None else []
    frame["bucket"] = np.asarray(labels)[frame["bucket"].to_numpy(dtype="int64")] if len(frame) else []
    frame["month_end"] = [history.month_ends[j + 1].date() for j in frame["month"]] if len(frame) else []
    return frame[["entity", "pool", "bucket", "month_end", "exposed", "rolled"]]


def _sums(codes: np.ndarray, mask: np.ndarray, exposed: np.ndarray, rolled: np.ndarray, j: int, k: int) -> pd.DataFrame:
    groups = int(codes.max()) + 1 if len(codes) else 0
    exp = np.zeros(groups, dtype="int64")
    rol = np.zeros(groups, dtype="int64")
    np.add.at(exp, codes[mask], exposed[mask])
    np.add.at(rol, codes[mask], rolled[mask])
    return pd.DataFrame({"group": np.arange(groups), "month": j, "bucket": k, "exposed": exp, "rolled": rol})


def loss_rates(rolls: pd.DataFrame, labels: list[str], floors: dict[str, float], min_months: int) -> pd.DataFrame:
    """Per (entity, pool, bucket): weighted roll rate, months with exposure, loss rate used, and why."""
    out: list[dict[str, Any]] = []
    for (entity, pool), mine in rolls.groupby(["entity", "pool"], sort=True):
        agg = mine.groupby("bucket").agg(
            exposed=("exposed", "sum"), rolled=("rolled", "sum"), months=("exposed", lambda s: int((s > 0).sum()))
        )
        agg = agg.reindex(labels).fillna(0)
        counts = agg[["exposed", "rolled", "months"]].to_numpy(dtype="int64")  # row i: labels[i]
        next_loss = None
        rows = []
        for i in reversed(range(len(labels))):
            label = labels[i]
            exposed, rolled, months = (int(v) for v in counts[i])
            roll = min(max(rolled / exposed, 0.0), 1.0) if exposed > 0 else None
            floor = float(floors.get(label, 0.0))  # an absent floor is zero
            if roll is None or months < min_months:
                loss, basis = floor, f"floor: only {months} month(s) with exposure (minimum {min_months})"
            else:
                computed = roll if next_loss is None else roll * next_loss
                loss, basis = (
                    (computed, "roll rates")
                    if computed >= floor
                    else (floor, f"floor: the computed {computed:.4%} is below it")
                )
            loss = round(loss, RATE_DECIMALS)
            rows.append(
                {
                    "entity": entity,
                    "pool": pool,
                    "bucket": label,
                    "exposed": exposed,
                    "rolled": rolled,
                    "months": months,
                    "roll_rate": roll,
                    "loss_rate": loss,
                    "basis": basis,
                }
            )
            next_loss = loss
        out.extend(reversed(rows))
    return pd.DataFrame(
        out, columns=["entity", "pool", "bucket", "exposed", "rolled", "months", "roll_rate", "loss_rate", "basis"]
    )
