"""The groups the KPIs are computed by, and the payment lines they weigh, as integer codes.

The KPI table groups documents by entity (and a customer attribute: collector or segment) and
receipt applications by the same. Grouping a million rows by their text (``entity + "\\x1f" +
attr`` joined per row, then hashed) cost about a second per table; here each column is coded
once (the entity factorized, the attribute read per customer, twenty thousand rows, and taken
per document by its customer's row) and a group is a pair of small integers, numbered in the
order of its joined text, as ``pd.factorize(text, sort=True)`` numbers it.

What does not depend on the table asked for (the customer row of each document, the receipt
applications with their weights, due dates and days) is made once per book and kept on it
(:func:`closelib.book.model.derived`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.asof.history import History
from closelib.asof.instalments import application_due_dates
from closelib.book.arrays import arrow_text, positions
from closelib.book.fx import translation
from closelib.book.links import links
from closelib.book.model import Book, derived

UNASSIGNED = "unassigned"


def customer_rows(book: Book, customer_id: pd.Series) -> np.ndarray:
    """Row of each id in ``book.customers`` (the first with it; -1 for none)."""
    return positions(arrow_text(customer_id), arrow_text(book.customers["customer_id"]))


@dataclass(frozen=True)
class RowKeys:
    """What rows are grouped by, coded: each row's entity (codes in the sorted order of the
    entities, ``pd.factorize(sort=True)``) and its customer's row in the book's customers."""

    frames: tuple[pd.DataFrame, pd.DataFrame]  # (the rows' frame, the customers) they came from
    entity: np.ndarray
    entities: list[str]
    customers: np.ndarray

    def current(self, book: Book) -> bool:
        return self.frames[0] is book.documents and self.frames[1] is book.customers


def row_keys(book: Book, frame: pd.DataFrame) -> RowKeys | None:
    """The :class:`RowKeys` of the rows of ``frame`` (its ``entity`` and ``customer_id``); None when
    an entity is missing (the callers group the joined text then, as they always did)."""
    if frame["entity"].hasnans:
        return None
    codes, names = pd.factorize(frame["entity"], sort=True)
    rows = customer_rows(book, frame["customer_id"])
    return RowKeys((frame, book.customers), np.asarray(codes, dtype="int64"), [str(e) for e in names], rows)


def document_keys(book: Book) -> RowKeys | None:
    """The :class:`RowKeys` of the book's documents, made once per book and kept on it."""
    if book.documents["entity"].hasnans:
        return None
    return derived(book, "_kpi_document_keys", lambda b: row_keys(b, b.documents))


def history_keys(book: Book, history: History) -> RowKeys | None:
    """The :class:`RowKeys` of a history's rows, kept on the history (every KPI table of the
    period reads the same one) while the book's customers are the same frame."""
    kept = history.__dict__.get("_kpi_keys")
    if kept is not None and kept.frames[1] is book.customers:
        return kept
    keys = row_keys(book, history.docs)
    if keys is not None:
        history.__dict__["_kpi_keys"] = keys
    return keys


