"""The reserve's roll-rate histories: one window built, the shorter ones derived from it exactly.

The reserve notebook needs three as-of histories (:func:`closelib.asof.history.build_history`):
the reserve's ``lookback_months`` window ending at the period, the backtest's
``lookback_months + BACKTEST_MONTHS`` window ending there too, and the prior period's
``lookback_months`` window ending a month earlier. The first and the last lie inside the
second, so the longest is built once, kept on the book, and the others are cut from it:
:func:`sub_history` gives what ``build_history`` would give, field for field.

Cutting a window ``[first, first + months]`` out of a longer one:

- documents: the longer window's, less those dated after the shorter one's last month end
  (``build_history`` leaves them out), in the same order;
- open amounts: the same columns (an open amount at a month end is cumulative, so it does
  not depend on where the window starts; each cell is translated on its own value);
- write-offs and recoveries of the months after the first: the same cells (each holds the
  events of its month only, translated on their sum);
- write-offs and recoveries of the first month end: NOT a cell of the longer window. A
  window's first column holds every event on or before its first month end (events before
  the window are binned into it), where the longer window has one cell per month; and the
  sum is translated once, at the document's booking rate rounded half away from zero, so
  the sum of the longer window's translated cells can differ from it by rounding. That
  column is remade from the book's adjustments (a few thousand rows), untranslated sums
  translated exactly as ``build_history`` does. (The reserve reads no first column:
  roll rates read month ``j + 1`` of each transition, the backtest months after ``t``;
  it is made exact all the same, so a derived history is a built one.)

The window kept holds documents x (``lookback_months + BACKTEST_MONTHS + 1``) amounts (at 1M
documents about 0.25 GiB with its documents frame) until :func:`release_history`, which
:func:`.backtest.prior_comparison` calls: a notebook calling :func:`.compute.compute` alone
keeps it unless it calls ``reserve.release_history(book)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.asof.history import Cells, History, build_history
from closelib.book.fx import translate
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import Period

BACKTEST_MONTHS = 12
DOC_TYPES = ("INV", "DM")  # the reserve's histories: invoices and debit memos, by document
_KEY = "_reserve_window"


@dataclass
class _Kept:
    """The longest window built, with what it was built from (tables by identity, pools)."""

    frames: tuple[pd.DataFrame | None, ...]
    pool_by: str
    history: History


def _frames(book: Book) -> tuple[pd.DataFrame | None, ...]:
    """The tables a history is made from (compared by identity: a replaced table is a new book)."""
    names = ("documents", "receipts", "applications", "adjustments", "customers", "fx_rates")
    return tuple(book.tables.get(name) for name in names)


def reserve_history(
    book: Book, period: Period, months: int, pools: pd.Series | None, pool_by: str, longest: int
) -> History:
    """``build_history(book, period, months, pools)`` (``pools``: the customers' pools by
    ``pool_by``): cut from the window kept on the book when it holds this one, else from a
    window of ``longest`` months ending at ``period``, built and kept (:func:`release_history` lets
    it go). With ``longest`` no longer than ``months`` the window is built as asked and not kept."""
    kept = book.__dict__.get(_KEY)
    if kept is not None:
        same = kept.pool_by == pool_by and all(a is b for a, b in zip(kept.frames, _frames(book), strict=True))
        first = _first_column(kept.history, period, months)
        if same and first is not None:
            return sub_history(book, kept.history, first, months)
    history = build_history(book, period, max(months, longest), pools)
    if longest <= months:  # nothing longer is wanted: nothing kept (the caller's window is freed with it)
        return history
    book.__dict__[_KEY] = _Kept(_frames(book), pool_by, history)
    return sub_history(book, history, len(history.month_ends) - 1 - months, months)


def release_history(book: Book) -> None:
    """Forget the window kept on ``book`` (it holds documents x months amounts)."""
    book.__dict__.pop(_KEY, None)


def _first_column(history: History, period: Period, months: int) -> int | None:
    """Column of ``history`` where the ``months + 1`` month ends ending with ``period`` start
    (None when they are not all in it)."""
    wanted = [p.end for p in period.back(months + 1)]
    ends = list(history.month_ends)
    if wanted[0] not in ends:
        return None
    first = ends.index(wanted[0])
    return first if ends[first : first + months + 1] == wanted else None


def sub_history(book: Book, history: History, first: int, months: int) -> History:
    """The history of the ``months + 1`` month ends of ``history`` from column ``first``:
    what ``build_history`` gives for them (``history`` built by it on ``book``, of INV/DM by
    document; see the module's notes)."""
    stop = first + months + 1
    if first == 0 and stop == len(history.month_ends):
        return history
    ends = history.month_ends[first:stop]
    keep = (history.docs["document_date"] <= ends[-1]).to_numpy()
    rows = np.flatnonzero(keep)
    count = len(rows)
    if keep[:count].all():
        # The rows kept are the first ones (every row, or a book listing its documents by date,
        # as the demo books do): the kept window's rows and columns as they are (views;
        # histories are only read).
        docs = history.docs.iloc[:count].copy(deep=False)
        open_ = history.open[:count, first:stop]
    else:
        docs = history.docs.loc[keep].reset_index(drop=True)
        open_ = np.empty((count, months + 1), dtype="int64", order="F")
        for k in range(months + 1):  # a column at a time: the matrices are stored by month
            open_[:, k] = history.open[rows, first + k]
    new_row = np.where(keep, np.cumsum(keep) - 1, -1)
    wo_first, rec_first = _first_cells(book, docs, ends)
    return History(
        docs,
        ends,
        open_,
        _later_cells(history.write_offs, new_row, first, stop, wo_first),
        _later_cells(history.recoveries, new_row, first, stop, rec_first),
    )


def _later_cells(cells: Cells, new_row: np.ndarray, first: int, stop: int, at_first: Cells) -> Cells:
    """The cells of months ``first + 1 .. stop - 1`` on the kept rows, renumbered, with
    ``at_first`` (the new first column), in row then column order."""
    rows = new_row[cells.rows] if len(cells.rows) else cells.rows
    mine = (cells.cols > first) & (cells.cols < stop) & (rows >= 0)
    shape = (at_first.shape[0], stop - first)
    all_rows = np.concatenate([at_first.rows, rows[mine]])
    all_cols = np.concatenate([at_first.cols, cells.cols[mine] - first])
    order = np.lexsort((all_cols, all_rows))  # (row, column) pairs are distinct: nothing to add
    amounts = np.concatenate([at_first.amounts, cells.amounts[mine]])
    return Cells(
        all_rows[order].astype("int64"), all_cols[order].astype("int64"), amounts[order].astype("int64"), shape
    )


def _first_cells(book: Book, docs: pd.DataFrame, ends: pd.DatetimeIndex) -> tuple[Cells, Cells]:
    """Write-offs and recoveries on or before ``ends[0]`` per row of ``docs`` (the history's
    first column), as ``build_history`` makes them: summed per document in its currency, then
    translated at its booking rate."""
    all_docs = book.documents
    keep = (all_docs["doc_type"].isin(list(DOC_TYPES)) & (all_docs["document_date"] <= ends[-1])).to_numpy()
    link = links(book)
    row_of = np.where(keep, np.cumsum(keep) - 1, -1)[link.doc_first] if len(keep) else np.zeros(0, dtype="int64")
    position = link.adj_doc
    adj_rows = (
        np.where(position >= 0, row_of[np.maximum(position, 0)], -1)
        if len(row_of)
        else np.full(len(position), -1, dtype="int64")
    )
    adj = book.adjustments
    end_values = ends.to_numpy(dtype="datetime64[ns]")
    cols = np.searchsorted(end_values, adj["adjustment_date"].to_numpy(dtype="datetime64[ns]"), side="left")
    early = (adj_rows >= 0) & (cols == 0)
    amount = adj["amount"].to_numpy(dtype="int64")
    kind = adj["type"].to_numpy()
    shape = (len(docs), len(ends))
    out = []
    for which, sign in (("write_off", -1), ("recovery", 1)):
        take = early & (kind == which)
        cells = Cells.summed(adj_rows[take], cols[take], sign * amount[take], shape)
        r = cells.rows
        if len(r):  # translated on the sum, as build_history does (identity in the functional currency)
            mine = docs.take(r)  # a few thousand rows: the whole columns are not converted
            rate = mine["booking_rate"].to_numpy(dtype="float64")
            currency = mine["currency"].to_numpy(dtype=object)
            functional = mine["functional_currency"].to_numpy(dtype=object)
            cells = Cells(r, cells.cols, translate(cells.amounts, rate, currency, functional), shape)
        out.append(cells)
    return out[0], out[1]
