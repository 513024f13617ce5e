"""Collections: write-offs, recoveries, small-balance clean-up, dunning, customer status.

* A defaulted customer's open documents are written off on the write-off date (credit
  memos still open stay on the account); a later recovery (a bankruptcy dividend)
  reinstates part of the written-off amount and is paid by a receipt the same day.
* Short-payment residuals are cleared by a small-balance adjustment a few months later.
* Dunning follows the timeline days past due -> action: reminder 1, call 15 (often with
  a promise to pay, kept or broken), suspension warning 30, suspension 45, agency
  referral 90, legal 180. Catch-up episodes end with a payment plan.
* The customer's status at the end of the book follows from all of that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.demo._common import NEVER, Calendar, round_to, uniform_int
from closelib.demo.cash import FIRST, RECOVERY
from closelib.demo.customers import EP_CATCHUP, EP_DEFAULT, Customers
from closelib.demo.disputes import DisputeDraw

WRITE_OFF, RECOVER, ADJUST = 0, 1, 2
ADJ_TYPES = np.array(["write_off", "recovery", "adjustment"])

STAGES = (  # (type, days past due)
    ("reminder", 1),
    ("call", 15),
    ("suspension_warning", 30),
    ("suspension", 45),
    ("agency_referral", 90),
    ("legal", 180),
)
ACT_TYPES = np.array(
    [
        "reminder",
        "call",
        "promise_to_pay",
        "suspension_warning",
        "suspension",
        "payment_plan",
        "agency_referral",
        "legal",
        "note",
    ]
)
A_IDX = {name: i for i, name in enumerate(ACT_TYPES)}
NOTE_BROKEN, NOTE_CLAIM, NOTE_NONE = 1, 2, 0

STATUS = np.array(["active", "on_hold", "suspended", "closed", "bankrupt", "in_collections"])


def write_offs(
    rng: np.random.Generator,
    cust: Customers,
    cal: Calendar,
    docs: pd.DataFrame,
    events: pd.DataFrame,
    disp: DisputeDraw,
    residual: np.ndarray,
):
    """Adjustments (internal), recovery payment events, and the trimmed CM applications."""
    end = cal.end_date
    n = len(docs)
    c = docs["cust"].to_numpy()
    wo_date = cust.write_off[c]

    # Memos are not applied to a written-off account after the write-off.
    cm_apps = disp.cm_apps
    cm_apps = cm_apps[cm_apps["date"].to_numpy() < cust.write_off[c[cm_apps["target"].to_numpy()]]]
    cm_apps = cm_apps.reset_index(drop=True)

    cleared = np.zeros(n, dtype="int64")
    np.add.at(cleared, events["target"].to_numpy(), events["amount"].to_numpy())
    np.add.at(cleared, cm_apps["target"].to_numpy(), cm_apps["amount"].to_numpy())
    open_at_wo = docs["amount"].to_numpy() - cleared
    wo = (wo_date <= end) & (docs["date"].to_numpy() <= wo_date) & (open_at_wo > 0)
    wo_idx = np.flatnonzero(wo)
    wo_amt = open_at_wo[wo_idx]

    # Recovery: a share of the written-off total, reinstating documents in order.
    rc = c[wo_idx]
    rec_ok = cust.recovery[rc] <= end
    total_wo = np.zeros(cust.n, dtype="int64")
    np.add.at(total_wo, rc, wo_amt)
    target_total = round_to(total_wo * cust.recovery_pct // 100, 100)
    cum = pd.Series(wo_amt).groupby(rc).cumsum().to_numpy()
    x = np.clip(target_total[rc] - (cum - wo_amt), 0, wo_amt)
    rec_sel = rec_ok & (x > 0)

    # Small balances: the residual of a short payment, cleared 2-4 month ends later.
    first_pay = np.full(n, NEVER, dtype="int64")
    f = events[events["kind"] == FIRST]
    first_pay[f["target"].to_numpy()] = f["pay"].to_numpy()
    sb = (residual > 0) & (first_pay < NEVER) & (cust.ep_kind[c] != EP_DEFAULT)
    sb_idx = np.flatnonzero(sb)
    m = cal.month_of(first_pay[sb_idx]) + uniform_int(rng, 2, 4, len(sb_idx))
    sb_date = np.where(m < cal.n, cal.month_end[np.minimum(m, cal.n - 1)], NEVER)
    keep = sb_date <= end
    sb_idx, sb_date = sb_idx[keep], sb_date[keep]

    adjustments = pd.DataFrame(
        {
            "doc": np.concatenate([wo_idx, wo_idx[rec_sel], sb_idx]),
            "date": np.concatenate([wo_date[wo_idx], cust.recovery[rc[rec_sel]], sb_date]),
            "type": np.concatenate(
                [np.full(len(wo_idx), WRITE_OFF), np.full(int(rec_sel.sum()), RECOVER), np.full(len(sb_idx), ADJUST)]
            ),
            "amount": np.concatenate([-wo_amt, x[rec_sel], -residual[sb_idx]]),
        }
    )
    recovery_events = pd.DataFrame(
        {
            "target": wo_idx[rec_sel],
            "kind": RECOVERY,
            "amount": x[rec_sel],
            "pay": cust.recovery[rc[rec_sel]],
            "cust": rc[rec_sel],
        }
    )
    return adjustments, recovery_events, cm_apps


def activities(
    rng: np.random.Generator, cust: Customers, cal: Calendar, docs: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Dunning activities (internal columns: cust, doc, date, type, promised, amount, note)."""
    end = cal.end_date
    n = len(docs)
    c = docs["cust"].to_numpy()
    due = docs["due"].to_numpy()
    first_pay = np.full(n, NEVER, dtype="int64")
    f = events[events["kind"] == FIRST]
    np.minimum.at(first_pay, f["target"].to_numpy(), f["pay"].to_numpy())
    dunned = (docs["cat"].to_numpy() != 5) & ~cust.prepay[c]
    stop = np.minimum(first_pay, np.minimum(cust.bankrupt[c], end + 1))

    parts = []
    for name, days in STAGES:
        when = due + days
        sel = np.flatnonzero(dunned & (when < stop) & ((name != "legal") | (first_pay >= NEVER)))
        part = pd.DataFrame({"cust": c[sel], "doc": sel, "date": when[sel], "type": A_IDX[name]})
        if name != "reminder":  # one action per customer and day (call) or month (escalations)
            bucket = part["date"] if name == "call" else cal.month_of(part["date"].to_numpy())
            part = part[~pd.DataFrame({"c": part["cust"], "b": bucket}).duplicated().to_numpy()]
        parts.append(part)
    acts = pd.concat(parts, ignore_index=True)
    acts["promised"] = NEVER
    acts["amount"] = -1
    acts["note"] = NOTE_NONE

    # Promises to pay, made on a call: kept if the money arrives within 3 days of the date.
    calls = acts[acts["type"] == A_IDX["call"]]
    forced = cust.forced[calls["cust"].to_numpy()] > 0
    promise = (rng.random(len(calls)) < 0.45) | forced
    calls = calls[promise]
    k = len(calls)
    promised = calls["date"].to_numpy() + uniform_int(rng, 5, 21, k)
    doc = calls["doc"].to_numpy()
    ptp = pd.DataFrame(
        {
            "cust": calls["cust"].to_numpy(),
            "doc": doc,
            "date": calls["date"].to_numpy(),
            "type": A_IDX["promise_to_pay"],
            "promised": promised,
            "amount": docs["amount"].to_numpy()[doc],
            "note": NOTE_NONE,
        }
    )
    broken = (first_pay[doc] > promised + 3) & (promised + 4 <= end)
    notes = pd.DataFrame(
        {
            "cust": ptp["cust"][broken],
            "doc": doc[broken],
            "date": promised[broken] + 4,
            "type": A_IDX["note"],
            "promised": promised[broken],
            "amount": -1,
            "note": NOTE_BROKEN,
        }
    )

    # Payment plans: agreed a few days before a catch-up starts.
    pc = np.flatnonzero((cust.ep_kind == EP_CATCHUP) & (cust.ep_end <= end))
    ev_c = events["cust"].to_numpy()
    on_plan = np.isin(ev_c, pc) & (events["pay"].to_numpy() >= cust.ep_end[ev_c])
    plan_amt = np.zeros(cust.n, dtype="int64")
    np.add.at(plan_amt, ev_c[on_plan], events["amount"].to_numpy()[on_plan])
    plans = pd.DataFrame(
        {
            "cust": pc,
            "doc": -1,
            "date": cust.ep_end[pc] - 3,
            "type": A_IDX["payment_plan"],
            "promised": cust.ep_end[pc],
            "amount": np.where(plan_amt[pc] > 0, plan_amt[pc], -1),
            "note": NOTE_NONE,
        }
    )
    # Bankruptcy: proof of claim filed.
    bk = np.flatnonzero(cust.bankrupt + 10 <= end)
    claims = pd.DataFrame(
        {
            "cust": bk,
            "doc": -1,
            "date": cust.bankrupt[bk] + 10,
            "type": A_IDX["note"],
            "promised": NEVER,
            "amount": -1,
            "note": NOTE_CLAIM,
        }
    )
    acts = pd.concat([acts, ptp, notes, plans, claims], ignore_index=True)
    acts = acts[acts["date"] <= end]
    return acts.sort_values(["date", "cust", "type", "doc"], kind="stable", ignore_index=True)


