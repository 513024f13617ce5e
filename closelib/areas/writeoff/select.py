"""The write-off pack: candidates, what holds them back, evidence, approvals, journals.

Selection (``write_off`` parameters), on the open invoices and debit memos at the period end:

* ``aged``: at least ``min_days_past_due`` days past due and the customer's status is one of
  ``customer_statuses`` (suspended, referred to collections, bankrupt);
* ``bankrupt``: the customer is bankrupt, whatever the age (``bankrupt_any_age``);
* ``small balance``: an open amount at or under ``small_balance_threshold`` (a short-pay
  residual) at least ``small_balance_min_days`` past due, whatever the customer's status.

Never proposed, and listed as *held* with the reason: a document in a dispute open at the
period end (a dispute without a document holds all its customer's documents); a customer on
a payment plan that is being kept (a payment received on or after the plan, within
``plan_kept_days`` of the period end); a document already (partly) written off.

The approval tier is chosen on each customer's total in the entity's functional currency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.collections.disputes import open_dispute_holds
from closelib.areas.collections.promises import broken_promises, customer_currency
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.book.arrays import arrow_text, lookup, mapped_text, positions, taken
from closelib.book.model import Book
from closelib.periods import Period

RULE_ORDER = ("bankrupt", "aged", "small balance")


def kept_payment_plans(book: Book, day: pd.Timestamp, kept_days: int) -> pd.Series:
    """Customers whose latest payment plan (on or before ``day``) is being kept: last plan date."""
    acts = book.activities
    plans = acts[(acts["type"] == "payment_plan") & (acts["activity_date"] <= day)]
    latest_plan = plans.groupby("customer_id")["activity_date"].max()
    # the two columns read (filtering the whole table took every receipt's text columns)
    rec = book.receipts[["customer_id", "receipt_date"]]
    rec = rec[(rec["receipt_date"] <= day) & (rec["customer_id"] != "")]
    last_paid = rec.groupby("customer_id")["receipt_date"].max().reindex(latest_plan.index)
    kept = last_paid.notna() & (last_paid >= latest_plan) & (last_paid > day - pd.Timedelta(days=kept_days))
    return latest_plan[kept]


def select(book: Book, period: Period, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidates, held): open INV/DM with days past due, the rule that selects them, or why held."""
    wo = params["write_off"]
    day = period.end
    items = aging_at(book, day, AgingPolicy.from_params(params), ("INV", "DM"))
    items = items[items["open_amount"] > 0]
    cust = book.customers.set_index("customer_id")
    items = items.assign(
        name=items["customer_id"].map(cust["name"]).to_numpy(),
        status=items["customer_id"].map(cust["status"]).to_numpy(),
    )
    # the threshold in each entity's currency, once per entity (not once per document)
    per_entity = {e: money.to_minor(wo["small_balance_threshold"], book.currency_of(e)) for e in book.entities}
    threshold = items["entity"].map(per_entity).fillna(0).astype("int64")
    dpd = items["days_past_due"]
    rule = np.select(
        [
            (items["status"] == "bankrupt") & bool(wo["bankrupt_any_age"]),
            (dpd >= int(wo["min_days_past_due"])) & items["status"].isin(wo["customer_statuses"]),
            (items["open_amount"] <= threshold) & (dpd >= int(wo["small_balance_min_days"])),
        ],
        list(RULE_ORDER),
        "",
    )
    items = items.assign(rule=rule)
    selected = items[items["rule"] != ""]
    by_doc, by_cust = open_dispute_holds(book, day)
    plans = kept_payment_plans(book, day, int(wo.get("plan_kept_days", 45)))
    plan_text = pd.Series(pd.to_datetime(plans).dt.strftime("%Y-%m-%d").to_numpy(), index=plans.index, dtype=object)
    adj = book.adjustments
    written = set(adj.loc[(adj["type"] == "write_off") & (adj["adjustment_date"] <= day), "document_id"])
    reason = np.select(
        [
            selected["document_id"].isin(by_doc.index),
            selected["customer_id"].isin(by_cust.index),
            selected["customer_id"].isin(plans.index),
            selected["document_id"].isin(written),
        ],
        [
            "open dispute " + mapped_text(selected["document_id"].map(by_doc)),
            "open customer dispute " + mapped_text(selected["customer_id"].map(by_cust)),
            "payment plan of " + mapped_text(selected["customer_id"].map(plan_text)) + " being kept",
            "already partly written off",
        ],
        "",
    )
    selected = selected.assign(held_because=reason)
    columns = [
        "entity",
        "customer_id",
        "name",
        "status",
        "document_id",
        "doc_type",
        "document_date",
        "due_date",
        "days_past_due",
        "bucket",
        "currency",
        "amount",
        "open_amount",
        "rule",
    ]
    candidates = selected[selected["held_because"] == ""][columns]
    held = selected[selected["held_because"] != ""][[*columns, "held_because"]]
    order = ["entity", "customer_id", "document_id"]
    return candidates.sort_values(order, ignore_index=True), held.sort_values(order, ignore_index=True)


