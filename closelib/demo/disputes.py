"""Disputes and the credit memos that resolve them.

A customer disputes part of an invoice (an SLA breach, an install date billed too
early, a price above the contract, an invoice billed twice...). Two patterns:

* *held*: the customer withholds the disputed amount when paying the invoice. A
  resolved case issues a credit memo applied to that same invoice (partly accepted
  cases: the customer pays the rest after the decision); a rejected case is paid after
  the decision; an open case keeps the amount open.
* *after payment*: the invoice was paid in full and the claim comes later (typical for
  SLA credits). A resolved case issues a credit memo that is applied to the customer's
  next colocation invoice when that one can take it, and otherwise stays unapplied as a
  credit on account.

Everything is drawn per document with vectorised masks; dates beyond the end of the
book become :data:`NEVER` (the case is still open, the memo not yet applied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.demo._common import (
    NEVER,
    Calendar,
    div_half_up,
    pick,
    round_to,
    uniform_int,
)
from closelib.demo.billing import COLO, CREDIT, INSTALL, XCONN
from closelib.demo.customers import Customers

REASONS = np.array(
    ["sla_credit", "install_date", "pricing", "duplicate_billing", "tax", "po_required", "service", "other"]
)
SLA, INSTALL_DATE, PRICING, DUPLICATE, TAX, PO, SERVICE, OTHER = range(8)
STATUS = np.array(["open", "resolved", "rejected"])
OPEN, RESOLVED, REJECTED = 0, 1, 2

OWNERS = np.array(["Dana Whitfield", "Kenji Mori", "Laura Chen", "Rahul Iyer"])
RESOLUTION_TEXT = {
    SLA: "SLA credit issued for the outage",
    INSTALL_DATE: "Billing corrected to the actual install date",
    PRICING: "Credit for the difference to the contract price",
    DUPLICATE: "Duplicate invoice cancelled",
    TAX: "Tax recalculated",
    PO: "Re-issued with the customer's PO reference",
    SERVICE: "Goodwill credit for the service issue",
    OTHER: "Credit agreed with the customer",
}


@dataclass
class DisputeDraw:
    cases: pd.DataFrame  # one row per case (internal integer columns)
    credits: pd.DataFrame  # CM documents, billing-frame columns plus "case"
    # per target document (index = document position in the INV/DM frame)
    hold: np.ndarray  # amount withheld from the first payment
    tail: np.ndarray  # part of the hold paid after the decision
    tail_date: np.ndarray  # when that part is paid
    cm_apps: pd.DataFrame  # CM -> INV applications: cm (row of credits), target, amount, date


def draw_disputes(rng: np.random.Generator, cust: Customers, cal: Calendar, docs: pd.DataFrame) -> DisputeDraw:
    end = cal.end_date
    n_doc = len(docs)
    c = docs["cust"].to_numpy()
    cat = docs["cat"].to_numpy()
    date = docs["date"].to_numpy()
    amount = docs["amount"].to_numpy()
    is_inv = np.isin(cat, [COLO, XCONN, INSTALL])

    disputed = is_inv & (rng.random(n_doc) < cust.p_dispute[c] * np.where(cat == INSTALL, 4.0, 1.0))
    # Every book gets recent open cases and each reason at least once: force a few.
    recent = np.flatnonzero(is_inv & (date > end - 75) & (date < end - 10) & ~cust.prepay[c])
    forced = recent[np.argsort(rng.random(len(recent)), kind="stable")[:6]]
    disputed[forced] = True
    idx = np.flatnonzero(disputed)
    n = len(idx)
    dc = c[idx]
    dcat = cat[idx]

    reason = np.where(
        dcat == INSTALL,
        pick(rng, [INSTALL_DATE, PRICING, PO, OTHER], [0.6, 0.2, 0.1, 0.1], n),
        pick(rng, [SLA, PRICING, DUPLICATE, TAX, PO, SERVICE, OTHER], [0.35, 0.2, 0.08, 0.07, 0.1, 0.12, 0.08], n),
    )
    # Make sure each of the main reasons appears (small books).
    for k, r in enumerate((SLA, INSTALL_DATE, PRICING, DUPLICATE)):
        if not (reason == r).any() and n > k:
            reason[k * max(1, n // 5) % n] = r
    pct = np.select(
        [reason == SLA, reason == INSTALL_DATE, reason == PRICING, reason == DUPLICATE, reason == PO],
        [
            uniform_int(rng, 5, 25, n),
            uniform_int(rng, 20, 60, n),
            uniform_int(rng, 3, 15, n),
            np.full(n, 100),
            np.full(n, 100),
        ],
        uniform_int(rng, 5, 30, n),
    )
    amt = div_half_up(amount[idx] * pct, 100)
    amt = np.where(pct == 100, amount[idx], np.maximum(round_to(amt, 100), 100))
    amt = np.minimum(amt, amount[idx])

    # After-payment claims: mostly SLA credits; duplicates and PO cases are always held.
    after = (reason == SLA) & (rng.random(n) < 0.6) | (reason == SERVICE) & (rng.random(n) < 0.4)
    opened = date[idx] + np.where(after, uniform_int(rng, 35, 70, n), uniform_int(rng, 3, 25, n))
    status = pick(rng, [RESOLVED, REJECTED], [0.75, 0.25], n)
    status = np.where(np.isin(reason, [DUPLICATE, PO]), RESOLVED, status)
    closed = opened + uniform_int(rng, 7, 75, n)
    is_forced = np.isin(idx, forced)
    still_open = (closed > end) | is_forced
    status = np.where(still_open, OPEN, status)
    closed = np.where(still_open, NEVER, closed)
    keep = opened <= end
    # Partly accepted: the memo covers 40-90% of the claim, the rest is paid.
    share = np.where(
        (status == RESOLVED) & ~np.isin(reason, [DUPLICATE, PO]) & (rng.random(n) < 0.25),
        uniform_int(rng, 40, 90, n),
        100,
    )
    cm_amt = np.where(status == RESOLVED, np.where(share == 100, amt, round_to(div_half_up(amt * share, 100), 100)), 0)
    cm_amt = np.minimum(cm_amt, amt)

    cases = pd.DataFrame(
        {
            "target": idx,
            "cust": dc,
            "reason": reason,
            "amount": amt,
            "opened": opened,
            "closed": closed,
            "status": status,
            "after": after,
            "cm_amount": cm_amt,
            "owner": rng.integers(0, len(OWNERS), n),
        }
    )[keep].reset_index(drop=True)

    hold = np.zeros(n_doc, dtype="int64")
    tail = np.zeros(n_doc, dtype="int64")
    tail_date = np.full(n_doc, NEVER, dtype="int64")
    held = cases[~cases["after"]]
    t = held["target"].to_numpy()
    hold[t] = held["amount"].to_numpy()
    tail[t] = held["amount"].to_numpy() - held["cm_amount"].to_numpy()
    tail_date[t] = np.where(
        held["status"].to_numpy() == OPEN, NEVER, held["closed"].to_numpy() + uniform_int(rng, 3, 25, len(held))
    )

    # Credit memos for resolved cases, dated on the decision.
    res = cases[(cases["status"] == RESOLVED) & (cases["cm_amount"] > 0)].reset_index()
    m = len(res)
    credits = pd.DataFrame(
        {
            "cust": res["cust"].to_numpy(),
            "cat": np.full(m, CREDIT),
            "date": res["closed"].to_numpy(),
            "amount": -res["cm_amount"].to_numpy(),
            "month": cal.month_of(res["closed"].to_numpy()),
            "q1": res["reason"].to_numpy(),
            "q2": res["target"].to_numpy(),
            "due": res["closed"].to_numpy(),
            "case": res["index"].to_numpy(),
        }
    )

    # Held cases: the memo clears its own invoice a few days after it is issued.
    own = ~res["after"].to_numpy()
    app_date = res["closed"].to_numpy() + uniform_int(rng, 0, 4, m)
    target = np.where(own, res["target"].to_numpy(), -1)
    # After-payment cases: the next colocation invoice of the customer, if it has room.
    nxt = _next_colo(docs, res["cust"].to_numpy(), res["closed"].to_numpy())
    ok = ~own & (nxt >= 0)
    if ok.any():
        room = amount[np.maximum(nxt, 0)] - hold[np.maximum(nxt, 0)]
        ok &= res["cm_amount"].to_numpy() <= room // 2
        # one memo per next invoice
        first = ~pd.Series(np.where(ok, nxt, -1 - np.arange(m))).duplicated().to_numpy()
        ok &= first
        ok &= rng.random(m) < 0.8
    target = np.where(ok, nxt, target)
    app_date = np.where(ok, np.maximum(app_date, date[np.maximum(nxt, 0)]), app_date)
    cm_apps = pd.DataFrame(
        {"cm": np.arange(m), "target": target, "amount": res["cm_amount"].to_numpy(), "date": app_date, "own": own}
    )
    cm_apps = cm_apps[(cm_apps["target"] >= 0) & (cm_apps["date"] <= end)].reset_index(drop=True)
    return DisputeDraw(cases, credits, hold, tail, tail_date, cm_apps)


def _next_colo(docs: pd.DataFrame, cust: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Row of each customer's first colocation invoice dated on/after ``after`` (-1 if none)."""
    colo = np.flatnonzero(docs["cat"].to_numpy() == COLO)
    key_c = docs["cust"].to_numpy()[colo]
    key_d = docs["date"].to_numpy()[colo]
    order = np.lexsort((key_d, key_c))
    colo, key_c, key_d = colo[order], key_c[order], key_d[order]
    big = np.int64(1 << 41)
    composite = key_c * big + key_d
    pos = np.searchsorted(composite, cust * big + after, side="left")
    pos_c = np.minimum(pos, len(colo) - 1)
    found = (pos < len(colo)) & (key_c[pos_c] == cust) if len(colo) else np.zeros(len(cust), bool)
    return np.where(found, colo[pos_c], -1)
