"""The data cells of a pack's sheet: numbers and dates a column at a time, text in reading order.

:func:`closelib.nb.excel._write_value` decides each cell alone (its type, missing, infinite,
money in the row's currency, rate...): some 8 µs a cell before XlsxWriter is called. Here the
decision is made for a whole column from its dtype, with numpy, and the cells go to XlsxWriter in
the order that keeps the workbook's bytes the same:

- numbers, money, rates, dates and booleans never reach the shared-string table, and XlsxWriter
  places every cell by its row and column whatever the order of the calls, so they are written a
  column at a time (``map`` over the column: no Python loop of ours per cell);
- text (and a link, and anything the dtype cannot decide: mixed objects, an infinity, a currency
  :mod:`closelib.money` does not know) is written row by row, left to right, as before, since
  XlsxWriter numbers shared strings in the order they are written; a cell the plan cannot decide
  goes to ``_write_value`` itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from closelib import money

BLOCK_ROWS = 4096
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"  # ratios, days, scores: 2 decimals
RATE_FORMAT = "0.00%"
# every integer below 2**53 is a double, so int / 10**d rounds once, exactly as Python's int / int
EXACT_INTEGER = 2**53
EXCEL_EPOCH = np.datetime64("1899-12-31", "us")  # XlsxWriter's epoch (the workbook is not 1904-based)
MICROSECONDS_PER_DAY = 86_400_000_000
SIGNED_NULLABLE = (pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype)  # each fits an int64

# cells of a column: (writer, values, argument) with writer(row, col, value, argument); None: nothing written
Plan = tuple[list[Any], list[Any], list[Any]]
# cells a column writer takes: (writer, rows, values, formats)
Column = tuple[Callable, list[int], list[Any], list[Any]]


def write_rows(
    ws,
    frame: pd.DataFrame,
    first_row: int,
    row_currency: list,
    is_money: list[bool],
    is_rate: list[bool],
    link_of: dict[int, list],
    formats,
    write_value: Callable,
    write_link: Callable,
) -> None:
    """Every cell of ``frame`` from ``first_row`` (0-based), as ``write_sheet`` wrote them one by one."""
    styles = _Styles(formats)
    writers = _writers(ws)
    currencies = _RowCurrencies(row_currency, styles)

    def one_by_one(col: int) -> Callable:
        def write(r: int, c: int, value: Any, ccy: Any) -> None:
            write_value(ws, r, c, value, ccy if is_money[col] else None, is_rate[col], formats)

        return write

    def linked(r: int, c: int, value: Any, target: str) -> None:
        write_link(ws, r, c, str(value), target, formats)

    in_order: list[tuple[int, Plan]] = []
    for col in range(frame.shape[1]):
        series = frame.iloc[:, col]
        left: np.ndarray | None = None
        if col not in link_of:
            cells = _column_cells(series, is_money[col], is_rate[col], currencies, styles, writers)
            if cells is not None:
                column, left = cells
                write, rows, values, args = column
                # a C-level loop over the column: XlsxWriter's writer is the only Python called per cell
                deque(map(write, [first_row + r for r in rows], repeat(col), values, args), maxlen=0)
                if not left.any():
                    continue
        plan = _plan(series, row_currency, is_money[col], is_rate[col], left, styles, writers, one_by_one(col))
        if col in link_of:
            _add_links(plan, series.tolist(), link_of[col], linked)
        in_order.append((col, plan))
    _write_in_reading_order(in_order, first_row, len(frame))


def _write_in_reading_order(plans: list[tuple[int, Plan]], first_row: int, n: int) -> None:
    """The cells of ``plans`` row by row, left to right: the order text was always written in."""
    if not plans:
        return
    cols = [col for col, _ in plans]
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        writes = zip(*(plan[0][start:stop] for _, plan in plans), strict=True)
        values = zip(*(plan[1][start:stop] for _, plan in plans), strict=True)
        args = zip(*(plan[2][start:stop] for _, plan in plans), strict=True)
        rows = range(first_row + start, first_row + stop)
        for r, row_writes, row_values, row_args in zip(rows, writes, values, args, strict=True):
            for c, write, value, arg in zip(cols, row_writes, row_values, row_args, strict=True):
                if write is not None:
                    write(r, c, value, arg)


def _writers(ws) -> dict[str, Callable]:
    """XlsxWriter's cell writers without the decorator that first tries the row as A1 text (about a
    microsecond a cell, as much again as writing a number); the public ones if a version lacks them."""
    kinds = ("number", "string", "boolean")
    return {kind: getattr(ws, f"_write_{kind}", getattr(ws, f"write_{kind}")) for kind in kinds}


class _Styles:
    """The workbook's shared formats, looked up once per kind (``formats.get`` sorts its keys)."""

    def __init__(self, formats) -> None:
        self.formats = formats
        self.count = formats.get(num_format=COUNT_FORMAT)
        self.decimal = formats.get(num_format=DECIMAL_FORMAT)
        self.rate = formats.get(num_format=RATE_FORMAT)
        self.date = formats.get(num_format=DATE_FORMAT)
        self.quoted = formats.get(quote_prefix=True)
        self._money: dict[str, Any] = {}

    def money(self, currency: str):
        if currency not in self._money:
            self._money[currency] = self.formats.get(num_format=money_format(currency))
        return self._money[currency]