def reserve_held(
    candidates: pd.DataFrame, specific: pd.DataFrame, rates: pd.DataFrame, pools: pd.Series | None
) -> pd.Series:
    """The allowance already held against each candidate: its specific rate, else its bucket's
    collective loss rate (per document, rounded half up)."""
    if candidates.empty:
        return pd.Series(dtype="int64")
    spec_rate = specific.set_index(["customer_id", "entity"])["rate"] if len(specific) else pd.Series(dtype=float)
    keys = pd.MultiIndex.from_frame(candidates[["customer_id", "entity"]])
    rate = pd.Series(spec_rate.reindex(keys).to_numpy(), index=candidates.index)
    pool = candidates["customer_id"].map(pools).fillna("unassigned") if pools is not None else "all"
    lookup = rates.set_index(["entity", "pool", "bucket"])["loss_rate"]
    coll = lookup.reindex(
        pd.MultiIndex.from_arrays(
            [candidates["entity"], pd.Series(pool, index=candidates.index), candidates["bucket"].astype(str)]
        )
    ).to_numpy()
    rate = rate.fillna(pd.Series(coll, index=candidates.index)).fillna(0.0).astype(float).round(6)
    held = np.zeros(len(candidates), dtype="int64")
    amounts = candidates["open_amount"].to_numpy(dtype="int64")
    for value in np.unique(rate.to_numpy()):  # one exact vectorised product per distinct rate
        mask = rate.to_numpy() == value
        held[mask] = money.apply_rate_array(amounts[mask], float(value))
    return pd.Series(held, index=candidates.index, dtype="int64")


def tier_of(total: int, currency: str, matrix: list[dict]) -> tuple[int, str]:
    for i, tier in enumerate(matrix):
        if tier["up_to"] is None or total <= money.to_minor(tier["up_to"], currency):
            return i, tier["role"]
    return len(matrix) - 1, matrix[-1]["role"]


def tier_label(i: int, matrix: list[dict], currency: str) -> str:
    """``over 1,000.00 up to 10,000.00 SGD``: the tier's bounds read as amounts of ``currency``."""

    def shown(bound: str | None) -> str:
        return money.display(money.to_minor(bound or "0", currency), currency)

    low, high = (shown(None) if i == 0 else shown(matrix[i - 1]["up_to"])), matrix[i]["up_to"]
    text = f"over {low}" if high is None else f"up to {shown(high)}" if i == 0 else f"over {low} up to {shown(high)}"
    return f"{text} {currency}"


