"""As-of derivations (CONTRACT §1): the state of the book on any date D, from full history.

Nothing here trusts a stored "balance" column: open amounts, unapplied cash and ages
are recomputed from documents, applications and adjustments dated on or before D, so
any past period can be reconstructed exactly, whatever happened after it.

Conventions:
- open amount of an INV/DM = amount + adjustments dated <= D - applications to it dated <= D
- open amount of a CM      = amount + applications from it dated <= D
  (+ adjustments to it dated <= D: an extension, since a CM can be refunded or cleared
  by adjustment; a source without such adjustments gets exactly the contract formula)
- unapplied cash of a receipt = amount - applications from it dated <= D
- days past due = D - due_date (or D - document_date when the aging basis says so)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.book import Book


def to_date(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def period_end(period: str) -> pd.Timestamp:
    """Last calendar day of a ``YYYY-MM`` period."""
    year, month = (int(p) for p in period.split("-"))
    return pd.Timestamp(year=year, month=month, day=calendar.monthrange(year, month)[1])


def period_start(period: str) -> pd.Timestamp:
    year, month = (int(p) for p in period.split("-"))
    return pd.Timestamp(year=year, month=month, day=1)


def shift_period(period: str, months: int) -> str:
    return str(pd.Period(period, freq="M") + months)


def periods_back(period: str, count: int) -> list[str]:
    """``count`` periods ending with ``period``, oldest first."""
    return [shift_period(period, -k) for k in range(count - 1, -1, -1)]


def open_items(book: Book, as_of: str | pd.Timestamp, doc_types: tuple[str, ...] = ("INV", "DM", "CM"),
               include_closed: bool = False) -> pd.DataFrame:
    """Documents dated <= D with their open amount as of D (int64 minor units).

    Adds columns ``adjusted``, ``applied_to``, ``applied_from`` and ``open_amount``.
    Fully settled documents are dropped unless ``include_closed``.
    """
    day = to_date(as_of)
    docs = book.documents
    docs = docs[(docs["document_date"] <= day) & docs["doc_type"].isin(doc_types)]
    adj = book.adjustments
    adj = adj[adj["adjustment_date"] <= day].groupby("document_id")["amount"].sum()
    apps = book.applications
    apps = apps[apps["applied_date"] <= day]
    applied_to = apps.groupby("target_id")["amount"].sum()
    applied_from = apps.groupby("source_id")["amount"].sum()
    ids = docs["document_id"]
    result = docs.copy()
    result["adjusted"] = ids.map(adj).fillna(0).astype("int64").to_numpy()
    result["applied_to"] = ids.map(applied_to).fillna(0).astype("int64").to_numpy()
    result["applied_from"] = ids.map(applied_from).fillna(0).astype("int64").to_numpy()
    result["open_amount"] = (result["amount"] + result["adjusted"] - result["applied_to"]
                             + result["applied_from"]).astype("int64")
    if not include_closed:
        result = result[result["open_amount"] != 0]
    return result.reset_index(drop=True)


def unapplied_cash(book: Book, as_of: str | pd.Timestamp, include_closed: bool = False) -> pd.DataFrame:
    """Receipts dated <= D with what is still unapplied on D; ``identified`` is False for
    receipts with no customer (unidentified cash)."""
    day = to_date(as_of)
    rec = book.receipts
    rec = rec[rec["receipt_date"] <= day]
    apps = book.applications
    applied = apps[apps["applied_date"] <= day].groupby("source_id")["amount"].sum()
    result = rec.copy()
    result["applied"] = rec["receipt_id"].map(applied).fillna(0).astype("int64").to_numpy()
    result["unapplied"] = (result["amount"] - result["applied"]).astype("int64")
    result["identified"] = result["customer_id"] != ""
    result["age_days"] = (day - result["receipt_date"]).dt.days.astype("int64")
    if not include_closed:
        result = result[result["unapplied"] != 0]
    return result.reset_index(drop=True)


# ---------------------------------------------------------------- aging buckets


def bucket_labels(bounds: list[int]) -> list[str]:
    """Labels per CONTRACT §2: ``[0, 30, 60, 90]`` -> current, 1-30, 31-60, 61-90, 90+."""
    labels = ["current"]
    for low, high in zip(bounds, bounds[1:]):
        labels.append(f"{low + 1}-{high}")
    labels.append(f"{bounds[-1]}+")
    return labels


def assign_buckets(days: pd.Series | np.ndarray, bounds: list[int]) -> pd.Categorical:
    """Bucket of each days-past-due value: days <= bounds[0] is current, (a, b] by label."""
    labels = bucket_labels(bounds)
    index = np.searchsorted(np.asarray(bounds), np.asarray(days, dtype="int64"), side="left")
    return pd.Categorical.from_codes(index, categories=labels, ordered=True)


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
    table = aged.pivot_table(index=by, columns="bucket", values=value, aggfunc="sum", fill_value=0,
                             observed=False)
    table.columns = [str(c) for c in table.columns]
    if isinstance(aged["bucket"].dtype, pd.CategoricalDtype):
        # Every bucket is a column, even with no items (an empty aging still has its shape).
        table = table.reindex(columns=[str(c) for c in aged["bucket"].cat.categories], fill_value=0)
    table = table.astype("int64")
    table["total"] = table.sum(axis=1).astype("int64")
    return table


@dataclass(frozen=True)
class AgingPolicy:
    basis: str
    bounds: list[int]

    @property
    def labels(self) -> list[str]:
        return bucket_labels(self.bounds)


def aging_at(book: Book, as_of: str | pd.Timestamp, policy: AgingPolicy,
             doc_types: tuple[str, ...] = ("INV", "DM", "CM")) -> pd.DataFrame:
    """Open items as of D, aged by the policy (the common first step of most notebooks)."""
    return age(open_items(book, as_of, doc_types), as_of, policy.basis, policy.bounds)
