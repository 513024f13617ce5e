"""Credit review: the look-back windows (months) the queue and the memo measure over.

``credit_review.windows`` in the parameters, each window defaulted here (older runs' parameters
lack them): the one place the defaults live.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_WINDOWS = {
    "behaviour_months": 24,
    "recent_months": 3,
    "prior_months": 12,
    "promise_months": 6,
    "jump_months": 3,
    "billing_months": 12,
    "suspension_months": 12,
    "referral_months": 12,
}


def windows(params: dict) -> dict:
    """The look-back windows (months), defaults filled in (older runs' parameters lack them)."""
    return {**DEFAULT_WINDOWS, **(params["credit_review"].get("windows") or {})}


def months_before(day: pd.Timestamp, months: int) -> pd.Timestamp:
    """Midnight of the day ``months`` calendar months before ``day``: where a window starts."""
    return (pd.Timestamp(day) - pd.DateOffset(months=int(months))).normalize()
