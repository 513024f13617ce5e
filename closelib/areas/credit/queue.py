"""Credit review: the period's review queue, the customers due for a memo in priority order.

The queue (``credit_review`` parameters) takes the customers whose status is in
``statuses`` and marks a customer *due* when

* its review cycle has run out: ``last_review_date`` + ``cycle_months`` of its risk-rating
  band is on or before the period end (never reviewed = due);
* or a trigger fired:
  - utilisation (exposure / credit limit) above ``triggers.utilisation_above`` (an exposure
    with a zero credit limit is over any threshold);
  - days beyond terms worsening: the amount-weighted average days beyond terms of the
    payments of the last ``windows.recent_months`` months is at least
    ``triggers.days_beyond_terms_increase`` days above that of the ``windows.prior_months``
    months before;
  - broken promises to pay due in the last ``windows.promise_months`` months at least
    ``triggers.broken_promises`` (0 disables the trigger);
  - an exposure jump: exposure up more than ``triggers.exposure_jump`` (a rate) over the
    exposure ``windows.jump_months`` months earlier (no exposure then is no jump: a new
    customer is due as never reviewed, and exposure without a limit trips utilisation).

Priority: more triggers first, then longer overdue by cycle (never reviewed first), then
worse risk rating, then higher utilisation, then customer id. The first ``max_memos`` get
a memo; the rest are listed as carried over to the next period.

Exposure (:mod:`closelib.areas.credit.exposure`), payment behaviour
(:mod:`closelib.areas.credit.behaviour`) and broken promises (:mod:`closelib.areas.credit.trail`)
are measured in their own modules; the look-back windows are :mod:`closelib.areas.credit.lookback`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas.credit.behaviour import dbt_change, payment_history
from closelib.areas.credit.caps import max_financials_age
from closelib.areas.credit.exposure import exposure
from closelib.areas.credit.lookback import months_before, windows
from closelib.areas.credit.trail import broken_count
from closelib.book.model import Book
from closelib.params import rating_band_value
from closelib.periods import Period

DEFAULT_STATUSES = ("active", "on_hold", "suspended", "in_collections")


QUEUE_COLUMNS = [
    "priority",
    "customer_id",
    "name",
    "status",
    "risk_rating",
    "last_review_date",
    "next_review_due",
    "credit_currency",
    "credit_limit",
    "exposure",
    "utilisation",
    "exposure_before",
    "exposure_change",
    "dbt_recent",
    "dbt_prior",
    "dbt_change",
    "broken_promises",
    "financials_year_end",
    "financials",
    "cycle_due",
    "triggers",
    "reasons",
]


def signals(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Every reviewable customer with what the queue decides on (one row each)."""
    cr = params["credit_review"]
    win = windows(params)
    trig = cr["triggers"]
    day = period.end
    statuses = cr.get("statuses") or list(DEFAULT_STATUSES)
    cust = book.customers[book.customers["status"].isin(statuses)].set_index("customer_id")
    now = exposure(book, day)
    before = exposure(book, period.shift(-int(win["jump_months"])).end)
    # unordered: only summed per customer (dbt_change), in integers
    history = payment_history(book, day, int(win["recent_months"]) + int(win["prior_months"]), ordered=False)
    dbt = dbt_change(history, day, int(win["recent_months"]), int(win["prior_months"])).reindex(cust.index)
    broken = broken_count(book, day, int(params["collections"]["promise_grace_days"]), int(win["promise_months"]))
    f = pd.DataFrame(index=cust.index)
    f["name"] = cust["name"]
    f["status"] = cust["status"]
    f["risk_rating"] = cust["risk_rating"].astype("int64")
    f["last_review_date"] = cust["last_review_date"]
    cycle = [int(rating_band_value(cr["cycle_months"], int(r))) for r in f["risk_rating"]]
    f["cycle_months"] = cycle
    # One calendar-month offset per distinct cycle (a handful), not one per customer.
    due = pd.Series(pd.NaT, index=f.index, dtype=f["last_review_date"].dtype)
    for months in sorted(set(cycle)):
        mine = f["cycle_months"] == months
        due[mine] = f.loc[mine, "last_review_date"] + pd.DateOffset(months=months)
    f["next_review_due"] = due
    f["credit_currency"] = cust["credit_currency"]
    f["credit_limit"] = cust["credit_limit"].astype("int64")
    f["exposure"] = now["exposure"].reindex(f.index).fillna(0).astype("int64")
    f["exposure_before"] = before["exposure"].reindex(f.index).fillna(0).astype("int64")
    f["utilisation"] = utilisations(f["exposure"].to_numpy(), f["credit_limit"].to_numpy())
    change = f["exposure"].to_numpy() - f["exposure_before"].to_numpy()
    before_positive = f["exposure_before"].to_numpy() > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f["exposure_change"] = np.where(before_positive, change / f["exposure_before"].to_numpy(), np.nan)
    f[["dbt_recent", "dbt_prior", "dbt_change"]] = dbt[["dbt_recent", "dbt_prior", "dbt_change"]]
    f["broken_promises"] = broken.reindex(f.index).fillna(0).astype("int64")
    f["financials_year_end"], f["financials"] = financials_state(book, day, params, f.index)
    f["cycle_due"] = f["next_review_due"].isna() | (f["next_review_due"] <= day)
    f["months_overdue"] = ((day - f["next_review_due"]).dt.days / 30.4375).fillna(999.0)

    f["triggers"], f["reasons"] = _triggers_and_reasons(f, trig, win)
    return f.reset_index()


