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

Foreign currency (README, *Foreign currency*): every item also carries its entity's
``functional_currency``, its ``booking_rate`` and its open amount in the functional currency at
that rate (``open_functional``, ``unapplied_functional``), translated per item and rounded half
away from zero. :func:`in_functional` gives the view the reserve, write-off and collections
work in: ``open_amount`` and ``currency`` functional, the transaction's kept beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.book.fx import translate, translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import to_date


def _sum_at(rows: np.ndarray, amounts: np.ndarray, keep: np.ndarray, length: int) -> np.ndarray:
    """int64 sums of ``amounts`` per row position (rows -1 and not ``keep`` left out)."""
    take = keep & (rows >= 0)
    total = np.zeros(length, dtype="int64")
    np.add.at(total, rows[take], amounts[take])
    return total


def _translated(amounts: np.ndarray, rate: np.ndarray, currency: pd.Series, functional: pd.Series) -> np.ndarray:
    """:func:`closelib.book.fx.translate` of ``amounts``, computed on the non-zero lines only (zero
    translates to zero whatever the rate): a settled item's line is never converted."""
    out = np.zeros(len(amounts), dtype="int64")
    live = np.flatnonzero(amounts)
    if len(live):
        out[live] = translate(
            amounts[live],
            rate[live],
            currency.to_numpy(dtype=object)[live],
            functional.to_numpy(dtype=object)[live],
        )
    return out


def open_items(
    book: Book,
    as_of: str | pd.Timestamp,
    doc_types: tuple[str, ...] = ("INV", "DM", "CM"),
    include_closed: bool = False,
) -> pd.DataFrame:
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
    fx = translation(book)
    result["functional_currency"] = fx.doc_functional[mask]
    result["booking_rate"] = fx.doc_rate[mask]
    result["open_functional"] = _translated(
        open_amount[mask], fx.doc_rate[mask], result["currency"], result["functional_currency"]
    )
    return result.reset_index(drop=True)


def in_functional(items: pd.DataFrame) -> pd.DataFrame:
    """Open items in their entity's functional currency at the booking rate: ``open_amount`` and
    ``currency`` become the functional ones, the transaction's kept as ``transaction_open_amount``
    and ``transaction_currency``. For an item in its functional currency nothing changes."""
    result = items.copy()
    result["transaction_currency"] = items["currency"]
    result["transaction_open_amount"] = items["open_amount"]
    result["currency"] = items["functional_currency"].to_numpy()
    result["open_amount"] = items["open_functional"].to_numpy(dtype="int64")
    return result


def unapplied_cash(book: Book, as_of: str | pd.Timestamp, include_closed: bool = False) -> pd.DataFrame:
    """Receipts dated <= D with what is still unapplied on D; ``identified`` is False for
    receipts with no customer (unidentified cash)."""
    day = to_date(as_of)
    all_rec = book.receipts
    link = links(book)
    apps = book.applications
    applied = _sum_at(
        link.app_source_rec,
        apps["amount"].to_numpy(dtype="int64"),
        (apps["applied_date"] <= day).to_numpy(),
        len(all_rec),
    )[link.rec_first]
    unapplied = all_rec["amount"].to_numpy(dtype="int64") - applied
    mask = (all_rec["receipt_date"] <= day).to_numpy()
    if not include_closed:
        # fully applied receipts (most of them) are dropped before anything is made of them
        mask = mask & (unapplied != 0)
    result = all_rec[mask].copy()
    result["applied"] = applied[mask]
    result["unapplied"] = unapplied[mask]
    result["identified"] = result["customer_id"] != ""
    result["age_days"] = (day - result["receipt_date"]).dt.days.astype("int64")
    fx = translation(book)
    result["functional_currency"] = fx.rec_functional[mask]
    result["booking_rate"] = fx.rec_rate[mask]
    result["unapplied_functional"] = _translated(
        unapplied[mask], fx.rec_rate[mask], result["currency"], result["functional_currency"]
    )
    return result.reset_index(drop=True)


# ---------------------------------------------------------------- aging buckets
