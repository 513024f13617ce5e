"""Credit review: the internal score of a customer and the proposed rating it maps to.

The internal score (0..100, higher is better) is the sum of each factor's points (0..100)
times its weight (:data:`WEIGHTS`, summing to 1). Without financials the three financial
factors drop out and the behaviour weights are scaled up to sum to 1: the score rests on
behaviour alone. A behaviour factor with no data (no payments in the window) gets a neutral
50 points, shown as such. The score maps to a proposed rating by :data:`RATING_FLOORS`;
a bankrupt or in-collections customer is rated 10 and a suspended one at least 8 whatever
its score (an override line in the log).
"""

from __future__ import annotations

import pandas as pd

from closelib.areas.credit.conclusion import conclusion as conclusion
from closelib.areas.credit.financials import STATEMENT_COLUMNS as STATEMENT_COLUMNS
from closelib.areas.credit.financials import financials_text as financials_text
from closelib.areas.credit.financials import zone
from closelib.areas.credit.limit import limit_steps as limit_steps

# conclusion, STATEMENT_COLUMNS, financials_text and limit_steps are imported as themselves (a
# re-export): the memo template (notebooks/templates/credit_memo.ipynb) reads them as credit_score.<name>.

# Factor -> weight (sums to 1). Behaviour 60 %, financial statements 40 %. Paid history alone
# flatters a customer who has stopped paying, so what is open and over 30 days past due at the
# period end (share of open INV/DM) is a factor of its own.
WEIGHTS = {
    "days_beyond_terms": 0.14,
    "share_paid_late": 0.08,
    "days_beyond_terms_trend": 0.06,
    "past_due_over_30": 0.10,
    "broken_promises": 0.08,
    "utilisation": 0.07,
    "suspensions": 0.07,
    "altman_z2": 0.20,
    "current_ratio": 0.10,
    "leverage": 0.10,
}
FINANCIAL_FACTORS = ("altman_z2", "current_ratio", "leverage")
NEUTRAL_POINTS = 50

# A factor's point bands: ([(bound, points), ...], points when no band matches).
Bands = tuple[list[tuple[float, int]], int]
# (upper bound inclusive, points) for "lower is better"; value above the last bound -> ``else``.
LOWER_BETTER: dict[str, Bands] = {
    "days_beyond_terms": ([(0, 100), (5, 85), (15, 65), (30, 40), (60, 20)], 0),
    "share_paid_late": ([(0.10, 100), (0.25, 75), (0.50, 50), (0.75, 25)], 0),
    "days_beyond_terms_trend": ([(0, 100), (5, 70), (15, 40)], 10),
    "past_due_over_30": ([(0, 100), (0.10, 75), (0.25, 45), (0.50, 20)], 0),
    "broken_promises": ([(0, 100), (1, 60), (2, 30)], 0),
    "utilisation": ([(0.5, 100), (0.8, 75), (1.0, 45), (1.2, 20)], 0),
    "suspensions": ([(0, 100), (1, 50)], 0),
    "leverage": ([(0.4, 100), (0.6, 75), (0.8, 45), (1.0, 20)], 0),
}
# (lower bound inclusive, points) for "higher is better"; below the last bound -> ``else``.
HIGHER_BETTER: dict[str, Bands] = {
    "current_ratio": ([(2.0, 100), (1.5, 80), (1.0, 55), (0.8, 30)], 10),
}
# Altman Z'' by zone: 100 from 4.0 up, 80 in the rest of the safe zone, 45 grey, 15 distress
# from 0 up, 0 below 0.
Z2_POINTS = {"strong": 100, "safe": 80, "grey": 45, "distress": 15, "negative": 0}
# Minimum score for each rating 1..9; below the last, 10.
RATING_FLOORS = [(90, 1), (80, 2), (70, 3), (60, 4), (50, 5), (40, 6), (30, 7), (20, 8), (10, 9)]
STATUS_OVERRIDES = {"bankrupt": 10, "in_collections": 10, "suspended": 8}


def points(factor: str, value: float | None) -> int:
    if value is None or (isinstance(value, float) and value != value):
        return NEUTRAL_POINTS
    if factor == "altman_z2":
        return Z2_POINTS["strong" if value >= 4.0 else "negative" if value < 0 else zone(value)]
    if factor in LOWER_BETTER:
        bands, otherwise = LOWER_BETTER[factor]
        for bound, p in bands:
            if value <= bound:
                return p
        return otherwise
    bands, otherwise = HIGHER_BETTER[factor]
    for bound, p in bands:
        if value >= bound:
            return p
    return otherwise


def score(values: dict, has_financials: bool, status: str = "active") -> tuple[pd.DataFrame, float, int]:
    """(calculation log, score, proposed rating) from factor values (``None`` = no data).

    ``values`` holds a value per behaviour factor and, with financials, per financial factor.
    Contributions are points x weight in hundredths (largest remainders take the odd
    hundredths) and the score is their sum, so the log adds up exactly."""
    factors = [f for f in WEIGHTS if has_financials or f not in FINANCIAL_FACTORS]
    total_weight = sum(WEIGHTS[f] for f in factors)
    rows: list[dict[str, object]] = []
    exact: list[float] = []  # points x weight per factor, apportioned into whole cents below
    for f in factors:
        value = values.get(f)
        p = 0 if isinstance(value, float) and value == float("inf") else points(f, value)
        weight = WEIGHTS[f] / total_weight
        rows.append(
            {
                "factor": f,
                "value": value,
                "points": p,
                "weight": round(weight, 4),
                "note": "no data: neutral points" if value is None else "",
            }
        )
        exact.append(p * weight)
    cents = _apportion([e * 100 for e in exact])
    for row, c in zip(rows, cents, strict=False):
        row["contribution"] = c / 100
    log = pd.DataFrame(rows, columns=["factor", "value", "points", "weight", "contribution", "note"])
    total = sum(cents) / 100
    rating = rating_for(total)
    floor = STATUS_OVERRIDES.get(status)
    if floor is not None and rating < floor:
        log.loc[len(log)] = {
            "factor": f"override: status {status}",
            "value": None,
            "points": 0,
            "weight": 0.0,
            "contribution": 0.0,
            "note": f"rating set to {floor} (score alone gives {rating})",
        }
        rating = floor
    return log, total, rating


def _apportion(exact: list[float]) -> list[int]:
    """Whole cents per line summing to the rounded total (largest remainders get the odd cents),
    so the log adds up exactly to the score."""
    import math

    target = round(sum(exact) + 1e-9)
    floors = [math.floor(v + 1e-9) for v in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(0, target - sum(floors))]:
        floors[i] += 1
    return floors


def rating_for(total: float) -> int:
    for floor, rating in RATING_FLOORS:
        if total >= floor:
            return rating
    return 10
