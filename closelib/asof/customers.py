"""The customer master data as of a date, from the optional ``customer_history`` extract.

As of a day D, each field with history takes the value of its latest row dated on or before D;
a field whose rows are all dated after D takes its earliest row's value (a history starts with
the value a field was set up with, so the earliest row is what held before it; the workpaper
counts these fields); a field without rows keeps the customers table's value (the master data
as it is now). Without ``customer_history`` the customers table is used as it is, and every
workpaper says so (:func:`master_data_note`): for a past period it may show what became true
only later (a bankruptcy, a new limit, a review after the period end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.book.arrays import lookup
from closelib.book.history import typed_values
from closelib.book.model import Book
from closelib.book.schema import HISTORY_FIELDS


@dataclass(frozen=True)
class MasterData:
    """How a book's customers were read as of a day."""

    day: pd.Timestamp
    has_history: bool
    changes_applied: int = 0  # history rows in effect at the day (latest per customer and field)
    before_history: int = 0  # customer fields whose history starts after the day: earliest row used
    changed_customers: int = 0  # customers with a field that differs from the master data as it is now


def customers_as_of(
    customers: pd.DataFrame, history: pd.DataFrame, day: pd.Timestamp
) -> tuple[pd.DataFrame, MasterData]:
    """``customers`` with every field that has history set to its value as of ``day``."""
    day = pd.Timestamp(day)
    if history.empty:
        return customers, MasterData(day, True)
    chosen, applied, before = _chosen_rows(customers, history, day)
    out = customers.copy()
    # the chosen rows' fields and customers' row positions, as _chosen_rows found them (one
    # look-up of the customer ids, not one per field)
    field_codes, uniques = pd.factorize(history["field"].iloc[chosen.rows])
    field_names = [str(name) for name in uniques]
    for field in HISTORY_FIELDS:
        if field not in field_names:
            continue
        mine = field_codes == field_names.index(field)
        rows = history.iloc[chosen.rows[mine]]
        values = typed_values(rows, customers, field)
        at = chosen.customers[mine]
        column = out[field].copy()
        column.iloc[at] = values.astype(column.dtype).to_numpy() if field != "parent_id" else values.to_numpy()
        out[field] = column
    differs = pd.Series(False, index=out.index)
    for field in HISTORY_FIELDS:
        a, b = out[field], customers[field]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    return out, MasterData(day, True, applied, before, int(differs.sum()))


@dataclass(frozen=True)
class _Chosen:
    rows: np.ndarray  # positions in the history
    customers: np.ndarray  # the row in the customers table each of them is about


def _chosen_rows(customers: pd.DataFrame, history: pd.DataFrame, day: pd.Timestamp) -> tuple[_Chosen, int, int]:
    """Rows of ``history`` (positions, and their customers' rows) giving each (customer, field)
    its value as of ``day``: its latest row dated on or before it, else its earliest row; and how
    many of each there are. Rows of customers not in ``customers`` are left out.

    One sort of the rows by (customer, field, date; stable, a missing date last) and a pass over
    the groups it makes: a (customer, field)'s rows dated on or before ``day`` are the first of
    its group. (Hashing the rows' text ids with pandas cost a quarter of a second per kernel.)"""
    row_of = pd.Series(np.arange(len(customers)), index=customers["customer_id"].array)
    who = lookup(history["customer_id"], row_of).to_numpy(dtype="float64", na_value=np.nan)
    field_code = np.asarray(pd.factorize(history["field"])[0], dtype="int64")
    dates = history["effective_date"].to_numpy(dtype="datetime64[ns]")
    date_key = np.where(np.isnat(dates), np.iinfo("int64").max, dates.view("int64"))
    rows = np.flatnonzero(~np.isnan(who) & (field_code >= 0))
    customer = who[rows].astype("int64")
    rows = rows[np.lexsort((date_key[rows], field_code[rows], customer))]
    key = who[rows].astype("int64") * (int(field_code.max()) + 1) + field_code[rows]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(rows) else np.zeros(0, dtype="int64")
    in_effect = dates[rows] <= day.to_datetime64()  # NaT: never
    # rows dated on or before the day lead each group: their count per group
    counts = np.add.reduceat(in_effect.astype("int64"), starts) if len(rows) else np.zeros(0, dtype="int64")
    chosen = np.where(counts > 0, starts + counts - 1, starts)
    applied = int((counts > 0).sum())
    picked = rows[chosen]
    return _Chosen(picked, who[picked].astype("int64")), applied, len(starts) - applied


def book_as_of(book: Book, day: pd.Timestamp) -> Book:
    """The book with its customers as of ``day`` (the same book without ``customer_history``).
    Made once per day and book and kept on the book, so the memos sharing a kernel share it
    (and the per-customer index built on it)."""
    if not book.has("customer_history"):
        return book
    day = pd.Timestamp(day)
    made: dict = book.__dict__.setdefault("_customers_as_of", {})
    if day not in made:
        customers, info = customers_as_of(book.customers, book.customer_history, day)
        tables = {**book.tables, "customers": customers}
        as_of = Book(book.source, tables, book.files, book.present, dict(book.entity_currency))
        as_of.__dict__["master_data"] = info
        made[day] = as_of
    return made[day]


def master_data(book: Book, day: pd.Timestamp) -> MasterData:
    """How ``book`` (as returned by :func:`book_as_of`) reads its customers at ``day``."""
    return book.__dict__.get("master_data") or MasterData(pd.Timestamp(day), False)


def master_data_note(info: MasterData) -> str:
    """One markdown line for every workpaper: which customer master data it read."""
    day = info.day.date()
    if not info.has_history:
        return (
            f"**Customer master data: current.** The book has no `customer_history`, so status, credit "
            f"limits, ratings and review dates are read as they are now, not as they were on {day}: for a "
            "past period a workpaper may show what became true only later."
        )
    text = (
        f"**Customer master data as of {day}** from `customer_history`: {info.changes_applied:,} dated "
        f"value(s) in effect; {info.changed_customers:,} customer(s) differ from the master data as it is now."
    )
    if info.before_history:
        text += (
            f" {info.before_history:,} customer field(s) have history only after {day}: their earliest "
            "recorded value is used."
        )
    return text