class _RowCurrencies:
    """Each row's currency as ``10 ** decimals`` and money format, for the money columns; ``known``
    is False where :mod:`closelib.money` cannot name it (the cell is decided one by one)."""

    def __init__(self, row_currency: list, styles: _Styles) -> None:
        codes, names = pd.factorize(pd.Series(row_currency, dtype=object))
        scales = [_scale(name) for name in names]
        # index -1 (no currency) takes the last entry of each table
        self.known = np.array([s is not None for s in scales] + [False], dtype=bool)[codes]
        self.scale = np.array([s or 1 for s in scales] + [1], dtype="float64")[codes]
        money_formats = [styles.money(name) if s else None for name, s in zip(names, scales, strict=True)]
        self.formats = np.array([*money_formats, None], dtype=object)[codes]


def _column_cells(
    series: pd.Series, is_money: bool, is_rate: bool, currencies: _RowCurrencies, styles: _Styles, writers
) -> tuple[Column, np.ndarray] | None:
    """The cells of a number, date or boolean column that XlsxWriter can take a column at a time,
    and the mask of those left to decide one by one (an infinity, an unknown currency, an amount
    too large for a double); ``None`` for any other column."""
    dtype = series.dtype
    n = len(series)
    nothing_left = np.zeros(n, dtype=bool)
    if not isinstance(dtype, np.dtype):
        if is_money and isinstance(dtype, SIGNED_NULLABLE):
            present = series.notna().to_numpy()
            return _money_cells(series.to_numpy(dtype="int64", na_value=0), present, currencies, writers)
        return None
    if dtype.kind == "b" and not (is_money or is_rate):
        return (writers["boolean"], list(range(n)), series.tolist(), [None] * n), nothing_left
    if dtype.kind == "M" and not (is_money or is_rate):
        array = series.to_numpy()
        present = ~np.isnat(array)
        serials = excel_serials(array[present])
        if serials is None:
            return None
        rows = np.flatnonzero(present).tolist()
        return (writers["number"], rows, serials.tolist(), [styles.date] * len(rows)), nothing_left
    if dtype.kind not in "iuf":
        return None
    array = series.to_numpy()
    present = ~np.isnan(array) if dtype.kind == "f" else np.ones(n, dtype=bool)
    if is_money:
        return _money_cells(array, present, currencies, writers)
    if dtype.kind == "f":
        finite = np.isfinite(array)
        rows = np.flatnonzero(finite).tolist()
        style = styles.rate if is_rate else styles.decimal
        return (writers["number"], rows, array[finite].tolist(), [style] * len(rows)), present & ~finite
    if is_rate:  # a whole-number rate is still written as a float, as _write_value does
        return (writers["number"], list(range(n)), array.astype("float64").tolist(), [styles.rate] * n), nothing_left
    return (writers["number"], list(range(n)), array.tolist(), [styles.count] * n), nothing_left


