"""Cash: when and how customers pay, and the receipts and applications that record it.

Each invoice or debit memo gets up to three *payment events* (first payment, the rest of
a partial payment, the disputed part paid after a rejected or partly accepted case),
drawn from the customer's hidden behaviour. Batch payers settle everything billed on
one date with one payment. A distress episode defers payments to its catch-up date (on
a three-month plan) or, for a default, cancels them.

Receipts are the payment events grouped by customer and date; each event becomes one
application. Most cash is applied on the day it arrives; some identified cash waits a
few days (unapplied at a month end), and some arrives without a remittance advice
(unidentified: no customer on the receipt) and is applied when it is identified.
Anything dated after the end of the book does not exist yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.demo._common import (
    NEVER,
    Calendar,
    div_half_up,
    group_first_index,
    round_to,
    uniform_int,
)
from closelib.demo.customers import EP_CATCHUP, EP_DEFAULT, Customers
from closelib.demo.disputes import DisputeDraw

FIRST, REST, TAIL, RECOVERY = 0, 1, 2, 3


def payment_events(
    rng: np.random.Generator, cust: Customers, cal: Calendar, docs: pd.DataFrame, disp: DisputeDraw
) -> tuple[pd.DataFrame, np.ndarray]:
    """Payment events (target, kind, amount, pay date) and each document's short-pay residual."""
    n = len(docs)
    c = docs["cust"].to_numpy()
    date = docs["date"].to_numpy()
    due = docs["due"].to_numpy()
    amount = docs["amount"].to_numpy()
    prepay = cust.prepay[c]

    # Memos from after-payment claims applied to this invoice reduce what is paid on it
    # (a memo resolving a claim on the invoice itself is inside the hold).
    nxt = disp.cm_apps[~disp.cm_apps["own"]]
    cm_next = np.zeros(n, dtype="int64")
    np.add.at(cm_next, nxt["target"].to_numpy(), nxt["amount"].to_numpy())
    cash = amount - disp.hold - cm_next

    # First payment date: on time (a few days early), late, or in advance (prepay).
    on_time = rng.random(n) < cust.p_on[c]
    early = uniform_int(rng, 0, 6, n)
    late = 1 + np.floor(rng.exponential(cust.mean_late[c])).astype("int64")
    p1 = np.where(on_time, np.maximum(due - early, date + 1), due + late)
    p1 = np.where(prepay, np.maximum(date - uniform_int(rng, 1, 10, n), cal.first_date), p1)
    batch_key = c * np.int64(1 << 32) + date
    order = np.lexsort((date, c))
    first = np.empty(n, dtype="int64")
    first[order] = order[group_first_index(batch_key[order])]
    p1 = np.where(cust.batch[c], p1[first], p1)

    partial = ~prepay & ~cust.batch[c] & (rng.random(n) < cust.p_partial[c]) & (cash > 10_000)
    partial |= cust.batch[c] & ~prepay & (rng.random(n) < cust.p_partial[c] * 0.5) & (cash > 10_000)
    share = uniform_int(rng, 30, 80, n)
    rest = np.where(partial, cash - round_to(div_half_up(cash * share, 100), 100), 0)
    p2 = p1 + uniform_int(rng, 12, 65, n)
    short = ~partial & ~prepay & (rng.random(n) < cust.p_short[c]) & (cash > 20_000)
    residual = np.where(short, np.minimum(uniform_int(rng, 100, 5_000, n), cash // 10), 0)
    first_amt = cash - rest - residual

    events = pd.DataFrame(
        {
            "target": np.concatenate([np.arange(n), np.arange(n), np.arange(n)]),
            "kind": np.repeat([FIRST, REST, TAIL], n),
            "amount": np.concatenate([first_amt, rest, disp.tail]),
            "pay": np.concatenate([p1, p2, disp.tail_date]),
        }
    )
    events = events[events["amount"] > 0].reset_index(drop=True)
    t = events["target"].to_numpy()
    ec = c[t]
    pay = events["pay"].to_numpy()

    # Distress episodes: payments falling in the episode wait for the catch-up (paid in up
    # to three monthly instalments) or never come (default).
    in_ep = (cust.ep_kind[ec] != 0) & (pay >= cust.ep_start[ec]) & (pay < cust.ep_end[ec])
    plan = cust.ep_end[ec] + (docs["month"].to_numpy()[t] % 3) * 30
    pay = np.where(in_ep & (cust.ep_kind[ec] == EP_CATCHUP), np.where(cust.ep_end[ec] >= NEVER, NEVER, plan), pay)
    pay = np.where(in_ep & (cust.ep_kind[ec] == EP_DEFAULT), NEVER, pay)
    events["pay"] = pay
    events = events[events["pay"] <= cal.end_date].reset_index(drop=True)
    events["cust"] = c[events["target"].to_numpy()]
    return events, residual


def receipts_and_applications(
    rng: np.random.Generator, cust: Customers, cal: Calendar, docs: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Group payment events into receipts; one application per event (internal columns).

    ``events`` has target, kind, amount, pay, cust. Returns receipts (entity, cust, date,
    amount, identified, number), applications (receipt row, target, amount, date) and what
    each receipt pays (receipt row, target), applications after the end of the book included
    (the remittance advices name them).
    """
    end = cal.end_date
    ev = events.sort_values(["pay", "cust", "target", "kind"], kind="stable", ignore_index=True)
    c = ev["cust"].to_numpy()
    is_rec = ev["kind"].to_numpy() == RECOVERY
    # Batch payers (and a recovery dividend): one receipt per customer and day; others:
    # one receipt per payment.
    key = np.where(is_rec, -2, np.where(cust.batch[c], -1, np.arange(len(ev))))
    grp = pd.DataFrame({"pay": ev["pay"].to_numpy(), "cust": c, "key": key})
    rec_of = grp.groupby(["pay", "cust", "key"], sort=True).ngroup().to_numpy()
    n_rec = int(rec_of.max()) + 1 if len(rec_of) else 0
    amount = np.zeros(n_rec, dtype="int64")
    np.add.at(amount, rec_of, ev["amount"].to_numpy())
    r_cust = np.zeros(n_rec, dtype="int64")
    r_cust[rec_of] = c
    r_date = np.zeros(n_rec, dtype="int64")
    r_date[rec_of] = ev["pay"].to_numpy()
    r_kind = np.zeros(n_rec, dtype="int64")
    r_kind[rec_of] = ev["kind"].to_numpy()

    # Application lag: same day; a few days (identified, not yet applied); unidentified.
    u = rng.random(n_rec)
    recovery = r_kind == RECOVERY
    unidentified = (u < 0.03) & ~recovery
    waiting = (u >= 0.03) & (u < 0.09) & ~recovery
    lag = np.where(unidentified, uniform_int(rng, 4, 45, n_rec), np.where(waiting, uniform_int(rng, 1, 12, n_rec), 0))
    app_day = r_date + lag
    # Receipts of the last days of the book still waiting to be identified/applied (the cash
    # application workpaper's work at the last month end: see closelib.demo.remittance).
    tail = (r_date > end - 6) & ~recovery & (rng.random(n_rec) < 0.5)
    app_day = np.where(tail, NEVER, app_day)
    # SG01 cash applied on the last day of the book (the GL misses it: planted item 4).
    sg = np.flatnonzero(
        (cust.entity[r_cust] == 1) & (r_date >= end - 6) & (r_date <= end) & ~recovery & (cust.ep_kind[r_cust] == 0)
    )
    sg = sg[np.argsort(rng.random(len(sg)), kind="stable")[:3]]
    app_day[sg] = end
    unidentified[sg] = False

    target = ev["target"].to_numpy()
    app_date = np.maximum(app_day[rec_of], docs["date"].to_numpy()[target])
    apps = pd.DataFrame({"receipt": rec_of, "target": target, "amount": ev["amount"].to_numpy(), "date": app_date})
    paid = apps[["receipt", "target"]].copy()  # what each receipt pays, applied by the end or not
    apps = apps[apps["date"] <= end].reset_index(drop=True)
    receipts = pd.DataFrame(
        {
            "entity": cust.entity[r_cust],
            "cust": r_cust,
            "date": r_date,
            "amount": amount,
            "identified": ~unidentified,
            "recovery": recovery,
        }
    )
    return _unknown_remitters(rng, cal, receipts), apps, paid


def _unknown_remitters(rng: np.random.Generator, cal: Calendar, receipts: pd.DataFrame) -> pd.DataFrame:
    """A few small receipts nobody can place, in the last quarter (unidentified at the end)."""
    end = cal.end_date
    k = max(3, len(receipts) // 1500)
    extra = pd.DataFrame(
        {
            "entity": np.arange(k) % 2,
            "cust": np.full(k, -1),
            "date": uniform_int(rng, end - 90, end, k),
            "amount": round_to(uniform_int(rng, 5_000, 400_000, k), 100),
            "identified": np.zeros(k, bool),
            "recovery": np.zeros(k, bool),
        }
    )
    return pd.concat([receipts, extra], ignore_index=True)
