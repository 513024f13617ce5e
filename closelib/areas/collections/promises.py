"""Promises to pay: which are broken, which fall due (write-off, dunning, credit)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.book.arrays import arrow_text, is_text, isin, positions, taken
from closelib.book.model import Book, derived
from closelib.periods import Period


def broken_promises(book: Book, day: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    """Promises to pay due by ``day`` (with grace) for which less than promised was received.

    Made once per book, day and grace (the write-off evidence, the collections notebook and the
    credit review each ask for it, some more than once) and kept on the book while its
    activities and receipts are the same frames; each caller gets its own copy."""
    key = f"_broken_promises:{pd.Timestamp(day).isoformat()}:{int(grace_days)}"
    kept = derived(book, key, lambda b: _Promises(_frames(b), _broken_promises(b, pd.Timestamp(day), int(grace_days))))
    return kept.table.copy()


def _frames(book: Book) -> tuple[pd.DataFrame, pd.DataFrame]:
    return book.activities, book.receipts


@dataclass(frozen=True)
class _Promises:
    """:func:`broken_promises` of a book, with the frames it was made from (by identity)."""

    frames: tuple[pd.DataFrame, pd.DataFrame]
    table: pd.DataFrame

    def current(self, book: Book) -> bool:
        return all(a is b for a, b in zip(self.frames, _frames(book), strict=True))


def _broken_promises(book: Book, day: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    acts = book.activities
    p = acts[
        (acts["type"] == "promise_to_pay")
        & acts["promised_date"].notna()
        & (acts["promised_date"] + pd.Timedelta(days=grace_days) < day)
    ].copy()
    if p.empty:
        return p.assign(received=pd.Series(dtype="int64"), broken=pd.Series(dtype=bool))
    p["received"] = received_in_windows(p, book.receipts, grace_days)
    p["broken"] = p["received"] < p["promised_amount"].fillna(0).astype("int64")
    return p


def received_in_windows(promises: pd.DataFrame, receipts: pd.DataFrame, grace_days: int) -> np.ndarray:
    """Per promise: what its customer paid (``receipts`` of any customers) from the promise's
    date to its promised date plus ``grace_days`` (both days included), int64.

    The receipts sorted once by (customer, date) and cumulated; each promise's window is two
    binary searches in it, so a customer's receipts are not paired with each of its promises
    (the merge this replaces made every pair: seconds at a million receipts). Customer ids
    missing or an activity id repeated (not in a valid book): that merge, as it was."""
    ids = promises["activity_id"]
    if ids.hasnans or ids.duplicated().any() or promises["customer_id"].hasnans or receipts["customer_id"].hasnans:
        mine = receipts[isin(receipts["customer_id"], promises["customer_id"])]
        return _received_by_merge(promises, mine, grace_days)
    customers = arrow_text(pd.Series(pd.unique(promises["customer_id"]), dtype=object))
    p_code = positions(arrow_text(promises["customer_id"]), customers)
    r_code = positions(arrow_text(receipts["customer_id"]), customers)
    r_date = receipts["receipt_date"].to_numpy(dtype="datetime64[ns]")
    keep = (r_code >= 0) & ~np.isnat(r_date)  # a receipt without a date is in no window
    r_code, r_date = r_code[keep], r_date[keep]
    r_amount = receipts["amount"].to_numpy(dtype="int64")[keep]
    start = promises["activity_date"].to_numpy(dtype="datetime64[ns]")
    stop = (promises["promised_date"] + pd.Timedelta(days=grace_days)).to_numpy(dtype="datetime64[ns]")
    # dates as their rank among every date in play, so (customer, date) is one sortable integer
    days = np.unique(np.concatenate([r_date, start[~np.isnat(start)], stop]))
    width = len(days) + 1
    r_key = r_code * width + np.searchsorted(days, r_date)
    order = np.argsort(r_key, kind="stable")
    r_key = r_key[order]
    paid = np.concatenate([[0], np.cumsum(r_amount[order])])
    lo = np.searchsorted(r_key, p_code * width + np.searchsorted(days, start), side="left")
    hi = np.searchsorted(r_key, p_code * width + np.searchsorted(days, stop), side="right")
    inside = (hi > lo) & ~np.isnat(start)  # a promise without a date opens no window
    return np.where(inside, paid[hi] - paid[np.minimum(lo, hi)], 0).astype("int64")


def _received_by_merge(promises: pd.DataFrame, receipts: pd.DataFrame, grace_days: int) -> np.ndarray:
    """:func:`received_in_windows` by pairing every promise with its customer's receipts."""
    merged = promises[["activity_id", "customer_id", "activity_date", "promised_date"]].merge(
        receipts[["customer_id", "receipt_date", "amount"]], on="customer_id", how="left"
    )
    window = (merged["receipt_date"] >= merged["activity_date"]) & (
        merged["receipt_date"] <= merged["promised_date"] + pd.Timedelta(days=grace_days)
    )
    received = merged["amount"].where(window, 0).fillna(0).groupby(merged["activity_id"]).sum()
    return promises["activity_id"].map(received).fillna(0).astype("int64").to_numpy()


def due_or_broken(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Promises to pay falling due in the next 7 days or broken (promised date + grace passed,
    less received than promised since the promise)."""
    day = period.end
    grace = int(params["collections"]["promise_grace_days"])
    broken = broken_promises(book, day, grace)
    broken = broken[broken["broken"] & (broken["promised_date"] > day - pd.Timedelta(days=90))]
    acts = book.activities
    upcoming = acts[
        (acts["type"] == "promise_to_pay")
        & (acts["activity_date"] <= day)
        & (acts["promised_date"] >= day - pd.Timedelta(days=grace))
        & (acts["promised_date"] <= day + pd.Timedelta(days=7))
    ]
    cols = ["customer_id", "document_id", "activity_date", "promised_date", "promised_amount", "user"]
    out = pd.concat([upcoming[cols].assign(state="due"), broken[cols].assign(state="broken")], ignore_index=True)
    out["currency"] = customer_currency(book, out["customer_id"]).fillna("")
    return out.sort_values(["state", "promised_date"], ignore_index=True)


def customer_currency(book: Book, customer_ids: pd.Series) -> pd.Series:
    """The currency of each customer's first document (missing for a customer without one):
    ``customer_ids.map(documents.groupby("customer_id")["currency"].first())``, by probing the
    documents' customer ids for the few customers asked, not grouping a million rows."""
    docs = book.documents
    if docs["customer_id"].hasnans or docs["currency"].hasnans or not is_text(customer_ids):
        return customer_ids.map(docs.groupby("customer_id")["currency"].first())
    found = positions(arrow_text(customer_ids), arrow_text(docs["customer_id"]))
    return taken(docs["currency"], found, customer_ids)
