"""Credit review: the recommended credit limit, the decision it implies and who approves it.

The limit policy turns the customer's average monthly billing and the proposed rating into a
recommended limit, shown step by step (:func:`limit_steps`); its change from the current limit
gives the decision (increase, decrease, hold, credit hold) and the approval level.

Recommended limit (``credit_review.limit_policy``)::

    formula  = average monthly billing (INV + DM of the last windows.billing_months months,
               credit currency) x months_of_billing x rating_factor(proposed rating)
    capped   = min(formula, (1 + max_increase) x current limit)   (no cap when the limit is 0)
    rounded  = capped rounded down to a multiple of round_to
    recommended = current limit when |rounded - current| <= hold_within x current (not worth a change),
                  else rounded

A rating factor of 0 (rating 10) gives 0: credit hold. The approval level comes from
``credit_review.approval_matrix`` on the size of the change (|recommended - current|,
in the limit's currency): a large cut is as much a commercial decision as a large increase.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pandas as pd

from closelib import money
from closelib.params import rating_band_value


def average_monthly_billing(
    documents: pd.DataFrame, customer_id: str, currency: str, day: pd.Timestamp, months: int = 12
) -> tuple[int, int]:
    """(total INV + DM billed in the ``months`` before ``day`` in ``currency``, monthly average rounded half up)."""
    start = (pd.Timestamp(day) - pd.DateOffset(months=int(months))).normalize()
    d = documents[
        (documents["customer_id"] == customer_id)
        & documents["doc_type"].isin(["INV", "DM"])
        & (documents["currency"] == currency)
        & (documents["document_date"] > start)
        & (documents["document_date"] <= day)
    ]
    total = int(d["amount"].sum())
    return total, money.round_half_up(Decimal(total) / Decimal(int(months)))


def recommend_limit(current: int, monthly_billing: int, rating: int, currency: str, policy: dict) -> dict:
    """The limit policy, step by step (money in minor units of ``currency``)."""
    factor = money.rate_to_decimal(rating_band_value(policy["rating_factor"], int(rating)))
    months = int(policy["months_of_billing"])
    formula = money.round_half_up(Decimal(int(monthly_billing)) * months * factor)
    max_increase = money.rate_to_decimal(policy["max_increase"])
    cap = money.round_half_up(Decimal(int(current)) * (1 + max_increase)) if current > 0 else None
    capped = formula if cap is None else min(formula, cap)
    step = money.to_minor(policy["round_to"], currency)
    rounded = int((Decimal(capped) / step).to_integral_value(rounding=ROUND_FLOOR)) * step if step > 0 else capped
    hold_within = money.rate_to_decimal(policy.get("hold_within", 0))
    held = current > 0 and rounded > 0 and abs(rounded - current) <= Decimal(current) * hold_within
    recommended = int(current) if held else int(rounded)
    return {
        "rating": int(rating),
        "rating_factor": float(factor),
        "months_of_billing": months,
        "monthly_billing": int(monthly_billing),
        "formula": int(formula),
        "cap": cap,
        "capped": int(capped),
        "round_to": step,
        "rounded": int(rounded),
        "held_within_band": bool(held),
        "current": int(current),
        "recommended": recommended,
        "change": recommended - int(current),
    }


def limit_steps(limit: dict, currency: str, fmt: money.MoneyFormat) -> pd.DataFrame:
    """The limit calculation as lines a reviewer can follow."""
    m = lambda v: f"{fmt(v, currency)} {currency}"  # noqa: E731
    rows = [
        ("average monthly billing", m(limit["monthly_billing"])),
        ("x months of billing", str(limit["months_of_billing"])),
        (f"x rating factor (proposed rating {limit['rating']})", f"{limit['rating_factor']:g}"),
        ("= policy amount", m(limit["formula"])),
        (
            "cap: (1 + max_increase) x current limit",
            "none (no current limit)" if limit["cap"] is None else m(limit["cap"]),
        ),
        ("after the cap", m(limit["capped"])),
        (f"rounded down to a multiple of {fmt(limit['round_to'], currency)}", m(limit["rounded"])),
        ("within hold_within of the current limit: keep it", "yes" if limit["held_within_band"] else "no"),
        *(
            [("rating worse than now: no increase (policy would give)", m(limit["policy_recommended"]))]
            if limit.get("held_for_rating")
            else []
        ),
        ("current limit", m(limit["current"])),
        ("recommended limit", m(limit["recommended"])),
        ("change", m(limit["change"])),
    ]
    return pd.DataFrame(rows, columns=["step", "amount"])


def decision(limit: dict, status: str) -> str:
    if limit["recommended"] == 0 and (limit["rating_factor"] == 0 or status in ("bankrupt", "in_collections")):
        return "credit hold"
    if limit["change"] > 0:
        return "increase"
    if limit["change"] < 0:
        return "decrease"
    return "hold"


def approval_level(change: int, currency: str, matrix: list[dict]) -> str:
    """The first tier whose ``up_to`` covers |change| (in the limit's currency)."""
    size = abs(int(change))
    for tier in matrix:
        if tier["up_to"] is None or size <= money.to_minor(tier["up_to"], currency):
            return tier["role"]
    return matrix[-1]["role"]
