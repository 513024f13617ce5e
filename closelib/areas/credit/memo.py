"""One customer's credit review: the sections of the memo, computed from the book.

:func:`review` gathers everything the memo template (``notebooks/templates/credit_memo.ipynb``)
shows: profile and group, exposure and utilisation, 24 months of payment behaviour, the aging,
disputes, the collection trail, financial statements with ratios and Altman Z'', the score
log, the recommended limit, the decision and its approval level (see :mod:`closelib.areas.credit.behaviour`
for the behaviour measures and :mod:`closelib.areas.credit.score` for the score and limit policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.areas.credit import caps as cc
from closelib.areas.credit import score as cs
from closelib.areas.credit.behaviour import behaviour, dbt_change, monthly_trend, payment_history
from closelib.areas.credit.customerbook import customer_book
from closelib.areas.credit.exposure import exposure, utilisation
from closelib.areas.credit.lookback import months_before, windows
from closelib.areas.credit.trail import broken_count, promises, suspensions
from closelib.asof.aging import age
from closelib.asof.openitems import open_items
from closelib.book.model import Book
from closelib.errors import NotFoundError
from closelib.nb.context import fmt_money
from closelib.nb.markup import md
from closelib.periods import Period


def profile(book: Book, customer_id: str, day: pd.Timestamp, own: Book | None = None) -> dict:
    """The customer's master data with exposure, limit and utilisation as of ``day``; ``own``:
    the customer's slice of the book (:func:`customer_book`) when the caller has it already (at a
    million documents a slice costs 0.1 s)."""
    cust = book.customers.set_index("customer_id")
    if customer_id not in cust.index:
        raise NotFoundError(f"customer {customer_id!r} is not in the book's customers")
    row = cust.loc[customer_id].to_dict()  # customer ids are unique: one row
    exp = exposure(own if own is not None else customer_book(book, [customer_id]), day).loc[customer_id].to_dict()
    return {
        "customer_id": customer_id,
        "name": row["name"],
        "segment": row["segment"],
        "country": row["country"],
        "status": row["status"],
        "risk_rating": int(row["risk_rating"]),
        "payment_terms_days": int(row["payment_terms_days"]),
        "collector": row["collector"],
        "parent_id": row["parent_id"] or "",
        "last_review_date": None if pd.isna(row["last_review_date"]) else row["last_review_date"].date(),
        "currency": row["credit_currency"],
        "credit_limit": int(row["credit_limit"]),
        "exposure": int(exp["exposure"]),
        "translated_exposure": int(exp["translated_exposure"]),
        "other_currency_items": int(exp["other_currency_items"]),
        "utilisation": utilisation(exp["exposure"], row["credit_limit"]),
    }


def group(book: Book, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
    """The customer's group: its parent, the parent's other subsidiaries (siblings) or, for a
    parent, its subsidiaries; each with rating, status, limit, exposure and utilisation."""
    cust = book.customers
    me = cust[cust["customer_id"] == customer_id].iloc[0]
    parent = me["parent_id"] or ""
    head = parent or customer_id
    members = cust[(cust["customer_id"] == head) | (cust["parent_id"] == head)]
    if len(members) <= 1:
        return pd.DataFrame(
            columns=[
                "role",
                "customer_id",
                "name",
                "status",
                "risk_rating",
                "currency",
                "credit_limit",
                "exposure",
                "utilisation",
            ]
        )
    exp = exposure(customer_book(book, members["customer_id"]), day)["exposure"]
    frame = pd.DataFrame(
        {
            "role": [
                "this customer"
                if c == customer_id
                else ("parent" if c == head else ("sibling" if parent else "subsidiary"))
                for c in members["customer_id"]
            ],
            "customer_id": members["customer_id"].to_numpy(),
            "name": members["name"].to_numpy(),
            "status": members["status"].to_numpy(),
            "risk_rating": members["risk_rating"].to_numpy(),
            "currency": members["credit_currency"].to_numpy(),
            "credit_limit": members["credit_limit"].to_numpy(),
        }
    )
    frame["exposure"] = frame["customer_id"].map(exp).fillna(0).astype("int64")
    frame["utilisation"] = [
        utilisation(e, lim) for e, lim in zip(frame["exposure"], frame["credit_limit"], strict=False)
    ]
    order = {"parent": 0, "this customer": 1, "subsidiary": 2, "sibling": 2}
    return frame.sort_values(
        by=["role", "customer_id"], key=lambda s: s.map(order) if s.name == "role" else s, ignore_index=True
    )


def disputes(book: Book, customer_id: str, day: pd.Timestamp) -> pd.DataFrame:
    """The customer's disputes opened by ``day`` with their state at ``day`` and days open."""
    d = book.disputes
    d = d[(d["customer_id"] == customer_id) & (d["opened_date"] <= day)].copy()
    closed = d["closed_date"].notna() & (d["closed_date"] <= day)
    d["state_at_period_end"] = np.where(closed, d["status"], "open")
    d["days_open"] = ((d["closed_date"].where(closed, day)) - d["opened_date"]).dt.days.astype("int64")
    return d[
        [
            "case_id",
            "document_id",
            "opened_date",
            "closed_date",
            "currency",
            "amount",
            "reason_code",
            "state_at_period_end",
            "days_open",
            "resolution",
        ]
    ].sort_values("opened_date", ignore_index=True)


