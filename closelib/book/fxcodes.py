"""The book's currencies as small integer codes, for translating a whole book at once
(:func:`closelib.book.fx.translate_book`).

The same rules as :func:`closelib.book.fx.booking_rates`, :func:`~closelib.book.fx.rates_in_force`
and :func:`~closelib.book.fx.translate`, worked on one code per distinct currency instead of
one Python string per row: each text column is dictionary-encoded once in Arrow (a handful of
currencies), comparisons and lookups are integer array operations, and the per-row functional
currency is handed back as references to one string per currency. At a million documents this
replaces seconds of per-row object conversion.

A missing currency has code -1: it equals nothing (as NaN compares in an object array) and
has 0 minor digits; in a rate pair it reads as the text ``nan`` (as ``astype(str)`` made it
before pandas 3; :func:`booking_rate` can leave it in no pair, as pandas 3 does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import arrow_text, combined, lookup
from closelib.book.parse import currency_digits


@dataclass(frozen=True)
class Currencies:
    """The book's currency codes: ``text`` of each code, its ``digits`` (ISO 4217 exponent, 0 for
    an unknown code; one more entry, 0, that code -1 reads) and the code of the text ``nan``."""

    text: np.ndarray  # object: one Python string per code
    digits: np.ndarray
    nan: int

    def digits_of(self, codes: np.ndarray) -> np.ndarray:
        return self.digits[codes]  # -1 reads the appended 0

    def pair_key(self, currency: np.ndarray, functional: np.ndarray) -> np.ndarray:
        """One integer per (currency, functional currency) pair, missing read as ``nan``."""
        size = len(self.text)
        return np.where(currency >= 0, currency, self.nan) * size + np.where(functional >= 0, functional, self.nan)


class Coder:
    """Codes text columns into one shared vocabulary (codes are handed out as text is met)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"nan": 0}

    def code(self, values: pd.Series) -> np.ndarray:
        """Per row, the code of its text (-1 when missing)."""
        if len(values) == 0:
            return np.zeros(0, dtype="int64")
        encoded = pc.dictionary_encode(combined(arrow_text(values)))
        table = np.array([self._of(text) for text in encoded.dictionary.to_pylist()] + [-1], dtype="int64")
        indices = np.asarray(pc.fill_null(encoded.indices, -1), dtype="int64")
        return table[indices]

    def of_mapping(self, keys: pd.Series, mapping: pd.Series) -> np.ndarray:
        """Per row of ``keys`` the code of ``mapping[key]`` (-1 when missing), the first entry
        winning for a repeated key as :func:`closelib.book.arrays.lookup` does; the mapping is
        looked up once per distinct key."""
        if len(keys) == 0:
            return np.zeros(0, dtype="int64")
        encoded = pc.dictionary_encode(combined(arrow_text(keys)))
        found = lookup(pd.Series(encoded.dictionary.to_pylist(), dtype=object), mapping)
        table = np.array([self._of(v) if isinstance(v, str) else -1 for v in found] + [-1], dtype="int64")
        return table[np.asarray(pc.fill_null(encoded.indices, -1), dtype="int64")]

    def _of(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def currencies(self) -> Currencies:
        text = np.array(list(self.index), dtype=object)
        digits = currency_digits(pd.Series(text, dtype=object)) if len(text) else np.zeros(0, dtype="int64")
        return Currencies(text, np.append(digits, np.zeros(1, dtype=digits.dtype)), self.index["nan"])


def rates_in_force(
    codes: Currencies,
    rate_pairs: np.ndarray,
    fx_rates: pd.DataFrame,
    dates: pd.Series,
    currency: np.ndarray,
    functional: np.ndarray,
    max_age_days: int,
) -> np.ndarray:
    """:func:`closelib.book.fx.rates_in_force` on codes (``rate_pairs``: the key of each
    ``fx_rates`` row); one ``merge_asof`` by integer pair."""
    n = len(dates)
    result = np.full(n, np.nan)
    same = (currency == functional) & (currency >= 0)
    result[same] = 1.0
    day = np.asarray(dates, dtype="datetime64[ns]")
    need = ~same & pd.notna(day) & (functional >= 0)
    if not need.any() or fx_rates.empty:
        return result
    left = pd.DataFrame(
        {"pair": codes.pair_key(currency[need], functional[need]), "date": day[need], "pos": np.flatnonzero(need)}
    ).sort_values("date", kind="stable")
    right = pd.DataFrame(
        {
            "pair": rate_pairs,
            "date": fx_rates["rate_date"].to_numpy(dtype="datetime64[ns]"),
            "rate": fx_rates["rate"].to_numpy(dtype="float64"),
        }
    )
    right = right[pd.notna(right["date"])].sort_values("date", kind="stable")
    found = pd.merge_asof(
        left, right, on="date", by="pair", direction="backward", tolerance=pd.Timedelta(days=max_age_days)
    )
    result[found["pos"].to_numpy()] = found["rate"].to_numpy(dtype="float64")
    return result


def foreign(currency: np.ndarray, functional: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Lines translation changes: another currency than the functional one (a missing one
    equals nothing), or a rate other than 1."""
    return (currency != functional) | (currency < 0) | (functional < 0) | (rate != 1.0)


def translate(
    codes: Currencies, minor: np.ndarray, rate: np.ndarray, currency: np.ndarray, functional: np.ndarray
) -> np.ndarray:
    """:func:`closelib.book.fx.translate` on codes: exact, half away from zero, per line."""
    values = np.asarray(minor, dtype="int64")
    rates = np.asarray(rate, dtype="float64")
    moved = foreign(currency, functional, rates)
    result = values.copy()
    if moved.any():
        result[moved] = money.translate_array(
            values[moved],
            np.nan_to_num(rates[moved], nan=0.0),
            codes.digits_of(currency[moved]),
            codes.digits_of(functional[moved]),
        )
    return result


def text_ranks(values: pd.Series) -> np.ndarray:
    """Per row, the rank of its text (``astype(str)``; missing reads ``nan``) among the column's
    distinct texts, in code point order: sorting by rank sorts as by the text, equal texts tie."""
    if len(values) == 0:
        return np.zeros(0, dtype="int64")
    text = values if values.dtype == "str" else values.astype(str)
    array = pc.fill_null(combined(arrow_text(text)), "nan")
    # UTF-8 bytes sort as their code points, so Arrow's order is numpy's order of the str values
    ranks = pc.rank(array, sort_keys="ascending", tiebreaker="dense")
    return np.asarray(ranks, dtype="int64")


def functional_text(codes: Currencies, functional: np.ndarray, fallback) -> np.ndarray:
    """The functional currency per row as Python text (one string object per currency); a row
    without one takes ``fallback()``'s rows (the object-array path, with its missing values)."""
    if len(functional) and (functional < 0).any():
        return fallback()
    return codes.text[functional] if len(functional) else np.zeros(0, dtype=object)


def rate_codes(coder: Coder, fx_rates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The codes of each ``fx_rates`` row's currency and functional currency, as ``astype(str)``
    gives them (their pair key is made once every text is coded: :meth:`Currencies.pair_key`)."""
    if fx_rates.empty:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    cur, fun = (coder.code(fx_rates[c].astype(str)) for c in ("currency", "functional_currency"))
    return cur, fun


def booking_rate(
    codes: Currencies,
    pairs: np.ndarray,
    fx_rates: pd.DataFrame,
    frame: pd.DataFrame,
    date_column: str,
    currency: np.ndarray,
    functional: np.ndarray,
    max_age_days: int,
    missing_in_no_pair: bool = False,
) -> np.ndarray:
    """The booking rate of :func:`closelib.book.fx.booking_rates`, on currency codes.

    ``missing_in_no_pair``: a line without a currency takes no ``fx_rates`` rate, as in
    :func:`closelib.book.fx.booking_rates` (pandas keeps a missing cell missing in its text
    pair key, which then matches no row); without it, the line's pair reads ``nan``, as the
    book's translation has always read it (the two differ only if ``fx_rates`` names a
    currency ``nan``)."""
    rate = rates_in_force(codes, pairs, fx_rates, frame[date_column], currency, functional, max_age_days)
    if missing_in_no_pair:
        rate[currency < 0] = np.nan
    if "fx_rate" in frame.columns:
        given = frame["fx_rate"].to_numpy(dtype="float64", na_value=np.nan)
        rate = np.where(np.isfinite(given) & (given > 0), given, rate)
    return rate


def effects(
    events: pd.DataFrame,
    codes: Currencies,
    amount: np.ndarray,
    rate: np.ndarray,
    currency: np.ndarray,
    functional: np.ndarray,
) -> np.ndarray:
    """Functional effect of each event: the event's own amount on a line in its functional
    currency (rate 1, the same exponent: translation changes nothing), the cumulative rule
    (:func:`telescoped`) on a foreign-currency line; only those events are sorted and cumulated."""
    effect = events["delta"].to_numpy(dtype="int64").copy()
    if events.empty:
        return effect
    on_foreign = foreign(currency, functional, rate)[events["row"].to_numpy()]
    if on_foreign.any():
        effect[on_foreign] = telescoped(events[on_foreign], codes, amount, rate, currency, functional)
    return effect


def telescoped(
    events: pd.DataFrame,
    codes: Currencies,
    amount: np.ndarray,
    rate: np.ndarray,
    currency: np.ndarray,
    functional: np.ndarray,
) -> np.ndarray:
    """Functional effect of each event (in ``events`` order): ``tr(open after) - tr(open before)``
    at its line's rate, the open amount cumulated per line in (date, rank, id) order."""
    if events.empty:
        return np.zeros(0, dtype="int64")
    order = np.lexsort(
        (events["id"].to_numpy(), events["rank"].to_numpy(), events["date"].to_numpy(), events["row"].to_numpy())
    )
    rows = events["row"].to_numpy()[order]
    delta = events["delta"].to_numpy(dtype="int64")[order]
    after = amount[rows] + pd.Series(delta).groupby(rows).cumsum().to_numpy(dtype="int64")
    before = after - delta
    ccy, fun = currency[rows], functional[rows]
    both = translate(
        codes,
        np.concatenate([after, before]),
        np.concatenate([rate[rows], rate[rows]]),
        np.concatenate([ccy, ccy]),
        np.concatenate([fun, fun]),
    )
    effect_sorted = both[: len(rows)] - both[len(rows) :]
    effect = np.empty(len(rows), dtype="int64")
    effect[order] = effect_sorted
    return effect
