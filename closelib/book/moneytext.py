"""Money text parsed once per distinct value, not once per row.

A money column of a million rows holds far fewer distinct texts (GL lines and invoices
repeat their amounts), so the text rules of :func:`closelib.money.parse_money_array`
(shape, digit counts, the digits as an integer) run on the distinct texts only. A row's
result depends only on its text and its currency's exponent, and a table's currencies
have few exponents (0, 2, 3): so the minor units and the problem of every (distinct text,
exponent) pair are computed first, and each row takes its pair's by one gather.
:func:`parse_money_column` is the parse of one money column, with its problems.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import arrow_text, combined
from closelib.book.schema import Column


class Collector(Protocol):
    """What the money parse needs of :class:`closelib.book.parse.Collector` (which imports
    this module, so it is named by its methods here)."""

    def rows(
        self,
        file: str,
        mask: np.ndarray | pd.Series,
        column: str | None,
        rule: str,
        message: str | pd.Series | Callable[[], pd.Series],
        values: pd.Series | Callable[[], pd.Series] | None = None,
    ) -> None: ...

    def add(
        self, file: str, row: int | None, column: str | None, rule: str, message: str, value: object = None
    ) -> None: ...


_CURRENCY_CODES = pa.array(list(money.MINOR_UNITS), type=pa.string())
_CURRENCY_DIGITS = np.array(list(money.MINOR_UNITS.values()), dtype="int64")
# The exponent money is parsed in where the row's currency is unknown or invalid (KWD: 3,
# the widest common one); such rows already carry a problem of their own.
FALLBACK_DIGITS = money.MINOR_UNITS["KWD"]
_POW10 = 10 ** np.arange(19, dtype="int64")

Encoded = tuple[pa.Array, np.ndarray]  # a text column's distinct texts and each row's position

# A row's status, bits of one int8 (a row with neither problem bit is good).
NOT_NUMBER = 1  # not a plain decimal number, or too many digits for its exponent
TOO_MANY = 2  # more decimals than its exponent allows
EMPTY = 4  # the empty cell (also NOT_NUMBER)


def currency_digits(currency: pd.Series) -> np.ndarray:
    """ISO 4217 exponent per row (0 for an unknown code), by one Arrow hash lookup."""
    where = pc.index_in(arrow_text(currency), value_set=_CURRENCY_CODES)
    where = np.asarray(pc.fill_null(where, -1), dtype="int64")
    return np.where(where >= 0, _CURRENCY_DIGITS[np.maximum(where, 0)], 0)


@dataclass(frozen=True)
class Exponents:
    """The exponent each row's money is parsed in, coded: the distinct exponents that
    occur (ascending) and each row's position among them (None: every row has the one)."""

    values: np.ndarray
    rows: np.ndarray | None

    def digits(self, length: int) -> np.ndarray:
        """The exponent of each row."""
        return self.values[self.rows] if self.rows is not None else np.full(length, self.values[0], dtype="int64")


def parsing_exponents(currency: pd.Series | None, length: int, encoded: Encoded | None = None) -> Exponents:
    """The exponent each row's money is parsed in: its currency's, else KWD's (as
    :func:`parse_currency` picks the currency). The currency column has
    a handful of distinct codes: they are looked up once each, not once per row.
    ``encoded``: the column's distinct texts and codes if the reader has them."""
    if currency is None or length == 0:
        return Exponents(np.array([FALLBACK_DIGITS], dtype="int64"), None)
    if encoded is None:
        found = pc.dictionary_encode(combined(arrow_text(currency)))
        distinct, indices = found.dictionary, found.indices
    else:
        distinct, indices = encoded[0], pa.array(encoded[1])
    where = pc.fill_null(pc.index_in(distinct, value_set=_CURRENCY_CODES), -1)
    where = np.asarray(where, dtype="int64")
    digits = np.where(where >= 0, _CURRENCY_DIGITS[np.maximum(where, 0)], FALLBACK_DIGITS)
    if indices.null_count:  # a missing currency: parsed as KWD, like an unknown one
        digits = np.append(digits, FALLBACK_DIGITS)
        indices = pc.fill_null(indices, len(digits) - 1)
    values, which = np.unique(digits, return_inverse=True)
    if len(values) == 1:
        return Exponents(values.astype("int64"), None)
    return Exponents(values.astype("int64"), which.astype("int8")[np.asarray(indices)])


