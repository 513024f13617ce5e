"""Credit review: the record of one customer's review and its JSON-safe summary.

:class:`CreditReview` holds every section the memo template shows, read by name;
:func:`result_of` is the part the queue's summary reads, written to the run folder as
``credit_memos/<customer_id>.json`` by :func:`write_result` (here, not beside the executor of
the memos: a memo kernel importing that module imported papermill and 460 modules with it,
0.4 s, to write one JSON file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from closelib.areas.credit import caps as cc


@dataclass(frozen=True)
class CreditReview:
    """One customer's review as of the period end: every section the memo template shows,
    read by name (money in minor units of the customer's credit currency unless a table
    carries its own currency column). :func:`result_of` is its JSON-safe summary."""

    profile: dict  # master data with exposure, limit and utilisation (see :func:`profile`)
    group: pd.DataFrame  # parent, siblings or subsidiaries with their exposure (empty: no group)
    history: pd.DataFrame  # receipts applied to INV/DM in the behaviour window, one row per application
    behaviour: dict  # weighted days to pay and beyond terms, share paid late, amounts, counts
    trend: pd.DataFrame  # the behaviour per month of payment over the window
    dbt_change: dict[str, float | None]  # days beyond terms, recent and prior months, and the change
    aged: pd.DataFrame  # the customer's open items aged at the period end
    disputes: pd.DataFrame  # disputes opened by the period end, with their state then
    trail: dict  # collection trail: activity counts, promises kept/broken, escalations
    broken_recent: int  # promises broken in the promise window (a score factor)
    suspensions_recent: int  # suspensions in the suspension window (a score factor)
    statements: pd.DataFrame  # fiscal years on file, newest first
    ratios: pd.DataFrame  # the ratios of each of those fiscal years
    financials: dict | None  # the newest year's ratios with Altman Z'', None without a usable one
    financials_stale: bool  # older than credit_review.max_financials_age_months: not scored
    values: dict[str, float | None]  # the value of each score factor
    log: pd.DataFrame  # the score calculation, one row per factor
    score: float  # the weighted score
    score_rating: int  # the rating the score (and status) gives, before the caps
    signals: list[cc.Signal]  # the hard signals that hold (overridden ones marked)
    capped_because: str  # why the proposed rating is worse than the score's ("" = it is not)
    rating: int  # the proposed risk rating
    limit: dict  # the limit policy step by step: current, recommended, change, cap...
    opposite_reason: str  # why rating and limit move in opposite directions ("" = they do not)
    decision: str  # increase, decrease, hold or credit hold
    approver: str  # who must approve the limit change


def result_of(rv: CreditReview) -> dict:
    """What the queue's summary needs from a memo (JSON-safe; money in minor units): the
    review's one boundary to a file (``credit_memos/<customer_id>.json``), hence a dict."""
    p, lim = rv.profile, rv.limit
    fin = rv.financials
    return {
        "customer_id": p["customer_id"],
        "name": p["name"],
        "currency": p["currency"],
        "rating_now": p["risk_rating"],
        "rating_proposed": rv.rating,
        "score": rv.score,
        "altman_z2": None if fin is None else round(fin["z2"], 4),
        "financials_stale": rv.financials_stale,
        "signals": ", ".join(s.name for s in rv.signals if s.applies),
        "capped_by": ", ".join(s.name for s in rv.signals if s.applies) if rv.capped_because else "",
        "overridden": ", ".join(s.name for s in rv.signals if not s.applies),
        "opposite_reason": rv.opposite_reason,
        "current_limit": lim["current"],
        "recommended_limit": lim["recommended"],
        "change": lim["change"],
        "decision": rv.decision,
        "approval_level": rv.approver,
    }


def write_result(path: str | Path, result: dict) -> Path:
    """A memo's outcome for the queue's summary (JSON: money in minor units with its currency)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path