def dispute_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=["state_at_period_end", "currency", "cases", "amount"])
    out = table.groupby(["state_at_period_end", "currency"], as_index=False).agg(
        cases=("case_id", "size"), amount=("amount", "sum")
    )
    return out.astype({"amount": "int64"})


def collection_trail(book: Book, customer_id: str, day: pd.Timestamp, grace_days: int, months: int = 24) -> dict:
    """Promises to pay (kept or broken), suspensions and the activity counts of the last ``months``."""
    since = months_before(day, months)
    acts = book.activities
    mine = acts[(acts["customer_id"] == customer_id) & (acts["activity_date"] <= day) & (acts["activity_date"] > since)]
    counts = mine.groupby("type").size().rename("activities").reset_index()
    p = promises(book, day, grace_days)
    p = p[(p["customer_id"] == customer_id) & (p["activity_date"] > since)] if len(p) else p
    shown = (
        p[["activity_date", "document_id", "promised_date", "promised_amount", "received", "broken"]].copy()
        if len(p)
        else pd.DataFrame(
            columns=["activity_date", "document_id", "promised_date", "promised_amount", "received", "broken"]
        )
    )
    shown["outcome"] = np.where(shown["broken"].astype(bool), "broken", "kept") if len(shown) else []
    susp = mine[mine["type"].isin(["suspension_warning", "suspension", "agency_referral", "legal", "payment_plan"])]
    return {
        "counts": counts,
        "promises": shown.drop(columns="broken").reset_index(drop=True),
        "kept": int((~p["broken"]).sum()) if len(p) else 0,
        "broken": int(p["broken"].sum()) if len(p) else 0,
        "escalations": susp[["activity_date", "type", "document_id", "user", "note"]].reset_index(drop=True),
    }


# ---------------------------------------------------------------- one customer's review


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


def review(book: Book, period: Period, params: dict, customer_id: str) -> CreditReview:
    """Everything a memo shows for one customer, computed from the book as of the period end."""

    cr = params["credit_review"]
    win = windows(params)
    day = period.end
    cb = customer_book(book, [customer_id])
    prof = profile(book, customer_id, day, cb)
    grace = int(params["collections"]["promise_grace_days"])
    history = payment_history(cb, day, int(win["behaviour_months"]))
    beh = behaviour(history)
    trend = monthly_trend(history, period, int(win["behaviour_months"]))
    by_customer = dbt_change(history, day, int(win["recent_months"]), int(win["prior_months"]))
    mine = (
        by_customer.loc[customer_id].to_dict()
        if customer_id in by_customer.index
        else {"dbt_recent": None, "dbt_prior": None, "dbt_change": None}
    )
    change = {str(k): (None if v is None or pd.isna(v) else float(v)) for k, v in mine.items()}
    aged = age(open_items(cb, day), day, params["aging"]["basis"], list(params["aging"]["buckets"]))
    disp = disputes(cb, customer_id, day)
    trail = collection_trail(cb, customer_id, day, grace, int(win["behaviour_months"]))
    broken = int(broken_count(cb, day, grace, int(win["promise_months"])).get(customer_id, 0))
    susp = int(suspensions(cb, day, int(win["suspension_months"])).get(customer_id, 0))
    stmts = cs.statements(cb.financials, customer_id, day)
    fin = cs.ratios(stmts.iloc[0]) if len(stmts) else None
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
    _, monthly = cs.average_monthly_billing(
        cb.documents, customer_id, prof["currency"], day, int(win["billing_months"])
    )
    limit = cs.recommend_limit(prof["credit_limit"], monthly, rating, prof["currency"], cr["limit_policy"])
    limit = cc.hold_if_worse(limit, prof["risk_rating"], rating)
    verdict = cs.decision(limit, prof["status"])
    opposite = cc.opposite_reason(prof["risk_rating"], rating, limit, prof["currency"], fmt_money)
    approver = cs.approval_level(limit["change"], prof["currency"], cr["approval_matrix"])
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
        ratios=cs.ratio_table(stmts),
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


def referrals(book: Book, customer_id: str, day: pd.Timestamp, months: int) -> int:
    """Agency and legal referrals of the customer in the ``months`` up to ``day``."""
    acts = book.activities
    return int(
        (
            (acts["customer_id"] == customer_id)
            & acts["type"].isin(["agency_referral", "legal"])
            & (acts["activity_date"] <= day)
            & (acts["activity_date"] > months_before(day, months))
        ).sum()
    )


def past_due_share(aged: pd.DataFrame, days: int = 30) -> float:
    """Open INV/DM more than ``days`` past due over all open INV/DM (0 when nothing is open)."""
    debit = aged[aged["doc_type"].isin(["INV", "DM"]) & (aged["open_amount"] > 0)]
    total = int(debit["open_amount"].sum())
    return float(debit.loc[debit["days_past_due"] > days, "open_amount"].sum() / total) if total else 0.0


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


# ---------------------------------------------------------------- text and tables for the memo


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
