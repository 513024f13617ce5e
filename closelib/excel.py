"""Excel packs for sign-off: formatted, frozen headers, exact totals, injection-safe text.

Money is written as exact ``Decimal`` numbers from minor units with the currency's decimals
as the number format; totals are written as values computed exactly here (not as Excel
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
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from closelib import money

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))


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


def _set_text(cell, text: str) -> None:
    cell.value = text
    cell.data_type = "s"
    if is_dangerous(text):
        cell.quotePrefix = True


def _write_value(ws, row: int, col: int, value, money_ccy: str | None, is_rate: bool):
    cell = ws.cell(row=row, column=col)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        cell.value = None
    elif money_ccy is not None:
        cell.value = money.from_minor(int(value), money_ccy)
        cell.number_format = money_format(money_ccy)
    elif is_rate:
        cell.value = float(value)
        cell.number_format = "0.00%"
    elif isinstance(value, str):
        _set_text(cell, value)
    elif isinstance(value, pd.Timestamp):
        cell.value = value.date()
        cell.number_format = "yyyy-mm-dd"
    elif hasattr(value, "item"):
        cell.value = value.item()
    elif isinstance(value, (int, float, bool)):
        cell.value = value
    else:
        _set_text(cell, str(value))
    return cell


def write_sheet(wb: Workbook, sheet: Sheet) -> None:
    ws = wb.create_sheet(sheet.name[:31])
    row = 1
    for line in sheet.title:
        _set_text(ws.cell(row=row, column=1), line)
        ws.cell(row=row, column=1).font = Font(bold=row == 1, size=12 if row == 1 else 10)
        row += 1
    if sheet.title:
        row += 1
    header_row = row
    columns = list(sheet.frame.columns)
    for col, name in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=col)
        _set_text(cell, str(name))
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    frame = sheet.frame.reset_index(drop=True)
    row_currency = frame[sheet.currency_column].tolist() if sheet.currency_column else [sheet.currency] * len(frame)
    for i, record in enumerate(frame.itertuples(index=False, name=None)):
        r = header_row + 1 + i
        for col, (name, value) in enumerate(zip(columns, record), start=1):
            ccy = row_currency[i] if name in sheet.money_columns else None
            _write_value(ws, r, col, value, ccy, name in sheet.rate_columns)
    if sheet.total and len(frame):
        currencies = sorted(set(c for c in row_currency if c))
        r = header_row + 1 + len(frame)
        currency_of_row = pd.Series(row_currency, index=frame.index, dtype=object)
        for ccy in currencies:
            mine = (currency_of_row == ccy).to_numpy()
            _set_text(ws.cell(row=r, column=1), f"Total {ccy}" if len(currencies) > 1 or sheet.currency_column else "Total")
            ws.cell(row=r, column=1).font = Font(bold=True)
            for col, name in enumerate(columns, start=1):
                if name in sheet.money_columns:
                    values = [int(v) for v in frame.loc[mine, name].dropna().tolist()]
                    cell = _write_value(ws, r, col, money.total(values), ccy, False)
                    cell.font = Font(bold=True)
                    cell.border = TOTAL_BORDER
            r += 1
    for col, name in enumerate(columns, start=1):
        width = sheet.widths.get(name) or min(max(len(str(name)), *(len(str(v)) for v in frame[name].head(200)), 8) + 2, 60) \
            if len(frame) else max(len(str(name)) + 2, 10)
        ws.column_dimensions[get_column_letter(col)].width = width


def write_workbook(path: Path, sheets: list[Sheet], as_of: datetime | None = None) -> Path:
    """Write atomically (a half-written pack is never left under the final name)."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        write_sheet(wb, sheet)
    stamp = as_of or datetime(2000, 1, 1)
    wb.properties.creator = "closelib"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=".xlsx-", dir=path.parent)
    os.close(handle)
    wb.save(scratch)
    os.replace(scratch, path)
    return path


def read_cells(path: Path) -> dict[str, list[list]]:
    """Every sheet's cell values (for tests and for comparing two runs' packs)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
