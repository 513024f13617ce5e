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

from typing import Any, cast

import numpy as np
import pandas as pd

from closelib.asof.history import Cells, History, build_history
from closelib.params import bucket_labels

RATE_DECIMALS = 6  # loss rates are rounded to 0.0001 % before they are applied to money

__all__ = ["Cells", "History", "agings", "bucket_matrix", "build_history", "loss_rates", "roll_rates"]


def _reference_days(history: History, basis: str) -> np.ndarray:
    column = "due_date" if basis == "due_date" else "document_date"
    return history.docs[column].to_numpy(dtype="datetime64[D]").astype("int64")


def _end_days(history: History) -> np.ndarray:
    return history.month_ends.to_numpy(dtype="datetime64[D]").astype("int64")


def buckets_at(history: History, basis: str, bounds: list[int], j: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Bucket index at month end ``j`` (by days past due, or age) of ``rows`` (every row when None)."""
    ref = _reference_days(history, basis)
    days = _end_days(history)[j] - (ref if rows is None else ref[rows])
    return np.searchsorted(np.asarray(bounds), days, side="left")


def bucket_matrix(history: History, basis: str, bounds: list[int]) -> np.ndarray:
    """Bucket index of every document at every month end (by days past due, or age)."""
    ref = _reference_days(history, basis)
    days = _end_days(history)[None, :] - ref[:, None]
    return np.searchsorted(np.asarray(bounds), days, side="left")


def group_codes(docs: pd.DataFrame, by_key: bool = False) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Code of each row's (entity, pool): codes numbered in the order of the joined text
    ``entity\x1fpool``, or with ``by_key`` in (entity, pool) order (as a groupby numbers them).

    Each column is factorized on its own and the few (entity, pool) pairs are numbered from
    their joined text: joining a million texts first costs half a second a call."""
    entity, pool = docs["entity"], docs["pool"]
    if entity.hasnans or pool.hasnans:  # the joined text of a missing value ("nan"), as before
        group = entity.astype(str) + "\x1f" + pool.astype(str)
        codes, texts = pd.factorize(group, sort=True)
        keys = [cast(tuple[str, str], tuple(k.split("\x1f", 1))) for k in texts]
    else:
        e_codes, e_names = pd.factorize(entity)
        p_codes, p_names = pd.factorize(pool)
        pair = np.asarray(e_codes, dtype="int64") * max(len(p_names), 1) + np.asarray(p_codes, dtype="int64")
        present, inverse = _small_unique(pair, len(e_names) * max(len(p_names), 1))
        joined = [f"{e_names[k // max(len(p_names), 1)]}\x1f{p_names[k % max(len(p_names), 1)]}" for k in present]
        by_text = sorted(range(len(joined)), key=joined.__getitem__)
        rank = np.empty(len(joined), dtype="int64")
        rank[by_text] = np.arange(len(joined))
        codes = rank[inverse]
        keys = [cast(tuple[str, str], tuple(joined[i].split("\x1f", 1))) for i in by_text]
    codes = np.asarray(codes, dtype="int64")
    if by_key and len(keys):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), dtype="int64")
        rank[order] = np.arange(len(keys))
        codes, keys = rank[codes], [keys[i] for i in order]
    return codes, keys


