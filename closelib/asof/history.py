"""Open amounts of every document at each month end of a window, in the functional currency.

One pass builds, for every INV/DM (or the document types asked for), its open amount at each
month end of the window: a documents x months integer matrix, events binned to the first month
end on or after their date and cumulated, so twelve as-of dates cost about as much as one. No
per-document Python loop.

Write-offs and recoveries are a few thousand cells among millions (:class:`Cells`): they are
kept sparse, per (document row, month), never as dense matrices.

Translation to the functional currency (README, *Foreign currency*) is per line at the
document's booking rate, exact and rounded half away from zero. A document's open amount
changes only at its events, so each row is translated only where its value changes from the
previous month end (:func:`translated_rows`): the same numbers as translating every cell, at
the cost of the events instead of documents x months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib import money
from closelib.asof.instalments import allocate
from closelib.book.arrays import arrow_text, combined, lookup, positions
from closelib.book.fx import translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.book.parse import currency_digits
from closelib.periods import Period

# The document columns a history carries (the rest of the documents table is not read from it).
DOC_COLUMNS = ("document_id", "customer_id", "entity", "doc_type", "document_date", "due_date", "currency", "amount")


@dataclass(frozen=True)
class Cells:
    """Sparse int64 amounts per (row, month column) of a history, one entry per cell (summed),
    in row then column order."""

    rows: np.ndarray
    cols: np.ndarray
    amounts: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def summed(cls, rows: np.ndarray, cols: np.ndarray, amounts: np.ndarray, shape: tuple[int, int]) -> Cells:
        """Cells of ``amounts`` added up per (row, column)."""
        flat = np.asarray(rows, dtype="int64") * shape[1] + np.asarray(cols, dtype="int64")
        keys, inverse = np.unique(flat, return_inverse=True)
        total = np.zeros(len(keys), dtype="int64")
        np.add.at(total, inverse.reshape(-1), np.asarray(amounts, dtype="int64"))
        return cls(keys // max(shape[1], 1), keys % max(shape[1], 1), total, shape)

    def column(self, j: int) -> np.ndarray:
        """The dense column ``j`` (one value per row)."""
        out = np.zeros(self.shape[0], dtype="int64")
        mine = self.cols == j
        out[self.rows[mine]] = self.amounts[mine]
        return out

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype="int64")
        out[self.rows, self.cols] = self.amounts
        return out


@dataclass
class History:
    docs: pd.DataFrame  # INV/DM: DOC_COLUMNS, pool, functional currency and booking rate
    month_ends: pd.DatetimeIndex
    open: np.ndarray  # int64 [docs, months]: open amount at each month end (0 before issue)
    write_offs: Cells  # write-offs (positive) in (previous end, this end], per document and month
    recoveries: Cells  # recoveries (positive) in (previous end, this end], per document and month

    @property
    def written_off(self) -> np.ndarray:
        """Write-offs as a dense int64 [docs, months] matrix (for readers and tests; the
        computations use the sparse cells)."""
        return self.write_offs.dense()

    @property
    def recovered(self) -> np.ndarray:
        return self.recoveries.dense()


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
    columns = all_docs[[c for c in DOC_COLUMNS if c in all_docs.columns]]
    # by position (a boolean .loc costs twice as much); every row kept: the columns as they are
    docs = (columns if keep.all() else columns.take(np.flatnonzero(keep))).reset_index(drop=True)
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

    # Each event adds its amount from the first month end on or after its date; events after
    # the window's last month end are left out. Cumulated in place: one documents x months matrix,
    # stored by month (column-major), as every reader goes through it a month end at a time.
    open_ = np.zeros((n, m), dtype="int64", order="F")
    flat = open_.reshape(-1, order="F")

    def add(at_rows: np.ndarray, cols: np.ndarray, amounts: np.ndarray) -> None:
        take = (at_rows >= 0) & (cols < m)
        np.add.at(flat, cols[take] * n + at_rows[take], amounts[take])

    # One cell per document (its row is its own): set, not added (np.add.at's cost is for repeats).
    doc_cols = _bin(end_values, docs["document_date"])
    issued = np.flatnonzero(doc_cols < m)
    flat[doc_cols[issued] * n + issued] = docs["amount"].to_numpy(dtype="int64")[issued]
    apps = book.applications
    app_cols = _bin(end_values, apps["applied_date"])
    app_amount = apps["amount"].to_numpy(dtype="int64")
    add(rows(link.app_target), app_cols, -app_amount)
    if "CM" in doc_types:
        add(rows(link.app_source_doc), app_cols, app_amount)
    adj = book.adjustments
    adj_rows = rows(link.adj_doc)
    adj_cols = _bin(end_values, adj["adjustment_date"])
    adj_amount = adj["amount"].to_numpy(dtype="int64")
    add(adj_rows, adj_cols, adj_amount)
    for j in range(1, m):  # cumulated a month end at a time (contiguous columns)
        open_[:, j] += open_[:, j - 1]
    in_window = (adj_rows >= 0) & (adj_cols < m)
    is_wo = in_window & (adj["type"] == "write_off").to_numpy()
    is_rec = in_window & (adj["type"] == "recovery").to_numpy()
    wo = Cells.summed(adj_rows[is_wo], adj_cols[is_wo], -adj_amount[is_wo], (n, m))
    rec = Cells.summed(adj_rows[is_rec], adj_cols[is_rec], adj_amount[is_rec], (n, m))
    # both text columns made by hash lookups, not a million rows' map to Python objects and back
    docs["pool"] = "all" if pools is None else _pool_text(docs["customer_id"], pools)
    fx = translation(book)
    docs["functional_currency"] = _object_text(fx.doc_functional[keep])
    docs["booking_rate"] = fx.doc_rate[keep]
    if instalments and book.has("payment_schedules") and len(book.payment_schedules):
        docs, open_, wo, rec = _by_instalment(book, docs, open_, wo, rec)
    return History(docs, ends, *_in_functional(docs, open_, wo, rec))


def _by_instalment(
    book: Book, docs: pd.DataFrame, open_: np.ndarray, wo: Cells, rec: Cells
) -> tuple[pd.DataFrame, np.ndarray, Cells, Cells]:
    """Scheduled documents as one row per instalment (see :func:`build_history`); transaction
    currency, translated afterwards with the cumulative rule (so a document's rows add up)."""
    sched = book.payment_schedules
    # the schedule's few thousand ids hashed, the documents' probed (a tenth of index_in's cost)
    row = positions(arrow_text(sched["document_id"]), arrow_text(docs["document_id"]))
    sched, row = sched[row >= 0], row[row >= 0]
    if not len(row):
        return docs, open_, wo, rec
    order = np.lexsort((sched["instalment"].to_numpy(), sched["due_date"].to_numpy(dtype="datetime64[ns]"), row))
    sched, row = sched.iloc[order], row[order]
    # What has been cleared of each scheduled document at each month end (its rows only).
    scheduled_docs, group = np.unique(row, return_inverse=True)
    group = group.reshape(-1)
    cleared = docs["amount"].to_numpy(dtype="int64")[scheduled_docs, None] - open_[scheduled_docs]
    amounts = sched["amount"].to_numpy(dtype="int64")
    parts = np.zeros((len(row), open_.shape[1]), dtype="int64")
    for j in range(open_.shape[1]):  # one vectorised pass per month end of the window
        parts[:, j] = allocate(amounts, group, cleared[:, j], np.maximum(-cleared[:, j], 0))
    del cleared
    first = np.r_[True, row[1:] != row[:-1]]
    scheduled = np.zeros(len(docs), dtype=bool)
    scheduled[row] = True
    unscheduled = ~scheduled
    rest = np.flatnonzero(unscheduled)
    # the unscheduled documents, then each scheduled one's instalments (their own due dates)
    frame = _kept_then(docs, unscheduled, row)
    due = frame["due_date"].to_numpy(dtype="datetime64[ns]").copy()
    due[len(rest) :] = sched["due_date"].to_numpy(dtype="datetime64[ns]")
    frame["due_date"] = due
    frame["_first"] = np.r_[np.ones(len(rest), dtype=bool), first]
    frame["_group"] = np.r_[rest, row]
    # Write-offs and recoveries stay on a document's first row: the new row of each old one.
    new_row = np.where(unscheduled, np.cumsum(unscheduled) - 1, -1)
    new_row[row[first]] = len(rest) + np.flatnonzero(first)
    by_row = np.empty((len(frame), open_.shape[1]), dtype="int64", order="F")
    for j in range(open_.shape[1]):  # a column at a time: both matrices are stored by month
        np.compress(unscheduled, open_[:, j], out=by_row[: len(rest), j])
        by_row[len(rest) :, j] = parts[:, j]
    return frame, by_row, _cells_at(wo, new_row, len(frame)), _cells_at(rec, new_row, len(frame))


def _kept_then(frame: pd.DataFrame, keep: np.ndarray, then: np.ndarray) -> pd.DataFrame:
    """``frame.take(np.r_[np.flatnonzero(keep), then]).reset_index(drop=True)``, column by column:
    the kept rows filtered (runs of rows copied at once, where a take copies row by row) and
    the few ``then`` rows taken after them."""
    columns: dict[str, object] = {}
    kept = np.flatnonzero(keep)
    for name in frame.columns:
        column = frame[name]
        if column.dtype == "str":
            text = combined(arrow_text(column))
            joined = pa.concat_arrays([text.filter(pa.array(keep)), text.take(pa.array(then, type=pa.int64()))])
            columns[name] = pd.array(joined, dtype=column.dtype)
        elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufmM":
            plain = column.to_numpy()
            columns[name] = np.concatenate([plain[keep], plain[then]])
        else:  # any other column as pandas takes it (its dtype kept)
            columns[name] = column.take(np.concatenate([kept, then])).reset_index(drop=True)
    return pd.DataFrame(columns)


def _cells_at(cells: Cells, new_row: np.ndarray, rows: int) -> Cells:
    """``cells`` moved to new rows (``new_row`` of each old row, -1: none) of ``rows`` rows."""
    moved = new_row[cells.rows] if len(cells.rows) else cells.rows
    keep = moved >= 0
    return Cells.summed(moved[keep], cells.cols[keep], cells.amounts[keep], (rows, cells.shape[1]))


def _object_text(values: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """An object array of a few distinct texts (missing as None or NaN) as pandas text, the
    column assigning the array would make: each distinct value converted once, the rows
    taken by code (an object array's conversion costs a tenth of a second per million rows)."""
    codes, distinct = pd.factorize(values)
    if not len(distinct):  # no text (no row, or every one missing): the array, typed as assigning it types it
        return values
    text = pa.array(np.asarray(distinct, dtype=object), type=pa.large_string())
    return pd.array(text.take(pa.array(codes, mask=codes < 0)), dtype="str")


def _pool_text(customer_id: pd.Series, pools: pd.Series) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Each row's pool (its customer's in ``pools``; "unassigned" when none): the column
    ``customer_id.map(pools).fillna("unassigned").to_numpy()`` makes, by an Arrow hash lookup
    and without a Python object per row when the pools are text."""
    pool = lookup(customer_id, pools).fillna("unassigned")
    return pool.array if pool.dtype == "str" and len(pool) else pool.to_numpy()


def translated_rows(values: np.ndarray, rate: np.ndarray, currency: np.ndarray, functional: np.ndarray) -> np.ndarray:
    """Every cell of ``values`` [rows, months] translated (:func:`closelib.book.fx.translate`) at
    its row's rate and currencies (:func:`_translate_rows`, on a copy)."""
    out = np.array(values, dtype="int64", order="F")
    rate = np.asarray(rate, dtype="float64")
    currency = np.asarray(currency, dtype=object)
    functional = np.asarray(functional, dtype=object)
    foreign = np.flatnonzero((currency != functional) | (rate != 1.0))  # as translate() tells a foreign line
    digits = np.zeros((2, len(rate)), dtype="int64")
    if len(foreign):
        digits[0, foreign] = currency_digits(pd.Series(currency[foreign]))
        digits[1, foreign] = currency_digits(pd.Series(functional[foreign]))
    _translate_rows(out, foreign, np.nan_to_num(rate, nan=0.0), digits[0], digits[1])
    return out


def _translate_rows(
    values: np.ndarray, rows: np.ndarray, rate: np.ndarray, from_digits: np.ndarray, to_digits: np.ndarray
) -> None:
    """``values[rows]`` translated in place, each cell at its row's ``rate`` and digits
    (:func:`closelib.money.translate_array`, exact). A cell equal to the one before it in its
    row has the same translation, so only a row's first cell and the cells where it changes
    are translated; a month end at a time (the matrices are stored by month), so no
    rows x months temporaries are made."""
    if not len(rows):
        return
    rate, from_digits, to_digits = rate[rows], from_digits[rows], to_digits[rows]
    before: np.ndarray | None = None
    done = np.zeros(len(rows), dtype="int64")
    for j in range(values.shape[1]):
        now = values[rows, j]
        at = np.arange(len(rows)) if before is None else np.flatnonzero(now != before)
        if len(at):  # ``done`` is copied into ``values`` below: updating it leaves the last column alone
            done[at] = money.translate_array(now[at], rate[at], from_digits[at], to_digits[at])
        values[rows, j] = done
        before = now


def _in_functional(docs: pd.DataFrame, open_: np.ndarray, wo: Cells, rec: Cells) -> tuple[np.ndarray, Cells, Cells]:
    """The history in the functional currency: only the rows of foreign-currency documents are
    translated (open amounts by the cumulative rule within a document's instalments: each
    instalment is ``tr(cumulative) - tr(cumulative before it)``, so a document's rows add up to
    its translated open amount). ``open_`` is translated in place.

    The currencies are compared as columns (Arrow text) and the foreign rows' exponents looked
    up from their Arrow text: no Python object per row."""
    rate = docs["booking_rate"].to_numpy(dtype="float64")
    foreign = (docs["currency"] != docs["functional_currency"]).to_numpy(dtype=bool) | (rate != 1.0)
    if not foreign.any() or not open_.shape[1]:
        return open_, wo, rec
    if "_group" in docs:  # a document split by instalment: its rows share a group
        group = docs["_group"].to_numpy(dtype="int64")
        shared = np.bincount(group)[group] > 1 if len(group) else np.zeros(0, dtype=bool)
    else:
        group = np.arange(len(docs))
        shared = np.zeros(len(docs), dtype=bool)
    # As translate() reads a foreign line: its rate (missing as 0) and both currencies' exponents.
    foreign_rows = np.flatnonzero(foreign)
    from_digits = np.zeros(len(docs), dtype="int64")
    to_digits = np.zeros(len(docs), dtype="int64")
    from_digits[foreign_rows] = currency_digits(docs["currency"].iloc[foreign_rows])
    to_digits[foreign_rows] = currency_digits(docs["functional_currency"].iloc[foreign_rows])
    rate = np.nan_to_num(rate, nan=0.0)
    args = (rate, from_digits, to_digits)
    _translate_rows(open_, np.flatnonzero(foreign & ~shared), *args)
    split = np.flatnonzero(foreign & shared)
    if len(split):
        cumulative = pd.DataFrame(open_[split]).groupby(group[split]).cumsum().to_numpy(dtype="int64")
        before = cumulative - open_[split]
        open_[split] = _translated(cumulative, split, *args) - _translated(before, split, *args)
    return open_, _translated_cells(wo, foreign, *args), _translated_cells(rec, foreign, *args)


def _translated(values: np.ndarray, rows: np.ndarray, rate: np.ndarray, from_digits: np.ndarray, to_digits: np.ndarray):
    """``values`` (one line per row of ``rows``) translated at those rows' rates and digits."""
    out = np.asfortranarray(values)
    _translate_rows(out, np.arange(len(rows)), rate[rows], from_digits[rows], to_digits[rows])
    return out


def _translated_cells(
    cells: Cells, foreign: np.ndarray, rate: np.ndarray, from_digits: np.ndarray, to_digits: np.ndarray
) -> Cells:
    """Each cell translated at its row's rate (a cell in its functional currency is unchanged)."""
    amounts = cells.amounts.copy()
    on = np.flatnonzero(foreign[cells.rows]) if len(cells.rows) else np.zeros(0, dtype="int64")
    if len(on):
        r = cells.rows[on]
        amounts[on] = money.translate_array(amounts[on], rate[r], from_digits[r], to_digits[r])
    return Cells(cells.rows, cells.cols, amounts, cells.shape)
