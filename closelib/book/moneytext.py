"""Money text parsed once per distinct value, not once per row.

A money column of a million rows holds far fewer distinct texts (GL lines and invoices
repeat their amounts), so the text rules of :func:`closelib.money.parse_money_array`
(shape, digit counts, the digits as an integer) run on the distinct texts only; each row
then takes its text's results by position and applies its currency's exponent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import arrow_text, combined

_CURRENCY_CODES = pa.array(list(money.MINOR_UNITS), type=pa.string())
_CURRENCY_DIGITS = np.array(list(money.MINOR_UNITS.values()), dtype="int64")
# The exponent money is parsed in where the row's currency is unknown or invalid (KWD: 3,
# the widest common one); such rows already carry a problem of their own.
FALLBACK_DIGITS = money.MINOR_UNITS["KWD"]
_POW10 = 10 ** np.arange(19, dtype="int64")


def currency_digits(currency: pd.Series) -> np.ndarray:
    """ISO 4217 exponent per row (0 for an unknown code), by one Arrow hash lookup."""
    where = pc.index_in(arrow_text(currency), value_set=_CURRENCY_CODES)
    where = np.asarray(pc.fill_null(where, -1), dtype="int64")
    return np.where(where >= 0, _CURRENCY_DIGITS[np.maximum(where, 0)], 0)


def parsing_digits(currency: pd.Series | None, length: int) -> np.ndarray:
    """The exponent each row's money is parsed in: its currency's, else KWD's (as
    :func:`closelib.book.parse.parse_currency` picks the currency)."""
    if currency is None:
        return np.full(length, FALLBACK_DIGITS, dtype="int64")
    where = pc.index_in(arrow_text(currency), value_set=_CURRENCY_CODES)
    where = np.asarray(pc.fill_null(where, -1), dtype="int64")
    return np.where(where >= 0, _CURRENCY_DIGITS[np.maximum(where, 0)], FALLBACK_DIGITS)


@dataclass(frozen=True)
class MoneyText:
    """A money column's distinct texts, examined once each, and each row's text."""

    codes: np.ndarray  # per row: position of its text among the distinct texts
    empty: np.ndarray  # per distinct text: the empty cell
    shaped: np.ndarray  # per distinct text: a plain decimal number
    int_len: np.ndarray  # digits before the point (sign not counted)
    frac_len: np.ndarray  # digits after the point
    unscaled: np.ndarray  # the digits without sign and point as an integer (0 when unsure)

    def rows_empty(self) -> np.ndarray:
        return self.empty[self.codes]

    def parse(self, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(minor units, not a number, too many decimals) per row, each row in its exponent."""
        codes = self.codes
        ok, frac_len, int_len = self.shaped[codes], self.frac_len[codes], self.int_len[codes]
        too_long = ok & (int_len + digits > money._MAX_DIGITS)
        not_number = ~ok | too_long
        too_many = ok & ~too_long & (frac_len > digits)
        good = ~not_number & ~too_many
        minor = self.unscaled[codes] * _POW10[np.clip(digits - frac_len, 0, 18)]
        return np.where(good, minor, 0).astype("int64"), not_number, too_many


def encode(values: pd.Series) -> MoneyText:
    """The column's text rules, examined on its distinct texts (the cells come stripped)."""
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
    # Digits without sign and point, as an integer, wherever that fits int64 for sure; a
    # row uses it only when it is good, and a good row has at most 17 digits.
    castable = shaped & (int_len + frac_len <= money._MAX_DIGITS)
    cleaned = pc.replace_substring(pc.replace_substring(distinct, ".", ""), "+", "")
    cleaned = pc.if_else(pa.array(castable), cleaned, pa.scalar("0"))
    unscaled = np_(pc.cast(cleaned, pa.int64()))
    return MoneyText(codes, length == 0, shaped, int_len, frac_len, unscaled)


def parse_money_text(values: pd.Series, currency: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`closelib.money.parse_money_array`, the same rules step by step, on Arrow-backed
    text: (minor units, not a number, too many decimals) per row, in ``currency`` (a valid
    code per row)."""
    return encode(values).parse(currency_digits(currency))
