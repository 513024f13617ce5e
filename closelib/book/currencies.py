"""Where a money column's currency comes from when it is not in the same row.

An application's amount is in its source's currency (a receipt, else a credit memo), an
adjustment's and an instalment's in their document's, a promised payment in its document's
(else its customer's credit currency), a journal line in its entity's functional currency.
The parse reads these per-row currencies (load.py parses a table after the tables named in
``CURRENCY_SOURCES``); the id lookups are the load's shared ones (idlinks), which the rules
reuse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.book.arrays import lookup, stripped_text, taken
from closelib.book.idlinks import IdLinks
from closelib.book.rulekit import keyed

# The tables whose parsed frames resolve_currencies reads for each table's money columns.
CURRENCY_SOURCES: dict[str, tuple[str, ...]] = {
    "applications": ("documents", "receipts"),
    "adjustments": ("documents",),
    "payment_schedules": ("documents",),
    "activities": ("documents", "customers"),
    "gl_journal": ("entities", "gl_balances", "documents", "receipts"),  # entity_currencies
}


def resolve_currencies(
    table: str, raw: pd.DataFrame, frames: dict[str, pd.DataFrame], links: IdLinks | None = None
) -> dict[str, pd.Series]:
    """Per-row currency for money columns whose currency lives in another table. ``links``:
    the load's shared id lookups (the rules reuse the positions found here)."""

    def find(column: str, target: str, mapping: pd.Series) -> pd.Series:
        ids = stripped_text(raw[column])
        if links is None or target not in frames:  # no target table: pandas' empty map, as before
            return lookup(ids, mapping)
        return taken(mapping, links.rows(table, column, ids, target), ids)

    if table not in ("applications", "adjustments", "payment_schedules", "activities", "gl_journal"):
        return {}
    doc_ccy = (
        keyed(frames["documents"], "document_id", "currency") if "documents" in frames else pd.Series(dtype=object)
    )
    if table == "applications":
        rc = keyed(frames["receipts"], "receipt_id", "currency") if "receipts" in frames else pd.Series(dtype=object)
        both = pd.concat([rc, doc_ccy])  # a receipt id wins over a document id (first wins)
        if links is None or "receipts" not in frames or "documents" not in frames:
            return {"amount": lookup(stripped_text(raw["source_id"]), both)}
        ids = stripped_text(raw["source_id"])
        # A receipt's id wins: only the sources no receipt holds are looked for among the
        # documents, with the targets (the rules want them too) in one lookup.
        in_receipts = links.rows(table, "source_id", ids, "receipts")
        columns = {"source_id": ids, "target_id": stripped_text(raw["target_id"])}
        links.find_together(table, columns, "documents", unless={"source_id": "receipts"})
        in_documents = links.rows_unless(table, "source_id", ids, "documents", "receipts")
        found = np.where(in_receipts >= 0, in_receipts, np.where(in_documents >= 0, len(rc) + in_documents, -1))
        return {"amount": taken(both, found, ids)}
    if table in ("adjustments", "payment_schedules"):
        return {"amount": find("document_id", "documents", doc_ccy)}
    if table == "activities":
        cust = (
            keyed(frames["customers"], "customer_id", "credit_currency")
            if "customers" in frames
            else pd.Series(dtype=object)
        )
        by_doc = find("document_id", "documents", doc_ccy)
        by_customer = find("customer_id", "customers", cust)
        if by_doc.dtype == "str" and by_customer.dtype == "str":  # as text: no Python object per row
            return {"promised_amount": by_doc.where(by_doc.notna(), by_customer)}
        return {"promised_amount": by_doc.astype(object).where(by_doc.notna(), by_customer.astype(object))}
    if table == "gl_journal":
        ccy = entity_currencies(frames)
        column = lookup(stripped_text(raw["entity"]), ccy)
        return {"debit": column, "credit": column}
    return {}


def entity_currencies(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """entity -> functional currency: the entities table, else the GL's, else the documents'."""
    if "entities" in frames:
        ent = frames["entities"]
        return ent.drop_duplicates("entity").set_index("entity")["functional_currency"]
    parts = []
    for name in ("gl_balances", "documents", "receipts"):
        if name in frames:
            parts.append(frames[name][["entity", "currency"]])
    if not parts:
        return pd.Series(dtype=object)
    pairs = pd.concat(parts).drop_duplicates()
    # pandas-stubs: an agg UDF may not return None; pandas accepts it and dropna drops it below
    single = pairs.groupby("entity")["currency"].agg(lambda s: s.iloc[0] if len(s) == 1 else None)  # type: ignore[type-var]
    return single.dropna()
