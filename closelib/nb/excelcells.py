"""The data cells of a pack's sheet, planned a column block at a time and written row by row.

:func:`closelib.nb.excel._write_value` decides each cell alone (its type, missing, infinite,
money in the row's currency, rate...): some 8 µs a cell before XlsxWriter is called, a second
for the reserve pack's quarter-million cells. Here that decision is made for a block of
:data:`BLOCK_ROWS` rows of one column at once from the column's dtype; cells of a column the
plan does not cover (mixed objects, links, currencies it cannot name) go to ``_write_value``
itself, so every cell is written exactly as before. The cells are then written row by row,
left to right, as before: XlsxWriter numbers shared strings in the order they are written, so
the workbook's bytes stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
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

# one cell: (writer, value, argument) with writer(row, col, value, argument); None: nothing written
Plan = tuple[list[Any], list[Any], list[Any]]


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

    def one_by_one(col: int) -> Callable:
        def write(r: int, c: int, value: Any, ccy: Any) -> None:
            write_value(ws, r, c, value, ccy if is_money[col] else None, is_rate[col], formats)

        return write

    def linked(r: int, c: int, value: Any, target: str) -> None:
        write_link(ws, r, c, str(value), target, formats)

    writers = {
        "number": ws.write_number,
        "string": ws.write_string,
        "datetime": ws.write_datetime,
        "boolean": ws.write_boolean,
    }
    fallbacks = [one_by_one(c) for c in range(frame.shape[1])]
    for start in range(0, len(frame), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(frame))
        plans = []
        for col in range(frame.shape[1]):
            block = frame.iloc[start:stop, col]
            ccy = row_currency[start:stop]
            plan = _plan(block, ccy, is_money[col], is_rate[col], styles, writers, fallbacks[col])
            if col in link_of:
                _add_links(plan, block.tolist(), link_of[col][start:stop], linked)
            plans.append(plan)
        for i in range(stop - start):
            r = first_row + start + i
            for col, (write, values, args) in enumerate(plans):
                if write[i] is not None:
                    write[i](r, col, values[i], args[i])


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


def _plan(block: pd.Series, ccy: list, is_money: bool, is_rate: bool, styles: _Styles, writers, fallback) -> Plan:
    n = len(block)
    dtype = block.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return _plan_numbers(block, ccy, is_money, is_rate, styles, writers, fallback)
    if isinstance(dtype, np.dtype) and dtype.kind == "b" and not (is_money or is_rate):
        return [writers["boolean"]] * n, block.tolist(), [None] * n
    if isinstance(dtype, np.dtype) and dtype.kind == "M" and not (is_money or is_rate):
        present = block.notna().to_numpy()
        stamps = block.dt.to_pydatetime() if n else []
        write = [writers["datetime"] if p else None for p in present.tolist()]
        return write, list(stamps), [styles.date] * n
    values = block.tolist()
    if ((isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype)) and not (
        is_money or is_rate
    ):
        write, args = [], []
        for value in values:
            if isinstance(value, str):
                write.append(writers["string"])
                args.append(styles.quoted if value.startswith(DANGEROUS_PREFIXES) else None)
            else:  # missing (nothing written) or another type: decided as before
                write.append(fallback)
                args.append(None)
        return write, values, args
    return [fallback] * n, values, list(ccy)


def _plan_numbers(
    block: pd.Series, ccy: list, is_money: bool, is_rate: bool, styles: _Styles, writers, fallback
) -> Plan:
    n = len(block)
    array = block.to_numpy()
    floats = array.dtype.kind == "f"
    finite = np.isfinite(array) if floats else np.ones(n, dtype=bool)
    absent = np.isnan(array) if floats else np.zeros(n, dtype=bool)
    values = block.tolist()
    number = writers["number"]
    if is_money:
        write: list[Any] = []
        out: list[Any] = []
        args: list[Any] = []
        for value, code, ok, gone in zip(values, ccy, finite.tolist(), absent.tolist(), strict=True):
            scale = _scale(code) if ok else None
            if gone:
                write.append(None)
                out.append(None)
                args.append(None)
            elif scale is None:  # infinite, or no currency this plan can name: decided as before
                write.append(fallback)
                out.append(value)
                args.append(code)
            else:
                # int / int is correctly rounded, as float(Decimal(minor).scaleb(-digits)) is
                write.append(number)
                out.append(int(value) / scale)
                args.append(styles.money(code))
        return write, out, args
    if floats:
        style = styles.rate if is_rate else styles.decimal
        write = [
            None if gone else (number if ok else fallback)
            for ok, gone in zip(finite.tolist(), absent.tolist(), strict=True)
        ]
        args = [style if ok else None for ok in finite.tolist()]
        return write, values, args
    if is_rate:  # a whole-number rate is still written as a float, as _write_value does
        return [number] * n, [float(v) for v in values], [styles.rate] * n
    return [number] * n, values, [styles.count] * n


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
