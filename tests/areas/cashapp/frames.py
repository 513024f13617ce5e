"""Hand-made sources, targets and customers for the cash application tests (money in cents)."""

from __future__ import annotations

import pandas as pd

from closelib.areas.cashapp.candidates import Policy

POLICY = Policy(
    max_combination=5,
    combination_candidates=12,
    tolerance_absolute=(("USD", "50.00"),),
    tolerance_percent=0.02,
    bank_charge_max=(("USD", "30.00"),),
    name_threshold=88,
    exclude_names=("INC", "LLC", "LTD"),
)


def receipt(source_id, amount, customer="C1", remittance="", payer="", day="2026-10-20", kind="receipt", entity="US01"):
    return {
        "source_id": source_id,
        "source_kind": kind,
        "entity": entity,
        "currency": "USD",
        "customer_id": customer,
        "date": pd.Timestamp(day),
        "available": amount,
        "booking_rate": 1.0,
        "remittance": remittance,
        "payer_name": payer,
        "age_days": (pd.Timestamp("2026-10-31") - pd.Timestamp(day)).days,
    }


def document(document_id, amount, customer="C1", day="2026-09-01", entity="US01"):
    return {
        "document_id": document_id,
        "entity": entity,
        "currency": "USD",
        "customer_id": customer,
        "doc_type": document_id.split("-")[1] if document_id.count("-") >= 2 else "INV",
        "document_date": pd.Timestamp(day),
        "due_date": pd.Timestamp(day) + pd.Timedelta(days=30),
        "open_amount": amount,
    }


def sources(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["available"] = frame["available"].astype("int64")
    return frame


def targets(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["open_amount"] = frame["open_amount"].astype("int64")
    return frame.sort_values(["document_date", "due_date", "document_id"], kind="stable", ignore_index=True)


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "name": ["Acme Data Centers, LLC", "Borealis Cloud Inc.", "Cobalt Networks Ltd"],
    }
)


def applied(result) -> dict[tuple[str, str], tuple[int, str]]:
    """(source id, document id) -> (amount, rule) of every proposed line."""
    s, t, lines = result.sources, result.targets, result.lines
    return {
        (s["source_id"].iloc[int(r.src)], t["document_id"].iloc[int(r.tgt)]): (int(r.amount), r.rule)
        for r in lines.itertuples()
    }