def customer_status(
    cust: Customers,
    cal: Calendar,
    docs: pd.DataFrame,
    events: pd.DataFrame,
    adjustments: pd.DataFrame,
    cm_apps: pd.DataFrame,
) -> np.ndarray:
    """Status at the end of the book, from the oldest unpaid document of each customer."""
    end = cal.end_date
    n = len(docs)
    c = docs["cust"].to_numpy()
    paid = np.zeros(n, dtype="int64")
    np.add.at(paid, events["target"].to_numpy(), events["amount"].to_numpy())
    np.add.at(paid, adjustments["doc"].to_numpy(), -adjustments["amount"].to_numpy())
    np.add.at(paid, cm_apps["target"].to_numpy(), cm_apps["amount"].to_numpy())
    amount = docs["amount"].to_numpy()
    unpaid = (amount - paid) * 10 > amount  # more than 10% still open
    dpd = np.where(unpaid & (docs["cat"].to_numpy() != 5), end - docs["due"].to_numpy(), -(10**6))
    worst = np.full(cust.n, -(10**6), dtype="int64")
    np.maximum.at(worst, c, dpd)
    status = np.select([worst >= 90, worst >= 45, worst >= 30], [5, 2, 1], 0)
    status = np.where((cust.last_m < cal.n - 1) & (worst < 30), 3, status)
    status = np.where((cust.ep_kind == EP_DEFAULT) & (cust.last_m < cal.n - 1) & (worst >= 30), 5, status)
    status = np.where(cust.bankrupt <= end, 4, status)
    return status
