"""The customer-level aged trial balance: every customer with open items, by bucket, per entity.

Auditors pick confirmation samples from this listing, so it is complete (never a top-N): every
customer with an open invoice, debit memo or credit memo at the period end, its open amount by
aging bucket and in total, sorted by total (largest first) within each entity. Its total per
entity ties to subledger AR (open INV, DM and CM), a check.
"""

from __future__ import annotations

import pandas as pd

from closelib.asof.aging import aging_table
from closelib.book.model import Book
from closelib.nb.markup import md

COLUMNS_BEFORE = ["entity", "currency", "customer_id", "name", "status", "segment", "documents"]


def customer_aged_listing(aged: pd.DataFrame, book: Book, labels: list[str]) -> pd.DataFrame:
    """One row per (entity, customer) with open items: bucket columns, total, documents open.

    ``aged`` is the open INV/DM/CM at the period end with their bucket (:func:`aged_receivables`).
    Sorted by entity, then total descending, then customer id. Integer minor units."""
    columns = [*COLUMNS_BEFORE, *labels, "total"]
    if aged.empty:
        return pd.DataFrame(columns=columns).astype(dict.fromkeys([*labels, "total", "documents"], "int64"))
    table = aging_table(aged, ["entity", "customer_id"]).reindex(columns=[*labels, "total"], fill_value=0)
    # a document open in several instalments counts once
    counts = aged.groupby(["entity", "customer_id"])["document_id"].nunique().rename("documents")
    frame = table.join(counts).reset_index()
    customers = book.customers.set_index("customer_id")
    for column in ("name", "status", "segment"):
        frame[column] = frame["customer_id"].map(customers[column]).fillna("").to_numpy()
    frame["currency"] = frame["entity"].map(book.entity_currency).to_numpy()
    frame["documents"] = frame["documents"].astype("int64")
    frame = frame.sort_values(["entity", "total", "customer_id"], ascending=[True, False, True], ignore_index=True)
    return frame[columns]


def listing_ties(
    listing: pd.DataFrame, subledger_ar: dict[str, int], entities: list[str]
) -> dict[str, tuple[int, int]]:
    """Per entity: (total of the customer listing, subledger AR), which must be equal."""
    totals = listing.groupby("entity")["total"].sum()
    return {e: (int(totals.get(e, 0)), int(subledger_ar.get(e, 0))) for e in entities}


def listing_caption(listing: pd.DataFrame, entity: str, currency: str, fmt) -> str:
    """``US01 (USD): 212 customers with open items, total 1,112,743.45``, or that there are none."""
    mine = listing[listing["entity"] == entity]
    if mine.empty:
        return f"{md(entity)}: no customer has open items at the period end"  # shown as markdown
    noun = "customer" if len(mine) == 1 else "customers"
    return (
        f"{entity} ({currency}): {len(mine):,} {noun} with open items, total {fmt(int(mine['total'].sum()), currency)}"
    )
