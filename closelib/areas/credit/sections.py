"""Credit review: the sections of one customer's review read from the book as of a day.

The customer's profile (master data with exposure, limit and utilisation), its group, its
disputes and their outcomes, the collection trail (promises, escalations), and the two measures
the rating caps read: agency and legal referrals, and the share of open items past due.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas.credit.customerbook import customer_book
from closelib.areas.credit.exposure import exposure, utilisation
from closelib.areas.credit.lookback import months_before
from closelib.areas.credit.trail import promises
from closelib.book.model import Book
from closelib.errors import NotFoundError


def profile(
    book: Book, customer_id: str, day: pd.Timestamp, own: Book | None = None, items: pd.DataFrame | None = None
) -> dict:
    """The customer's master data with exposure, limit and utilisation as of ``day``; ``own``:
    the customer's slice of the book (:func:`customer_book`) when the caller has it already (at a
    million documents a slice costs 0.1 s), and ``items`` the slice's open items at ``day``
    (``open_items(own, day)``) when the caller has those too."""
    cust = book.customers
    found = cust[(cust["customer_id"] == customer_id).to_numpy(dtype=bool)]
    if found.empty:
        raise NotFoundError(f"customer {customer_id!r} is not in the book's customers")
    row = found.iloc[0].to_dict()  # customer ids are unique: one row
    own = own if own is not None else customer_book(book, [customer_id])
    exp = exposure(own, day, items, [customer_id]).loc[customer_id].to_dict()
    return {
        "customer_id": customer_id,
        "name": row["name"],
        "segment": row["segment"],
        "country": row["country"],
        "status": row["status"],
        "risk_rating": int(row["risk_rating"]),
        "payment_terms_days": int(row["payment_terms_days"]),
        "collector": row["collector"],
        "parent_id": row["parent_id"] or "",
        "last_review_date": None if pd.isna(row["last_review_date"]) else row["last_review_date"].date(),
        "currency": row["credit_currency"],
        "credit_limit": int(row["credit_limit"]),
        "exposure": int(exp["exposure"]),
        "translated_exposure": int(exp["translated_exposure"]),
        "other_currency_items": int(exp["other_currency_items"]),
        "utilisation": utilisation(exp["exposure"], row["credit_limit"]),
    }


def group(book: Book, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
    """The customer's group: its parent, the parent's other subsidiaries (siblings) or, for a
    parent, its subsidiaries; each with rating, status, limit, exposure and utilisation."""
    cust = book.customers
    me = cust[cust["customer_id"] == customer_id].iloc[0]
    parent = me["parent_id"] or ""
    head = parent or customer_id
    members = cust[(cust["customer_id"] == head) | (cust["parent_id"] == head)]
    if len(members) <= 1:
        return pd.DataFrame(
            columns=[
                "role",
                "customer_id",
                "name",
                "status",
                "risk_rating",
                "currency",
                "credit_limit",
                "exposure",
                "utilisation",
            ]
        )
    ids = members["customer_id"].tolist()
    exp = exposure(customer_book(book, ids), day, customers=ids)["exposure"]
    frame = pd.DataFrame(
        {
            "role": [
                "this customer"
                if c == customer_id
                else ("parent" if c == head else ("sibling" if parent else "subsidiary"))
                for c in members["customer_id"]
            ],
            "customer_id": members["customer_id"].to_numpy(),
            "name": members["name"].to_numpy(),
            "status": members["status"].to_numpy(),
            "risk_rating": members["risk_rating"].to_numpy(),
            "currency": members["credit_currency"].to_numpy(),
            "credit_limit": members["credit_limit"].to_numpy(),
        }
    )
    frame["exposure"] = frame["customer_id"].map(exp).fillna(0).astype("int64")
    frame["utilisation"] = [
        utilisation(e, lim) for e, lim in zip(frame["exposure"], frame["credit_limit"], strict=False)
    ]
    order = {"parent": 0, "this customer": 1, "subsidiary": 2, "sibling": 2}
    return frame.sort_values(
        by=["role", "customer_id"], key=lambda s: s.map(order) if s.name == "role" else s, ignore_index=True
    )


def disputes(book: Book, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
    """The customer's disputes opened by ``day`` with their state at ``day`` and days open."""
    d = book.disputes
    d = d[(d["customer_id"] == customer_id) & (d["opened_date"] <= day)].copy()
    closed = d["closed_date"].notna() & (d["closed_date"] <= day)
    d["state_at_period_end"] = np.where(closed, d["status"], "open")
    d["days_open"] = ((d["closed_date"].where(closed, day)) - d["opened_date"]).dt.days.astype("int64")
    return d[
        [
            "case_id",
            "document_id",
            "opened_date",
            "closed_date",
            "currency",
            "amount",
            "reason_code",
            "state_at_period_end",
            "days_open",
            "resolution",
        ]
    ].sort_values("opened_date", ignore_index=True)


