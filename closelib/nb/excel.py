"""Excel packs for sign-off: formatted, frozen headers, exact totals, injection-safe text.

Money is written as numbers converted once from exact minor units (Excel stores doubles,
exact to the minor unit for any amount below 10^13), with the currency's decimals as the
number format; totals are written as values computed exactly here (not as Excel
formulas, which a reader without Excel would see uncomputed). Every text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is stored as an explicit string
with Excel's quote prefix, so a customer named ``=HYPERLINK(...)`` stays text and is never
evaluated, even after a user edits the cell. No wall-clock time goes into a workbook's
cells; its document properties carry the period end, so re-runs give identical cells.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from closelib import money

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = "#DDE5F0"


def is_dangerous(text: str) -> bool:
    return text.startswith(DANGEROUS_PREFIXES)


def money_format(currency: str) -> str:
    digits = money.minor_digits(currency)
    body = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{body};[Red]-{body}"


@dataclass
class Sheet:
    """One worksheet: a frame with money columns (int minor units) in ``currency`` or in the
    currency named by each row's ``currency_column``."""

    name: str
    frame: pd.DataFrame
    money_columns: list[str] = field(default_factory=list)
    currency: str | None = None
    currency_column: str | None = None
    rate_columns: list[str] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    total: bool = False
    widths: dict[str, int] = field(default_factory=dict)


class _Formats:
    """XlsxWriter cell formats, made once per workbook and shared by every cell."""

    def __init__(self, wb) -> None:
        self.wb = wb
        self._made: dict[tuple, object] = {}

    def get(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._made:
            self._made[key] = self.wb.add_format(props)
        return self._made[key]


def _write_text(ws, row: int, col: int, text: str, formats: _Formats, **style) -> None:
    """Always a string cell (``write_string`` never makes a formula); a text that Excel would
    read as a formula after an edit also gets the quote prefix."""
    if is_dangerous(text):
        style["quote_prefix"] = True
    ws.write_string(row, col, text, formats.get(**style) if style else None)


def _write_value(
    ws, row: int, col: int, value, money_ccy: str | None, is_rate: bool, formats: _Formats, **style
) -> None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        if style:
            ws.write_blank(row, col, None, formats.get(**style))
    elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
        # Excel has no infinity (XlsxWriter would write the formula =1/0): say it in text, e.g.
        # a utilisation against a zero credit limit.
        _write_text(ws, row, col, "inf" if value > 0 else "-inf", formats, **style)
    elif money_ccy is not None:
        # Exact decimal text of the minor units (e.g. 12345.67): what Excel stores for it
        ws.write_number(
            row,
            col,
            float(money.from_minor(int(value), money_ccy)),
            formats.get(num_format=money_format(money_ccy), **style),
        )
    elif is_rate:
        ws.write_number(row, col, float(value), formats.get(num_format="0.00%", **style))
    elif isinstance(value, str):
        _write_text(ws, row, col, value, formats, **style)
    elif isinstance(value, (pd.Timestamp, datetime, date)):
        ws.write_datetime(
            row,
            col,
            pd.Timestamp(value).to_pydatetime().replace(tzinfo=None),
            formats.get(num_format="yyyy-mm-dd", **style),
        )
    elif isinstance(value, (bool, np.bool_)):
        ws.write_boolean(row, col, bool(value), formats.get(**style) if style else None)
    elif hasattr(value, "item") or isinstance(value, (int, float)):
        ws.write_number(
            row, col, value.item() if hasattr(value, "item") else value, formats.get(**style) if style else None
        )
    else:
        _write_text(ws, row, col, str(value), formats, **style)


def write_sheet(wb, sheet: Sheet, formats: _Formats) -> None:
    ws = wb.add_worksheet(sheet.name[:31])
    row = 0
    for line in sheet.title:
        _write_text(ws, row, 0, line, formats, bold=row == 0, font_size=12 if row == 0 else 10)
        row += 1
    if sheet.title:
        row += 1
    header_row = row
    columns = list(sheet.frame.columns)
    for col, name in enumerate(columns):
        _write_text(
            ws, row, col, str(name), formats, bold=True, bg_color=HEADER_FILL, pattern=1, text_wrap=True, valign="top"
        )
    ws.freeze_panes(header_row + 1, 0)
    frame = sheet.frame.reset_index(drop=True)
    row_currency = frame[sheet.currency_column].tolist() if sheet.currency_column else [sheet.currency] * len(frame)
    is_money = [name in sheet.money_columns for name in columns]
    is_rate = [name in sheet.rate_columns for name in columns]
    for i, record in enumerate(frame.itertuples(index=False, name=None)):
        r = header_row + 1 + i
        for col, value in enumerate(record):
            _write_value(ws, r, col, value, row_currency[i] if is_money[col] else None, is_rate[col], formats)
    if sheet.total and len(frame):
        currencies = sorted({c for c in row_currency if c})
        r = header_row + 1 + len(frame)
        currency_of_row = pd.Series(row_currency, index=frame.index, dtype=object)
        for ccy in currencies:
            mine = (currency_of_row == ccy).to_numpy()
            _write_text(
                ws,
                r,
                0,
                f"Total {ccy}" if len(currencies) > 1 or sheet.currency_column else "Total",
                formats,
                bold=True,
            )
            for col, name in enumerate(columns):
                if is_money[col]:
                    values = [int(v) for v in frame.loc[mine, name].dropna().tolist()]
                    _write_value(ws, r, col, money.total(values), ccy, False, formats, bold=True, top=1, bottom=6)
            r += 1
    for col, name in enumerate(columns):
        width = (
            sheet.widths.get(name) or min(max(len(str(name)), *(len(str(v)) for v in frame[name].head(200)), 8) + 2, 60)
            if len(frame)
            else max(len(str(name)) + 2, 10)
        )
        ws.set_column(col, col, width)


def write_workbook(path: Path, sheets: list[Sheet], as_of: datetime | None = None) -> Path:
    """Write atomically (a half-written pack is never left under the final name).

    Written with XlsxWriter (about twice openpyxl's speed on large packs); cells are only
    ever written by type (``write_string``, ``write_number``...), never parsed from text."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=".xlsx-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    stamp = as_of or datetime(2000, 1, 1)
    wb = xlsxwriter.Workbook(
        scratch, {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    try:
        wb.set_properties({"author": "closelib", "created": stamp})
        formats = _Formats(wb)
        for sheet in sheets:
            write_sheet(wb, sheet, formats)
        wb.close()
    except BaseException:
        Path(scratch).unlink(missing_ok=True)  # no half-written scratch file left beside the packs
        raise
    os.replace(scratch, path)
    return path


def read_cells(path: Path) -> dict[str, list[list]]:
    """Every sheet's cell values (for tests and for comparing two runs' packs)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
