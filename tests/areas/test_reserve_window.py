"""The reserve's shorter histories cut from a longer one equal the histories built afresh."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.areas import reserve
from closelib.areas.reserve.window import release_history, reserve_history, sub_history
from closelib.asof.history import Cells, History, build_history
from closelib.book.load import load_book
from closelib.book.model import Book
from closelib.demo import generate_book, write_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

OCTOBER = Period(2026, 10)


def assert_same(derived: History, built: History) -> None:
    pd.testing.assert_frame_equal(derived.docs, built.docs)
    assert list(derived.month_ends) == list(built.month_ends)
    assert derived.open.dtype == built.open.dtype
    assert derived.open.tolist() == built.open.tolist()
    for mine, theirs in ((derived.write_offs, built.write_offs), (derived.recoveries, built.recoveries)):
        assert_cells(mine, theirs)


def assert_cells(mine: Cells, theirs: Cells) -> None:
    assert mine.shape == theirs.shape
    assert mine.rows.tolist() == theirs.rows.tolist()
    assert mine.cols.tolist() == theirs.cols.tolist()
    assert mine.amounts.tolist() == theirs.amounts.tolist()


@pytest.fixture(scope="module")
def euro_book(tmp_path_factory) -> Book:
    """MINI (USD) plus X, EUR 10.00 at 1.5 dated 2026-01-05, written off 0.01 on 02-10 and 0.01
    on 03-10: each write-off alone is 0.015 -> 0.02 USD, the two together 0.02 EUR -> 0.03 USD."""
    tables = copy.deepcopy(MINI)
    for row in tables["documents"]:
        row["fx_rate"] = ""
    x = dict(MINI["documents"][0], document_id="X", document_date="2026-01-05", due_date="2026-02-04")
    tables["documents"].append(dict(x, currency="EUR", amount="10.00", fx_rate="1.5"))
    adj = MINI["adjustments"][0]
    tables["adjustments"] = [
        *tables["adjustments"],
        dict(adj, adjustment_id="WX1", document_id="X", adjustment_date="2026-02-10", amount="-0.01"),
        dict(adj, adjustment_id="WX2", document_id="X", adjustment_date="2026-03-10", amount="-0.01"),
    ]
    return load_book(write_source(tmp_path_factory.mktemp("euro") / "book", tables))


def test_first_column_write_offs_by_hand(euro_book):
    long = build_history(euro_book, OCTOBER, 8)  # month ends 2026-02 .. 2026-10
    x = long.docs.index[long.docs["document_id"] == "X"][0]
    assert long.written_off[x, :3].tolist() == [2, 2, 0]  # one cent EUR each -> 0.02 USD each
    # 2026-03 .. 2026-06: the first column holds both write-offs, translated together: 0.03 USD
    derived = sub_history(euro_book, long, 1, 3)
    assert derived.docs["document_id"].tolist() == ["X"]  # the others are dated after 2026-06
    assert derived.written_off[0].tolist() == [3, 0, 0, 0]
    assert_same(derived, build_history(euro_book, Period(2026, 6), 3))


def test_a_shorter_window_leaves_out_later_documents(euro_book):
    long = build_history(euro_book, OCTOBER, 8)
    derived = sub_history(euro_book, long, 0, 7)  # ends at 2026-09: D4 (2026-10-05) is not in it
    assert "D4" in set(long.docs["document_id"]) and "D4" not in set(derived.docs["document_id"])
    assert_same(derived, build_history(euro_book, Period(2026, 9), 7))
    assert sub_history(euro_book, long, 0, 8) is long


# Write-offs (negative) and recoveries (positive) of a EUR invoice, in cents, days after 2026-01-05.
foreign_events = st.lists(
    st.tuples(st.integers(1, 150), st.sampled_from(["write_off", "write_off", "recovery"]), st.integers(1, 3)),
    min_size=2,
    max_size=6,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=foreign_events, rate=st.sampled_from(["1.5", "0.7412", "1.005"]), first=st.integers(0, 8))
def test_foreign_write_offs_cut_equal_a_fresh_build(tmp_path_factory, events, rate, first):
    """Small amounts at awkward rates: a first column's sum translated once is not the sum of
    the longer window's translated cells, and the cut must give the former."""
    tables = copy.deepcopy(MINI)
    for row in tables["documents"]:
        row["fx_rate"] = ""
    x = dict(MINI["documents"][0], document_id="X", document_date="2026-01-05", due_date="2026-02-04")
    tables["documents"].append(dict(x, currency="EUR", amount="10.00", fx_rate=rate))
    adj = MINI["adjustments"][0]
    start = pd.Timestamp("2026-01-05")
    for n, (offset, kind, cents) in enumerate(events):
        when = (start + pd.Timedelta(days=offset)).date().isoformat()
        amount = f"{(-cents if kind == 'write_off' else cents) / 100:.2f}"
        tables["adjustments"].append(
            dict(adj, adjustment_id=f"E{n}", document_id="X", adjustment_date=when, type=kind, amount=amount)
        )
    book = load_book(write_source(tmp_path_factory.mktemp("eur") / "book", tables))
    long = build_history(book, OCTOBER, 9)  # 2026-01 .. 2026-10
    months = 9 - first
    assert_same(sub_history(book, long, first, months), build_history(book, OCTOBER, months))
    if months > 1:
        assert_same(sub_history(book, long, first, months - 1), build_history(book, Period(2026, 9), months - 1))


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory) -> Book:
    source = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(seed=1, scale=0.3), source)
    return load_book(source)


