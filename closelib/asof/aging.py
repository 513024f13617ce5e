"""Aging: days past due, buckets and aging tables of open items as of a date."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.asof.instalments import by_instalment
from closelib.asof.openitems import in_functional, open_items
from closelib.book.model import Book, derived
from closelib.params import bucket_labels
from closelib.periods import to_date


def assign_buckets(days: pd.Series | np.ndarray, bounds: list[int]) -> pd.Categorical[str]:
    """Bucket of each days-past-due value: days <= bounds[0] is current, (a, b] by label."""
    labels = bucket_labels(bounds)
    index = np.searchsorted(np.asarray(bounds), np.asarray(days, dtype="int64"), side="left")
    return pd.Categorical.from_codes(index, categories=pd.Index(labels), ordered=True)


def days_past_due(items: pd.DataFrame, as_of: str | pd.Timestamp, basis: str = "due_date") -> pd.Series:
    column = {"due_date": "due_date", "document_date": "document_date"}[basis]
    return (to_date(as_of) - items[column]).dt.days.astype("int64")


def age(items: pd.DataFrame, as_of: str | pd.Timestamp, basis: str, bounds: list[int]) -> pd.DataFrame:
    """Open items with ``days_past_due`` and ``bucket`` columns added."""
    result = items.copy()
    result["days_past_due"] = days_past_due(items, as_of, basis).to_numpy()
    result["bucket"] = assign_buckets(result["days_past_due"], bounds)
    return result


def aging_table(aged: pd.DataFrame, by: list[str], value: str = "open_amount") -> pd.DataFrame:
    """Sum of ``value`` per bucket (columns, in bucket order) per group, with a total column.

    Integer sums, so the bucket columns add up to the total exactly.
    """
    table = aged.pivot_table(index=by, columns="bucket", values=value, aggfunc="sum", fill_value=0, observed=False)
    table.columns = [str(c) for c in table.columns]
    if isinstance(aged["bucket"].dtype, pd.CategoricalDtype):
        # Every bucket is a column, even with no items (an empty aging still has its shape).
        table = table.reindex(columns=[str(c) for c in aged["bucket"].cat.categories], fill_value=0)
    table = table.astype("int64")
    table["total"] = table.sum(axis=1).astype("int64")
    return table


@dataclass(frozen=True)
class AgingPolicy:
    """The ``aging`` parameters, typed: the basis (``due_date`` or ``document_date``) and the bucket
    bounds in days (``[0, 30, 60, 90]``: current, 1-30, 31-60, 61-90, 90+)."""

    basis: str
    bounds: list[int]

    @classmethod
    def from_params(cls, params: dict) -> AgingPolicy:
        return cls(str(params["aging"]["basis"]), [int(b) for b in params["aging"]["buckets"]])

    @property
    def labels(self) -> list[str]:
        return bucket_labels(self.bounds)


def aging_at(
    book: Book, as_of: str | pd.Timestamp, policy: AgingPolicy, doc_types: tuple[str, ...] = ("INV", "DM", "CM")
) -> pd.DataFrame:
    """Open items as of D, aged by the policy (the common first step of most notebooks): in the
    functional currency at the booking rate (:func:`in_functional`), a scheduled document by
    instalment (:func:`by_instalment`, each instalment with its own due date).

    Made once per book, day, policy and document types and kept on the book while the tables it
    reads are the same frames (the reserve and the write-off evidence, the collections' reports
    ask for the same aging); each caller gets its own copy."""
    day = to_date(as_of)
    key = f"_aging_at:{day.isoformat()}:{policy.basis}:{tuple(policy.bounds)}:{tuple(doc_types)}"

    def make(b: Book) -> _Aged:
        items = in_functional(by_instalment(open_items(b, day, doc_types), b))
        return _Aged(_aging_frames(b), dict(b.entity_currency), age(items, day, policy.basis, policy.bounds))

    return derived(book, key, make).items.copy()


def _aging_frames(book: Book) -> tuple:
    """The tables an aging is made from (compared by identity: a replaced table is a new book)."""
    names = ("documents", "applications", "adjustments", "payment_schedules", "fx_rates")
    return tuple(book.tables.get(name) for name in names)


@dataclass(frozen=True)
class _Aged:
    """An aging kept on a book, with what it was made from."""

    frames: tuple
    entity_currency: dict
    items: pd.DataFrame

    def current(self, book: Book) -> bool:
        same = all(a is b for a, b in zip(self.frames, _aging_frames(book), strict=True))
        return same and self.entity_currency == dict(book.entity_currency)