def by_customer(candidates: pd.DataFrame, params: dict, currency_of: Callable[[str], str]) -> pd.DataFrame:
    """Per customer: documents, total, reserve held, P&L effect, approval tier and role."""
    matrix = params["write_off"]["approval_matrix"]
    if candidates.empty:
        return pd.DataFrame(
            columns=[
                "entity",
                "customer_id",
                "name",
                "status",
                "documents",
                "total",
                "reserve_held",
                "pnl_effect",
                "tier",
                "approver",
                "currency",
            ]
        )
    grouped = candidates.groupby(["entity", "customer_id", "name", "status"], as_index=False).agg(
        documents=("document_id", "nunique"), total=("open_amount", "sum"), reserve_held=("reserve_held", "sum")
    )
    grouped["pnl_effect"] = grouped["total"] - grouped["reserve_held"]
    grouped["currency"] = grouped["entity"].map(currency_of)
    tiers = [tier_of(int(t), c, matrix) for t, c in zip(grouped["total"], grouped["currency"], strict=False)]
    grouped["tier"] = [tier_label(i, matrix, c) for (i, _), c in zip(tiers, grouped["currency"], strict=True)]
    grouped["approver"] = [role for _, role in tiers]
    return grouped.astype({"total": "int64", "reserve_held": "int64", "pnl_effect": "int64"})


