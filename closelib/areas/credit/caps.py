"""Rating caps from hard signals, their overrides, stale financials, and opposite changes.

A score can flatter a customer whose own file shows distress: good historical payments and a
healthy utilisation outweigh a negative Altman Z'' or a referral to counsel. Hard signals
(``credit_review.caps``) therefore cap the proposed rating:

* ``altman_distress``: Z'' of the latest statements in the distress zone (below 1.1), stale or not;
* ``referral``: an ``agency_referral`` or ``legal`` activity in the last ``windows.referral_months``;
* ``broken_promises``: at least ``at_least`` promises to pay broken in ``windows.promise_months``;
* ``suspensions``: at least ``at_least`` suspensions in ``windows.suspension_months``;
* ``past_due_over_90``: more than ``above`` of the open INV/DM over 90 days past due;
* the status (bankrupt or in collections 10, suspended 8: :data:`score.STATUS_OVERRIDES`).

While a signal holds the proposed rating is never better (lower) than its cap and never better
than the current rating. A period's ``credit_review.overrides`` may lift one signal for one
customer, with its reason (the status cannot be lifted: it is a fact). Every memo lists each
signal that holds, its evidence, its cap and whether it was overridden.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from closelib.areas.credit.score import STATUS_OVERRIDES

DEFAULT_CAPS: dict[str, dict[str, float]] = {
    "altman_distress": {"rating": 7},
    "referral": {"rating": 9},
    "broken_promises": {"at_least": 2, "rating": 7},
    "suspensions": {"at_least": 1, "rating": 7},
    "past_due_over_90": {"above": 0.25, "rating": 7},
}
DEFAULT_MAX_FINANCIALS_AGE_MONTHS = 15


def cap_policy(params: dict) -> dict:
    """``credit_review.caps`` with the defaults filled in (older runs' parameters lack them)."""
    given = params["credit_review"].get("caps") or {}
    return {name: {**rule, **(given.get(name) or {})} for name, rule in DEFAULT_CAPS.items()}


def max_financials_age(params: dict) -> int:
    return int(params["credit_review"].get("max_financials_age_months") or DEFAULT_MAX_FINANCIALS_AGE_MONTHS)


def is_stale(fiscal_year_end, day: pd.Timestamp, months: int) -> bool:
    """Statements are stale when their year ended more than ``months`` months before ``day``."""
    return pd.Timestamp(fiscal_year_end) < (pd.Timestamp(day) - pd.DateOffset(months=int(months))).normalize()


@dataclass(frozen=True)
class Signal:
    name: str  # the caps key, or "status"
    evidence: str  # what in the file shows it
    cap: int  # the best rating allowed while it holds
    override: str = ""  # the reason given in credit_review.overrides ("" = applies)

    @property
    def applies(self) -> bool:
        return not self.override


@dataclass(frozen=True)
class Evidence:
    """What the hard signals are judged on (one customer, at the period end)."""

    status: str
    z2: float | None
    financials_year_end: object  # date of the statements Z'' comes from, or None
    financials_stale: bool
    referrals: int
    broken_promises: int
    suspensions: int
    past_due_over_90: float


def signals(ev: Evidence, params: dict, customer_id: str, windows: dict) -> list[Signal]:
    """Every hard signal that holds for the customer, with the override reason where one is given."""
    caps = cap_policy(params)
    lifted = {
        o["signal"]: o["reason"]
        for o in params["credit_review"].get("overrides") or []
        if str(o["customer_id"]) == str(customer_id)
    }
    found: list[Signal] = []
    if ev.status in STATUS_OVERRIDES:
        found.append(Signal("status", f"status {ev.status}", STATUS_OVERRIDES[ev.status]))
    if ev.z2 is not None and ev.z2 < 1.1:
        stale = " (stale statements: a distress zone is not cured by old accounts)" if ev.financials_stale else ""
        found.append(
            Signal(
                "altman_distress",
                f"Altman Z'' {ev.z2:.2f} (distress zone, year to {ev.financials_year_end}){stale}",
                int(caps["altman_distress"]["rating"]),
            )
        )
    if ev.referrals:
        found.append(
            Signal(
                "referral",
                f"{ev.referrals} agency or legal referral(s) in {windows['referral_months']} months",
                int(caps["referral"]["rating"]),
            )
        )
    if ev.broken_promises >= int(caps["broken_promises"]["at_least"]):
        found.append(
            Signal(
                "broken_promises",
                f"{ev.broken_promises} broken promise(s) to pay in {windows['promise_months']} months "
                f"(cap from {caps['broken_promises']['at_least']})",
                int(caps["broken_promises"]["rating"]),
            )
        )
    if ev.suspensions >= int(caps["suspensions"]["at_least"]):
        found.append(
            Signal(
                "suspensions",
                f"{ev.suspensions} suspension(s) in {windows['suspension_months']} months "
                f"(cap from {caps['suspensions']['at_least']})",
                int(caps["suspensions"]["rating"]),
            )
        )
    above = float(caps["past_due_over_90"]["above"])
    if ev.past_due_over_90 > above:
        found.append(
            Signal(
                "past_due_over_90",
                f"{ev.past_due_over_90:.0%} of open invoices more than 90 days past due (cap above {above:.0%})",
                int(caps["past_due_over_90"]["rating"]),
            )
        )
    return [Signal(s.name, s.evidence, s.cap, lifted.get(s.name, "")) for s in found]


def capped_rating(score_rating: int, current: int, found: list[Signal]) -> tuple[int, str]:
    """(proposed rating, why it differs from the score's rating, "" when it does not): never
    better than any applying cap, never better than the current rating while a signal applies."""
    applying = [s for s in found if s.applies]
    if not applying:
        return score_rating, ""
    worst_cap = max(s.cap for s in applying)
    rating = max(score_rating, worst_cap, current)
    if rating == score_rating:
        return rating, ""
    if rating == worst_cap and worst_cap >= current:
        binding = ", ".join(s.name for s in applying if s.cap == worst_cap)
        why = f"capped at {worst_cap} by {binding} (the score alone gives {score_rating})"
    else:
        names = ", ".join(s.name for s in applying)
        why = f"held at the current rating {current} while {names} holds (the score alone gives {score_rating})"
    return rating, why


def signal_table(found: list[Signal]) -> pd.DataFrame:
    """The memo's list of hard signals (empty: none holds)."""
    return pd.DataFrame(
        [
            {
                "signal": s.name,
                "evidence": s.evidence,
                "cap": s.cap,
                "applied": "no: overridden" if s.override else "yes",
                "override reason": s.override,
            }
            for s in found
        ],
        columns=["signal", "evidence", "cap", "applied", "override reason"],
    )


def opposite_reason(rating_now: int, rating_proposed: int, limit: dict, currency: str, fmt) -> str:
    """Why the rating and the limit move in opposite directions ("" when they do not)."""
    m = lambda v: f"{fmt(v, currency)} {currency}"  # noqa: E731
    change = int(limit["change"])
    if rating_proposed < rating_now and change < 0:
        return (
            f"The rating improves ({rating_now} -> {rating_proposed}) while the limit falls: the policy sizes the "
            f"limit on billing, and {m(limit['monthly_billing'])} a month x {limit['months_of_billing']} months x "
            f"factor {limit['rating_factor']:g} = {m(limit['formula'])} is below the current limit of "
            f"{m(limit['current'])}: the customer now buys less, so it needs less credit."
        )
    if rating_proposed > rating_now and (change > 0 or limit.get("held_for_rating")):
        return (
            f"The rating worsens ({rating_now} -> {rating_proposed}) while billing would support a higher limit "
            f"({m(limit.get('policy_recommended', limit['recommended']))}): the cautious rule wins and the limit is "
            f"held at {m(limit['current'])}."
        )
    return ""


def hold_if_worse(limit: dict, rating_now: int, rating_proposed: int) -> dict:
    """A worse rating never raises the limit: the increase the policy gives is held (the
    cautious rule wins), keeping what the policy would have given for the memo to say."""
    if rating_proposed > rating_now and limit["change"] > 0:
        return {
            **limit,
            "policy_recommended": limit["recommended"],
            "recommended": limit["current"],
            "change": 0,
            "held_for_rating": True,
        }
    return limit
