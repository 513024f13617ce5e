"""Credit review: the memo's conclusion paragraph, every number in it taken from the review.

Who the customer is and what it owes, how it paid, its promises and disputes, its financials,
the score and the proposed rating (with the cap that set it, if any), and the recommended limit
with its approval level, in one paragraph of markdown (the data in it made inert by ``md``).
"""

from __future__ import annotations

from closelib import money
from closelib.nb.markup import md


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
