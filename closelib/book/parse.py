"""Validate a source folder against the contract, collecting every problem.

Validators never raise on bad data: they append :class:`Problem` records (file,
spreadsheet row, column, rule, value) to a :class:`Collector`, and the caller decides
what to do with the list. Parsing and checking are vectorised per column.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import all_distinct, arrow_text, combined, empty_cells, stripped_text
from closelib.book.extracts import Problem
from closelib.book.moneytext import Encoded, Exponents, parsing_exponents
from closelib.book.moneytext import absolute_total as absolute_total
from closelib.book.moneytext import currency_digits as currency_digits  # fx.py reads it here
from closelib.book.moneytext import parse_currency as parse_currency  # applied.py reads it here
from closelib.book.moneytext import parse_money_column as _parse_money  # history.py reads it here
from closelib.book.moneytext import parse_money_text as parse_money_text
from closelib.book.schema import Column, Table
from closelib.book.typed import as_text, is_typed, typed_dates
from closelib.periods import FIRST_YEAR, LAST_YEAR, PERIOD_PATTERN

# More rows than this breaking one rule in one column are summarised in one line, so a
# file that is wrong throughout still gives a readable report.
PROBLEMS_PER_RULE = 1000

_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_INT_PATTERN = r"^[+-]?\d{1,15}$"
MAX_RATE = 1e9  # an FX rate beyond this (or an exponent like 1e999) is a mistake, not a rate
_RATE_PATTERN = r"^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


# A cell is echoed into a problem up to this many characters (a 10 MB cell is not repeated).
SHOWN_VALUE = 200


def shown_value(value: object) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_VALUE else f"{text[:SHOWN_VALUE]}... ({len(text):,} characters)"


class Collector:
    """Collects problems; caps each (file, column, rule) at PROBLEMS_PER_RULE rows."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._overflow: Counter = Counter()
        # Cells already reported, per (file, column): later rules skip them, so one bad
        # cell gives one problem (a missing amount is not also "must be > 0").
        self._flagged: dict[tuple[str, str], np.ndarray] = {}
        # The text of every parsed column as written, per file: problems show the value a
        # person typed, not its minor units.
        self._written: dict[str, dict[str, pd.Series]] = {}
        # (file, key column) whose parsed cells are all distinct, as the key check found:
        # later rules need not hash the column again to know it.
        self.distinct: set[tuple[str, str]] = set()

    def flagged(self, file: str, column: str, length: int) -> np.ndarray:
        """Rows whose ``column`` cell already broke a rule (bool array of ``length``)."""
        mask = self._flagged.get((file, column))
        return np.zeros(length, dtype=bool) if mask is None or len(mask) != length else mask

    def written(self, file: str, column: str, fallback: pd.Series | Callable[[], pd.Series]) -> pd.Series:
        """The cells of ``column`` as written in ``file`` (``fallback`` if not recorded; a
        callable is called only then)."""
        found = self._written.get(file, {}).get(column)
        if found is not None:
            return found
        return fallback() if callable(fallback) else fallback

    def add(
        self, file: str, row: int | None, column: str | None, rule: str, message: str, value: object = None
    ) -> None:
        self.problems.append(Problem(file, row, column, rule, message, None if value is None else shown_value(value)))

    def rows(
        self,
        file: str,
        mask: np.ndarray | pd.Series,
        column: str | None,
        rule: str,
        message: str | pd.Series | Callable[[], pd.Series],
        values: pd.Series | Callable[[], pd.Series] | None = None,
    ) -> None:
        """One problem per row where ``mask`` holds (row = position + 2, as a spreadsheet shows).
        ``message`` and ``values`` may be callables, made only when some row breaks the rule."""
        flags = np.asarray(mask, dtype=bool)
        positions = np.flatnonzero(flags)
        if not len(positions):
            return
        if column is not None:
            key = (file, column)
            before = self._flagged.get(key)
            self._flagged[key] = flags.copy() if before is None or len(before) != len(flags) else before | flags
        if callable(message):
            message = message()
        if callable(values):
            values = values()
        shown = positions[:PROBLEMS_PER_RULE]
        texts = message.to_numpy()[shown] if isinstance(message, pd.Series) else [message] * len(shown)
        # The shown rows' cells only (a money column may still be coded: typed._dictionary_text).
        vals = as_text(values.iloc[shown]).to_numpy() if values is not None else [None] * len(shown)
        for pos, text, val in zip(shown, texts, vals, strict=False):
            self.add(file, int(pos) + 2, column, rule, str(text), val)
        extra = len(positions) - len(shown)
        if extra:
            self.add(file, None, column, rule, f"... and {extra} more rows break this rule (first rows listed above)")

    def __len__(self) -> int:
        return len(self.problems)

    @classmethod
    def branch(cls, *parents: Collector) -> Collector:
        """A new collector for work done apart (another thread): no problems yet, and what
        ``parents`` know (cells flagged, text as written, distinct keys), which later rules read."""
        child = cls()
        for parent in parents:
            child.absorb_state(parent)
        return child

    def absorb_state(self, other: Collector) -> None:
        """Take what ``other`` knows (flags are or-ed), but not its problems."""
        for key, mask in other._flagged.items():
            before = self._flagged.get(key)
            self._flagged[key] = mask if before is None or len(before) != len(mask) else before | mask
        for file, columns in other._written.items():
            self._written.setdefault(file, {}).update(columns)
        self.distinct |= other.distinct


