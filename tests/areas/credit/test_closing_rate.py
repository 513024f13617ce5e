"""Exposure at the closing rate: the direct pair when every line has one, else through the
functional currency, as the one formula over both routes gives it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.credit.exposure import _at_closing_rate
from closelib.book.fx import rates_in_force, translate

DAY = pd.Timestamp("2026-10-31")
RATES = pd.DataFrame(
    {
        "currency": pd.Series(["EUR", "GBP", "JPY", "EUR"], dtype="str"),
        "functional_currency": pd.Series(["USD", "USD", "USD", "GBP"], dtype="str"),
        "rate_date": pd.to_datetime(["2026-10-01", "2026-09-30", "2026-10-15", "2026-10-20"]),
        "rate": [1.0834, 1.2713, 0.00671, 0.8421],
    }
)


def _both_routes(book, items: pd.DataFrame, target: pd.Series, day: pd.Timestamp) -> pd.Series:
    """The formula over both routes for every line (what _at_closing_rate computed before)."""
    when = pd.Series(np.full(len(items), np.datetime64(day, "ns")))
    direct = rates_in_force(book.fx_rates, when, items["currency"], target)
    amount = translate(items["open_amount"], direct, items["currency"], target)
    to_fun = rates_in_force(book.fx_rates, when, items["currency"], items["functional_currency"])
    fun_to = rates_in_force(book.fx_rates, when, items["functional_currency"], target)
    via = translate(
        translate(items["open_amount"], to_fun, items["currency"], items["functional_currency"]),
        fun_to,
        items["functional_currency"],
        target,
    )
    value = np.where(np.isfinite(direct), amount, np.where(np.isfinite(to_fun) & np.isfinite(fun_to), via, 0))
    found = np.isfinite(direct) | (np.isfinite(to_fun) & np.isfinite(fun_to))
    return pd.Series(np.where(found, value, np.nan), index=items.index)


LINE = st.tuples(
    st.sampled_from(["EUR", "GBP", "JPY", "CHF"]),  # the line's currency (CHF: no rate at all)
    st.sampled_from(["USD", "GBP"]),  # its entity's functional currency
    st.sampled_from(["USD", "GBP"]),  # the customer's credit currency
    st.integers(-(10**9), 10**9),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=8))
def test_the_closing_rate_is_the_formula_over_both_routes(lines):
    book = SimpleNamespace(fx_rates=RATES)
    items = pd.DataFrame(
        {
            "currency": pd.Series([x[0] for x in lines], dtype="str"),
            "functional_currency": pd.Series([x[1] for x in lines], dtype="str"),
            "open_amount": np.array([x[3] for x in lines], dtype="int64"),
        },
        index=pd.RangeIndex(3, 3 + len(lines)),
    )
    target = pd.Series([x[2] for x in lines], dtype=object, index=items.index)
    pd.testing.assert_series_equal(
        _at_closing_rate(book, items, target, DAY), _both_routes(book, items, target, DAY), check_exact=True
    )


def test_direct_rates_by_hand():
    book = SimpleNamespace(fx_rates=RATES)
    items = pd.DataFrame(
        {
            "currency": pd.Series(["EUR", "JPY"], dtype="str"),
            "functional_currency": pd.Series(["GBP", "USD"], dtype="str"),
            "open_amount": np.array([10_000, 100_000], dtype="int64"),  # EUR 100.00, JPY 100,000
        }
    )
    got = _at_closing_rate(book, items, pd.Series(["USD", "USD"], dtype=object), DAY)
    assert got.tolist() == [10_834.0, 67_100.0]  # USD 108.34 and USD 671.00 at the direct rates