def utilisations(exposure_minor: np.ndarray, limit_minor: np.ndarray) -> np.ndarray:
    """:func:`closelib.areas.credit.exposure.utilisation` of each pair (int64 minor units), NaN for
    its ``None``. One float64 division per pair: of the same two integers (exact in float64 below
    2**53) it is the correctly rounded quotient, as Python's int division is."""
    exposure_minor, limit_minor = exposure_minor.astype("int64"), limit_minor.astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = exposure_minor / limit_minor
    return np.where(limit_minor > 0, ratio, np.where(exposure_minor > 0, np.inf, np.nan))


def financials_state(book: Book, day: pd.Timestamp, params: dict, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Per customer: the year end of the latest statements on or before ``day`` and "current",
    "stale" (older than ``credit_review.max_financials_age_months``: not scored) or "none"."""
    fin = book.financials
    latest = fin[fin["fiscal_year_end"] <= day].groupby("customer_id")["fiscal_year_end"].max()
    year_end = latest.reindex(customers).astype("datetime64[ns]")
    months = max_financials_age(params)
    stale = year_end < months_before(day, months)
    state = pd.Series(np.where(year_end.isna(), "none", np.where(stale, "stale", "current")), index=customers)
    return year_end, state


def _triggers_and_reasons(f: pd.DataFrame, trig: dict, win: dict) -> tuple[np.ndarray, list[str]]:
    """Per row of :func:`signals`: how many triggers fired and the reasons, in the order
    utilisation, days beyond terms, broken promises, exposure jump, cycle (not a trigger).

    One pass per trigger, each finding its rows by a comparison over a whole column (NaN
    compares false) and writing the reasons of those rows only (a few of 20,000 customers);
    a row's reasons keep that order because each pass appends after the one before. Values
    are read as Python numbers (``tolist``), formatted as they always were."""
    reasons: list[list[str]] = [[] for _ in range(len(f))]
    triggers = np.zeros(len(f), dtype="int64")

    def fired(i: int, reason: str) -> None:
        reasons[i].append(reason)
        triggers[i] += 1

    threshold = float(trig["utilisation_above"])
    util = f["utilisation"].to_numpy(dtype="float64")
    limit = f["credit_limit"].tolist()
    for i in np.flatnonzero(util > threshold).tolist():
        u = float(util[i])
        fired(i, "exposure with no credit limit" if limit[i] <= 0 else f"utilisation {u:.0%} above {threshold:.0%}")

    increase = int(trig["days_beyond_terms_increase"])
    change = f["dbt_change"].to_numpy(dtype="float64")
    prior, recent = f["dbt_prior"].tolist(), f["dbt_recent"].tolist()
    for i in np.flatnonzero((change > 0) & (change >= increase)).tolist():
        c, p, r = float(change[i]), prior[i], recent[i]
        fired(i, f"days beyond terms up {c:.1f} days ({p:.1f} -> {r:.1f}) over the last {win['recent_months']} months")

    most = int(trig["broken_promises"])  # 0 disables the trigger
    broken = f["broken_promises"].to_numpy(dtype="int64")
    for i in np.flatnonzero(broken >= most).tolist() if most > 0 else []:
        fired(i, f"{int(broken[i])} broken promise(s) to pay in {win['promise_months']} months")

    jump = float(trig["exposure_jump"])
    exposure_change = f["exposure_change"].to_numpy(dtype="float64")
    for i in np.flatnonzero(exposure_change > jump).tolist():
        fired(i, f"exposure up {float(exposure_change[i]):.0%} in {win['jump_months']} months")

    due = f["cycle_due"].to_numpy(dtype=bool)
    never = f["last_review_date"].isna().to_numpy()
    next_due, cycle, rating = f["next_review_due"].tolist(), f["cycle_months"].tolist(), f["risk_rating"].tolist()
    for i in np.flatnonzero(due).tolist():
        reasons[i].append(
            "never reviewed"
            if never[i]
            else f"cycle review due {next_due[i].date()} ({cycle[i]}-month cycle, rating {rating[i]})"
        )
    return triggers, ["; ".join(r) for r in reasons]


def review_queue(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """The customers due for review, in priority order (``priority`` 1 first), with ``memo``
    True for the first ``max_memos`` and False for those carried over."""
    f = signals(book, period, params)
    due = f[f["cycle_due"] | (f["triggers"] > 0)].copy()
    due["_util"] = due["utilisation"].fillna(-1.0)
    due = due.sort_values(
        ["triggers", "months_overdue", "risk_rating", "_util", "customer_id"],
        ascending=[False, False, False, False, True],
        ignore_index=True,
    )
    due["priority"] = np.arange(1, len(due) + 1, dtype="int64")
    due["memo"] = due["priority"] <= int(params["credit_review"]["max_memos"])
    return due[[*QUEUE_COLUMNS, "memo"]]
