"""Promises to pay: which are broken, which fall due (write-off, dunning, credit)."""

from __future__ import annotations

import pandas as pd

from closelib.book.arrays import isin
from closelib.book.model import Book
from closelib.periods import Period


def broken_promises(book: Book, day: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    """Promises to pay due by ``day`` (with grace) for which less than promised was received."""
    acts = book.activities
    p = acts[
        (acts["type"] == "promise_to_pay")
        & acts["promised_date"].notna()
        & (acts["promised_date"] + pd.Timedelta(days=grace_days) < day)
    ].copy()
    if p.empty:
        return p.assign(received=pd.Series(dtype="int64"), broken=pd.Series(dtype=bool))
    rec = book.receipts[isin(book.receipts["customer_id"], p["customer_id"])]
    merged = p[["activity_id", "customer_id", "activity_date", "promised_date"]].merge(
        rec[["customer_id", "receipt_date", "amount"]], on="customer_id", how="left"
    )
    window = (merged["receipt_date"] >= merged["activity_date"]) & (
        merged["receipt_date"] <= merged["promised_date"] + pd.Timedelta(days=grace_days)
    )
    received = merged["amount"].where(window, 0).fillna(0).groupby(merged["activity_id"]).sum()
    p["received"] = p["activity_id"].map(received).fillna(0).astype("int64").to_numpy()
    p["broken"] = p["received"] < p["promised_amount"].fillna(0).astype("int64")
    return p


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
    ccy = book.documents.groupby("customer_id")["currency"].first()
    out["currency"] = out["customer_id"].map(ccy).fillna("")
    return out.sort_values(["state", "promised_date"], ignore_index=True)
