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

from closelib import money
from closelib.asof.instalments import allocate
from closelib.book.arrays import arrow_text, positions
from closelib.book.fx import translate, translation
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

    add(np.arange(n), _bin(end_values, docs["document_date"]), docs["amount"].to_numpy(dtype="int64"))
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
    docs["pool"] = "all" if pools is None else docs["customer_id"].map(pools).fillna("unassigned").to_numpy()
    fx = translation(book)
    docs["functional_currency"] = fx.doc_functional[keep]
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
    rest = np.flatnonzero(~scheduled)
    # the unscheduled documents, then each scheduled one's instalments (their own due dates)
    frame = docs.take(np.concatenate([rest, row])).reset_index(drop=True)
    due = frame["due_date"].to_numpy(dtype="datetime64[ns]").copy()
    due[len(rest) :] = sched["due_date"].to_numpy(dtype="datetime64[ns]")
    frame["due_date"] = due
    frame["_first"] = np.r_[np.ones(len(rest), dtype=bool), first]
    frame["_group"] = np.r_[rest, row]
    # Write-offs and recoveries stay on a document's first row.
    carrier = np.r_[rest, row[first]]
    position = np.r_[np.arange(len(rest)), len(rest) + np.flatnonzero(first)]
    order_rows = np.full(len(frame), -1, dtype="int64")
    order_rows[position] = carrier
    by_row = np.empty((len(frame), open_.shape[1]), dtype="int64", order="F")
    for j in range(open_.shape[1]):  # a column at a time: both matrices are stored by month
        np.take(open_[:, j], rest, out=by_row[: len(rest), j])
        by_row[len(rest) :, j] = parts[:, j]
    return (
        frame,
        by_row,
        _cells_at(wo, order_rows),
        _cells_at(rec, order_rows),
    )


def _cells_at(cells: Cells, source_row: np.ndarray) -> Cells:
    """``cells`` moved to new rows: new row i carries old row ``source_row[i]`` (-1: none)."""
    new_of_old = np.full(cells.shape[0], -1, dtype="int64")
    carried = source_row >= 0
    new_of_old[source_row[carried]] = np.flatnonzero(carried)
    rows = new_of_old[cells.rows] if len(cells.rows) else cells.rows
    keep = rows >= 0
    return Cells.summed(rows[keep], cells.cols[keep], cells.amounts[keep], (len(source_row), cells.shape[1]))


def translated_rows(values: np.ndarray, rate: np.ndarray, currency: np.ndarray, functional: np.ndarray) -> np.ndarray:
    """Every cell of ``values`` [rows, months] translated (:func:`closelib.book.fx.translate`) at
    its row's rate and currencies. A cell equal to the one before it in its row has the same
    translation, so only a row's first cell and the cells where it changes are translated."""
    k, m = values.shape
    if not k or not m:
        return values.copy()
    changed = np.empty((k, m), dtype=bool)
    changed[:, 0] = True
    np.not_equal(values[:, 1:], values[:, :-1], out=changed[:, 1:])
    at_row, at_col = np.nonzero(changed)
    done = _translated_by_row(values[at_row, at_col], at_row, rate, currency, functional)
    # every cell reads the translation of the last change at or before it in its row
    segment = np.cumsum(changed.reshape(-1)) - 1
    return done[segment].reshape(k, m)


def _translated_by_row(
    amounts: np.ndarray, row: np.ndarray, rate: np.ndarray, currency: np.ndarray, functional: np.ndarray
) -> np.ndarray:
    """``translate(amounts, rate[row], currency[row], functional[row])``, the same numbers, with
    each row's currencies compared and their exponents looked up once per row rather than once
    per cell (a row has a cell for each month end it changes at)."""
    rate = np.asarray(rate, dtype="float64")
    currency = np.asarray(currency, dtype=object)
    functional = np.asarray(functional, dtype=object)
    foreign_row = (currency != functional) | (rate != 1.0)  # as translate() tells a foreign line
    rows = np.flatnonzero(foreign_row)
    from_digits = np.zeros(len(rate), dtype="int64")
    to_digits = np.zeros(len(rate), dtype="int64")
    if len(rows):
        from_digits[rows] = currency_digits(pd.Series(currency[rows]))
        to_digits[rows] = currency_digits(pd.Series(functional[rows]))
    result = np.asarray(amounts, dtype="int64").copy()
    cells = np.flatnonzero(foreign_row[row])
    if len(cells):
        on = row[cells]
        result[cells] = money.translate_array(
            result[cells], np.nan_to_num(rate[on], nan=0.0), from_digits[on], to_digits[on]
        )
    return result


def _in_functional(docs: pd.DataFrame, open_: np.ndarray, wo: Cells, rec: Cells) -> tuple[np.ndarray, Cells, Cells]:
    """The history in the functional currency: only the rows of foreign-currency documents are
    translated (open amounts by the cumulative rule within a document's instalments: each
    instalment is ``tr(cumulative) - tr(cumulative before it)``, so a document's rows add up to
    its translated open amount). ``open_`` is translated in place.

    The currencies are compared as columns (Arrow text) and only the foreign rows' are taken as
    Python text: a million rows' conversion to objects cost a tenth of a second each."""
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
    # Text of the foreign rows only; a row in its functional currency at rate 1 reads None for
    # both, which translate() takes as its own currency (unchanged), as it does the real text.
    text_rows = np.flatnonzero(foreign)
    currency = np.full(len(docs), None, dtype=object)
    functional = np.full(len(docs), None, dtype=object)
    currency[text_rows] = docs["currency"].iloc[text_rows].to_numpy(dtype=object)
    functional[text_rows] = docs["functional_currency"].iloc[text_rows].to_numpy(dtype=object)
    alone = np.flatnonzero(foreign & ~shared)
    open_[alone] = translated_rows(open_[alone], rate[alone], currency[alone], functional[alone])
    split = np.flatnonzero(foreign & shared)
    if len(split):
        args = (rate[split], currency[split], functional[split])
        cumulative = pd.DataFrame(open_[split]).groupby(group[split]).cumsum().to_numpy(dtype="int64")
        open_[split] = translated_rows(cumulative, *args) - translated_rows(cumulative - open_[split], *args)
    return open_, _translated_cells(wo, rate, currency, functional), _translated_cells(rec, rate, currency, functional)


def _translated_cells(cells: Cells, rate: np.ndarray, currency: np.ndarray, functional: np.ndarray) -> Cells:
    """Each cell translated at its row's rate (a cell in its functional currency is unchanged)."""
    r = cells.rows
    amounts = translate(cells.amounts, rate[r], currency[r], functional[r]) if len(r) else cells.amounts
    return Cells(cells.rows, cells.cols, amounts, cells.shape)