def test_demo_book_has_foreign_write_offs_before_windows(demo_book):
    long = build_history(demo_book, OCTOBER, 24)
    docs = long.docs
    foreign = ((docs["currency"] != docs["functional_currency"]) | (docs["booking_rate"] != 1.0)).to_numpy()
    assert foreign[long.write_offs.rows].any() and foreign[long.recoveries.rows].any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(back=st.integers(0, 6), longer=st.integers(1, 14), first=st.integers(0, 14), pooled=st.booleans())
def test_every_window_cut_equals_a_fresh_build(demo_book, back, longer, first, pooled):
    pools = reserve.pools_of(demo_book, "segment") if pooled else None
    end = OCTOBER.shift(-back)
    long = build_history(demo_book, end, longer, pools)
    first = min(first, longer)
    months = longer - first - (first % 3 if longer - first > first % 3 else 0)  # some end before the last
    derived = sub_history(demo_book, long, first, months)
    last = Period.parse(str(long.month_ends[first + months].date())[:7])
    assert_same(derived, build_history(demo_book, last, months, pools))


def test_the_notebook_windows_come_from_one_build(demo_book):
    """compute keeps the backtest's window; the backtest's and the prior period's are cut from
    it; prior_comparison lets it go. Each equals its own build."""
    params = load_parameters(str(OCTOBER), PARAMETERS_DIR, None, [])
    params["reserve"]["pool_by"] = "segment"
    lookback = int(params["reserve"]["lookback_months"])
    pools = reserve.pools_of(demo_book, "segment")
    reserve.compute(demo_book, OCTOBER, params)  # no backtest to follow: nothing kept
    assert "_reserve_window" not in demo_book.__dict__
    res = reserve.compute(demo_book, OCTOBER, params, backtest_follows=True)
    kept = demo_book.__dict__["_reserve_window"].history
    assert len(kept.month_ends) == lookback + reserve.BACKTEST_MONTHS + 1
    for period, months in ((OCTOBER, lookback), (OCTOBER.shift(-1), lookback), (OCTOBER, lookback + 12)):
        got = reserve_history(demo_book, period, months, pools, "segment", 0)
        assert_same(got, build_history(demo_book, period, months, pools))
    assert demo_book.__dict__["_reserve_window"].history is kept  # nothing rebuilt
    reserve.prior_comparison(demo_book, OCTOBER, params, res)
    assert "_reserve_window" not in demo_book.__dict__
    release_history(demo_book)  # releasing twice is harmless
    assert np.array_equal(kept.open[:, -1], build_history(demo_book, OCTOBER, 0, pools).open[:, 0])
