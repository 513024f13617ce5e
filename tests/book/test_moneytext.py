"""Money text parsed once per distinct text (book/moneytext.py) gives each row what parsing
that row alone gives, and what closelib.money.parse_money_array gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.book.moneytext import currency_digits, encode, parse_money_text, parsing_digits

TEXTS = st.one_of(
    st.sampled_from(["", "0", "-0", "+1", "1.5", "12.345", "1,2.3", "1e5", ".5", "5.", "abc", "-", "0.001"]),
    st.from_regex(r"[+-]?[0-9]{1,20}(\.[0-9]{0,6})?", fullmatch=True),
    st.text(alphabet="0123456789.+-,e ", max_size=8),
)
CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "SGD", "EUR", "XXX", ""])


def _column(texts: list[str]) -> pd.Series:
    return pd.Series(texts, dtype="str")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXTS, CURRENCIES), max_size=40))
def test_per_distinct_equals_per_row(rows):
    texts = [t for t, _ in rows]
    currencies = pd.Series([c for _, c in rows], dtype="str")
    minor, not_number, too_many = encode(_column(texts)).parse(parsing_digits(currencies, len(rows)))
    for i, (text, ccy) in enumerate(rows):  # each row parsed alone, as its own column
        alone = encode(_column([text])).parse(parsing_digits(pd.Series([ccy], dtype="str"), 1))
        assert (minor[i], not_number[i], too_many[i]) == (alone[0][0], alone[1][0], alone[2][0])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXTS, st.sampled_from(["USD", "JPY", "KWD"])), min_size=1, max_size=40))
def test_agrees_with_parse_money_array(rows):
    values = _column([t.strip() for t, _ in rows])  # parse_table strips the cells first
    currency = pd.Series([c for _, c in rows], dtype="str")
    ours = parse_money_text(values, currency)
    theirs = money.parse_money_array(values, currency)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_hand_checked_cases():
    values = _column(["12.50", "1,2.3", "12.345", "", "-7", "12.345"])
    minor, not_number, too_many = encode(values).parse(np.array([2, 2, 2, 2, 0, 3]))
    assert minor.tolist() == [1250, 0, 0, 0, -7, 12345]
    assert not_number.tolist() == [False, True, False, True, False, False]
    assert too_many.tolist() == [False, False, True, False, False, False]
    assert encode(values).rows_empty().tolist() == [False, False, False, True, False, False]


def test_digits_of_unknown_currencies():
    currency = pd.Series(["USD", "XXX", None, "JPY"], dtype=object)
    assert parsing_digits(currency, 4).tolist() == [2, 3, 3, 0]  # unknown: parsed as KWD (3)
    assert currency_digits(currency).tolist() == [2, 0, 0, 0]
    assert parsing_digits(None, 2).tolist() == [3, 3]