def _money_cells(
    minor: np.ndarray, present: np.ndarray, currencies: _RowCurrencies, writers
) -> tuple[Column, np.ndarray]:
    """Minor units as the amount in the row's currency, ``int(value) / 10**decimals`` (correctly
    rounded, as ``float(money.from_minor(...))`` is) for every present amount a double holds exactly."""
    whole = np.trunc(minor) if minor.dtype.kind == "f" else minor
    with np.errstate(invalid="ignore"):
        exact = present & currencies.known & (whole > -EXACT_INTEGER) & (whole < EXACT_INTEGER)
    rows = np.flatnonzero(exact)
    amounts = whole[rows] / currencies.scale[rows]
    column = (writers["number"], rows.tolist(), amounts.tolist(), currencies.formats[rows].tolist())
    return column, present & ~exact


def excel_serials(stamps: np.ndarray) -> np.ndarray | None:
    """Excel serial dates of naive ``datetime64`` values, the float XlsxWriter's ``write_datetime``
    computes for each ``datetime`` (days since 1899-12-31 plus the fraction of the day, less one on
    1900-01-01 by its rule for a time alone, one more from 1900-03-01 for Excel's 1900 leap day);
    ``None`` when a value has nanoseconds (a ``datetime`` drops them: left to the cell-by-cell writer)."""
    micro = stamps.astype("datetime64[us]")
    if bool((micro != stamps).any()):
        return None
    offset = (micro - EXCEL_EPOCH).astype("int64")
    days = offset // MICROSECONDS_PER_DAY  # floor, as timedelta.days
    rest = offset - days * MICROSECONDS_PER_DAY
    serial = days + ((rest // 1_000_000).astype("float64") + (rest % 1_000_000).astype("float64") / 1e6) / 86400
    serial = np.where(days == 1, serial - 1, serial)  # XlsxWriter's time-only rule, met by 1900-01-01
    return np.where(serial > 59, serial + 1, serial)


def _plan(
    series: pd.Series,
    ccy: list,
    is_money: bool,
    is_rate: bool,
    left: np.ndarray | None,
    styles: _Styles,
    writers,
    fallback,
) -> Plan:
    """The cells written in reading order: ``left`` (cells a column writer could not take) or the
    whole column, text as a string (quote-prefixed when it could read as a formula)."""
    n = len(series)
    values = series.tolist()
    if left is not None:
        return [fallback if x else None for x in left.tolist()], values, list(ccy)
    if is_money or is_rate:
        return [fallback] * n, values, list(ccy)
    string = writers["string"]
    if isinstance(series.dtype, pd.StringDtype):
        present = series.notna().to_numpy().tolist()
        dangerous = series.str.startswith(DANGEROUS_PREFIXES).to_numpy(dtype=bool, na_value=False).tolist()
        # missing text is written as nothing, as _write_value does
        return [string if p else None for p in present], values, [styles.quoted if d else None for d in dangerous]
    if series.dtype != object:
        return [fallback] * n, values, list(ccy)
    write, args = [], []
    for value in values:
        if isinstance(value, str):
            write.append(string)
            args.append(styles.quoted if value.startswith(DANGEROUS_PREFIXES) else None)
        else:  # missing (nothing written) or another type: decided as before
            write.append(fallback)
            args.append(None)
    return write, values, args


def money_format(currency: str) -> str:
    digits = money.minor_digits(currency)
    body = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{body};[Red]-{body}"


def _scale(currency: Any) -> int | None:
    """10 ** the currency's decimals; ``None`` for no currency or one ``money`` does not know."""
    if not isinstance(currency, str) or currency not in money.MINOR_UNITS:
        return None
    return 10 ** money.MINOR_UNITS[currency]


def _add_links(plan: Plan, values: list, targets: list, linked: Callable) -> None:
    """A link column: a cell with a target (and a value) is a link; the others keep their plan."""
    write, out, args = plan
    for i, (value, target) in enumerate(zip(values, targets, strict=True)):
        if isinstance(target, str) and target and not missing(value):
            write[i], out[i], args[i] = linked, value, target


def missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))
