"""Credit review scoring: financial ratios, Altman Z'', the internal score, the limit policy.

Ratios (from the latest fiscal year ending on or before the period end):

* current ratio = current assets / current liabilities
* leverage = total liabilities / total assets
* interest cover = EBIT / interest expense, only when the financials carry an extra
  ``interest_expense`` column (the contract has none); otherwise "not available"
* Altman Z'' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4, X1 = working capital / total
  assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = book equity
  / total liabilities; zone safe above 2.6, grey 1.1 to 2.6 (both included), distress below 1.1.

The internal score (0..100, higher is better) is the sum of each factor's points (0..100)
times its weight (:data:`WEIGHTS`, summing to 1). Without financials the three financial
factors drop out and the behaviour weights are scaled up to sum to 1: the score rests on
behaviour alone. A behaviour factor with no data (no payments in the window) gets a neutral
50 points, shown as such. The score maps to a proposed rating by :data:`RATING_FLOORS`;
a bankrupt or in-collections customer is rated 10 and a suspended one at least 8 whatever
its score (an override line in the log).

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
from closelib.nb.markup import md
from closelib.params import rating_band_value

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

SAFE_ABOVE, DISTRESS_BELOW = 2.6, 1.1


# ---------------------------------------------------------------- financial statements


def altman_z2(working_capital, retained_earnings, ebit, book_equity, total_assets, total_liabilities) -> dict | None:
    """Z'' and its terms; ``None`` when total assets or total liabilities are not positive."""
    ta, tl = int(total_assets), int(total_liabilities)
    if ta <= 0 or tl <= 0:
        return None
    x1, x2, x3, x4 = int(working_capital) / ta, int(retained_earnings) / ta, int(ebit) / ta, int(book_equity) / tl
    z = 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4
    return {"x1": x1, "x2": x2, "x3": x3, "x4": x4, "z2": z, "zone": zone(z)}


def zone(z: float) -> str:
    """safe above 2.6; grey from 1.1 to 2.6 inclusive; distress below 1.1."""
    if z > SAFE_ABOVE:
        return "safe"
    if z >= DISTRESS_BELOW:
        return "grey"
    return "distress"


def _ratio(a, b) -> float | None:
    return None if b is None or int(b) == 0 else int(a) / int(b)


def interest_expense(row: pd.Series) -> int | None:
    """An extra ``interest_expense`` column (kept as text by the loader), in minor units."""
    value = row.get("interest_expense") if hasattr(row, "get") else None
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return int(value)
    try:
        return money.to_minor(str(value).strip(), row["currency"])
    except Exception:
        return None


def ratios(row: pd.Series) -> dict:
    """Every ratio of one fiscal year's statements."""
    wc = int(row["current_assets"]) - int(row["current_liabilities"])
    interest = interest_expense(row)
    z = altman_z2(
        wc, row["retained_earnings"], row["ebit"], row["book_equity"], row["total_assets"], row["total_liabilities"]
    )
    return {
        "fiscal_year_end": pd.Timestamp(row["fiscal_year_end"]).date(),
        "working_capital": wc,
        "current_ratio": _ratio(row["current_assets"], row["current_liabilities"]),
        "leverage": _ratio(row["total_liabilities"], row["total_assets"]),
        "interest_cover": _ratio(row["ebit"], interest) if interest else None,
        "interest_cover_note": (
            "EBIT / interest expense" if interest else "not available: the financials carry no interest expense"
        ),
        "ebit_margin": _ratio(row["ebit"], row["revenue"]),
        **(dict.fromkeys(("x1", "x2", "x3", "x4", "z2", "zone")) if z is None else z),
    }


def statements(financials: pd.DataFrame, customer_id: str, day: pd.Timestamp, years: int = 3) -> pd.DataFrame:
    """The customer's fiscal years ending on or before ``day``, newest first (at most ``years``)."""
    f = financials[(financials["customer_id"] == customer_id) & (financials["fiscal_year_end"] <= day)]
    return f.sort_values("fiscal_year_end", ascending=False).head(years).reset_index(drop=True)


def ratio_table(stmts: pd.DataFrame) -> pd.DataFrame:
    rows = [ratios(r) for _, r in stmts.iterrows()]
    return pd.DataFrame(
        rows,
        columns=[
            "fiscal_year_end",
            "current_ratio",
            "leverage",
            "interest_cover",
            "ebit_margin",
            "x1",
            "x2",
            "x3",
            "x4",
            "z2",
            "zone",
        ],
    )


# ---------------------------------------------------------------- the score


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


# ---------------------------------------------------------------- the limit


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


# ---------------------------------------------------------------- the conclusion