def _small_unique(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of codes in ``0 .. size - 1``: counted, not
    sorted, when ``size`` is small beside the rows (a few (entity, pool) pairs among a million
    documents: a sort of a million keys costs a tenth of a second a call)."""
    if size > 4 * len(values) + 1024:
        present, inverse = np.unique(values, return_inverse=True)
        return present, inverse.reshape(-1)
    present = np.flatnonzero(np.bincount(values, minlength=size))
    index = np.zeros(size, dtype="int64")
    index[present] = np.arange(len(present))
    return present, index[values]


def agings(history: History, basis: str, bounds: list[int]) -> pd.DataFrame:
    """Monthly as-of agings: one row per (entity, pool, month end, bucket) with the open amount,
    for every bucket holding a document at that month end (even with nothing open in it)."""
    labels = bucket_labels(bounds)
    width = len(labels)
    codes, keys = group_codes(history.docs, by_key=True)
    groups = len(keys)
    ref = _reference_days(history, basis)
    ends = _end_days(history)
    grid = np.asarray(bounds)
    months = len(ends)
    counts = np.zeros((groups, months, width), dtype="int64")
    totals = np.zeros((groups, months, width), dtype="int64")
    # Documents counted per (group, reference date): the same buckets, one entry per distinct pair
    low = int(ref.min()) if len(ref) else 0
    span = int(ref.max()) - low + 1 if len(ref) else 1
    pair, how_many = np.unique(codes * span + (ref - low), return_counts=True)
    pair_code, pair_ref = pair // span, pair % span + low
    for j in range(months):
        into = counts[:, j, :].reshape(-1)
        np.add.at(into, pair_code * width + np.searchsorted(grid, ends[j] - pair_ref, side="left"), how_many)
        counts[:, j, :] = into.reshape(groups, width)
        held = np.flatnonzero(history.open[:, j])  # the other rows add zero
        bucket = np.searchsorted(grid, ends[j] - ref[held], side="left")
        into = totals[:, j, :].reshape(-1)
        np.add.at(into, codes[held] * width + bucket, history.open[held, j])
        totals[:, j, :] = into.reshape(groups, width)
    # in group, then month end, then bucket order
    at_group, at_month, at_bucket = np.nonzero((counts != 0) | (totals != 0))
    dates = [d.date() for d in history.month_ends]
    return pd.DataFrame(
        {
            "entity": [keys[i][0] for i in at_group],
            "pool": [keys[i][1] for i in at_group],
            "month_end": [dates[i] for i in at_month],
            "bucket": [labels[i] for i in at_bucket],
            "open_amount": [int(v) for v in totals[at_group, at_month, at_bucket]],
        },
        columns=["entity", "pool", "month_end", "bucket", "open_amount"],
    )


def roll_rates(history: History, basis: str, bounds: list[int]) -> pd.DataFrame:
    """Per (entity, pool, bucket, transition month): exposed and rolled amounts (int64).

    Each transition looks only at the documents open at either month end or written off or
    recovered in between: a document with nothing open and nothing written off adds nothing."""
    labels = bucket_labels(bounds)
    last = len(labels) - 1
    ref = _reference_days(history, basis)
    ends = _end_days(history)
    grid = np.asarray(bounds)
    records = []
    codes, keys = group_codes(history.docs)
    groups = len(keys)
    for j in range(len(ends) - 1):
        wo_cells = history.write_offs.cols == j + 1
        rec_cells = history.recoveries.cols == j + 1
        live = history.open[:, j] != 0
        live |= history.open[:, j + 1] != 0
        live[history.write_offs.rows[wo_cells]] = True
        live[history.recoveries.rows[rec_cells]] = True
        rows = np.flatnonzero(live)
        now, nxt = history.open[rows, j], history.open[rows, j + 1]
        b_now = np.searchsorted(grid, ends[j] - ref[rows], side="left")
        b_next = np.searchsorted(grid, ends[j + 1] - ref[rows], side="left")
        wo = _on_rows(history.write_offs, wo_cells, rows)
        rec = _on_rows(history.recoveries, rec_cells, rows)
        code = codes[rows]
        held = now > 0
        exposed = held & ((b_next > b_now) | (wo > 0)) & (b_now < last)
        rolled = np.where(exposed, np.minimum(np.maximum(nxt, 0), now) + wo, 0)
        in_last = b_now == last  # a recovery can reopen an amount written off to zero
        entered = held & (b_now < last) & (b_next == last)
        # Buckets 0..last-1 in one pass: sums per (bucket, group) of the exposed rows.
        exp = np.zeros((last + 1) * groups, dtype="int64")
        rol = np.zeros((last + 1) * groups, dtype="int64")
        key = b_now[exposed] * groups + code[exposed]
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
        np.add.at(exp, last * groups + code[tail], den[tail])
        np.add.at(rol, last * groups + code[tail], num[tail])
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
    group_of = frame["group"].to_numpy(dtype="int64")
    frame["entity"] = np.asarray([k[0] for k in keys], dtype=object)[group_of] if len(frame) else []
    frame["pool"] = np.asarray([k[1] for k in keys], dtype=object)[group_of] if len(frame) else []
    frame["bucket"] = np.asarray(labels)[frame["bucket"].to_numpy(dtype="int64")] if len(frame) else []
    dates = [d.date() for d in history.month_ends]
    frame["month_end"] = [dates[j + 1] for j in frame["month"]] if len(frame) else []
    return frame[["entity", "pool", "bucket", "month_end", "exposed", "rolled"]]


def _on_rows(cells: Cells, mine: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The amounts of the cells ``mine`` (of one column) on ``rows`` (sorted), 0 elsewhere."""
    out = np.zeros(len(rows), dtype="int64")
    out[np.searchsorted(rows, cells.rows[mine])] = cells.amounts[mine]
    return out


def loss_rates(rolls: pd.DataFrame, labels: list[str], floors: dict[str, float], min_months: int) -> pd.DataFrame:
    """Per (entity, pool, bucket): weighted roll rate, months with exposure, loss rate used, and why."""
    out: list[dict[str, Any]] = []
    for entity, pool, counts in _bucket_sums(rolls, labels):
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


def _bucket_sums(rolls: pd.DataFrame, labels: list[str]):
    """Per (entity, pool) of ``rolls``, in sorted order: an int64 [labels, 3] array of the
    exposed and rolled sums and the months with exposure of each bucket, as
    ``groupby("bucket").agg(...).reindex(labels).fillna(0)`` gives them (a group without a row
    in some bucket passes its sums through float64, as the reindexed frame does).

    Integer codes and sums into arrays, not a groupby and a Python ``lambda`` per group."""
    if not len(rolls) or rolls["entity"].hasnans or rolls["pool"].hasnans:
        for (entity, pool), mine in rolls.groupby(["entity", "pool"], sort=True):
            agg = mine.groupby("bucket").agg(
                exposed=("exposed", "sum"), rolled=("rolled", "sum"), months=("exposed", lambda s: int((s > 0).sum()))
            )
            yield entity, pool, agg.reindex(labels).fillna(0)[["exposed", "rolled", "months"]].to_numpy(dtype="int64")
        return
    e_codes, e_names = pd.factorize(rolls["entity"], sort=True)
    p_codes, p_names = pd.factorize(rolls["pool"], sort=True)
    width = len(labels)
    group = np.asarray(e_codes, dtype="int64") * len(p_names) + np.asarray(p_codes, dtype="int64")
    bucket = pd.Index(labels).get_indexer(pd.Index(rolls["bucket"]))  # -1: not a bucket of the labels
    exposed = rolls["exposed"].to_numpy(dtype="int64")
    rolled = rolls["rolled"].to_numpy(dtype="int64")
    present = np.unique(group)
    slot = np.searchsorted(present, group) * width + bucket
    known = bucket >= 0
    size = len(present) * width
    sums = np.zeros((size, 3), dtype="int64")
    np.add.at(sums[:, 0], slot[known], exposed[known])
    np.add.at(sums[:, 1], slot[known], rolled[known])
    sums[:, 2] = np.bincount(slot[known & (exposed > 0)], minlength=size)
    seen = np.bincount(slot[known], minlength=size).reshape(len(present), width)
    for i, code in enumerate(present):
        counts = sums[i * width : (i + 1) * width]
        if (seen[i] == 0).any():  # reindexed: the frame's columns were float64
            counts = counts.astype("float64").astype("int64")
        yield str(e_names[code // len(p_names)]), str(p_names[code % len(p_names)]), counts
