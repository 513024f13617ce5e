"""Money text parsed once per distinct text (book/moneytext.py) gives each row what parsing
that row alone gives, and what closelib.money.parse_money_array gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.book.arrays import arrow_text, combined
from closelib.book.moneytext import (
    EMPTY,
    NOT_NUMBER,
    TOO_MANY,
    absolute_total,
    currency_digits,
    encode,
    parse_money_text,
    parsing_digits,
    parsing_exponents,
)

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


# The implementation before the (text, exponent) tables (closelib c8b1be5), kept as the
# reference the new one must match row for row.
def _old_parsing_digits(currency: pd.Series | None, length: int) -> np.ndarray:
    if currency is None:
        return np.full(length, 3, dtype="int64")
    codes = pa.array(list(money.MINOR_UNITS), type=pa.string())
    digits = np.array(list(money.MINOR_UNITS.values()), dtype="int64")
    where = pc.index_in(arrow_text(currency), value_set=codes)
    where = np.asarray(pc.fill_null(where, -1), dtype="int64")
    return np.where(where >= 0, digits[np.maximum(where, 0)], 3)


def _old_parse(values: pd.Series, digits: np.ndarray) -> tuple[np.ndarray, ...]:
    """(minor, not a number, too many decimals, empty) per row, as the old encode + parse."""
    text = combined(arrow_text(values.fillna("") if values.hasnans else values))
    encoded = pc.dictionary_encode(text)
    distinct = encoded.dictionary
    codes = np.asarray(encoded.indices, dtype="int64")

    def np_(array: pa.Array) -> np.ndarray:
        return array.to_numpy(zero_copy_only=False)

    shaped = np_(pc.match_substring_regex(distinct, money._DECIMAL_PATTERN))
    length = np_(pc.utf8_length(distinct))
    dot = np_(pc.find_substring(distinct, "."))
    frac_len = np.where(dot >= 0, length - dot - 1, 0)
    sign = np_(pc.match_substring_regex(distinct, r"^[+-]")).astype("int64")
    int_len = np.where(dot >= 0, dot, length) - sign
    castable = shaped & (int_len + frac_len <= money._MAX_DIGITS)
    cleaned = pc.replace_substring(pc.replace_substring(distinct, ".", ""), "+", "")
    cleaned = pc.if_else(pa.array(castable), cleaned, pa.scalar("0"))
    unscaled = np_(pc.cast(cleaned, pa.int64()))
    ok, frac_len, int_len = shaped[codes], frac_len[codes], int_len[codes]
    too_long = ok & (int_len + digits > money._MAX_DIGITS)
    not_number = ~ok | too_long
    too_many = ok & ~too_long & (frac_len > digits)
    good = ~not_number & ~too_many
    minor = unscaled[codes] * (10 ** np.arange(19, dtype="int64"))[np.clip(digits - frac_len, 0, 18)]
    return np.where(good, minor, 0).astype("int64"), not_number, too_many, (length == 0)[codes]


# Amounts near the 17-digit limit and int64 overflow, in every shape a cell can take.
BIG = st.builds(
    lambda sign, whole, point, frac: f"{sign}{whole}{point}{frac}",
    st.sampled_from(["", "+", "-"]),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.sampled_from(["", "."]),
    st.from_regex(r"[0-9]{0,5}", fullmatch=True),
)
EDGES = st.sampled_from(
    ["", ".", "+", "-", "+.5", "-5.", "1..2", "1.2.3", "00.10", "99999999999999999", "999999999999999999",
     "9999999999999999999", "99999999999999.999", "9223372036854775807", "-9223372036854775808",
     "1.0000000000000000000", "\u0661\u0662", "\uff11\uff12", "12 ", "5\u00a0"]
)  # fmt: skip
ALL_TEXTS = st.one_of(TEXTS, BIG, EDGES)
ALL_CURRENCIES = st.one_of(CURRENCIES, st.sampled_from(["BHD", "CLF", "KRW", "usd", None]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(ALL_TEXTS, st.none()), ALL_CURRENCIES), max_size=60), st.booleans())
def test_new_equals_old(rows, as_object):
    texts = [t for t, _ in rows]
    values = pd.Series(texts, dtype=object if as_object else "str")
    currency = pd.Series([c for _, c in rows], dtype=object)
    digits = _old_parsing_digits(currency, len(rows))
    assert parsing_digits(currency, len(rows)).tolist() == digits.tolist()
    old_minor, old_not_number, old_too_many, old_empty = _old_parse(values, digits)
    text = encode(values)
    minor, not_number, too_many = text.parse(parsing_digits(currency, len(rows)))
    assert minor.tolist() == old_minor.tolist()
    assert not_number.tolist() == old_not_number.tolist()
    assert too_many.tolist() == old_too_many.tolist()
    assert text.rows_empty().tolist() == old_empty.tolist()
    # The status per row (what parse_table reads) says the same.
    parsed = text.parse_rows(parsing_exponents(currency, len(rows)))
    minor, status, seen, total = parsed.minor, parsed.status, parsed.seen, parsed.absolute_total()
    assert total <= parsed.largest() * len(rows)
    assert minor.tolist() == old_minor.tolist()
    assert (((status & NOT_NUMBER) != 0) == old_not_number).all()
    assert (((status & TOO_MANY) != 0) == old_too_many).all()
    assert (((status & EMPTY) != 0) == old_empty).all()
    assert int(np.bitwise_or.reduce(status)) & ~seen == 0 if len(status) else True
    assert total == sum(abs(int(m)) for m in old_minor)


@settings(max_examples=100, deadline=None)
@given(st.lists(ALL_TEXTS, min_size=1, max_size=40), st.data())
def test_reader_codes_give_the_same(texts, data):
    """Codes handed over by the reader (any distinct list covering the texts, in any
    order, even with texts no row has) parse as the column's own dictionary does."""
    values = pd.Series(texts, dtype="str")
    distinct = sorted(set(texts) | set(data.draw(st.lists(ALL_TEXTS, max_size=5))))
    distinct = data.draw(st.permutations(distinct))
    codes = np.array([distinct.index(t) for t in texts], dtype="int32")
    ours = encode(values, (pa.array(distinct, type=pa.large_string()), codes)).parse(np.full(len(texts), 2))
    theirs = encode(values).parse(np.full(len(texts), 2))
    for a, b in zip(ours, theirs, strict=True):
        assert a.tolist() == b.tolist()