def parsing_digits(currency: pd.Series | None, length: int) -> np.ndarray:
    """The exponent each row's money is parsed in, per row (see :func:`parsing_exponents`)."""
    return parsing_exponents(currency, length).digits(length)


@dataclass(frozen=True)
class Parsed:
    """A money column parsed: per row its minor units and status (the bits of
    NOT_NUMBER, TOO_MANY, EMPTY), the bits any (text, exponent) pair has (a bit absent
    there is absent from every row), and each row's pair with the pairs' minor units."""

    minor: np.ndarray
    status: np.ndarray
    seen: int
    pair: np.ndarray
    pair_minor: np.ndarray

    def largest(self) -> int:
        """The largest ``|minor|`` any pair has (times the rows: a bound of the total)."""
        return int(np.abs(self.pair_minor).max()) if self.pair_minor.size else 0

    def absolute_total(self) -> int:
        """:func:`absolute_total` of the rows' minor units, counted per pair."""
        return absolute_total(self.pair_minor, np.bincount(self.pair, minlength=self.pair_minor.size))


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

    def table(self, exponents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(minor units, status) of each distinct text (row) in each exponent (column):
        the rules of :func:`closelib.money.parse_money_array`."""
        digits = np.asarray(exponents, dtype="int64")[None, :]
        ok, int_len, frac_len = self.shaped[:, None], self.int_len[:, None], self.frac_len[:, None]
        too_long = ok & (int_len + digits > money._MAX_DIGITS)
        not_number = ~ok | too_long
        too_many = ok & ~too_long & (frac_len > digits)
        good = ~not_number & ~too_many
        minor = self.unscaled[:, None] * _POW10[np.clip(digits - frac_len, 0, 18)]
        minor = np.where(good, minor, 0).astype("int64")
        status = not_number * NOT_NUMBER | too_many * TOO_MANY | self.empty[:, None] * EMPTY
        return minor, status.astype("int8")

    def parse_rows(self, exponents: Exponents) -> Parsed:
        """Each row's minor units and status, in its exponent (see :class:`Parsed`)."""
        minor, status = self.table(exponents.values)
        # The row's (text, exponent) pair, as a position in the flattened tables.
        pair = self.codes if exponents.rows is None else self.codes * len(exponents.values) + exponents.rows
        seen = int(np.bitwise_or.reduce(status, axis=None)) if status.size else 0
        # Most columns break no rule anywhere: then every row's status is 0, not gathered.
        rows_status = status.ravel()[pair] if seen else np.zeros(len(pair), dtype="int8")
        return Parsed(minor.ravel()[pair], rows_status, seen, pair, minor.ravel())

    def parse(self, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(minor units, not a number, too many decimals) per row, each row in its exponent."""
        values, which = np.unique(np.asarray(digits, dtype="int64"), return_inverse=True)
        if not len(values):
            values = np.array([FALLBACK_DIGITS], dtype="int64")
        rows = which.astype("int8") if len(values) > 1 else None
        parsed = self.parse_rows(Exponents(values, rows))
        return parsed.minor, (parsed.status & NOT_NUMBER) != 0, (parsed.status & TOO_MANY) != 0


def absolute_total(minor: np.ndarray, counts: np.ndarray | None = None) -> int:
    """Exact sum of ``|minor|`` (each counted ``counts`` times) whatever its size: the high
    and low 32 bits are summed apart (neither sum can overflow for any number of rows a book
    holds: a row adds under 2**32 to either) and joined in Python."""
    magnitude = np.abs(np.asarray(minor, dtype="int64")).astype("uint64")
    high, low = magnitude >> np.uint64(32), magnitude & np.uint64(0xFFFFFFFF)
    if counts is not None:
        weights = np.asarray(counts).astype("uint64")
        high, low = high * weights, low * weights
    return (int(high.sum(dtype="uint64")) << 32) + int(low.sum(dtype="uint64"))


def encode(values: pd.Series, encoded: Encoded | None = None) -> MoneyText:
    """The column's text rules, examined on its distinct texts (the cells come stripped).
    ``encoded``: the column's distinct texts and codes if the reader has them already."""
    if encoded is None:
        text = combined(arrow_text(values.fillna("") if values.hasnans else values))
        found = pc.dictionary_encode(text)
        encoded = found.dictionary, np.asarray(found.indices)
    distinct, codes = encoded

    def np_(array: pa.Array) -> np.ndarray:
        return array.to_numpy(zero_copy_only=False)

    shaped = np_(pc.match_substring_regex(distinct, money._DECIMAL_PATTERN))
    # Lengths in bytes: they count only where the text is shaped, i.e. ASCII.
    length = np_(pc.binary_length(distinct)).astype("int64")
    dot = np_(pc.find_substring(distinct, ".")).astype("int64")
    frac_len = np.where(dot >= 0, length - dot - 1, 0)
    plus = pc.starts_with(distinct, "+")
    sign = np_(pc.or_(plus, pc.starts_with(distinct, "-"))).astype("int64")
    int_len = np.where(dot >= 0, dot, length) - sign
    # Digits without sign and point, as an integer, wherever that fits int64 for sure; a
    # row uses it only when it is good, and a good row has at most 17 digits.
    castable = shaped & (int_len + frac_len <= money._MAX_DIGITS)
    cleaned = pc.replace_substring(distinct, ".", "")
    if pc.any(plus).as_py():
        cleaned = pc.replace_substring(cleaned, "+", "")
    cleaned = pc.if_else(pa.array(castable), cleaned, pa.scalar("0"))
    unscaled = np_(pc.cast(cleaned, pa.int64()))
    return MoneyText(codes, length == 0, shaped, int_len, frac_len, unscaled)


def parse_money_text(values: pd.Series, currency: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`closelib.money.parse_money_array`, the same rules step by step, on Arrow-backed
    text: (minor units, not a number, too many decimals) per row, in ``currency`` (a valid
    code per row)."""
    return encode(values).parse(currency_digits(currency))


def parse_money_column(
    column: Column,
    values: pd.Series,
    currency: pd.Series | None,
    file: str,
    out: Collector,
    exponents: Exponents | None = None,
    text: MoneyText | None = None,
) -> pd.Series:
    """A money column in minor units (Int64 with NA for empty cells when optional), its
    problems to ``out``. ``exponents``: ``currency`` coded (:func:`parsing_exponents`) if
    the caller has it; ``text``: :func:`encode` of ``values`` if the reader made it."""
    # The text rules run once per distinct text and exponent (moneytext); rows take their
    # pair's results. A status no pair has is skipped without looking at the rows.
    if exponents is None:
        exponents = parsing_exponents(currency, len(values))
    parsed = (text if text is not None else encode(values)).parse_rows(exponents)
    minor, status, seen = parsed.minor, parsed.status, parsed.seen
    empty = (status & EMPTY) != 0 if seen & EMPTY else None
    if column.required and empty is not None:
        out.rows(file, empty, column.name, "required", f"{column.name} must not be empty")
    if seen & NOT_NUMBER:
        out.rows(
            file,
            status == NOT_NUMBER,  # not a number and not empty
            column.name,
            "decimal",
            "not a plain decimal number (digits, optional sign and '.', no thousands separators)",
            values,
        )

    def messages() -> pd.Series:  # made only when some row has too many decimals
        return "more decimals than " + parse_currency(currency, values.index) + " allows"

    if seen & TOO_MANY:
        out.rows(file, status == TOO_MANY, column.name, "currency_decimals", messages, values)
    # The exact total only where the largest amount times the rows could exceed the limit.
    total = parsed.absolute_total() if parsed.largest() * len(minor) > money.MAX_COLUMN_TOTAL else 0
    if total > money.MAX_COLUMN_TOTAL:
        out.add(
            file,
            None,
            column.name,
            "total_range",
            f"the amounts add up to {total:.3e} minor units in absolute value, more than "
            f"{money.MAX_COLUMN_TOTAL:.0e}: sums this large could overflow 64-bit integers",
        )
    result = pd.Series(minor, index=values.index, dtype="int64", copy=False)  # minor is this column's own
    if not column.required:
        result = result.astype("Int64")
        if empty is not None:
            result = result.mask(empty)
    return result


def parse_currency(currency: pd.Series | None, index: pd.Index) -> pd.Series:
    """The currency money is parsed in: the row's, or KWD (3 decimals, the widest common
    exponent) where that is unknown or invalid; such rows already carry a problem."""
    if currency is None:  # currency unknown (its table is missing)
        return pd.Series("KWD", index=index)
    return currency.where(currency.isin(list(money.MINOR_UNITS)), "KWD")
