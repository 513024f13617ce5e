"""Credit review: one customer's review, every section of the memo computed from the book.

:func:`review` gathers everything the memo template (``notebooks/templates/credit_memo.ipynb``)
shows: profile and group, exposure and utilisation, 24 months of payment behaviour, the aging,
disputes, the collection trail, financial statements with ratios and Altman Z'', the score
log, the recommended limit, the decision and its approval level (see :mod:`closelib.areas.credit.behaviour`
for the behaviour measures, :mod:`closelib.areas.credit.sections` for the sections read from the book,
:mod:`closelib.areas.credit.financials`, :mod:`closelib.areas.credit.score` and
:mod:`closelib.areas.credit.limit` for the ratios, the score and the limit policy).
"""

from __future__ import annotations

from closelib.areas.credit import caps as cc
from closelib.areas.credit import financials as cf
from closelib.areas.credit import limit as cl
from closelib.areas.credit import score as cs
from closelib.areas.credit.behaviour import behaviour, dbt_change_of, monthly_trend, payment_history
from closelib.areas.credit.customerbook import customer_book
from closelib.areas.credit.lookback import windows
from closelib.areas.credit.memotext import behaviour_table as behaviour_table
from closelib.areas.credit.memotext import caps_text as caps_text
from closelib.areas.credit.memotext import exposure_text as exposure_text
from closelib.areas.credit.memotext import profile_table as profile_table
from closelib.areas.credit.memotext import stale_text as stale_text
from closelib.areas.credit.reviewrecord import CreditReview
from closelib.areas.credit.reviewrecord import result_of as result_of
from closelib.areas.credit.reviewrecord import write_result as write_result
from closelib.areas.credit.sections import collection_trail, disputes, group, past_due_share, profile, referrals
from closelib.areas.credit.sections import dispute_outcomes as dispute_outcomes
from closelib.areas.credit.trail import broken_count, promises, suspensions
from closelib.asof.aging import age
from closelib.asof.openitems import open_items
from closelib.book.model import Book
from closelib.nb.context import fmt_money
from closelib.periods import Period

# The names imported as themselves (a re-export: the memotext tables and sentences, result_of,
# write_result, dispute_outcomes) are read by the memo template
# (notebooks/templates/credit_memo.ipynb) as credit_memo.<name>.


def review(book: Book, period: Period, params: dict, customer_id: str) -> CreditReview:
    """Everything a memo shows for one customer, computed from the book as of the period end."""

    cr = params["credit_review"]
    win = windows(params)
    day = period.end
    cb = customer_book(book, [customer_id])
    items = open_items(cb, day)  # INV, DM and CM open at the day: the exposure's and the aging's
    prof = profile(book, customer_id, day, cb, items)
    grace = int(params["collections"]["promise_grace_days"])
    history = payment_history(cb, day, int(win["behaviour_months"]))
    beh = behaviour(history)
    trend = monthly_trend(history, period, int(win["behaviour_months"]))
    change = dbt_change_of(history, customer_id, day, int(win["recent_months"]), int(win["prior_months"]))
    aged = age(items, day, params["aging"]["basis"], list(params["aging"]["buckets"]))
    disp = disputes(cb, customer_id, day)
    promised = promises(cb, day, grace)  # the trail's and the broken count's
    trail = collection_trail(cb, customer_id, day, grace, int(win["behaviour_months"]), promised)
    broken = int(broken_count(cb, day, grace, int(win["promise_months"]), promised).get(customer_id, 0))
    susp = int(suspensions(cb, day, int(win["suspension_months"])).get(customer_id, 0))
    stmts = cf.statements(cb.financials, customer_id, day)
    fin = cf.ratios(stmts.iloc[0]) if len(stmts) else None
    has_fin = fin is not None and fin["z2"] is not None
    stale = fin is not None and cc.is_stale(fin["fiscal_year_end"], day, cc.max_financials_age(params))
    values = {
        "days_beyond_terms": beh["weighted_days_beyond_terms"],
        "share_paid_late": beh["share_paid_late"],
        "days_beyond_terms_trend": change["dbt_change"],
        "past_due_over_30": past_due_share(aged, 30),
        "broken_promises": broken,
        "utilisation": 0.0 if prof["utilisation"] is None else prof["utilisation"],
        "suspensions": susp,
    }
    scored = has_fin and not stale  # stale statements are shown but lose their weight in the score
    if scored and fin is not None:
        values.update(altman_z2=fin["z2"], current_ratio=fin["current_ratio"], leverage=fin["leverage"])
    log, total, score_rating = cs.score(values, scored, prof["status"])
    evidence = cc.Evidence(
        status=prof["status"],
        z2=fin["z2"] if has_fin and fin is not None else None,
        financials_year_end=fin["fiscal_year_end"] if fin is not None else None,
        financials_stale=stale,
        referrals=referrals(cb, customer_id, day, int(win["referral_months"])),
        broken_promises=broken,
        suspensions=susp,
        past_due_over_90=past_due_share(aged, 90),
    )
    found = cc.signals(evidence, params, customer_id, win)
    rating, capped_because = cc.capped_rating(score_rating, prof["risk_rating"], found)
    _, monthly = cl.average_monthly_billing(
        cb.documents, customer_id, prof["currency"], day, int(win["billing_months"])
    )
    limit = cl.recommend_limit(prof["credit_limit"], monthly, rating, prof["currency"], cr["limit_policy"])
    limit = cc.hold_if_worse(limit, prof["risk_rating"], rating)
    verdict = cl.decision(limit, prof["status"])
    opposite = cc.opposite_reason(prof["risk_rating"], rating, limit, prof["currency"], fmt_money)
    approver = cl.approval_level(limit["change"], prof["currency"], cr["approval_matrix"])
    return CreditReview(
        profile=prof,
        group=group(book, customer_id, day),
        history=history,
        behaviour=beh,
        trend=trend,
        dbt_change=change,
        aged=aged,
        disputes=disp,
        trail=trail,
        broken_recent=broken,
        suspensions_recent=susp,
        statements=stmts,
        ratios=cf.ratio_table(stmts),
        financials=fin if has_fin else None,
        financials_stale=stale,
        values=values,
        log=log,
        score=total,
        score_rating=score_rating,
        signals=found,
        capped_because=capped_because,
        rating=rating,
        limit=limit,
        opposite_reason=opposite,
        decision=verdict,
        approver=approver,
    )
