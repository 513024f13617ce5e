"""Credit review: a customer's slice of the book, so each memo works on its own rows, not the book's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib.book.arrays import id_array, index_in
from closelib.book.links import links
from closelib.book.model import Book, derived


def customer_book(book: Book, customer_ids: Iterable[str]) -> Book:
    """The book restricted to some customers' documents, receipts, applications and history
    (customers table kept whole, for groups). Per-customer work on a large book stays fast:
    the rows come from an index of the book by customer, built once per book (each memo in a
    shared kernel reuses it), and keep the book's row order."""
    index = _customer_index(book)
    codes = index.codes(customer_ids)
    t = book.tables
    tables = dict(t)
    for name, whole in zip(_CustomerIndex.TABLES, index.whole_columns, strict=True):
        rows = index.rows(name, codes)
        # a table of whole columns: pandas' own take, a block at a time (a third of the cost)
        tables[name] = t[name].take(rows) if whole else rows_of(t[name], rows)
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


def chunked(column: pd.Series) -> bool:
    """A column held as an Arrow array of several chunks (pandas' take would join them first)."""
    values = getattr(column.array, "_pa_array", None)
    return isinstance(values, pa.ChunkedArray) and values.num_chunks > 1


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
        # per table: no column in Arrow chunks (Parquet row groups): there pandas' take copies
        # no more than the rows taken; otherwise rows_of takes each chunk apart
        self.whole_columns = tuple(not any(chunked(frame[c]) for c in frame.columns) for frame in self.frames)
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
            order = stable_order(values)
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


def stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")``, sorted as the smallest integer type that holds the
    codes: numpy sorts 16-bit integers by radix, six times faster than 64-bit ones (0.08 s
    against 0.5 for the 3.2 million keyed applications of the 1M book), and a stable order of
    the same values is the same permutation whatever their type."""
    if len(codes):
        low, high = int(codes.min()), int(codes.max())
        for kind in ("int16", "int32"):
            if np.iinfo(kind).min <= low and high <= np.iinfo(kind).max:
                return np.argsort(codes.astype(kind), kind="stable")
    return np.argsort(codes, kind="stable")


def _customer_index(book: Book) -> _CustomerIndex:
    return derived(book, "_customer_index", _CustomerIndex)