def attribute_codes(book: Book, by: str, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Code of the attribute ``by`` of the customer at each of ``rows`` (-1: no customer), the
    blank and the missing read as "unassigned" (:func:`.kpis.customer_attr`, then ``fillna``);
    and the texts of the codes."""
    values = book.customers[by].astype(object).to_numpy()
    text = np.where(pd.isna(values) | (values == ""), UNASSIGNED, values).astype(object)
    codes, names = pd.factorize(np.r_[text, np.asarray([UNASSIGNED], dtype=object)])
    codes = np.asarray(codes, dtype="int64")
    return np.where(rows >= 0, codes[np.maximum(rows, 0)], codes[-1]), [str(n) for n in names]


def group_codes(book: Book, keys: RowKeys, by: str | None) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(entity [+ "\\x1f" + attr], sort=True)`` of the rows of ``keys``, as (codes,
    texts), made from the columns' codes: a group is a pair of small integers, numbered in the
    order of its joined text."""
    if by is None:
        return keys.entity, list(keys.entities)
    a_codes, a_names = attribute_codes(book, by, keys.customers)
    width, e_names = len(a_names), keys.entities
    pair = keys.entity * width + a_codes  # a few hundred possible pairs: counted, not sorted
    present = np.flatnonzero(np.bincount(pair, minlength=len(e_names) * width))
    joined = [f"{e_names[p // width]}\x1f{a_names[p % width]}" for p in present]
    order = sorted(range(len(joined)), key=joined.__getitem__)
    rank = np.full(len(e_names) * width, -1, dtype="int64")
    rank[present[order]] = np.arange(len(joined))
    return rank[pair], [joined[i] for i in order]


@dataclass(frozen=True)
class PaymentLines:
    """Every receipt application to a document (an application to a scheduled document split
    by the instalments it settles), in the order the KPI sums read them: the application's
    row (``position``), its weight in the functional currency, the document row (``rows``),
    the applied date, days to pay and days past the (instalment's) due date. Made once per
    book: each KPI table takes the lines of its months."""

    frames: tuple
    position: np.ndarray
    weight: np.ndarray
    rows: np.ndarray
    applied: np.ndarray
    to_pay: np.ndarray
    late: np.ndarray
    entity_currency: dict  # the entities' functional currencies the weights are in
    month: np.ndarray  # the applied month, as an integer (numpy's months since 1970-01)

    def current(self, book: Book) -> bool:
        same = all(a is b for a, b in zip(self.frames, _payment_frames(book), strict=True))
        return same and self.entity_currency == dict(book.entity_currency)


def _payment_frames(book: Book) -> tuple:
    """The tables the lines are made from (compared by identity: a replaced table is new)."""
    names = ("documents", "receipts", "applications", "adjustments", "fx_rates", "payment_schedules")
    return tuple(book.tables.get(name) for name in names)


def payment_lines(book: Book) -> PaymentLines:
    """The book's :class:`PaymentLines`, made once and kept on it."""
    return derived(book, "_kpi_payment_lines", _payment_lines)


def _payment_lines(book: Book) -> PaymentLines:
    link = links(book)
    apps = book.applications
    target = link.app_target
    keep = (link.app_source_rec >= 0) & (target >= 0)
    # Weights in the functional currency (what the application relieved at the booking rate);
    # an application to a scheduled document is split by the instalments it settles, each part
    # late against its instalment's due date.
    weight = translation(book).app_target.astype("float64")
    due = book.documents["due_date"].to_numpy()[np.maximum(target, 0)]
    position = np.arange(len(apps))
    split = application_due_dates(book)
    if len(split):
        parts = split["position"].to_numpy(dtype="int64")
        share = split["amount"].to_numpy(dtype="float64") / apps["amount"].to_numpy(dtype="float64")[parts]
        whole = np.ones(len(apps), dtype=bool)
        whole[parts] = False
        position = np.r_[position[whole], parts]
        weight = np.r_[weight[whole], weight[parts] * share]
        due = np.r_[due[whole], split["due_date"].to_numpy(dtype="datetime64[ns]")]
    keep = keep[position]
    position, weight, due = position[keep], weight[keep], due[keep]
    rows = target[position]
    applied = apps["applied_date"].to_numpy(dtype="datetime64[ns]")[position]
    to_pay = (applied - book.documents["document_date"].to_numpy(dtype="datetime64[ns]")[rows]) / np.timedelta64(1, "D")
    late = (applied - due) / np.timedelta64(1, "D")
    return PaymentLines(
        _payment_frames(book),
        position,
        weight,
        rows,
        applied,
        to_pay,
        late,
        dict(book.entity_currency),
        applied.astype("datetime64[M]").astype("int64"),
    )
