"""closelib.money: ISO 4217 minor units, exact parsing, half-up rounding per line."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.money import MoneyError

CURRENCIES = ["USD", "JPY", "KWD", "EUR", "CLF"]
DIGITS = {"USD": 2, "JPY": 0, "KWD": 3, "EUR": 2, "CLF": 4}


# ---------------------------------------------------------------- minor units


@pytest.mark.parametrize(
    "code, digits", [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)]
)
def test_minor_digits_iso4217(code, digits):
    assert money.minor_digits(code) == digits


def test_unknown_currency_is_refused():
    with pytest.raises(MoneyError, match="unknown currency"):
        money.minor_digits("XYZ")
    with pytest.raises(MoneyError):
        money.to_minor("1.00", "usd")  # codes are upper-case
    assert not money.is_currency("XYZ")
    assert money.is_currency("USD")


# ---------------------------------------------------------------- exact scalar parse


@pytest.mark.parametrize(
    "text, currency, minor",
    [
        ("1234.56", "USD", 123456),
        ("-0.01", "USD", -1),
        ("1000", "USD", 100000),
        (" 12.5 ", "USD", 1250),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0.1", "KWD", 100),
        ("0.0001", "CLF", 1),
    ],
)
def test_to_minor_exact(text, currency, minor):
    assert money.to_minor(text, currency) == minor


@pytest.mark.parametrize("text, currency", [("1.005", "USD"), ("10.5", "JPY"), ("1.2345", "KWD")])
def test_to_minor_refuses_too_many_decimals(text, currency):
    with pytest.raises(MoneyError, match="more decimals"):
        money.to_minor(text, currency)


@pytest.mark.parametrize("bad", ["abc", "", "1,000.00", "NaN", "Infinity", "--1"])
def test_to_minor_refuses_non_numbers(bad):
    with pytest.raises(MoneyError):
        money.to_minor(bad, "USD")


def test_floats_and_bools_are_refused():
    with pytest.raises(MoneyError, match="float"):
        money.to_minor(0.1, "USD")
    with pytest.raises(MoneyError):
        money.to_decimal(True)


def test_to_minor_long_amount_is_not_rounded():
    # 30 significant digits: the default Decimal context (28 digits) would round this to
    # an integral number of cents and accept it silently.
    # Since issue 17 an amount is bounded (17 digits in minor units, as in the extracts): a
    # longer one is refused as out of range, never rounded.
    with pytest.raises(MoneyError, match="out of range"):
        money.to_minor("12345678901234567890123456789.123", "USD")
    with pytest.raises(MoneyError, match="out of range"):
        money.to_minor("12345678901234567890123456789.12", "USD")
    with pytest.raises(MoneyError, match="more decimals"):
        money.to_minor("123456789012345.123", "USD")
    assert money.to_minor("999999999999999.99", "USD") == 99999999999999999


def test_format_minor():
    assert money.format_minor(58000000, "USD") == "580000.00"
    assert money.format_minor(-5, "USD") == "-0.05"
    assert money.format_minor(0, "USD") == "0.00"
    assert money.format_minor(1500, "JPY") == "1500"
    assert money.format_minor(1234, "KWD") == "1.234"
    assert money.from_minor(1250, "USD") == Decimal("12.50")


def test_format_minor_array_per_row_currency():
    values = pd.Series([-5, 0, 123456, -100, 7])
    ccy = pd.Series(["USD", "JPY", "KWD", "USD", "JPY"])
    assert money.format_minor_array(values, ccy).tolist() == ["-0.05", "0", "123.456", "-1.00", "7"]
    assert money.format_minor_array([1, -250], "USD").tolist() == ["0.01", "-2.50"]


def test_display_is_major_units_with_separators():
    assert money.display(123456789, "USD") == "1,234,567.89"
    assert money.display(-151709, "SGD") == "-1,517.09"
    assert money.display(3294000, "JPY") == "3,294,000"
    assert money.display(1234, "KWD") == "1.234"


@settings(max_examples=100, deadline=None)
@given(
    minor=st.lists(st.integers(min_value=-(10**15), max_value=10**15), max_size=20),
    currency=st.sampled_from(CURRENCIES),
)
def test_display_array_is_display_per_row(minor, currency):
    assert money.display_array(minor, currency).tolist() == [money.display(m, currency) for m in minor]


@settings(max_examples=100, deadline=None)
@given(minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(CURRENCIES))
def test_parse_format_round_trip(minor, currency):
    text = money.format_minor(minor, currency)
    assert money.to_minor(text, currency) == minor
    assert money.format_minor_array([minor], currency).iloc[0] == text
    minor_arr, not_number, too_many = money.parse_money_array(pd.Series([text]), currency)
    assert (int(minor_arr[0]), bool(not_number[0]), bool(too_many[0])) == (minor, False, False)


# ---------------------------------------------------------------- vectorised parse


def test_parse_money_array_masks():
    values = pd.Series(["1.5", "-0012.50", "+3", ".5", "5.", "1,000.00", "", "1.234", "1e3", "abc"])
    minor, not_number, too_many = money.parse_money_array(values, "USD")
    # 1.5 -> 150 cents; -0012.50 -> -1250; +3 -> 300; the rest are invalid (0).
    assert minor.tolist() == [150, -1250, 300, 0, 0, 0, 0, 0, 0, 0]
    assert not_number.tolist() == [False, False, False, True, True, True, True, False, True, True]
    assert too_many.tolist() == [False, False, False, False, False, False, False, True, False, False]
    assert minor.dtype == np.int64


def test_parse_money_array_per_row_currency():
    values = pd.Series(["1.5", "100", "1.234", "1.234", "12"])
    ccy = pd.Series(["JPY", "JPY", "KWD", "USD", "KWD"])
    minor, not_number, too_many = money.parse_money_array(values, ccy)
    # JPY has no decimals: 1.5 breaks the rule; KWD 1.234 = 1234 fils; USD 1.234 too many.
    assert too_many.tolist() == [True, False, False, True, False]
    assert minor.tolist() == [0, 100, 1234, 0, 12000]
    assert not not_number.any()


def test_parse_money_array_refuses_overflowing_amounts():
    # 17 integer digits + 2 decimals would not fit comfortably in int64: refused, not wrapped.
    minor, not_number, _ = money.parse_money_array(pd.Series(["99999999999999999.00", "999999999999999.00"]), "USD")
    assert not_number.tolist() == [True, False]
    assert minor[1] == 99999999999999900


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-(10**12), 10**12), st.sampled_from(CURRENCIES)), min_size=1, max_size=20))
def test_parse_money_array_matches_scalar(rows):
    texts = pd.Series([money.format_minor(m, c) for m, c in rows])
    ccy = pd.Series([c for _, c in rows])
    minor, not_number, too_many = money.parse_money_array(texts, ccy)
    assert minor.tolist() == [m for m, _ in rows]
    assert not not_number.any() and not too_many.any()


# ---------------------------------------------------------------- rates, half-up per line


@pytest.mark.parametrize(
    "minor, rate, expected",
    [
        (100, "0.005", 1),  # 0.5 cent rounds up
        (-100, "0.005", -1),  # half-up is away from zero
        (99, "0.005", 0),  # 0.495 -> 0
        (10000, "0.016", 160),
        (12345, "0.25", 3086),  # 3086.25 -> 3086
        (12346, "0.25", 3087),  # 3086.5 -> 3087
        (250, 0.1, 25),  # a float rate is read as the digits written
        (3, "1.5", 5),  # 4.5 -> 5
        (7, 2, 14),
    ],
)
def test_apply_rate_half_up(minor, rate, expected):
    assert money.apply_rate(minor, rate) == expected
    assert money.apply_rate_array(np.array([minor]), rate).tolist() == [expected]


def test_float_rate_uses_shortest_repr():
    # 0.015 as a binary float is 0.01499999...; read as written it is 0.015, so 100 cents
    # x 0.015 = 1.5 -> 2 (half-up), not 1.
    assert money.apply_rate(100, 0.015) == 2
    assert money.apply_rate_array(np.array([100]), 0.015).tolist() == [2]


def test_non_finite_rate_refused():
    with pytest.raises(MoneyError):
        money.apply_rate(100, float("nan"))
    with pytest.raises(MoneyError):
        money.apply_rate(100, "Infinity")


rates = st.decimals(min_value=Decimal("-10"), max_value=Decimal("10"), places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(minor=st.integers(-(10**13), 10**13), rate=rates)
def test_apply_rate_matches_decimal_quantize(minor, rate):
    expected = int((Decimal(minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert money.apply_rate(minor, rate) == expected
    assert money.apply_rate_array(np.array([minor], dtype="int64"), rate).tolist() == [expected]


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.integers(0, 10**9), min_size=1, max_size=30), rate=rates)
def test_total_is_sum_of_rounded_lines(lines, rate):
    """The documented rule: round each line half-up, then sum the rounded lines."""
    per_line = money.apply_rate_array(np.array(lines, dtype="int64"), rate)
    assert money.total(per_line) == sum(
        int((Decimal(m) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for m in lines
    )


def test_apply_rate_array_huge_values_fall_back_exactly():
    big = np.array([4 * 10**17, -4 * 10**17 + 1], dtype="int64")
    rate = "0.123456789"
    expected = [int((Decimal(int(v)) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for v in big]
    assert money.apply_rate_array(big, rate).tolist() == expected
    assert money.apply_rate_array(np.array([], dtype="int64"), "0.5").tolist() == []


def test_total_refuses_floats_and_is_exact():
    assert money.total(pd.Series([1, 2, 3], dtype="int64")) == 6
    assert money.total([10**15, 10**15, -1]) == 2 * 10**15 - 1
    with pytest.raises(MoneyError):
        money.total(np.array([0.1, 0.2]))


# ---------------------------------------------------------------- issue 17: bounded exponents


@pytest.mark.parametrize(
    "text", ["1e999999999", "-1E+999999999", "1e-999999999", "1e17", "0." + "1" * 18, "9" * 100, "9" * 100_000]
)
def test_exponents_and_lengths_are_bounded(text):
    started = time.monotonic()
    with pytest.raises(MoneyError) as raised:
        money.to_decimal(text)
    assert len(str(raised.value)) < 200 and time.monotonic() - started < 1
    assert money.to_decimal("99999999999999999") == Decimal("99999999999999999")
    assert money.to_decimal("1e3") == Decimal("1E+3")


def test_huge_ints_and_decimals_are_refused():
    with pytest.raises(MoneyError, match="out of range"):
        money.to_decimal(10**100_000)
    with pytest.raises(MoneyError, match="out of range"):
        money.to_minor(Decimal("1e999999999"), "USD")
