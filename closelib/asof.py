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

from closelib.book import Book, derived


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


class Links:
    """Where each application and adjustment points, as row positions (-1: none).

    Worked out once per book (hash lookups of the ids, each on first use) and kept on the
    book, so every as-of date after the first is integer arithmetic; the run's book cache
    stores them, so no notebook repeats them. Positions are of the first row with the id;
    ``doc_first``/``rec_first`` map every row to the first row sharing its id (identity in a
    valid book, where ids are unique).
    """

    NAMES = ("app_target", "app_source_doc", "app_source_rec", "adj_doc", "doc_first", "rec_first")

    def __init__(self, book: Book) -> None:
        self.frames = (book.documents, book.receipts, book.applications, book.adjustments)
        self._values: dict[str, np.ndarray] = {}
        self._ids: dict[str, object] = {}

    def current(self, book: Book) -> bool:
        now = (book.documents, book.receipts, book.applications, book.adjustments)
        return all(a is b and len(a) == len(b) for a, b in zip(self.frames, now))

    def _table(self, which: str):
        if which not in self._ids:
            frame, column = (self.frames[0], "document_id") if which == "doc" else (self.frames[1], "receipt_id")
            self._ids[which] = _ids(frame[column])
        return self._ids[which]

    def get(self, name: str) -> np.ndarray:
        if name not in self._values:
            docs, rec, apps, adj = self.frames
            make = {
                "app_target": lambda: _index_in(apps["target_id"], self._table("doc")),
                "app_source_doc": lambda: _index_in(apps["source_id"], self._table("doc")),
                "app_source_rec": lambda: _index_in(apps["source_id"], self._table("rec")),
                "adj_doc": lambda: _index_in(adj["document_id"], self._table("doc")),
                "doc_first": lambda: _first_rows(self._table("doc")),
                "rec_first": lambda: _first_rows(self._table("rec")),
            }[name]
            self._values[name] = make()
        return self._values[name]

    def set(self, name: str, values: np.ndarray) -> None:
        self._values[name] = values

    def __getattr__(self, name: str) -> np.ndarray:
        if name in Links.NAMES:
            return self.get(name)
        raise AttributeError(name)


def _ids(values: pd.Series):
    import pyarrow as pa

    array = pa.array(values.array) if values.dtype == "str" else pa.array(values.astype(object).to_numpy(),
                                                                          type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _index_in(keys: pd.Series, table) -> np.ndarray:
    import pyarrow.compute as pc

    if len(keys) == 0:
        return np.zeros(0, dtype="int64")
    return np.asarray(pc.fill_null(pc.index_in(_ids(keys), value_set=table), -1), dtype="int64")


def _first_rows(table) -> np.ndarray:
    import pyarrow.compute as pc

    if pc.count_distinct(table, mode="all").as_py() == len(table):
        return np.arange(len(table), dtype="int64")
    return np.asarray(pc.fill_null(pc.index_in(table, value_set=table), -1), dtype="int64")


def links(book: Book) -> Links:
    """The book's :class:`Links` (made on first use; remade if a table was replaced)."""
    return derived(book, "_links", Links)


def _sum_at(rows: np.ndarray, amounts: np.ndarray, keep: np.ndarray, length: int) -> np.ndarray:
    """int64 sums of ``amounts`` per row position (rows -1 and not ``keep`` left out)."""
    take = keep & (rows >= 0)
    total = np.zeros(length, dtype="int64")
    np.add.at(total, rows[take], amounts[take])
    return total


def open_items(book: Book, as_of: str | pd.Timestamp, doc_types: tuple[str, ...] = ("INV", "DM", "CM"),
               include_closed: bool = False) -> pd.DataFrame:
    """Documents dated <= D with their open amount as of D (int64 minor units).

    Adds columns ``adjusted``, ``applied_to``, ``applied_from`` and ``open_amount``.
    Fully settled documents are dropped unless ``include_closed``.
    """
    day = to_date(as_of)
    all_docs = book.documents
    link = links(book)
    n = len(all_docs)
    adj, apps = book.adjustments, book.applications
    adj_in = (adj["adjustment_date"] <= day).to_numpy()
    app_in = (apps["applied_date"] <= day).to_numpy()
    app_amount = apps["amount"].to_numpy(dtype="int64")
    # Sums per document row (of the first row with each id), then read by every row of the id.
    adjusted = _sum_at(link.adj_doc, adj["amount"].to_numpy(dtype="int64"), adj_in, n)[link.doc_first]
    applied_to = _sum_at(link.app_target, app_amount, app_in, n)[link.doc_first]
    applied_from = _sum_at(link.app_source_doc, app_amount, app_in, n)[link.doc_first]
    mask = ((all_docs["document_date"] <= day) & all_docs["doc_type"].isin(doc_types)).to_numpy()
    amount = all_docs["amount"].to_numpy(dtype="int64")
    open_amount = amount + adjusted - applied_to + applied_from
    if not include_closed:
        mask = mask & (open_amount != 0)
    result = all_docs[mask].copy()
    result["adjusted"] = adjusted[mask]
    result["applied_to"] = applied_to[mask]
    result["applied_from"] = applied_from[mask]
    result["open_amount"] = open_amount[mask]
    return result.reset_index(drop=True)


def unapplied_cash(book: Book, as_of: str | pd.Timestamp, include_closed: bool = False) -> pd.DataFrame:
    """Receipts dated <= D with what is still unapplied on D; ``identified`` is False for
    receipts with no customer (unidentified cash)."""
    day = to_date(as_of)
    all_rec = book.receipts
    link = links(book)
    apps = book.applications
    applied = _sum_at(link.app_source_rec, apps["amount"].to_numpy(dtype="int64"),
                      (apps["applied_date"] <= day).to_numpy(), len(all_rec))[link.rec_first]
    mask = (all_rec["receipt_date"] <= day).to_numpy()
    rec = all_rec[mask]
    result = rec.copy()
    result["applied"] = applied[mask]
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
