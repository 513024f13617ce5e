"""Payment behaviour: amount-weighted days to pay and beyond terms, share late, the monthly trend.

MINI at 2026-10-31 with ON_TIME (see :mod:`tests.areas.credit.test_credit`): C001 paid D0 200.00
20 days after invoicing, on time, and D1 600.00 40 days after, 10 days beyond terms.
"""

from __future__ import annotations

import pandas as pd

from closelib.areas.credit.behaviour import behaviour, monthly_trend, payment_history
from tests.areas.credit.test_credit import DAY, END, ON_TIME, book


def test_payment_behaviour_weighted_by_amount(tmp_path):
    b = book(tmp_path, **ON_TIME)
    h = payment_history(b, DAY, 24)
    assert list(h["document_id"]) == ["D0", "D1"]  # the CM applied to D1 is not a payment
    beh = behaviour(h[h["customer_id"] == "C001"])
    # (200 x 20 + 600 x 40) / 800 = 35 days to pay; (600 x 10) / 800 = 7.5 beyond terms; 600/800 late
    assert (beh["weighted_days_to_pay"], beh["weighted_days_beyond_terms"], beh["share_paid_late"]) == (35.0, 7.5, 0.75)
    trend = monthly_trend(h, END, 24)
    assert len(trend) == 24 and trend.iloc[-1]["month"] == str(END)
    assert trend.set_index("month").loc["2026-09", "weighted_days_beyond_terms"] == 10.0
    assert pd.isna(trend.set_index("month").loc["2026-10", "weighted_days_to_pay"])
