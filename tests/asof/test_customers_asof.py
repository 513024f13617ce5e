"""A prior period is judged on what was true then (issue 16): the customer as of the period end.

MINI (conftest): C003 is bankrupt now and owes D5 75.25 (DM due 2026-07-31, written off 10-31);
C001 (rating 3, limit 5,000.00, reviewed 2026-01-15) owes D1 and D2.
"""

from __future__ import annotations

import copy

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.credit import queue as credit
from closelib.areas.writeoff import select as writeoff
from closelib.asof.customers import book_as_of, customers_as_of, master_data, master_data_note
from closelib.book.load import load_book
from closelib.nb import context as nb
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

HISTORY = [
    {"customer_id": "C003", "effective_date": "2024-01-01", "field": "status", "value": "active"},
    {"customer_id": "C003", "effective_date": "2026-09-15", "field": "status", "value": "bankrupt"},
    {"customer_id": "C001", "effective_date": "2025-01-10", "field": "risk_rating", "value": "5"},
    {"customer_id": "C001", "effective_date": "2026-01-15", "field": "risk_rating", "value": "3"},
    {"customer_id": "C001", "effective_date": "2025-01-10", "field": "credit_limit", "value": "2000.00"},
    {"customer_id": "C001", "effective_date": "2026-01-15", "field": "credit_limit", "value": "5000.00"},
    {"customer_id": "C001", "effective_date": "2025-01-10", "field": "last_review_date", "value": ""},
    {"customer_id": "C001", "effective_date": "2026-01-15", "field": "last_review_date", "value": "2026-01-15"},
    {"customer_id": "C002", "effective_date": "2027-01-01", "field": "collector", "value": "Cleo"},
]


def source(tmp_path, history=True):
    tables = copy.deepcopy(MINI)
    if history:
        tables["customer_history"] = HISTORY
    return write_source(tmp_path / ("with" if history else "without"), tables)


def test_each_field_as_of_a_day(tmp_path):
    book = load_book(source(tmp_path))
    at = {
        day: customers_as_of(book.customers, book.customer_history, pd.Timestamp(day))[0].set_index("customer_id")
        for day in ("2025-06-30", "2026-08-31", "2026-10-31")
    }
    assert at["2025-06-30"].loc["C001", "risk_rating"] == 5 and at["2025-06-30"].loc["C001", "credit_limit"] == 200000
    assert pd.isna(at["2025-06-30"].loc["C001", "last_review_date"])  # not reviewed yet then
    assert at["2026-08-31"].loc["C001", "last_review_date"] == pd.Timestamp("2026-01-15")
    assert at["2026-08-31"].loc["C003", "status"] == "active"
    assert at["2026-10-31"].loc["C003", "status"] == "bankrupt"
    # a field whose history starts after the day: its earliest recorded value
    assert at["2026-10-31"].loc["C002", "collector"] == "Cleo"
    # a field without history keeps the customers table's value; the types stay
    assert at["2025-06-30"].loc["C001", "name"] == "Alpha Colo"
    assert at["2025-06-30"]["risk_rating"].dtype == "int64" and at["2025-06-30"]["credit_limit"].dtype == "int64"
    info = customers_as_of(book.customers, book.customer_history, pd.Timestamp("2026-08-31"))[1]
    assert (info.changes_applied, info.before_history, info.changed_customers) == (
        4,
        1,
        2,
    )  # C003 status, C001 rating, limit, review; C002 collector; C003 and C002 differ


def test_restating_an_old_period_with_and_without_history(tmp_path):
    """The 2026-08 write-off proposal: without history C003 reads as bankrupt (as it is now) and
    its D5 is proposed; with history C003 was still active on 2026-08-31 and nothing is."""
    period = Period(2026, 8)
    params = load_parameters(period, PARAMETERS_DIR)
    results = {}
    for has in (False, True):
        ctx = nb.start("03_write_off", str(period), str(source(tmp_path, has)), show_header=False)
        candidates, _ = writeoff.select(ctx.book, ctx.period, params)
        results[has] = (candidates, ctx)
    without, with_history = results[False][0], results[True][0]
    assert without["document_id"].tolist() == ["D5"] and without.iloc[0]["rule"] == "bankrupt"
    assert with_history.empty
    # the credit queue of 2026-08: C001 at its rating and limit of then
    queue = credit.signals(results[True][1].book, period, params).set_index("customer_id")
    assert queue.loc["C001", "risk_rating"] == 3 and queue.loc["C001", "credit_limit"] == 500000
    early = Period(2025, 6)
    ctx = nb.start("04_credit_review", str(early), str(source(tmp_path / "e")), show_header=False)
    queue = credit.signals(ctx.book, early, params).set_index("customer_id")
    assert queue.loc["C001", "risk_rating"] == 5 and pd.isna(queue.loc["C001", "last_review_date"])


def test_each_workpaper_says_which_master_data_it_read(tmp_path):
    day = pd.Timestamp("2026-08-31")
    without = load_book(source(tmp_path, False))
    assert book_as_of(without, day) is without
    assert master_data_note(master_data(without, day)).startswith("**Customer master data: current.**")
    with_history = book_as_of(load_book(source(tmp_path)), day)
    text = master_data_note(master_data(with_history, day))
    assert text.startswith("**Customer master data as of 2026-08-31** from `customer_history`: 4 dated value(s)")
    assert "1 customer field(s) have history only after 2026-08-31" in text


def test_the_as_of_book_is_made_once_per_day(tmp_path):
    book = load_book(source(tmp_path))
    day = pd.Timestamp("2026-08-31")
    assert book_as_of(book, day) is book_as_of(book, day)
    assert book_as_of(book, day) is not book_as_of(book, pd.Timestamp("2026-09-30"))
    assert book.customers.set_index("customer_id").loc["C003", "status"] == "bankrupt"  # the book is untouched


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["C001", "C002"]), st.integers(0, 40), st.integers(1, 10)),
        min_size=1,
        max_size=12,
        unique_by=lambda r: (r[0], r[1]),
    ),
    st.integers(-5, 45),
)
def test_as_of_is_the_latest_row_on_or_before_the_day_else_the_earliest(rows, offset):
    """Property: the rating as of a day is the latest dated value on or before it, else the
    earliest one; a customer without rows keeps its current rating."""
    start = pd.Timestamp("2026-01-01")
    customers = pd.DataFrame(
        {
            "customer_id": ["C001", "C002", "C003"],
            "risk_rating": pd.Series([3, 6, 10], dtype="int64"),
            "credit_currency": ["USD"] * 3,
            **{f: ["x"] * 3 for f in ("name", "segment", "country", "status", "collector", "parent_id")},
            "payment_terms_days": pd.Series([30] * 3, dtype="int64"),
            "credit_limit": pd.Series([0] * 3, dtype="int64"),
            "last_review_date": pd.Series([pd.NaT] * 3, dtype="datetime64[ns]"),
        }
    )
    history = pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "effective_date": [start + pd.Timedelta(days=d) for _, d, _ in rows],
            "field": "risk_rating",
            "value": [str(r) for _, _, r in rows],
        }
    )
    day = start + pd.Timedelta(days=offset)
    got = customers_as_of(customers, history, day)[0].set_index("customer_id")["risk_rating"]
    for cid, current in (("C001", 3), ("C002", 6), ("C003", 10)):
        mine = sorted((d, r) for c, d, r in rows if c == cid)
        if not mine:
            expected = current
        else:
            before = [r for d, r in mine if d <= offset]
            expected = before[-1] if before else mine[0][1]
        assert got[cid] == expected
