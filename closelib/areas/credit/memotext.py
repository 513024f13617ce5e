"""Credit review: the memo's tables and sentences made from a review's numbers.

The profile table, the exposure sentence, the payment behaviour table, what the hard signals
did to the proposed rating, and the line on stale financials: what a reader of the memo reads,
with the data in it made inert for markdown.
"""

from __future__ import annotations

import pandas as pd

from closelib.areas.credit.reviewrecord import CreditReview
from closelib.nb.markup import md


def profile_table(prof: dict, fmt) -> pd.DataFrame:
    ccy = prof["currency"]
    rows = [
        ("customer", f"{prof['customer_id']} {prof['name']}"),
        ("segment", prof["segment"]),
        ("country", prof["country"]),
        ("status", prof["status"]),
        ("risk rating now", str(prof["risk_rating"])),
        ("payment terms", f"{prof['payment_terms_days']} days"),
        ("collector", prof["collector"]),
        ("parent", prof["parent_id"] or "none"),
        ("last review", str(prof["last_review_date"] or "never reviewed")),
        ("credit limit", f"{fmt(prof['credit_limit'], ccy)} {ccy}"),
    ]
    return pd.DataFrame(rows, columns=["", "value"])


def exposure_text(prof: dict, fmt) -> str:
    ccy, util = prof["currency"], prof["utilisation"]
    text = (
        f"Exposure **{fmt(prof['exposure'], ccy)} {ccy}** against a credit limit of "
        f"**{fmt(prof['credit_limit'], ccy)} {ccy}**: "
    )
    text += (
        "**no credit limit** for an open exposure."
        if util == float("inf")
        else "nothing owed."
        if util is None
        else f"utilisation **{util:.1%}**."
    )
    if prof.get("translated_exposure"):
        text += (
            f" Of the exposure, {fmt(prof['translated_exposure'], ccy)} {ccy} is open items in other currencies, "
            f"translated into {ccy} at the closing rate of the period end (fx_rates)."
        )
    if prof["other_currency_items"]:
        text += (
            f" {prof['other_currency_items']} open document(s) in other currencies have no closing rate into "
            f"{ccy} in fx_rates and are not included."
        )
    return text


def behaviour_table(beh: dict, change: dict, currency: str, fmt) -> pd.DataFrame:
    def num(v, spec):
        return "n/a" if v is None else format(v, spec)

    rows = [
        ("payments (receipts applied to invoices)", str(beh["payments"])),
        ("documents paid", str(beh["documents_paid"])),
        ("amount paid", f"{fmt(beh['amount_paid'], currency)} {currency}"),
        ("weighted average days to pay", num(beh["weighted_days_to_pay"], ".1f")),
        ("weighted average days beyond terms", num(beh["weighted_days_beyond_terms"], ".1f")),
        ("share of the amount paid late", num(beh["share_paid_late"], ".1%")),
        ("days beyond terms, recent months", num(change["dbt_recent"], ".1f")),
        ("days beyond terms, prior months", num(change["dbt_prior"], ".1f")),
        ("change (positive = worse)", num(change["dbt_change"], "+.1f")),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


def caps_text(rv: CreditReview) -> str:
    """What the hard signals did to the proposed rating, with every override and its reason."""
    now = rv.profile["risk_rating"]
    if not rv.signals:
        return f"No hard signal holds: the proposed rating **{rv.rating}** is the score's (now {now})."
    text = f"The score gives rating {rv.score_rating}; the proposed rating is **{rv.rating}** (now {now})"
    text += f": {md(rv.capped_because)}." if rv.capped_because else ": no cap is stricter than the score."
    for s in rv.signals:
        if not s.applies:
            text += f" The {md(s.name)} cap is lifted by `credit_review.overrides`: *{md(s.override)}*."
    return text


def stale_text(rv: CreditReview, months: int) -> str:
    """The memo's line on statements too old to score ("" when they are not)."""
    if not rv.financials_stale or rv.statements.empty:
        return ""
    year_end = rv.statements.iloc[0]["fiscal_year_end"]
    return (
        f"**Stale financials**: the latest statements (year to {pd.Timestamp(year_end).date()}) are more than "
        f"{months} months old at the period end (`credit_review.max_financials_age_months`): they are shown "
        "but left out of the score, whose behaviour weights are scaled up as without financials."
    )
