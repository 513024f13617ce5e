"""The credit review's one-pass computations give what the per-row and per-group forms gave:
the monthly trend (one behaviour() per month), one customer's days-beyond-terms change (the
grouped dbt_change), the queue's utilisations and its triggers and reasons (a loop per row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.credit import queue as credit
from closelib.areas.credit.behaviour import behaviour, dbt_change, dbt_change_of, monthly_trend
from closelib.areas.credit.exposure import utilisation
from closelib.periods import Period

END = Period(2026, 10)
DAY = END.end

ROW = st.tuples(
    st.sampled_from(["C1", "C2"]),
    st.integers(-40, 800),  # days before the period end the payment was made (some after it, some before the window)
    st.integers(-5_000, 2_000_000),  # amount applied, minor units (a few negative)
    st.integers(0, 120),  # days to pay
    st.integers(0, 90),  # days beyond terms
)


def _history(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "paid_date": pd.Series([DAY - pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[ns]"),
            "amount": pd.Series([r[2] for r in rows], dtype="int64"),
            "days_to_pay": pd.Series([r[3] for r in rows], dtype="int64"),
            "days_beyond_terms": pd.Series([r[4] for r in rows], dtype="int64"),
            "late": pd.Series([r[4] > 0 for r in rows], dtype=bool),
            "receipt_id": pd.Series([f"R{i}" for i in range(len(rows))], dtype="str"),
            "document_id": pd.Series([f"D{i}" for i in range(len(rows))], dtype="str"),
        }
    )


def _trend_by_month(history: pd.DataFrame, months: int) -> pd.DataFrame:
    """The trend as it was made: behaviour() of each month's rows."""
    month = history["paid_date"].dt.strftime("%Y-%m")
    rows = []
    for label in [str(p) for p in END.back(months)]:
        b = behaviour(history[month == label])
        shown = ("amount_paid", "weighted_days_to_pay", "weighted_days_beyond_terms", "share_paid_late")
        rows.append({"month": label, **{k: b[k] for k in shown}})
    return pd.DataFrame(rows).astype(
        {
            "amount_paid": "int64",
            "weighted_days_to_pay": "float64",
            "weighted_days_beyond_terms": "float64",
            "share_paid_late": "float64",
        }
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(ROW, max_size=40), st.sampled_from([3, 12, 24]))
def test_the_monthly_trend_is_each_months_behaviour(rows, months):
    history = _history(rows)
    pd.testing.assert_frame_equal(
        monthly_trend(history, END, months), _trend_by_month(history, months), check_exact=True
    )


def test_the_monthly_trend_by_hand():
    # March: 100 x 10 days and 300 x 30 days to pay -> 25; 300 of 400 late; April: -50 only
    history = _history([("C1", 230, 100, 10, 0), ("C1", 220, 300, 30, 5), ("C1", 200, -50, 3, 0)])
    trend = monthly_trend(history, END, 24).set_index("month")
    assert trend.loc["2026-03"].tolist() == [400, 25.0, 3.75, 0.75]
    april = trend.loc["2026-04"]
    assert april["amount_paid"] == -50 and np.isnan(april["weighted_days_to_pay"]) and april["share_paid_late"] == 0.0
    assert trend["amount_paid"].sum() == 350


@settings(max_examples=100, deadline=None)
@given(st.lists(ROW, max_size=40), st.sampled_from(["C1", "C2"]))
def test_one_customers_dbt_change_is_the_grouped_ones(rows, customer_id):
    history = _history(rows)
    grouped = dbt_change(history, DAY, 3, 12)
    expected = (
        {k: (None if pd.isna(v) else float(v)) for k, v in grouped.loc[customer_id].to_dict().items()}
        if customer_id in grouped.index
        else {"dbt_recent": None, "dbt_prior": None, "dbt_change": None}
    )
    assert dbt_change_of(history, customer_id, DAY, 3, 12) == expected


MONEY = st.integers(-(2**40), 2**40)


@given(st.lists(st.tuples(MONEY, st.one_of(MONEY, st.just(0))), max_size=30))
def test_the_queues_utilisations_are_each_pairs(pairs):
    found = credit.utilisations(
        np.array([e for e, _ in pairs], dtype="int64"), np.array([lim for _, lim in pairs], dtype="int64")
    )
    for value, (e, lim) in zip(found.tolist(), pairs, strict=True):
        expected = utilisation(e, lim)
        assert (np.isnan(value) and expected is None) or value == expected


