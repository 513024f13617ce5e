"""The PERIOD arguments of `close batch`: single periods, ranges, and every mistake named at once."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from closelib.batch.periods import MAX_PERIODS, parse_periods
from closelib.errors import RunError
from closelib.periods import Period


def _texts(periods: list[Period]) -> list[str]:
    return [str(p) for p in periods]


def test_single_periods_keep_their_order():
    assert _texts(parse_periods(["2026-10", "2026-03"])) == ["2026-10", "2026-03"]


def test_a_range_includes_both_ends_and_crosses_a_year():
    assert _texts(parse_periods(["2025-11..2026-02"])) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_a_range_of_one_month():
    assert _texts(parse_periods(["2026-05..2026-05"])) == ["2026-05"]


def test_ranges_and_periods_mix():
    assert _texts(parse_periods(["2026-01..2026-02", "2026-06"])) == ["2026-01", "2026-02", "2026-06"]


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("2026-13", "period '2026-13': expected YYYY-MM"),
        ("26-01", "expected YYYY-MM"),
        ("2026-01..", "a range is FIRST..LAST"),
        ("..2026-01", "a range is FIRST..LAST"),
        ("2026-01..2026-02..2026-03", "a range is FIRST..LAST"),
        ("2026-05..2026-01", "the range ends before it starts (write 2026-01..2026-05)"),
        ("0001-01..2026-01", "0001-01 is outside 1900-01..2199-12"),
    ],
)
def test_a_bad_argument_is_named_with_its_rule(argument, expected):
    with pytest.raises(RunError) as caught:
        parse_periods([argument])
    assert expected in str(caught.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(RunError) as caught:
        parse_periods(["2026-13", "2026-05..2026-01", "2026-02"])
    message = str(caught.value)
    assert "2026-13" in message and "ends before it starts" in message
    assert "2026-02" not in message.replace("2026-05..2026-01", "")


def test_no_period_is_an_error():
    with pytest.raises(RunError, match="no period given"):
        parse_periods([])


def test_a_period_given_twice_is_refused():
    with pytest.raises(RunError, match="period 2026-02 is given more than once"):
        parse_periods(["2026-01..2026-03", "2026-02"])


def test_too_many_periods_are_refused_before_any_range_is_expanded():
    # 1900-01..2199-12 is 3,600 months: refused by count, named with the limit
    with pytest.raises(RunError, match=f"3600 periods in one batch, more than {MAX_PERIODS}"):
        parse_periods(["1900-01..2199-12"])
    assert len(parse_periods(["2000-01..2019-12"])) == MAX_PERIODS == 240
    with pytest.raises(RunError, match="241 periods"):
        parse_periods(["2000-01..2020-01"])


def test_the_limit_counts_every_argument():
    with pytest.raises(RunError, match="4 periods in one batch, more than 3"):
        parse_periods(["2026-01..2026-02", "2026-05..2026-06"], limit=3)


months = st.builds(Period, st.integers(1900, 2199), st.integers(1, 12))


@given(months, st.integers(0, 239))
def test_a_range_is_consecutive_months_from_first_to_last(first, length):
    assume(first.shift(length).year <= 2199)
    last = first.shift(length)
    periods = parse_periods([f"{first}..{last}"])
    assert periods[0] == first and periods[-1] == last and len(periods) == length + 1
    assert all(b == a.shift(1) for a, b in itertools.pairwise(periods))
