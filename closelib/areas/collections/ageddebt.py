"""Collections: aged debt by collector or segment, and the lists a collector works from (the
largest past-due customers, the credit memos not yet applied)."""

from __future__ import annotations

import pandas as pd

from closelib.areas.collections.kpis import customer_attr
from closelib.asof.aging import AgingPolicy, aging_at, aging_table
from closelib.asof.openitems import open_items
from closelib.book.model import Book
from closelib.periods import Period


def aged_debt(book: Book, period: Period, params: dict, by: str = "collector") -> pd.DataFrame:
    """Open INV/DM/CM per entity and ``by`` (collector or segment) and bucket, with the prior
    month's total and the movement since."""
    policy = AgingPolicy.from_params(params)
    labels = policy.labels
    tables = []
    for when in (period, period.shift(-1)):
        day = when.end
        items = aging_at(book, day, policy)
        items[by] = items["customer_id"].map(customer_attr(book, by)).fillna("unassigned")
        tables.append(aging_table(items, ["entity", by]).reindex(columns=labels, fill_value=0))
    now, before = tables
    now["total"] = now.sum(axis=1).astype("int64")
    prior = before.sum(axis=1).reindex(now.index, fill_value=0).astype("int64")
    now["prior_month_total"] = prior
    now["movement"] = (now["total"] - prior).astype("int64")
    return now.reset_index()


def top_past_due(book: Book, period: Period, params: dict, count: int) -> pd.DataFrame:
    day = period.end
    items = aging_at(book, day, AgingPolicy.from_params(params), ("INV", "DM"))
    past = items[items["days_past_due"] > 0]
    top = past.groupby(["entity", "customer_id"], as_index=False).agg(
        past_due=("open_amount", "sum"), documents=("document_id", "nunique"), oldest_days=("days_past_due", "max")
    )
    cust = book.customers.set_index("customer_id")
    top["name"] = top["customer_id"].map(cust["name"])
    top["status"] = top["customer_id"].map(cust["status"])
    top["collector"] = top["customer_id"].map(cust["collector"])
    top = top.sort_values(["entity", "past_due"], ascending=[True, False])
    return top.groupby("entity").head(count).reset_index(drop=True)


def unapplied_credit_memos(book: Book, period: Period) -> pd.DataFrame:
    day = period.end
    cms = open_items(book, day, ("CM",))
    cms = cms.assign(age_days=(day - cms["document_date"]).dt.days.astype("int64"))
    return cms[
        [
            "entity",
            "customer_id",
            "document_id",
            "document_date",
            "age_days",
            "currency",
            "amount",
            "open_amount",
            "reference",
        ]
    ].sort_values(["entity", "age_days"], ascending=[True, False], ignore_index=True)
