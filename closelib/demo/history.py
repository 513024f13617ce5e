"""The demo's ``customer_history``: how each customer's status, rating, limit and review date got
to what the customers table shows at the end of the book.

Every customer whose status is not ``active`` at the end starts ``active`` when first billed,
moves to ``in_collections`` on its first agency referral, ``suspended`` on its last suspension,
``on_hold`` ten days before the end, ``closed`` the day after its last billed month and
``bankrupt`` on its bankruptcy date, each as far as it went. A reviewed customer (with a review
at least a month after it was first billed) had another rating, limit and previous review
before its last review: set up never reviewed, reviewed a year before its last review when that
was after the set-up, the rating one grade better for a customer whose payments later went
wrong, the limit a fifth higher or lower. So a prior period closed from this book sees each
customer as it was then (a customer bankrupt only later is active then).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib import money
from closelib.demo._common import NEVER, Calendar, dates
from closelib.demo.collections import A_IDX, STATUS
from closelib.demo.customers import EP_NONE, Customers

ACTIVE, ON_HOLD, SUSPENDED, CLOSED, BANKRUPT, IN_COLLECTIONS = range(6)


def customer_history(
    rng: np.random.Generator, cust: Customers, cal: Calendar, status: np.ndarray, acts: pd.DataFrame, ccy: np.ndarray
) -> pd.DataFrame:
    end = cal.end_date
    start = cal.month_start[cust.start_m]
    ids = cust.ids

    def day_of(kind: str, latest: bool = False) -> np.ndarray:
        """Per customer: the first (or latest) day of an activity of ``kind``, NEVER without one."""
        a = acts[acts["type"] == A_IDX[kind]]
        who, when = a["cust"].to_numpy(), a["date"].to_numpy().astype("int64")
        if latest:
            day = np.full(cust.n, -1, dtype="int64")
            np.maximum.at(day, who, when)
            return np.where(day < 0, NEVER, day)
        day = np.full(cust.n, NEVER, dtype="int64")
        np.minimum.at(day, who, when)
        return day

    referral, suspension = day_of("agency_referral"), day_of("suspension", latest=True)
    closed_on = cal.month_end[cust.last_m] + 1
    steps = [  # (status code, day it took effect, applies to)
        (IN_COLLECTIONS, referral, np.isin(status, [IN_COLLECTIONS, BANKRUPT]) & (referral < NEVER)),
        (SUSPENDED, suspension, (status == SUSPENDED) & (suspension < NEVER)),
        (ON_HOLD, np.full(cust.n, end - 10), status == ON_HOLD),
        (CLOSED, closed_on, status == CLOSED),
        (BANKRUPT, cust.bankrupt, status == BANKRUPT),
    ]
    # A status set without a dated cause took effect a little before the end.
    fallback = {IN_COLLECTIONS: end - 20, SUSPENDED: end - 15}
    parts = []
    changed = status != ACTIVE
    who = np.flatnonzero(changed)
    parts.append((who, start[who], "status", STATUS[ACTIVE].repeat(len(who))))
    for code, day, mask in steps:
        rows = np.flatnonzero(mask)
        if code in fallback:
            missing = np.flatnonzero((status == code) & ~mask)
            rows = np.concatenate([rows, missing])
            day = np.where(np.isin(np.arange(cust.n), missing), fallback[code], day)
        when = np.clip(day[rows], start[rows] + 1, end)
        if code == IN_COLLECTIONS:  # before a later bankruptcy
            when = np.where(status[rows] == BANKRUPT, np.minimum(when, cust.bankrupt[rows] - 1), when)
        parts.append((rows, when, "status", STATUS[code].repeat(len(rows))))

    # Rating, limit and previous review before the last review.
    reviewed = np.flatnonzero((cust.last_review < NEVER) & (cust.last_review >= start + 31))
    worse_later = cust.ep_kind[reviewed] != EP_NONE
    before = np.clip(cust.rating[reviewed] - np.where(worse_later, 1, rng.integers(-1, 2, len(reviewed))), 1, 10)
    factor = np.where(rng.random(len(reviewed)) < 0.5, 80, 120)
    step = 100_000  # 1,000.00 in minor units of USD and SGD
    old_limit = (cust.credit_limit[reviewed] * factor // 100) // step * step
    # set up never reviewed; reviewed a year before the last review when that is after the set-up
    previous = cust.last_review[reviewed] - 365
    again = previous > start[reviewed]
    currency = ccy[cust.entity[reviewed]]
    at_start, at_review = start[reviewed], cust.last_review[reviewed]
    parts += [
        (reviewed, at_start, "risk_rating", before.astype(str)),
        (reviewed, at_review, "risk_rating", cust.rating[reviewed].astype(str)),
        (reviewed, at_start, "credit_limit", _money(old_limit, currency)),
        (reviewed, at_review, "credit_limit", _money(cust.credit_limit[reviewed], currency)),
        (reviewed, at_start, "last_review_date", np.full(len(reviewed), "", dtype=object)),
        (reviewed[again], previous[again], "last_review_date", _day_text(previous[again])),
        (reviewed, at_review, "last_review_date", _day_text(at_review)),
    ]
    frame = pd.DataFrame(
        {
            "cust": np.concatenate([p[0] for p in parts]),
            "day": np.concatenate([p[1] for p in parts]).astype("int64"),
            "field": np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts]),
            "value": np.concatenate([np.asarray(p[3], dtype=object) for p in parts]),
        }
    )
    # one row per customer, day and field: the later step wins (rows were added in order)
    frame = frame.drop_duplicates(["cust", "day", "field"], keep="last")
    frame = frame.sort_values(["cust", "field", "day"], kind="stable", ignore_index=True)
    return pd.DataFrame(
        {
            "customer_id": ids[frame["cust"].to_numpy()].astype(object),
            "effective_date": dates(frame["day"].to_numpy()),
            "field": frame["field"].to_numpy(),
            "value": frame["value"].to_numpy(),
        }
    )


def _money(minor: np.ndarray, currency: np.ndarray) -> np.ndarray:
    return money.format_minor_array(minor, pd.Series(currency, dtype=object)).to_numpy(dtype=object)


def _day_text(days: np.ndarray) -> np.ndarray:
    return dates(days).dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
