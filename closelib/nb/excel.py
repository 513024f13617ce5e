"""Excel packs for sign-off: a cover sheet, formatted sheets, ``SUM`` totals, injection-safe text.

Money is written as numbers converted once from exact minor units (Excel stores doubles,
exact to the minor unit for any amount below 10^13), with the currency's decimals as the
number format. Totals are ``SUM`` (or, for a sheet of several currencies, ``SUMIF``) formulas
so that a reviewer can trace them, each stored with its cached value computed exactly here
from the minor units: a reader without a calculation engine (openpyxl, a viewer) sees the exact
total. Every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
stored as an explicit string with Excel's quote prefix, so a customer named ``=HYPERLINK(...)``
stays text and is never evaluated, even after a user edits the cell.

Each workbook opens on a cover sheet (company, workpaper, period, close run, input hashes,
prepared/reviewed boxes) and prints landscape, one page wide, header row repeated, footer
"page x of y" and the run. No wall-clock time goes into a workbook: its document properties
carry the period end and the zip members XlsxWriter's fixed 1980 stamp, so a re-performance
writes the same bytes.
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from closelib import money
from closelib.nb.excelcells import (
    COUNT_FORMAT,
    DANGEROUS_PREFIXES,
    DATE_FORMAT,
    DECIMAL_FORMAT,
    RATE_FORMAT,
    missing,
    money_format,
    write_rows,
)
from closelib.nb.excelcover import Cover, write_cover

HEADER_FILL = "#DDE5F0"
MAX_TEXT_WIDTH = 60
POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)  # 10 ... 10**18: the digits of an int64

__all__ = ["Cover", "Sheet", "is_dangerous", "money_format", "read_cells", "write_workbook"]


def is_dangerous(text: str) -> bool:
    return text.startswith(DANGEROUS_PREFIXES)


@dataclass
class Sheet:
    """One worksheet: a frame with money columns (int minor units) in ``currency`` or in the
    currency named by each row's ``currency_column``; ``links`` maps a column to the column
    holding the relative path its cells link to (a memo beside the pack)."""

    name: str
    frame: pd.DataFrame
    money_columns: list[str] = field(default_factory=list)
    currency: str | None = None
    currency_column: str | None = None
    rate_columns: list[str] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    total: bool = False
    widths: dict[str, int] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


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
    if missing(value):
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
        ws.write_number(row, col, float(value), formats.get(num_format=RATE_FORMAT, **style))
    elif isinstance(value, str):
        _write_text(ws, row, col, value, formats, **style)
    elif isinstance(value, (pd.Timestamp, datetime, date)):
        ws.write_datetime(
            row,
            col,
            pd.Timestamp(value).to_pydatetime().replace(tzinfo=None),
            formats.get(num_format=DATE_FORMAT, **style),
        )
    elif isinstance(value, (bool, np.bool_)):
        ws.write_boolean(row, col, bool(value), formats.get(**style) if style else None)
    elif isinstance(value, (int, np.integer)):
        ws.write_number(row, col, int(value), formats.get(num_format=COUNT_FORMAT, **style))
    elif isinstance(value, (float, np.floating)):
        ws.write_number(row, col, float(value), formats.get(num_format=DECIMAL_FORMAT, **style))
    else:
        _write_text(ws, row, col, str(value), formats, **style)


def _cell_name(row: int, col: int, absolute_col: bool = False) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell

    return xl_rowcol_to_cell(row, col, col_abs=absolute_col, row_abs=absolute_col)


def _digit_count(whole: np.ndarray) -> np.ndarray:
    """``len(str(w))`` of each non-negative int64 ``w``, by comparison with the powers of ten."""
    if bool((whole < 0).any()):  # only abs(int64 min): its text, as before
        return np.char.str_len(whole.astype(str))
    return np.searchsorted(POWERS_OF_TEN, whole, side="right") + 1


def _money_text_length(values: pd.Series, digits: np.ndarray) -> int:
    """The longest formatted amount (``-1,234,567.89``) among ``values`` (minor units; ``digits`` decimals a row)."""
    present = values.notna().to_numpy()
    if not present.any():
        return 0
    minor = values[present].astype("int64").to_numpy()
    places = digits[present]
    whole = np.abs(minor) // (10**places)
    n = _digit_count(whole)
    length = n + (n - 1) // 3 + np.where(places > 0, places + 1, 0) + (minor < 0)
    return int(length.max())


def _number_text_length(values: np.ndarray, decimals: int) -> int:
    """The longest ``f"{v:,.{decimals}f}"`` among finite ``values``, vectorised."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return 0
    whole = np.floor(np.abs(np.round(finite, decimals))).astype("int64")
    n = _digit_count(whole)
    return int((n + (n - 1) // 3 + (decimals + 1 if decimals else 0) + (finite < 0)).max())


def _text_length(values: pd.Series) -> int:
    if values.empty:
        return 0
    if pd.api.types.is_datetime64_any_dtype(values):
        return 10
    if pd.api.types.is_bool_dtype(values):
        return 5
    if pd.api.types.is_float_dtype(values):
        return _number_text_length(values.to_numpy(dtype="float64"), 2)
    if pd.api.types.is_integer_dtype(values):
        return _number_text_length(values.dropna().to_numpy(dtype="float64"), 0)
    present = values.dropna()
    if present.empty:
        return 0
    return int(present.astype(str).str.len().max())


ISO_DATE = r"\d{4}-\d{2}-\d{2}"
ISO_DATE_PATTERN = re.compile(ISO_DATE)
HEAD_ROWS = 64  # rows looked at for a column's first 20 values before the whole column


def dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every non-empty value is an ISO date (``2026-10-31``) as real dates, so
    that Excel sorts and filters them as dates; blanks stay blank."""
    converted = {}
    for name in frame.columns:
        column = frame[name]
        if column.empty or not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        if not _starts_with_dates(column):
            continue  # the first values already say it is not a date column: a long column is not scanned
        text = column.astype("string")
        present = text.notna() & (text != "")
        if bool(text[present].str.fullmatch(ISO_DATE).all()):
            converted[name] = pd.to_datetime(text.where(present), format="%Y-%m-%d", errors="coerce")
    return frame.assign(**converted) if converted else frame


def _starts_with_dates(column: pd.Series) -> bool:
    """Whether the column's first 20 values present, empty text aside, may all be ISO dates; for
    text by Python's ``re`` (its ``\\d`` takes any digit: it passes all pandas' pattern passes, and
    the whole-column check still decides), pandas' string methods costing a millisecond a column."""
    head = column.iloc[:HEAD_ROWS].dropna()
    if len(head) < 20 and len(column) > HEAD_ROWS:
        head = column.dropna()
    head = head.head(20)
    if isinstance(column.dtype, pd.StringDtype):
        texts = [text for text in head.tolist() if text != ""]
        return bool(texts) and all(ISO_DATE_PATTERN.fullmatch(text) for text in texts)
    head = head.astype("string")
    head = head[head != ""]
    return not head.empty and bool(head.str.fullmatch(ISO_DATE).all())


def _print_setup(ws, header_row: int, cover: Cover | None) -> None:
    """Landscape, one page wide, the header row on every page, "page x of y" and the run below."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_footer(_footer(cover))


def _footer(cover: Cover | None) -> str:
    def esc(text: str) -> str:  # "&" starts a header code; the footer holds at most 255 characters
        return text.replace("&", "&&")[:80]

    left = esc(f"{cover.company} - {cover.workpaper} - {cover.period}") if cover else ""
    right = esc(f"run {cover.run_id}") if cover else ""
    return f"&L{left}&CPage &P of &N&R{right}"


def write_sheet(wb, sheet: Sheet, formats: _Formats, cover: Cover | None = None) -> None:
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
    frame = dates_as_dates(sheet.frame.reset_index(drop=True))
    row_currency = frame[sheet.currency_column].tolist() if sheet.currency_column else [sheet.currency] * len(frame)
    is_money = [name in sheet.money_columns for name in columns]
    is_rate = [name in sheet.rate_columns for name in columns]
    link_of = {columns.index(c): frame[target].tolist() for c, target in sheet.links.items() if c in columns}
    # each cell as _write_value / _write_link decide it, planned a column block at a time
    write_rows(ws, frame, header_row + 1, row_currency, is_money, is_rate, link_of, formats, _write_value, _write_link)
    totals_width = _write_totals(ws, sheet, frame, columns, is_money, row_currency, header_row, formats)
    _fit_columns(ws, sheet, frame, columns, is_money, row_currency, totals_width)
    _print_setup(ws, header_row, cover)


def _write_link(ws, row: int, col: int, text: str, target: str, formats: _Formats) -> None:
    """A relative link to a file beside the pack (``external:`` keeps it relative)."""
    style = {"font_color": "blue", "underline": 1}
    if is_dangerous(text):
        style["quote_prefix"] = True
    ws.write_url(row, col, "external:" + target, formats.get(**style), string=text, tip=f"open {target}")


def _write_totals(ws, sheet, frame, columns, is_money, row_currency, header_row, formats) -> dict[int, int]:
    """One total row per currency: ``SUM`` over the column (``SUMIF`` on the currency column when
    the sheet holds several), its cached value the exact sum of the minor units. Returns the
    formatted length of each total, for the column widths."""
    lengths: dict[int, int] = {}
    if not (sheet.total and len(frame)):
        return lengths
    currencies = sorted({c for c in row_currency if c})
    first, last = header_row + 1, header_row + len(frame)
    r = last + 1
    currency_of_row = pd.Series(row_currency, index=frame.index, dtype=object)
    ccy_col = columns.index(sheet.currency_column) if sheet.currency_column in columns else None
    for ccy in currencies:
        mine = (currency_of_row == ccy).to_numpy()
        label = f"Total {ccy}" if len(currencies) > 1 or sheet.currency_column else "Total"
        _write_text(ws, r, 0, label, formats, bold=True)
        style = formats.get(num_format=money_format(ccy), bold=True, top=1, bottom=6)
        for col, name in enumerate(columns):
            if not is_money[col]:
                continue
            exact = money.total([int(v) for v in frame.loc[mine, name].dropna().tolist()])
            span = f"{_cell_name(first, col)}:{_cell_name(last, col)}"
            if len(currencies) > 1 and ccy_col is not None:
                criteria = f"{_cell_name(first, ccy_col, True)}:{_cell_name(last, ccy_col, True)}"
                formula = f'=SUMIF({criteria},"{ccy}",{span})'
            else:
                formula = f"=SUM({span})"
            ws.write_formula(r, col, formula, style, float(money.from_minor(exact, ccy)))
            lengths[col] = max(lengths.get(col, 0), len(f"{money.from_minor(exact, ccy):,}"))
        r += 1
    return lengths


def _fit_columns(ws, sheet, frame, columns, is_money, row_currency, totals_width) -> None:
    """Wide enough for every value as shown (numbers and dates are never cut to ``###``); text is
    capped at :data:`MAX_TEXT_WIDTH` characters and wraps in its header."""
    currencies = pd.Series(row_currency, index=frame.index, dtype=object)
    # each row's currency decimals, once for every money column (2 where the currency is unknown)
    digits = currencies.map(money.MINOR_UNITS).fillna(2).astype("int64").to_numpy()
    for col, name in enumerate(columns):
        values = frame[name] if len(frame) else pd.Series([], dtype=object)
        if name in sheet.widths:
            width = sheet.widths[name]
        elif is_money[col]:
            width = max(_money_text_length(values, digits), totals_width.get(col, 0), 8) + 3
        else:
            width = min(max(_text_length(values), 8) + 2, MAX_TEXT_WIDTH)
        header_word = max((len(w) for w in str(name).split()), default=0)
        ws.set_column(col, col, max(width, min(header_word + 2, MAX_TEXT_WIDTH), 10))


def default_file_mode() -> int:
    """What a file created by ``open()`` gets (0666 less the umask): the mode the reviewer HTML
    has, so a pack is as readable as the workpaper beside it (``mkstemp`` would leave it 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_workbook(path: Path, sheets: list[Sheet], as_of: datetime | None = None, cover: Cover | None = None) -> Path:
    """Write atomically (a half-written pack is never left under the final name), the cover
    sheet first when given.

    Written with XlsxWriter (about twice openpyxl's speed on large packs); cells are only
    ever written by type (``write_string``, ``write_number``...), never parsed from text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=".xlsx-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        with collector_paused():
            _write_xlsx(scratch, sheets, as_of or datetime(2000, 1, 1), cover)
        os.chmod(scratch, default_file_mode())
    except BaseException:
        Path(scratch).unlink(missing_ok=True)  # no half-written scratch file left beside the packs
        raise
    os.replace(scratch, path)
    return path


def _write_xlsx(scratch: str, sheets: list[Sheet], stamp: datetime, cover: Cover | None) -> None:
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    wb = xlsxwriter.Workbook(scratch, options)
    properties = {"author": "closelib", "created": stamp}
    if cover is not None:
        properties |= {"title": f"{cover.company} - {cover.workpaper} - {cover.period}", "company": cover.company}
    wb.set_properties(properties)
    formats = _Formats(wb)
    if cover is not None:
        write_cover(wb, cover, [s.name[:31] for s in sheets], formats.get, _footer(cover))
    for sheet in sheets:
        write_sheet(wb, sheet, formats, cover)
    wb.close()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a workbook is written (XlsxWriter keeps a tuple a cell,
    over a million at 1M: the collector walked them again and again, some 8% of the writing time, to
    free nothing), then one young collection: the closed workbook is a cycle (workbook <-> sheets),
    all made while the collector was off, so it is freed at once rather than at a later full one."""
    if not gc.isenabled():  # the caller turned it off: theirs to turn on
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def read_cells(path: Path) -> dict[str, list[list]]:
    """Every sheet's cell values as a reader without a calculation engine sees them (a total is its
    cached value), for tests and for comparing two runs' packs."""
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