def nearest(name: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_header(table: Table, raw: pd.DataFrame, file: str, out: Collector) -> bool:
    """Required columns present, exact and lower-case; returns False if rows can't be checked."""
    names = [str(c) for c in raw.columns]
    ok = True
    counts = Counter(names)
    for name, count in counts.items():
        if count > 1:
            out.add(file, 1, name, "duplicate_column", f"column {name!r} appears {count} times")
            ok = False
    for column in table.columns:
        if column.name not in names and not column.optional:
            lowered = {n.strip().lower(): n for n in names}
            hint = (
                f" (found {lowered[column.name]!r}: column names are exact and lower-case)"
                if column.name in lowered
                else nearest(column.name, names)
            )
            out.add(file, 1, column.name, "missing_column", f"required column {column.name!r} is missing{hint}")
            ok = False
    return ok


def parse_table(
    table: Table, raw: pd.DataFrame, file: str, out: Collector, currencies: dict[str, pd.Series]
) -> pd.DataFrame:
    """Typed frame from the text frame: dates, ints, money in minor units; problems collected.

    ``currencies`` maps a money column to the per-row currency resolved across tables
    (for columns whose currency is not in the same row). Invalid cells become 0 / NaT.
    """
    # An optional column left out of the file reads as empty cells (README: contract extensions).
    # A column still in its Parquet type (typed.read_frame) is parsed from that type, not text.
    # Columns stripped where the file was read (typed.prepared) are not stripped again.
    done = set(raw.attrs.get("stripped", ()))
    text = {
        c.name: (raw[c.name] if is_typed(raw[c.name]) or c.name in done else stripped_text(raw[c.name]))
        if c.name in raw.columns
        else pd.Series("", index=raw.index, dtype="str")
        for c in table.columns
    }
    # Only money is shown as written (problems give "12.345", not minor units); the other
    # columns' text is the frame's own column or no longer needed: not held twice.
    out._written[file] = {c.name: text[c.name] for c in table.columns if c.kind == "money"}
    parsed: dict[str, pd.Series] = {}
    # Distinct texts and codes of the columns the reader had as dictionaries (typed.prepared).
    codes = {name: found for name, found in raw.attrs.get("codes", {}).items() if name in done}
    for column in table.columns:
        if column.kind != "money" and column.name not in raw.columns:
            parsed[column.name] = _parse_absent(column, raw.index, file, out)
        elif column.kind != "money":
            parsed[column.name] = _parse_column(column, text[column.name], file, out, codes.get(column.name))
    # Each row's exponent is coded once per currency column (the GL's debit and credit
    # share one), not once per money column.
    exponents: dict[int, tuple[pd.Series | None, Exponents]] = {}
    # The money text rules already run where the file was read, on the stripped column.
    examined = raw.attrs.get("money_text", {})
    for column in table.columns:
        if column.kind == "money":
            source = table.money_currency[column.name]
            currency = parsed[source] if not source.startswith("@") else currencies.get(column.name)
            if id(currency) not in exponents:
                found = codes.get(source) if not source.startswith("@") else None
                exponents[id(currency)] = currency, parsing_exponents(currency, len(raw), found)
            coded = exponents[id(currency)][1]
            values = text[column.name]
            money_text = examined.get(column.name) if column.name in done else None
            parsed[column.name] = _parse_money(column, values, currency, file, out, coded, money_text)
    # copy=False: pandas 3 copies each column and stacks the int64 ones (0.2 s at 2.9M lines).
    frame = pd.DataFrame({name: parsed[name] for name in table.column_names}, index=raw.index, copy=False)
    extras = [c for c in raw.columns if c not in frame.columns]
    for name in extras:  # extra columns are kept (as text) and ignored by closelib
        frame[name] = raw[name]
    _check_key(table, frame, text, file, out, raw.attrs.get("distinct_key"))
    return frame


def on_distinct(
    values: pd.Series, *funcs: Callable[[pd.Series], pd.Series], encoded: Encoded | None = None
) -> list[pd.Series]:
    """:func:`closelib.book.arrays.by_distinct` of each of ``funcs``, the column encoded once
    (``encoded``: its distinct texts and codes if the reader has them)."""
    if encoded is None:
        if values.dtype != "str" or len(values) == 0 or values.hasnans:
            return [func(values) for func in funcs]
        found = pc.dictionary_encode(combined(arrow_text(values)))
        if len(found.dictionary) * 2 > len(values):  # mostly distinct: nothing to share
            return [func(values) for func in funcs]
        encoded = found.dictionary, np.asarray(found.indices, dtype="int64")
    distinct = pd.Series(encoded[0], dtype="str")
    results = [func(distinct) for func in funcs]
    codes = encoded[1]
    return [pd.Series(r.to_numpy()[codes], index=values.index, dtype=r.dtype, copy=False) for r in results]


def _isin(values: pd.Series, choices: Sequence[str], encoded: Encoded | None) -> np.ndarray | pd.Series:
    """``values.isin(choices)``, looked up once per distinct text where the codes are known."""
    if encoded is None:
        return values.isin(choices)
    distinct, codes = encoded
    known = pc.is_in(distinct, value_set=pa.array(list(choices), type=distinct.type))
    return np.asarray(known, dtype=bool)[codes]


def _parse_absent(column: Column, index: pd.Index, file: str, out: Collector) -> pd.Series:
    """An optional column left out of the file: every cell is empty, so every row parses
    as one empty cell does (a million empty rates are parsed once)."""
    aside = Collector()
    one = _parse_column(column, pd.Series([""], dtype="str"), file, aside)
    if aside.problems:  # an empty cell breaks a rule (not so in the contract): row by row
        return _parse_column(column, pd.Series("", index=index, dtype="str"), file, out)
    return pd.Series(one.array.take(np.zeros(len(index), dtype=np.intp)), index=index, name=one.name)


def _empty_required(column: Column, values: pd.Series, file: str, out: Collector) -> np.ndarray:
    empty = empty_cells(values)
    if column.required:
        out.rows(file, empty, column.name, "required", f"{column.name} must not be empty")
    return empty


def _parse_column(
    column: Column, values: pd.Series, file: str, out: Collector, encoded: Encoded | None = None
) -> pd.Series:
    """``encoded``: the distinct texts of ``values`` and each row's position among them, if
    the reader has them (enum, currency and period columns then hash no cell)."""
    if is_typed(values):
        typed = typed_dates(values) if column.kind == "date" else None
        if typed is not None:
            dates, nulls = typed
            if column.required:
                out.rows(file, nulls, column.name, "required", f"{column.name} must not be empty")
            return dates
        values = as_text(values)  # out of range somewhere: the text path words the problems
    kind = column.kind
    if kind in ("id", "text"):  # free text: only a required one has a rule (not empty)
        if column.required:
            _empty_required(column, values, file, out)
        return values
    empty = _empty_required(column, values, file, out)
    present = ~empty
    if kind == "enum":
        bad = present & ~_isin(values, column.choices, encoded)
        out.rows(file, bad, column.name, "enum", f"must be one of {', '.join(column.choices)}", values)
        return values
    if kind == "currency":
        bad = present & ~_isin(values, list(money.MINOR_UNITS), encoded)
        out.rows(file, bad, column.name, "currency", "not an ISO 4217 currency code closelib knows", values)
        return values
    if kind == "date":
        # Parsed once per distinct text (a book has thousands of dates, not millions).
        def in_range(text: pd.Series) -> pd.Series:
            shaped = text.str.match(_DATE_PATTERN) & (text != "")
            year = pd.to_numeric(text.str.slice(0, 4).where(shaped, "2000"), errors="coerce")
            return ~shaped | ((year >= FIRST_YEAR) & (year <= LAST_YEAR))

        def parse(text: pd.Series) -> pd.Series:
            # Only years 1900..2199 reach pandas: 0001 or 9999 would overflow its timestamps.
            shaped = text.str.match(_DATE_PATTERN) & (text != "") & in_range(text)
            return pd.to_datetime(text.where(shaped, None), format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")

        ranged, dates = on_distinct(values, in_range, parse)
        outside = present & ~ranged.astype(bool)
        out.rows(
            file, outside, column.name, "date_range", f"a date outside {FIRST_YEAR}-01-01..{LAST_YEAR}-12-31", values
        )
        bad = present & dates.isna() & ~outside
        out.rows(file, bad, column.name, "date", "not a valid ISO date YYYY-MM-DD", values)
        return dates
    if kind == "period":

        def period_outside(text: pd.Series) -> pd.Series:
            # Cell by cell (a well-shaped period's year out of range), so parsed once per distinct text.
            good = (text != "") & text.str.fullmatch(PERIOD_PATTERN).astype(bool)
            year = pd.to_numeric(text.str.slice(0, 4).where(good, "2000"), errors="coerce")
            return good & ((year < FIRST_YEAR) | (year > LAST_YEAR))

        shaped, beyond = on_distinct(
            values, lambda text: text.str.fullmatch(PERIOD_PATTERN), period_outside, encoded=encoded
        )
        bad = present & ~shaped.astype(bool)
        out.rows(file, bad, column.name, "period", "not a period YYYY-MM", values)
        outside = present & ~bad & beyond.astype(bool)
        message = f"a period outside {FIRST_YEAR}-01..{LAST_YEAR}-12"
        out.rows(file, outside, column.name, "period_range", message, values)
        return values
    if kind == "int":
        shaped = values.str.match(_INT_PATTERN)
        out.rows(file, present & ~shaped, column.name, "integer", "not a whole number", values)
        numbers = pd.to_numeric(values.where(shaped, "0"), errors="coerce").fillna(0).astype("int64")
        if column.minimum is not None or column.maximum is not None:
            low = column.minimum if column.minimum is not None else -np.inf
            high = column.maximum if column.maximum is not None else np.inf
            out.rows(
                file,
                shaped & ((numbers < low) | (numbers > high)),
                column.name,
                "range",
                f"must be between {column.minimum} and {column.maximum}",
                values,
            )
        return numbers
    if kind == "rate":
        # Once per distinct text: an optional rate column left out is a million empty cells.
        def parse_rates(text: pd.Series) -> pd.Series:
            good = text.str.match(_RATE_PATTERN).astype(bool)
            return pd.to_numeric(text.where(good, "0"), errors="coerce").fillna(0.0).astype("float64")

        matched, rates = on_distinct(values, lambda text: text.str.match(_RATE_PATTERN), parse_rates)
        shaped = matched.astype(bool)
        bad = present & (~shaped | (rates <= 0) | ~np.isfinite(rates) | (rates > MAX_RATE))  # 1e999 is inf
        out.rows(file, bad, column.name, "rate", f"must be a positive decimal number up to {MAX_RATE:g}", values)
        return rates.where(present)  # an empty cell of an optional rate column is no rate (NaN)
    raise AssertionError(f"unknown column kind {kind}")  # a schema bug, not user input


def _check_key(
    table: Table,
    frame: pd.DataFrame,
    text: dict[str, pd.Series],
    file: str,
    out: Collector,
    distinct: bool | None = None,
) -> None:
    """``distinct``: whether the single key's cells are all distinct, if the reading thread
    found out already (typed.prepared); None: not known."""
    if not table.key:
        return
    keys = [as_text(text[k]) for k in table.key]
    positions = pd.Series(np.arange(len(frame)), index=frame.index, copy=False)
    single = len(keys) == 1 and keys[0].dtype == "str"
    if single and (distinct if distinct is not None else all_distinct(combined(arrow_text(keys[0])))):
        out.distinct.add((file, table.key[0]))
        return  # every key distinct (one hash pass), the usual case
    if single:
        # Position of each key's first occurrence, by one Arrow hash lookup of the column in itself.
        column = combined(arrow_text(keys[0]))
        found = np.asarray(pc.index_in(column, value_set=column), dtype="int64")
        first = pd.Series(found, index=frame.index, copy=False)
    else:
        first = positions.groupby(keys, sort=False).transform("min")
    dup = (first != positions).to_numpy()
    if dup.any():
        shown = keys[0][dup]
        for extra in keys[1:]:
            shown = shown + " / " + extra[dup]
        message = " + ".join(table.key) + " must be unique; first seen on row " + (first[dup] + 2).astype(str)
        out.rows(
            file,
            dup,
            "+".join(table.key),
            "unique",
            message.reindex(frame.index, fill_value=""),
            shown.reindex(frame.index, fill_value=""),
        )
