"""Billing: recurring colocation and interconnection invoices, installs, power overage.

Every active customer is invoiced on the 1st of each month, one invoice for colocation
(cabinets and committed power, with an annual price escalator at each contract
anniversary) and one for interconnection (cross-connects, a count that grows over the
contract). One-off installation invoices follow a new contract or an expansion; metered
power above the commitment is billed as a debit memo on the last day of the month.

The result is an internal frame of integer columns (customer index, category, dates as
day numbers, amounts in minor units); identifiers and text are added when the public
``documents`` table is assembled, after credit memos and late fees exist too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.demo._common import Calendar, div_half_up, ragged, round_to, uniform_int
from closelib.demo.customers import CARRIER, ENT, EP_NONE, Customers

# Document categories (they decide doc_type, revenue account and description).
COLO, XCONN, INSTALL, POWER, LATE_FEE, CREDIT = 0, 1, 2, 3, 4, 5
DOC_TYPE = np.array(["INV", "INV", "INV", "DM", "DM", "CM"])
REVENUE_ACCOUNT = np.array(["4000", "4100", "4200", "4300", "4300", "4900"])

_COLO_MEDIAN = np.array([45_000, 9_000, 1_800, 25_000])  # monthly, currency units
_XC_MEAN = np.array([8, 3, 1, 25])
_INSTALL_RANGE = np.array([[5_000, 60_000], [1_500, 15_000], [300, 3_000], [2_000, 30_000]])
_POWER_P = np.array([0.3, 0.2, 0.12, 0.25])
_FX_FACTOR = np.array([100, 135])  # SGD prices are ~1.35x USD list prices (percent)


def bill(rng: np.random.Generator, cust: Customers, cal: Calendar) -> pd.DataFrame:
    """All INV and power DM documents of the history, sorted by (date, customer, category)."""
    n = cust.n
    seg = cust.segment
    fx = _FX_FACTOR[cust.entity]

    # Price book per customer (minor units).
    colo_units = _COLO_MEDIAN[seg] * np.exp(0.55 * rng.standard_normal(n))
    colo_base = np.maximum(np.round(colo_units * fx / 100 / 10) * 10, 200).astype("int64") * 100
    escalator = rng.integers(3, 6, n)  # percent per contract year
    cabinets = np.maximum(1, np.round(colo_units / 1500)).astype("int64")
    kw = cabinets * np.array([4, 6, 8])[rng.integers(0, 3, n)]
    has_xc = (seg == CARRIER) | (rng.random(n) < 0.85)
    xc_n0 = 1 + rng.poisson(_XC_MEAN[seg])
    xc_every = np.where(rng.random(n) < 0.6, rng.integers(3, 13, n), 0)
    xc_unit = np.array([30_000, 40_000])[cust.entity]  # 300.00 USD / 400.00 SGD per cross-connect

    # Customer-month grid (vectorised ragged expansion).
    counts = cust.last_m - cust.start_m + 1
    c, pos = ragged(counts)
    m = cust.start_m[c] + pos
    years = pos // 12
    pct = 100 + escalator[c]
    colo = div_half_up(colo_base[c] * pct**years, 100**years)
    xc_count = xc_n0[c] + np.where(xc_every[c] > 0, pos // np.maximum(xc_every[c], 1), 0)
    xc = np.where(has_xc[c], xc_count * xc_unit[c], 0)
    first_day = cal.month_start[m]

    frames = [
        _rows(c, COLO, first_day, colo, m, cabinets[c], kw[c]),
        _rows(c[has_xc[c]], XCONN, first_day[has_xc[c]], xc[has_xc[c]], m[has_xc[c]], xc_count[has_xc[c]], 0),
    ]

    # One-off installs: a new contract (not for customers already live before the history)
    # or an expansion; some are invoiced at month end, which the cut-off test relies on.
    u = rng.random(len(c))
    new_contract = (pos == 0) & (m > 0)
    install = np.where(new_contract, u < 0.7, u < 0.03)
    # Guarantee US01 install invoices on the last day of the month before `end`.
    cand = np.flatnonzero(
        (m == cal.n - 2) & (cust.entity[c] == 0) & (cust.ep_kind[c] == EP_NONE) & (cust.last_m[c] == cal.n - 1)
    )
    forced = cand[np.argsort(rng.random(len(cand)), kind="stable")[: max(2, round(0.03 * len(cand)))]]
    at_month_end = rng.random(len(c)) < 0.35
    install[forced] = True
    at_month_end[forced] = True
    lo_hi = _INSTALL_RANGE[seg[c]]
    inst_amount = round_to(uniform_int(rng, lo_hi[:, 0], lo_hi[:, 1]) * 100 * fx[c] // 100, 1000)
    day = uniform_int(rng, cal.month_start[m] + 2, cal.month_end[m] - 1)
    inst_date = np.where(at_month_end, cal.month_end[m], day)
    sel = np.flatnonzero(install)
    frames.append(_rows(c[sel], INSTALL, inst_date[sel], inst_amount[sel], m[sel], rng.integers(0, 4, len(sel)), 0))

    # Power overage: metered at month end, 3%-20% of the colocation charge.
    power = rng.random(len(c)) < _POWER_P[seg[c]]
    bp = uniform_int(rng, 300, 2000, len(c))
    power_amount = div_half_up(colo * bp, 10_000)
    sel = np.flatnonzero(power & (power_amount > 0))
    frames.append(_rows(c[sel], POWER, cal.month_end[m[sel]], power_amount[sel], m[sel], power_amount[sel] // 25, 0))

    docs = pd.concat(frames, ignore_index=True)
    docs["due"] = docs["date"] + cust.terms[docs["cust"].to_numpy()]
    docs = docs.sort_values(["date", "cust", "cat"], kind="stable", ignore_index=True)

    # Credit limit: 2-4 months of the latest monthly billing, rounded; 0 for prepay customers.
    last = m == cust.last_m[c]
    monthly = np.zeros(n, dtype="int64")
    np.add.at(monthly, c[last], colo[last] + xc[last])
    limit = monthly * rng.integers(200, 401, n) // 100
    step = np.where(limit > 5_000_000, 500_000, 100_000)
    limit = np.maximum(div_half_up(limit, step) * step, step)
    cust.credit_limit = np.where(cust.prepay, 0, limit).astype("int64")
    cust.reference = np.where(
        seg == ENT,
        np.char.add("PO-45", np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)),
        np.char.add("MSA-", cust.ids),
    )
    return docs


def _rows(c, cat, date, amount, month, q1, q2) -> pd.DataFrame:
    """Internal document rows; q1/q2 carry quantities for the description."""
    size = len(c)
    return pd.DataFrame(
        {
            "cust": np.asarray(c, dtype="int64"),
            "cat": np.full(size, cat, dtype="int64"),
            "date": np.asarray(date, dtype="int64"),
            "amount": np.asarray(amount, dtype="int64"),
            "month": np.asarray(month, dtype="int64"),
            "q1": np.broadcast_to(np.asarray(q1, dtype="int64"), (size,)).copy(),
            "q2": np.broadcast_to(np.asarray(q2, dtype="int64"), (size,)).copy(),
        }
    )