def tier_summary(customers: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Per entity and tier: customers, documents and amount, every tier shown."""
    matrix = params["write_off"]["approval_matrix"]
    rows = []
    for entity in sorted(set(customers["entity"])):
        mine = customers[customers["entity"] == entity]
        currency = str(mine["currency"].iloc[0])
        for i, tier in enumerate(matrix):
            t = mine[mine["approver"] == tier["role"]]
            rows.append(
                {
                    "entity": entity,
                    "tier": tier_label(i, matrix, currency),
                    "approver": tier["role"],
                    "customers": len(t),
                    "documents": int(t["documents"].sum()),
                    "total": int(t["total"].sum()),
                    "reserve_held": int(t["reserve_held"].sum()),
                }
            )
    return pd.DataFrame(rows, columns=["entity", "tier", "approver", "customers", "documents", "total", "reserve_held"])


def journals(candidates: pd.DataFrame, params: dict, period: Period, currency_of: Callable[[str], str]) -> pd.DataFrame:
    """Per entity: Dr allowance (total), Cr AR per customer naming its documents."""
    gl = params["gl"]
    date = str(period.end.date())
    rows: list[tuple[object, ...]] = []  # one journal line each (the columns below)
    for key, mine in candidates.groupby("entity", sort=True):
        entity = cast(str, key)
        jid = f"WO-{entity}-{period}"
        ccy = currency_of(entity)
        rows.append(
            (
                entity,
                jid,
                date,
                gl["allowance_account"],
                int(mine["open_amount"].sum()),
                0,
                ccy,
                "",
                f"Write-off of {len(mine)} document(s) approved in the {period} pack",
            )
        )
        for customer, docs in mine.groupby("customer_id", sort=True):
            rows.append(
                (
                    entity,
                    jid,
                    date,
                    gl["ar_control_accounts"][0],
                    0,
                    int(docs["open_amount"].sum()),
                    ccy,
                    customer,
                    "Write-off: " + ", ".join(docs["document_id"]),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "entity",
            "journal_id",
            "date",
            "account",
            "debit",
            "credit",
            "currency",
            "customer_id",
            "description",
        ],
    ).astype({"debit": "int64", "credit": "int64"})


def recoveries(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Recoveries on previously written-off documents in the period, with their journal lines."""
    start, end = period.shift(-1).end, period.end
    adj = book.adjustments
    rec = adj[(adj["type"] == "recovery") & (adj["adjustment_date"] > start) & (adj["adjustment_date"] <= end)]
    # each recovery's document found once, by Arrow (a map on a million-id index costs a second)
    docs = book.documents
    row = positions(arrow_text(rec["document_id"]), arrow_text(docs["document_id"]))

    def of_document(column: str) -> np.ndarray:
        return taken(docs[column], row, rec["document_id"]).to_numpy()

    out = rec.assign(
        entity=of_document("entity"),
        customer_id=of_document("customer_id"),
        currency=of_document("currency"),
        journal=f"Dr {params['gl']['ar_control_accounts'][0]} / Cr {params['gl']['allowance_account']}",
    )
    return out[
        [
            "entity",
            "customer_id",
            "document_id",
            "adjustment_id",
            "adjustment_date",
            "currency",
            "amount",
            "approved_by",
            "approval_reference",
            "journal",
        ]
    ].reset_index(drop=True)


def evidence(book: Book, period: Period, customer_ids: list[str], params: dict) -> dict[str, pd.DataFrame]:
    """What an approver reads per candidate customer, drawn from the book."""
    day = period.end
    ids = set(customer_ids)
    items = aging_at(book, day, AgingPolicy.from_params(params))
    cust = book.customers[book.customers["customer_id"].isin(ids)]
    profile = cust[
        [
            "customer_id",
            "name",
            "segment",
            "status",
            "risk_rating",
            "credit_limit",
            "credit_currency",
            "collector",
            "payment_terms_days",
        ]
    ].copy()
    profile["open_balance"] = (
        profile["customer_id"].map(items.groupby("customer_id")["open_amount"].sum()).fillna(0).astype("int64")
    )
    rec = book.receipts[book.receipts["customer_id"].isin(ids) & (book.receipts["receipt_date"] <= day)]
    since = day - pd.DateOffset(months=24)
    payments = (
        rec[rec["receipt_date"] > since]
        .groupby("customer_id")
        .agg(receipts_24m=("receipt_id", "size"), paid_24m=("amount", "sum"), last_payment=("receipt_date", "max"))
    )
    profile = profile.merge(payments.reset_index(), on="customer_id", how="left")
    profile["receipts_24m"] = profile["receipts_24m"].fillna(0).astype("int64")
    profile["paid_24m"] = profile["paid_24m"].fillna(0).astype("int64")
    acts = book.activities
    trail = acts[acts["customer_id"].isin(ids) & (acts["activity_date"] <= day)].sort_values(
        ["customer_id", "activity_date", "activity_id"]
    )
    promises = broken_promises(book, day, int(params["collections"]["promise_grace_days"]))
    promises = promises[promises["customer_id"].isin(ids)]
    trail = trail.merge(promises[["activity_id", "received", "broken"]], on="activity_id", how="left")
    # the document's currency (looked up in Arrow: a map on a million-id index costs a second),
    # else the customer's first document's; a promise on no document of a customer with no
    # document: its credit currency
    doc_ccy = pd.Series(book.documents["currency"].array, index=book.documents["document_id"].array)
    credit_ccy = book.customers.set_index("customer_id")["credit_currency"]
    trail["currency"] = (
        lookup(trail["document_id"], doc_ccy)
        .fillna(customer_currency(book, trail["customer_id"]))
        .fillna(trail["customer_id"].map(credit_ccy))
        .fillna("")
    )
    profile["broken_promises"] = (
        profile["customer_id"].map(promises.groupby("customer_id")["broken"].sum()).fillna(0).astype("int64")
    )
    disputes = book.disputes[book.disputes["customer_id"].isin(ids) & (book.disputes["opened_date"] <= day)]
    return {
        "profile": profile.sort_values("customer_id", ignore_index=True),
        "open_documents": items[items["customer_id"].isin(ids)][
            [
                "customer_id",
                "document_id",
                "doc_type",
                "document_date",
                "due_date",
                "days_past_due",
                "bucket",
                "currency",
                "amount",
                "open_amount",
            ]
        ].sort_values(["customer_id", "document_id"], ignore_index=True),
        "payments": rec.sort_values(["customer_id", "receipt_date"], ascending=[True, False])
        .groupby("customer_id")
        .head(12)[["customer_id", "receipt_id", "receipt_date", "currency", "amount"]]
        .reset_index(drop=True),
        "activities": trail[
            [
                "customer_id",
                "activity_date",
                "type",
                "document_id",
                "promised_date",
                "currency",
                "promised_amount",
                "received",
                "broken",
                "user",
                "note",
            ]
        ].reset_index(drop=True),
        "disputes": disputes[
            [
                "customer_id",
                "case_id",
                "document_id",
                "opened_date",
                "closed_date",
                "currency",
                "amount",
                "reason_code",
                "status",
                "resolution",
                "owner",
            ]
        ].reset_index(drop=True),
    }