def dispute_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """Cases and amount per state at the period end and currency, in their order, as
    ``table.groupby(["state_at_period_end", "currency"], as_index=False).agg(cases=("case_id",
    "size"), amount=("amount", "sum"))`` gives them (a key missing: the row left out), summed in
    Python: a customer has a few cases, and pandas' grouping cost 10 to 20 ms a memo."""
    if table.empty:
        return pd.DataFrame(columns=["state_at_period_end", "currency", "cases", "amount"])
    states, currencies = table["state_at_period_end"], table["currency"]
    keep = (states.notna() & currencies.notna()).to_numpy(dtype=bool)
    groups: dict[tuple, list[int]] = {}
    for state, currency, amount in zip(
        states[keep].tolist(), currencies[keep].tolist(), table["amount"][keep].tolist(), strict=True
    ):
        group = groups.setdefault((state, currency), [0, 0])
        group[0] += 1
        group[1] += int(amount)
    keys = sorted(groups)
    return pd.DataFrame(
        {
            "state_at_period_end": pd.Series([k[0] for k in keys], dtype=states.dtype),
            "currency": pd.Series([k[1] for k in keys], dtype=currencies.dtype),
            "cases": np.array([groups[k][0] for k in keys], dtype="int64"),
            "amount": np.array([groups[k][1] for k in keys], dtype="int64"),
        }
    )


def collection_trail(
    book: Book,
    customer_id: str,
    day: pd.Timestamp,
    grace_days: int,
    months: int = 24,
    promised: pd.DataFrame | None = None,
) -> dict:
    """Promises to pay (kept or broken), suspensions and the activity counts of the last ``months``;
    ``promised``: ``promises(book, day, grace_days)`` when the caller has them already."""
    since = months_before(day, months)
    acts = book.activities
    mine = acts[(acts["customer_id"] == customer_id) & (acts["activity_date"] <= day) & (acts["activity_date"] > since)]
    counts = mine.groupby("type").size().rename("activities").reset_index()
    p = promises(book, day, grace_days) if promised is None else promised
    p = p[(p["customer_id"] == customer_id) & (p["activity_date"] > since)] if len(p) else p
    shown = (
        p[["activity_date", "document_id", "promised_date", "promised_amount", "received", "broken"]].copy()
        if len(p)
        else pd.DataFrame(
            columns=["activity_date", "document_id", "promised_date", "promised_amount", "received", "broken"]
        )
    )
    shown["outcome"] = np.where(shown["broken"].astype(bool), "broken", "kept") if len(shown) else []
    susp = mine[mine["type"].isin(["suspension_warning", "suspension", "agency_referral", "legal", "payment_plan"])]
    return {
        "counts": counts,
        "promises": shown.drop(columns="broken").reset_index(drop=True),
        "kept": int((~p["broken"]).sum()) if len(p) else 0,
        "broken": int(p["broken"].sum()) if len(p) else 0,
        "escalations": susp[["activity_date", "type", "document_id", "user", "note"]].reset_index(drop=True),
    }


def referrals(book: Book, customer_id: str, day: pd.Timestamp, months: int) -> int:
    """Agency and legal referrals of the customer in the ``months`` up to ``day``."""
    acts = book.activities
    return int(
        (
            (acts["customer_id"] == customer_id)
            & acts["type"].isin(["agency_referral", "legal"])
            & (acts["activity_date"] <= day)
            & (acts["activity_date"] > months_before(day, months))
        ).sum()
    )


def past_due_share(aged: pd.DataFrame, days: int = 30) -> float:
    """Open INV/DM more than ``days`` past due over all open INV/DM (0 when nothing is open)."""
    debit = aged[aged["doc_type"].isin(["INV", "DM"]) & (aged["open_amount"] > 0)]
    total = int(debit["open_amount"].sum())
    return float(debit.loc[debit["days_past_due"] > days, "open_amount"].sum() / total) if total else 0.0
