"""closelib.periods: ``YYYY-MM`` parsed once into a Period; its end, start, shifts and order."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closelib.errors import ParameterError
from closelib.periods import PERIOD_PATTERN, Period

# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("text", ["0001-01", "1899-12", "2200-01", "9999-12"])
def test_parse_refuses_years_outside_1900_2199(text):
    # issue 17: a year like 0001 or 9999 is a slip, and beyond 1677..2262 pandas overflows
    with pytest.raises(ParameterError) as raised:
        Period.parse(text)
    assert raised.value.problems == [f"period: {text} is outside 1900-01..2199-12"]


@pytest.mark.parametrize(
    "text, year, month",
    [
        ("2026-01", 2026, 1),
        ("2026-10", 2026, 10),
        ("2026-12", 2026, 12),
        ("1999-07", 1999, 7),
        ("1900-01", 1900, 1),
        ("2199-12", 2199, 12),
    ],
)
def test_parse_good(text, year, month):
    period = Period.parse(text)
    assert (period.year, period.month) == (year, month)
    assert period == Period(year, month)


@pytest.mark.parametrize(
    "bad",
    [
        "2026-00",
        "2026-13",
        "26-01",
        " 2026-01",
        "2026-01 ",
        "2026-1",
        "2026/01",
        "2026-01-31",
        "202601",
        "",
        "abcd-ef",
        "2026-01\n",
    ],
)
def test_parse_bad_text(bad):
    with pytest.raises(ParameterError) as raised:
        Period.parse(bad)
    assert raised.value.problems == [f"period: expected YYYY-MM, got {bad!r}"]


@pytest.mark.parametrize("bad", [None, 202601, 2026.10, ("2026", "01"), pd.Timestamp("2026-01-31"), b"2026-01"])
def test_parse_non_strings(bad):
    with pytest.raises(ParameterError, match="period: expected YYYY-MM"):
        Period.parse(bad)


def test_parse_gives_back_a_period_as_it_is():
    period = Period(2026, 10)
    assert Period.parse(period) is period


def test_the_message_names_the_value():
    with pytest.raises(ParameterError) as raised:
        Period.parse("2026-13")
    assert raised.value.problems == ["period: expected YYYY-MM, got '2026-13'"]


@pytest.mark.parametrize("year, month", [(2026, 0), (2026, 13), (-1, 5), (10000, 1)])
def test_built_directly_it_must_still_be_a_month(year, month):
    with pytest.raises(ValueError):
        Period(year, month)


def test_pattern_is_the_rule_parse_applies():
    assert re.fullmatch(PERIOD_PATTERN, "2026-10")
    for bad in ("2026-00", "2026-13", "26-01", " 2026-01"):
        assert not re.fullmatch(PERIOD_PATTERN, bad)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Period(2026, 10).month = 11  # type: ignore[misc]


# ---------------------------------------------------------------- text, end, start


def test_str_round_trip():
    assert str(Period(2026, 1)) == "2026-01"
    assert str(Period(2026, 10)) == "2026-10"
    assert str(Period(7, 3)) == "0007-03"
    assert f"close {Period(2026, 10)}" == "close 2026-10"
    for text in ("2026-01", "2026-12", "1999-07"):
        assert str(Period.parse(text)) == text


def test_end_of_february_leap_and_not():
    assert Period(2026, 2).end == pd.Timestamp("2026-02-28")
    assert Period(2028, 2).end == pd.Timestamp("2028-02-29")  # divisible by 4
    assert Period(2100, 2).end == pd.Timestamp("2100-02-28")  # by 100, not 400: not a leap year
    assert Period(2000, 2).end == pd.Timestamp("2000-02-29")  # by 400: a leap year


def test_end_and_start():
    assert Period(2026, 12).end == pd.Timestamp("2026-12-31")
    assert Period(2026, 4).end == pd.Timestamp("2026-04-30")
    assert Period(2026, 10).end == pd.Timestamp("2026-10-31")
    assert Period(2026, 10).start == pd.Timestamp("2026-10-01")
    assert Period(2026, 1).start == pd.Timestamp("2026-01-01")
    assert Period(2026, 10).end.hour == 0  # midnight, as the as-of dates are


# ---------------------------------------------------------------- shift, back, order


def test_shift_across_year_ends():
    assert Period(2026, 1).shift(-1) == Period(2025, 12)
    assert Period(2026, 11).shift(3) == Period(2027, 2)
    assert Period(2026, 12).shift(1) == Period(2027, 1)
    assert Period(2026, 10).shift(0) == Period(2026, 10)
    assert Period(2026, 10).shift(-22) == Period(2024, 12)
    assert Period(2026, 10).shift(-24) == Period(2024, 10)
    assert Period(2026, 10).shift(27) == Period(2029, 1)


def test_back_oldest_first_ending_with_self():
    assert Period(2026, 2).back(3) == [Period(2025, 12), Period(2026, 1), Period(2026, 2)]
    assert [str(p) for p in Period(2026, 2).back(3)] == ["2025-12", "2026-01", "2026-02"]
    assert Period(2026, 10).back(1) == [Period(2026, 10)]
    assert len(Period(2026, 10).back(13)) == 13 and Period(2026, 10).back(13)[0] == Period(2025, 10)
    assert Period(2026, 10).back(0) == []


def test_ordering():
    assert Period(2025, 12) < Period(2026, 1) < Period(2026, 2) < Period(2026, 10) < Period(2026, 11)
    assert max([Period(2026, 9), Period(2026, 10), Period(2025, 12)]) == Period(2026, 10)
    assert sorted([Period(2026, 1), Period(2025, 12), Period(2026, 10)]) == [
        Period(2025, 12),
        Period(2026, 1),
        Period(2026, 10),
    ]
    assert {Period(2026, 10), Period.parse("2026-10")} == {Period(2026, 10)}  # hashable, equal by value


def test_a_period_is_not_its_text():
    # Comparing with a GL column of text needs str(period): equality with a string is False and
    # ordering against one is an error, so a forgotten str() cannot pass silently as a match.
    assert Period(2026, 10) != "2026-10"
    with pytest.raises(TypeError):
        _ = Period(2026, 10) < "2026-11"  # type: ignore[operator]


# ---------------------------------------------------------------- properties

# Years pandas Timestamps cover (1677..2262), with room to shift either way.
periods = st.builds(Period, st.integers(1700, 2200), st.integers(1, 12))
shifts = st.integers(-600, 600)


@given(st.builds(Period, st.integers(1900, 2199), st.integers(1, 12)))
def test_parse_of_str_is_the_period(p):
    # parse takes the years a close runs for (1900..2199); shifts and ends cover more
    assert Period.parse(str(p)) == p


@given(periods, shifts)
def test_shift_there_and_back(p, n):
    assert p.shift(n).shift(-n) == p


@given(periods, shifts)
def test_shift_adds_months(p, n):
    q = p.shift(n)
    assert (q.year * 12 + q.month) - (p.year * 12 + p.month) == n
    assert (q > p) == (n > 0) and (q == p) == (n == 0)


@given(periods)
def test_end_is_the_day_before_the_next_start(p):
    assert p.end == p.shift(1).start - pd.Timedelta(days=1)
    assert p.start <= p.end and p.end.month == p.month and p.start.day == 1


@given(periods, st.integers(1, 40))
def test_back_is_consecutive_and_ends_with_self(p, count):
    run = p.back(count)
    assert len(run) == count and run[-1] == p
    assert all(b == a.shift(1) for a, b in itertools.pairwise(run))


@given(periods, periods)
def test_order_agrees_with_text_and_dates(a, b):
    assert (a < b) == (str(a) < str(b)) == (a.end < b.end)
