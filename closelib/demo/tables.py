"""The contract tables built from the generator's integer-coded frames: ids, dates and text made here, in Arrow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.demo import collections, disputes, journal, ledger
from closelib.demo._common import (
    ENTITIES,
    Calendar,
    cat,
    dates,
    iso,
    make_ids,
    sequence_in_groups,
    take,
    text,
    zpad,
)
from closelib.demo.customers import SEGMENTS

TYPE_TEXT = np.array(["INV", "DM", "CM"])
APPROVERS = np.array(["Helen Park", "David Kruger", "Sofia Lindqvist"])  # AR manager, controller, CFO


def documents_table(d, ent, dtype, doc_ids, case_of, case_ids, label, cust, ccy) -> pd.DataFrame:
    c = d["cust"].to_numpy()
    catg = d["cat"].to_numpy()
    q1 = d["q1"].to_numpy()
    q2 = d["q2"].to_numpy()
    lab = label.astype(object)
    colo = cat("Colocation — ", q1, " cabinet(s), ", q2, " kW committed — ", lab)
    xconn = cat("Interconnection — ", q1, " cross-connect(s) — ", lab)
    install = cat(
        "Installation services — ",
        take(np.array(["cage build", "cabinet install", "power circuit", "cross-connect install"]), q1 % 4),
    )
    power = cat("Metered power above commitment — ", lab)
    reason = take(disputes.REASONS, np.where(catg == 5, q1, 0))
    credit = cat("Credit memo — ", reason, " — case ", take(case_ids, np.maximum(case_of, 0)))
    desc = colo
    for k, arr in ((1, xconn), (2, install), (3, power), (5, credit)):
        desc = pc.if_else(pa.array(catg == k), arr, desc)
    ref = pc.if_else(pa.array(catg == 5), take(case_ids, np.maximum(case_of, 0)), take(cust.reference.astype(str), c))
    return pd.DataFrame(
        {
            "document_id": text(doc_ids),
            "customer_id": text(take(cust.ids, c)),
            "entity": text(take(np.array(ENTITIES), ent)),
            "doc_type": text(take(TYPE_TEXT, dtype)),
            "document_date": dates(d["date"].to_numpy()),
            "due_date": dates(d["due"].to_numpy()),
            "currency": text(take(ccy, ent)),
            "amount": d["amount"].to_numpy(),
            "reference": text(ref),
            "description": text(desc),
        }
    )


def adjustments_table(adj, alld, doc_ids, cust):
    t = adj["type"].to_numpy()
    amount = adj["amount"].to_numpy()
    doc = adj["doc"].to_numpy()
    c = alld["cust"].to_numpy()[doc]
    n = len(adj)
    ids = make_ids("ADJ-", np.arange(1, n + 1), 7)
    tier = np.where(np.abs(amount) <= 1_000_000, 0, np.where(np.abs(amount) <= 10_000_000, 1, 2))
    approver = np.where(t == 2, 0, np.where(t == 1, 1, tier))
    year = iso(adj["date"].to_numpy()).astype("U4").astype(object)
    ref_seq = np.zeros(n, dtype="int64")
    o = np.argsort(t, kind="stable")
    ref_seq[o] = sequence_in_groups(t[o])
    prefix = take(np.array(["WO-", "REC-", "SB-"]), t)
    approval = cat(prefix, year, "-", zpad(ref_seq, 4))
    bankrupt = cust.bankrupt[c] <= adj["date"].to_numpy()
    reason = np.where(
        t == 2,
        "small_balance",
        np.where(t == 1, "bankruptcy_dividend", np.where(bankrupt, "bankruptcy", "uncollectible")),
    )
    frame = pd.DataFrame(
        {
            "adjustment_id": text(ids),
            "document_id": text(take(doc_ids, doc)),
            "adjustment_date": dates(adj["date"].to_numpy()),
            "type": text(take(collections.ADJ_TYPES, t)),
            "amount": amount,
            "reason_code": text(reason),
            "approved_by": text(take(APPROVERS, approver)),
            "approval_reference": text(approval),
        }
    )
    return frame, ids


def customers_table(cust, status, ccy) -> pd.DataFrame:
    parent = cust.parent
    return pd.DataFrame(
        {
            "customer_id": text(cust.ids),
            "name": text(cust.name),
            "segment": text(SEGMENTS[cust.segment]),
            "country": text(cust.country.astype(str)),
            "payment_terms_days": cust.terms.astype("int64"),
            "credit_limit": cust.credit_limit.astype("int64"),
            "credit_currency": text(ccy[cust.entity]),
            "risk_rating": cust.rating.astype("int64"),
            "status": text(collections.STATUS[status]),
            "collector": text(cust.collector.astype(str)),
            "last_review_date": dates(cust.last_review),
            "parent_id": text(np.where(parent >= 0, cust.ids[np.maximum(parent, 0)], "")),
        }
    )


def disputes_table(cases, case_ids, pos, doc_ids, cust, ccy, disp, cm_pos, c_order) -> pd.DataFrame:
    status = cases["status"].to_numpy()
    reason = cases["reason"].to_numpy()
    cm_of_case = np.full(len(cases), -1, dtype="int64")
    cm_of_case[disp.credits["case"].to_numpy()] = cm_pos
    res_text = np.array([disputes.RESOLUTION_TEXT[k] for k in range(len(disputes.REASONS))], dtype=object)
    resolved = cat(take(res_text, reason), " — credit memo ", take(doc_ids, np.maximum(cm_of_case, 0)))
    resolution = pc.if_else(
        pa.array(status == disputes.RESOLVED),
        resolved,
        pc.if_else(pa.array(status == disputes.REJECTED), pa.scalar("Rejected — billed per contract"), pa.scalar("")),
    )
    c = cases["cust"].to_numpy()
    frame = pd.DataFrame(
        {
            "case_id": text(case_ids),
            "customer_id": text(take(cust.ids, c)),
            "document_id": text(take(doc_ids, pos[cases["target"].to_numpy()])),
            "opened_date": dates(cases["opened"].to_numpy()),
            "closed_date": dates(cases["closed"].to_numpy()),
            "currency": text(take(ccy, cust.entity[c])),
            "amount": cases["amount"].to_numpy(),
            "reason_code": text(take(disputes.REASONS, reason)),
            "status": text(take(disputes.STATUS, status)),
            "resolution": text(resolution),
            "owner": text(take(disputes.OWNERS, cases["owner"].to_numpy())),
        }
    )
    return frame.iloc[c_order].reset_index(drop=True)


_NOTES = {
    "reminder": "Dunning letter sent: invoice past due",
    "call": "Called accounts payable about the past-due balance",
    "promise_to_pay": "Customer promised payment",
    "suspension_warning": "Suspension warning: services will be suspended if not paid within 15 days",
    "suspension": "Remote hands and new orders suspended",
    "payment_plan": "Payment plan agreed: arrears in up to three monthly instalments",
    "agency_referral": "Account referred to collection agency",
    "legal": "Account referred to outside counsel",
    "note": "",
}


def activities_table(acts, pos, doc_ids, cust) -> pd.DataFrame:
    n = len(acts)
    t = acts["type"].to_numpy()
    doc = acts["doc"].to_numpy()
    c = acts["cust"].to_numpy()
    note = take(np.array([_NOTES[k] for k in collections.ACT_TYPES], dtype=object), t)
    kind = acts["note"].to_numpy()
    note = pc.if_else(
        pa.array(kind == collections.NOTE_BROKEN),
        cat(
            "Promise to pay of ",
            iso(np.minimum(acts["promised"].to_numpy(), 10**6)).astype(object),
            " broken: no payment received",
        ),
        note,
    )
    note = pc.if_else(
        pa.array(kind == collections.NOTE_CLAIM),
        pa.scalar("Customer filed for bankruptcy; proof of claim filed with the trustee"),
        note,
    )
    promised = np.where(t == collections.A_IDX["note"], 1 << 40, acts["promised"].to_numpy())
    amount = acts["amount"].to_numpy()
    return pd.DataFrame(
        {
            "activity_id": text(make_ids("ACT-", np.arange(1, n + 1), 7)),
            "customer_id": text(take(cust.ids, c)),
            "document_id": text(pc.if_else(pa.array(doc >= 0), take(doc_ids, pos[np.maximum(doc, 0)]), "")),
            "activity_date": dates(acts["date"].to_numpy()),
            "type": text(take(collections.ACT_TYPES, t)),
            "promised_date": dates(promised),
            "promised_amount": pd.Series(np.where(amount >= 0, amount, 0), dtype="Int64").mask(amount < 0),
            "user": text(take(cust.collector.astype(str), c)),
            "note": text(note),
        }
    )


def gl_journal_table(j: pd.DataFrame, cal: Calendar, ccy) -> pd.DataFrame:
    amount = j["amount"].to_numpy()
    return pd.DataFrame(
        {
            "entity": text(take(np.array(ENTITIES), j["entity"].to_numpy())),
            "journal_id": text(pa.array(j["journal"].array)),
            "period": text(take(np.array(cal.periods), j["period"].to_numpy())),
            "posting_date": dates(j["post"].to_numpy()),
            "account": text(take(ledger.ACCOUNT_CODES, j["account"].to_numpy())),
            "debit": np.maximum(amount, 0),
            "credit": np.maximum(-amount, 0),
            "source": text(take(journal.SOURCES, j["source"].to_numpy())),
            "reference": text(pa.array(j["reference"].array)),
            "description": text(pa.array(j["description"].array)),
        }
    )


def gl_balances_table(bal: np.ndarray, cal: Calendar, ccy) -> pd.DataFrame:
    n_e, n_p, n_a = bal.shape
    e, p, a = (x.ravel() for x in np.meshgrid(np.arange(n_e), np.arange(n_p), np.arange(n_a), indexing="ij"))
    net = bal.ravel()
    return pd.DataFrame(
        {
            "entity": text(take(np.array(ENTITIES), e)),
            "period": text(take(np.array(cal.periods), p)),
            "account": text(take(ledger.ACCOUNT_CODES, a)),
            "account_name": text(take(np.array([x[1] for x in ledger.ACCOUNTS]), a)),
            "account_type": text(take(np.array([x[2] for x in ledger.ACCOUNTS]), a)),
            "currency": text(take(ccy, e)),
            "debit": np.maximum(net, 0),
            "credit": np.maximum(-net, 0),
        }
    )