def test_exponents_coded_once_per_currency():
    currency = pd.Series(["JPY", "USD", "KWD", "XXX", None, "USD"], dtype=object)
    coded = parsing_exponents(currency, 6)
    assert coded.values.tolist() == [0, 2, 3]
    assert coded.digits(6).tolist() == [0, 2, 3, 3, 3, 2]
    single = parsing_exponents(pd.Series(["USD", "EUR"], dtype="str"), 2)
    assert single.rows is None and single.digits(2).tolist() == [2, 2]
    assert parsing_exponents(pd.Series([], dtype="str"), 0).digits(0).tolist() == []


def test_table_by_hand():
    text = encode(_column(["1.5", "", "abc", "1.234"]))
    minor, status = text.table(np.array([0, 2, 3]))
    assert minor.tolist() == [[0, 150, 1500], [0, 0, 0], [0, 0, 0], [0, 0, 1234]]
    assert status.tolist() == [
        [TOO_MANY, 0, 0],
        [NOT_NUMBER | EMPTY] * 3,
        [NOT_NUMBER] * 3,
        [TOO_MANY, TOO_MANY, 0],
    ]


def test_absolute_total_counted():
    big = np.array([10**17, -(10**17), -5, 0], dtype="int64")
    assert absolute_total(big) == 2 * 10**17 + 5
    counts = np.array([2**31, 3, 7, 10**6])
    assert absolute_total(big, counts) == 10**17 * (2**31 + 3) + 35
    assert absolute_total(np.repeat(big, [4, 3, 7, 2])) == absolute_total(big, np.array([4, 3, 7, 2]))