def _reasons_row_by_row(f: pd.DataFrame, trig: dict, win: dict) -> tuple[list[int], list[str]]:
    """The triggers and reasons as they were made: one row at a time."""
    triggers, reasons = [], []
    for r in f.itertuples():
        found = []
        if pd.notna(r.utilisation) and r.utilisation > float(trig["utilisation_above"]):
            threshold = float(trig["utilisation_above"])
            u = r.utilisation
            found.append(
                "exposure with no credit limit" if r.credit_limit <= 0 else f"utilisation {u:.0%} above {threshold:.0%}"
            )
        c = r.dbt_change
        if pd.notna(c) and c > 0 and c >= int(trig["days_beyond_terms_increase"]):
            p, recent = r.dbt_prior, r.dbt_recent
            found.append(
                f"days beyond terms up {c:.1f} days ({p:.1f} -> {recent:.1f}) "
                f"over the last {win['recent_months']} months"
            )
        if int(trig["broken_promises"]) > 0 and r.broken_promises >= int(trig["broken_promises"]):
            found.append(f"{r.broken_promises} broken promise(s) to pay in {win['promise_months']} months")
        if pd.notna(r.exposure_change) and r.exposure_change > float(trig["exposure_jump"]):
            found.append(f"exposure up {r.exposure_change:.0%} in {win['jump_months']} months")
        triggers.append(len(found))
        if r.cycle_due:
            found.append(
                "never reviewed"
                if pd.isna(r.last_review_date)
                else f"cycle review due {r.next_review_due.date()} ({r.cycle_months}-month cycle, rating {r.risk_rating})"  # noqa: E501
            )
        reasons.append("; ".join(found))
    return triggers, reasons


FIELDS = {
    "utilisation": st.one_of(st.just(np.nan), st.just(np.inf), st.floats(0, 3)),
    "credit_limit": st.sampled_from([0, 100_000]),
    "dbt_prior": st.floats(0, 60),
    "dbt_recent": st.one_of(st.just(np.nan), st.floats(0, 80)),
    "broken_promises": st.integers(0, 4),
    "exposure_change": st.one_of(st.just(np.nan), st.floats(-1, 3)),
    "last_review_date": st.one_of(st.just(pd.NaT), st.just(pd.Timestamp("2025-03-15"))),
    "cycle_due": st.booleans(),
    "cycle_months": st.sampled_from([3, 6, 12]),
    "risk_rating": st.integers(1, 10),
}
CUSTOMER = st.fixed_dictionaries(FIELDS)


@settings(max_examples=100, deadline=None)
@given(st.lists(CUSTOMER, max_size=12), st.sampled_from([0, 1, 2]))
def test_the_queues_triggers_and_reasons_are_each_rows(customers, most_broken):
    f = pd.DataFrame(customers, columns=list(FIELDS)) if customers else pd.DataFrame(columns=list(FIELDS))
    f = f.astype(
        {"utilisation": "float64", "dbt_prior": "float64", "dbt_recent": "float64", "exposure_change": "float64"}
    )
    f["last_review_date"] = pd.to_datetime(f["last_review_date"])
    f["dbt_change"] = f["dbt_recent"] - f["dbt_prior"]
    f["next_review_due"] = f["last_review_date"] + pd.DateOffset(months=6)
    f = f.astype(
        {
            "credit_limit": "int64",
            "broken_promises": "int64",
            "cycle_due": bool,
            "cycle_months": "int64",
            "risk_rating": "int64",
        }
    )
    trig = {
        "utilisation_above": 0.9,
        "days_beyond_terms_increase": 10,
        "broken_promises": most_broken,
        "exposure_jump": 0.5,
    }
    win = {"recent_months": 3, "promise_months": 6, "jump_months": 3}
    triggers, reasons = credit._triggers_and_reasons(f, trig, win)
    assert (triggers.tolist(), reasons) == _reasons_row_by_row(f, trig, win)


def test_exposure_of_some_customers_is_their_rows_of_everyones(tmp_path):
    from closelib.areas.credit.exposure import exposure
    from closelib.asof.openitems import open_items
    from tests.areas.credit.test_credit import book

    b = book(tmp_path)
    everyone = exposure(b, DAY)
    some = exposure(b, DAY, open_items(b, DAY), customers=["C002", "C001"])
    pd.testing.assert_frame_equal(some, everyone.loc[["C001", "C002"]])  # in the book's order
    assert some.loc["C001", "exposure"] == 80_000  # D1 300.00 + D2 500.00 (conftest)
