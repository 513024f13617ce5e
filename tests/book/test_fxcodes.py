"""The coded translation (closelib.book.fxcodes) gives what the per-row rules of closelib.book.fx
give: rates in force, translated amounts, text order of ids, functional currencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.book import fx, fxcodes

CURRENCIES = ["EUR", "USD", "JPY", "KWD", "GBP"]


def _rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rate_date": pd.to_datetime(["2026-09-30", "2026-10-31", "2026-09-30", "2026-08-01"]),
            "currency": pd.Series(["USD", "USD", "JPY", "GBP"], dtype="str"),
            "functional_currency": pd.Series(["EUR", "EUR", "EUR", "EUR"], dtype="str"),
            "rate": [0.9, 0.92, 0.0061, 1.17],
        }
    )


def _coded(currency: pd.Series, functional: pd.Series, rates: pd.DataFrame):
    coder = fxcodes.Coder()
    cur, fun = coder.code(currency), coder.code(functional)
    rate_cur, rate_fun = fxcodes.rate_codes(coder, rates)
    codes = coder.currencies()
    return codes, cur, fun, codes.pair_key(rate_cur, rate_fun)


def test_a_hand_checked_book_of_four_lines():
    currency = pd.Series(["USD", "EUR", "JPY", "GBP"], dtype="str")
    functional = pd.Series(["EUR"] * 4, dtype="str")
    dates = pd.Series(pd.to_datetime(["2026-10-15", "2026-10-15", "2026-10-31", "2026-10-15"]))
    codes, cur, fun, pairs = _coded(currency, functional, _rates())
    rate = fxcodes.rates_in_force(codes, pairs, _rates(), dates, cur, fun, fx.MAX_RATE_AGE_DAYS)
    # USD: the 30 Sep rate; EUR: itself; JPY: 30 Sep (31 days old); GBP: 1 Aug is too old
    np.testing.assert_array_equal(rate, [0.9, 1.0, 0.0061, np.nan])
    amount = fxcodes.translate(codes, np.array([1001, 500, 12345, 100]), rate, cur, fun)
    # 10.01 USD * 0.9 = 9.009 -> 9.01 EUR; 12345 JPY * 0.0061 = 75.3045 -> 75.30 EUR
    np.testing.assert_array_equal(amount, [901, 500, 7530, 0])


def test_ids_rank_as_their_text_sorts():
    ids = pd.Series(["b10", "b9", "a", None, "b10", "é"], dtype="str")
    ranks = fxcodes.text_ranks(ids)
    assert ranks[0] == ranks[4] and ranks[2] < ranks[0] < ranks[1] < ranks[5]
    assert ranks[1] < ranks[3] < ranks[5]  # missing reads "nan": after "b9", before "é"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*CURRENCIES, None]),
            st.sampled_from([*CURRENCIES[:2], None]),
            st.integers(0, 60),
            st.integers(-(10**9), 10**9),
        ),
        max_size=30,
    )
)
def test_coded_rates_and_amounts_are_the_per_row_rules(lines):
    currency = pd.Series([line[0] for line in lines], dtype="str")
    functional = pd.Series([line[1] for line in lines], dtype=object)
    dates = pd.Series(pd.Timestamp("2026-09-20") + pd.to_timedelta([line[2] for line in lines], unit="D"))
    minor = np.array([line[3] for line in lines], dtype="int64")
    rates = _rates()
    codes, cur, fun, pairs = _coded(currency, functional, rates)
    expected = fx.rates_in_force(rates, dates, currency, functional)
    found = fxcodes.rates_in_force(codes, pairs, rates, dates, cur, fun, fx.MAX_RATE_AGE_DAYS)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(
        fxcodes.translate(codes, minor, found, cur, fun), fx.translate(minor, expected, currency, functional)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab9Zé€-", max_size=4)), max_size=25))
def test_text_ranks_sort_as_numpy_sorts_the_text(values):
    ids = pd.Series(values, dtype="str")
    text = ids.to_numpy(dtype=object).astype(str)
    ranks = fxcodes.text_ranks(ids)
    for i in range(len(values)):
        for j in range(len(values)):
            assert (ranks[i] < ranks[j]) == (text[i] < text[j])
