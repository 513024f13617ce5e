"""Credit review: the collection trail, promises to pay kept and broken and suspensions."""

from __future__ import annotations

import pandas as pd

from closelib.areas.collections.promises import broken_promises
from closelib.areas.credit.lookback import months_before
from closelib.book.model import Book


def promises(book: Book, day: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    """Promises to pay due by ``day`` (with grace), with ``received`` and ``broken`` (from the
    write-off pack's rule: less than promised received between the promise and its date + grace)."""

    return broken_promises(book, pd.Timestamp(day), int(grace_days))


def broken_count(
    book: Book, day: pd.Timestamp, grace_days: int, months: int, promised: pd.DataFrame | None = None
) -> pd.Series:
    """Broken promises per customer whose promised date falls in the last ``months`` months;
    ``promised``: ``promises(book, day, grace_days)`` when the caller has them already."""
    p = promises(book, day, grace_days) if promised is None else promised
    if p.empty:
        return pd.Series(dtype="int64")
    p = p[p["broken"] & (p["promised_date"] > months_before(day, months))]
    return p.groupby("customer_id").size().astype("int64")


def suspensions(book: Book, day: pd.Timestamp, months: int) -> pd.Series:
    """Suspensions per customer (``activities`` of type ``suspension``) in the last ``months`` months."""
    acts = book.activities
    s = acts[
        (acts["type"] == "suspension")
        & (acts["activity_date"] <= day)
        & (acts["activity_date"] > months_before(day, months))
    ]
    return s.groupby("customer_id").size().astype("int64")