def conclusion(
    prof: dict,
    beh: dict,
    fin: dict | None,
    log_score: float,
    rating: int,
    limit: dict,
    verdict: str,
    approver: str,
    trail: dict,
    open_disputes: int,
    fmt: money.MoneyFormat,
    score_rating: int | None = None,
    capped_because: str = "",
    opposite: str = "",
    stale: bool = False,
) -> str:
    """The memo's conclusion paragraph, every number from the review (``score_rating``: the
    score's own rating when a hard signal capped it, ``capped_because`` why; ``opposite``: why
    the rating and the limit move in opposite directions; ``stale``: the statements are shown
    but not scored)."""
    ccy = prof["currency"]
    m = lambda v: f"{fmt(v, ccy)} {ccy}"  # noqa: E731
    util = prof["utilisation"]
    util_text = "no credit limit" if util == float("inf") else "no exposure" if util is None else f"{util:.0%} utilised"
    parts = [
        f"**{md(prof['name'])}** ({md(prof['customer_id'])}, {md(prof['status'])}, rating {prof['risk_rating']}) owes "
        f"{m(prof['exposure'])} against a limit of {m(prof['credit_limit'])} ({util_text})."
    ]
    if beh["amount_paid"]:
        parts.append(
            f"Over 24 months it paid {m(beh['amount_paid'])} in {beh['payments']} payment(s), on average "
            f"{beh['weighted_days_to_pay']:.0f} days after invoice and {beh['weighted_days_beyond_terms']:.1f} "
            f"days beyond terms (amount-weighted), {beh['share_paid_late']:.0%} of it late."
        )
    else:
        parts.append(
            "It made no payments against invoices in the last 24 months, so its payment behaviour scores neutral."
        )
    if trail["broken"] or trail["kept"]:
        parts.append(f"Promises to pay: {trail['kept']} kept, {trail['broken']} broken.")
    if open_disputes:
        parts.append(f"{open_disputes} dispute(s) open at the period end.")
    if fin is None:
        parts.append("No financial statements are on file: the score rests on payment behaviour alone.")
    else:
        z = "Z'' not computable" if fin["z2"] is None else f"Altman Z'' {fin['z2']:.2f} ({fin['zone']} zone)"
        cr = "n/a" if fin["current_ratio"] is None else f"{fin['current_ratio']:.2f}"
        lev = "n/a" if fin["leverage"] is None else f"{fin['leverage']:.0%}"
        old = " (**stale**: older than credit_review.max_financials_age_months, so not scored)" if stale else ""
        parts.append(
            f"Financials for the year to {fin['fiscal_year_end']}{old}: {z}, current ratio {cr}, leverage {lev}."
        )
    if capped_because and score_rating is not None:
        parts.append(
            f"The internal score is {log_score:.2f} of 100 (rating {score_rating}); the proposed rating is "
            f"**{rating}** (now {prof['risk_rating']}): {md(capped_because)}."
        )
    else:
        parts.append(
            f"The internal score is {log_score:.2f} of 100, which maps to a proposed rating of {rating} "
            f"(now {prof['risk_rating']})."
        )
    action = {
        "increase": f"**Recommend an increase** of the credit limit from {m(limit['current'])} to "
        f"{m(limit['recommended'])} (+{fmt(limit['change'], ccy)})",
        "decrease": f"**Recommend a decrease** of the credit limit from {m(limit['current'])} to "
        f"{m(limit['recommended'])} ({fmt(limit['change'], ccy)})",
        "hold": f"**Recommend holding** the credit limit at {m(limit['current'])}",
        "credit hold": f"**Recommend a credit hold**: limit from {m(limit['current'])} to 0, no new orders "
        "without prepayment",
    }[verdict]
    parts.append(f"{action}; approval level: **{md(approver)}**.")
    if opposite:
        parts.append(md(opposite))
    return " ".join(parts)


STATEMENT_COLUMNS = (
    "revenue",
    "ebit",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "retained_earnings",
    "book_equity",
    "market_equity",
)


def financials_text(fin: dict | None, table: pd.DataFrame) -> str:
    if fin is None:
        if len(table):
            return (
                "The statements on file have no positive total assets and total liabilities, so Z'' cannot be "
                "computed: the score rests on payment behaviour alone."
            )
        return "No financial statements: the financial factors are left out of the score."
    cover = (
        "not available (the financials carry no interest expense)"
        if fin["interest_cover"] is None
        else f"{fin['interest_cover']:.2f}x"
    )
    cr = "n/a" if fin["current_ratio"] is None else f"{fin['current_ratio']:.2f}"
    lev = "n/a" if fin["leverage"] is None else f"{fin['leverage']:.1%}"
    return (
        f"Year to {fin['fiscal_year_end']}: X1 {fin['x1']:.4f}, X2 {fin['x2']:.4f}, X3 {fin['x3']:.4f}, "
        f"X4 {fin['x4']:.4f}; **Z'' = {fin['z2']:.2f} ({fin['zone']} zone)**. Current ratio {cr}, "
        f"leverage {lev}, interest cover {cover}."
    )
