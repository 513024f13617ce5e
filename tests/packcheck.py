"""What a reviewer would catch in an Excel pack or a reviewer HTML, as lists of problems.

:func:`pack_problems` reads a workbook twice with openpyxl (formulas, then cached values) and
reports: a number without a number format (Excel's General shows ``151709`` for 1,517.09), a
money column (by its header) holding a number not formatted as money or as a percentage, a
money cell whose value has more decimals than its format (or its row's currency) allows, a date
kept as text, a total that is not a ``SUM``/``SUMIF`` formula or whose cached value is not the
exact sum of the cells it adds, a column too narrow for a number or date (``###``), a sheet
without the print setup (landscape, one page wide, header rows repeated, page x of y and the
run in the footer), and a pack without its cover sheet.

:func:`html_problems` reads a reviewer HTML: in every table, a money column (by its header)
must hold amounts with thousands separators (``1,517.09``, never ``151709``); in the text, no
"minor units" and no unformatted amount (``33131.26``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from closelib import money

MONEY_HEADER = re.compile(
    r"(^|_)(amount|balance|limit|exposure|total|gross|allowance|debit|credit|paid|received|past_due|sales|ar|"
    r"overlay|base|specific|collective|required|booked|true_up|change|movement|not_yet_due|open_invoices|"
    r"written_off_since|still_open|settled|pnl_effect|rolled|exposed|unapplied|reserve_held|over_90|effect)(_|$)"
    r"|^(current|\d+-\d+|\d+\+)$",
    re.IGNORECASE,
)
NOT_MONEY_HEADER = re.compile(r"days|dbt|rate|ratio|share|count|score|rating|months|coverage|documents|_24m$|priority")
MONEY_FORMAT = re.compile(r"^#,##0(?:\.(0+))?;\[Red\]-#,##0(?:\.0+)?$")
ISO_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# an amount with separators, possibly with its currency code; or a percentage (a rate table by bucket)
FORMATTED_AMOUNT = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?( [A-Z]{3}|%)?$")
SUM = re.compile(r"^=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")
SUMIF = re.compile(r'^=SUMIF\(\$([A-Z]+)\$(\d+):\$[A-Z]+\$(\d+),"([A-Z]{3})",([A-Z]+)(\d+):[A-Z]+(\d+)\)$')


def is_money_header(name: object) -> bool:
    text = str(name or "")
    return bool(MONEY_HEADER.search(text)) and not NOT_MONEY_HEADER.search(text)


def _header_row(ws) -> int | None:
    """The 1-based row of a data sheet's column headers: the row above the frozen pane."""
    pane = ws.freeze_panes
    if not pane:
        return None
    return int(re.sub(r"[A-Z]+", "", pane)) - 1


def _shown_length(value: float, number_format: str) -> int:
    match = MONEY_FORMAT.match(number_format)
    if match:
        return len(f"{value:,.{len(match.group(1) or '')}f}")
    if number_format.endswith("%"):
        return len(f"{value * 100:,.2f}%")
    if number_format == "#,##0.00":
        return len(f"{value:,.2f}")
    return len(f"{value:,.0f}")


def _cell_decimal(value: float, digits: int) -> Decimal:
    return Decimal(repr(round(float(value), digits))).quantize(Decimal(1).scaleb(-digits))


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index


def _check_total(ws, cached_ws, cell, problems: list[str], where: str) -> None:
    formula = str(cell.value)
    cached = cached_ws.cell(cell.row, cell.column).value
    match_sum, match_if = SUM.match(formula), SUMIF.match(formula)
    if not (match_sum or match_if):
        problems.append(f"{where}: total {formula!r} is not a SUM/SUMIF over its column")
        return
    if match_sum:
        col, first, last = _column_index(match_sum.group(1)), int(match_sum.group(2)), int(match_sum.group(4))
        rows = range(first, last + 1)
    else:
        assert match_if is not None
        ccy_col, first, last = _column_index(match_if.group(1)), int(match_if.group(2)), int(match_if.group(3))
        col = _column_index(match_if.group(5))
        rows = [r for r in range(first, last + 1) if ws.cell(r, ccy_col).value == match_if.group(4)]
    number_format = cell.number_format
    fmt = MONEY_FORMAT.match(number_format)
    digits = len(fmt.group(1) or "") if fmt else 2
    exact = sum(
        (_cell_decimal(ws.cell(r, col).value, digits) for r in rows if isinstance(ws.cell(r, col).value, (int, float))),
        Decimal(0),
    )
    if cached is None or _cell_decimal(cached, digits) != exact:
        problems.append(f"{where}: total {formula} caches {cached!r}, the cells add up to {exact}")


def pack_problems(path: Path, run_id: str | None = None) -> list[str]:
    """Every problem of one Excel pack (see the module docstring)."""
    from openpyxl import load_workbook

    problems: list[str] = []
    book = load_workbook(path)
    cached_book = load_workbook(path, data_only=True)
    has_cover = bool(book.sheetnames) and book.sheetnames[0] == "Cover"
    if not has_cover:
        problems.append(f"{path.name}: no cover sheet first (sheets {book.sheetnames[:3]})")
    else:
        cover_text = " ".join(str(c.value) for row in book["Cover"].iter_rows() for c in row if c.value is not None)
        for needed in (
            "Company",
            "Period",
            "Close run",
            "Inputs",
            "Prepared by",
            "Reviewed by",
            *([run_id] if run_id else []),
        ):
            if needed not in cover_text:
                problems.append(f"{path.name} Cover: no {needed!r}")
    for ws in book.worksheets[1:] if has_cover else book.worksheets:
        cached_ws = cached_book[ws.title]
        where = f"{path.name} [{ws.title}]"
        header = _header_row(ws)
        if header is None:
            problems.append(f"{where}: no frozen header row")
            continue
        setup = ws.page_setup
        footer = ws.oddFooter
        footer_text = "".join(part.text or "" for part in (footer.left, footer.center, footer.right))
        if (
            setup.orientation != "landscape"
            or setup.fitToWidth not in (1, None)
            or not ws.sheet_properties.pageSetUpPr.fitToPage
        ):
            problems.append(f"{where}: not set to print landscape, one page wide")
        if not ws.print_title_rows:
            problems.append(f"{where}: header row not repeated on each printed page")
        if "&P" not in footer_text or "&N" not in footer_text or (run_id and run_id not in footer_text):
            problems.append(f"{where}: footer {footer_text!r} lacks page x of y or the run")
        names = {c.column: c.value for c in ws[header]}
        widths = {}  # XlsxWriter writes one <col min max> for neighbouring columns of one width
        for dimension in ws.column_dimensions.values():
            for index in range(dimension.min or 0, (dimension.max or 0) + 1):
                widths[index] = dimension.width
        currency_columns = [col for col, name in names.items() if str(name or "").endswith("currency")]
        for row in ws.iter_rows(min_row=header + 1):
            label = row[0].value
            is_total = isinstance(label, str) and label.startswith("Total")
            for cell in row:
                value, name = cell.value, names.get(cell.column)
                at = f"{where} {cell.coordinate} ({name})"
                if isinstance(value, str) and value.startswith("=") and cell.data_type == "f":
                    _check_total(ws, cached_ws, cell, problems, at)
                    continue
                if isinstance(value, str) and ISO_DATE_TEXT.match(value):
                    problems.append(f"{at}: date {value!r} written as text")
                if hasattr(value, "year") and "yy" not in cell.number_format:
                    problems.append(f"{at}: date without a date format")
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                if is_total:
                    problems.append(f"{at}: total {value!r} is a number, not a SUM formula")
                number_format = cell.number_format
                if number_format == "General":
                    problems.append(f"{at}: {value!r} has no number format (minor units shown raw?)")
                    continue
                fmt = MONEY_FORMAT.match(number_format)
                if is_money_header(name) and not fmt and not number_format.endswith("%"):
                    problems.append(f"{at}: money column holds {value!r} formatted {number_format!r}, not as money")
                if fmt:
                    digits = len(fmt.group(1) or "")
                    if abs(value * 10**digits - round(value * 10**digits)) > 1e-6 * max(1.0, abs(value) * 10**digits):
                        problems.append(f"{at}: {value!r} has more decimals than its format's {digits}")
                    row_digits = {
                        money.MINOR_UNITS[str(ws.cell(cell.row, c).value)]
                        for c in currency_columns
                        if str(ws.cell(cell.row, c).value) in money.MINOR_UNITS
                    }
                    if row_digits and digits not in row_digits:
                        problems.append(f"{at}: {digits} decimals but the row's currency has {sorted(row_digits)}")
                width = widths.get(cell.column) or 8.43
                if width < _shown_length(float(value), number_format) + 1:
                    problems.append(f"{at}: column width {width} too narrow for {value!r} (### in Excel)")
    return problems


class _Tables(HTMLParser):
    """The tables of a page (header texts, rows of cell texts) and its text outside code."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self.text: list[str] = []
        self._skip = 0
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag in ("pre", "code", "script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables.append(([], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("pre", "code", "script", "style"):
            self._skip -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            headers, rows = self.tables[-1]
            if self._in_head:
                headers[:] = self._row  # the last header row names the columns
            else:
                rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if not self._skip:
            self.text.append(data)


def html_problems(path: Path) -> list[str]:
    """Every amount in a reviewer HTML shown in minor units or unformatted (see the module docstring)."""
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    problems = []
    for number, (headers, rows) in enumerate(parser.tables, 1):
        for column, name in enumerate(headers):
            if not is_money_header(name):
                continue
            for row in rows:
                # a row may start with its index cell (a <th>): align from the right
                offset = len(row) - len(headers)
                cell = row[column + offset] if 0 <= column + offset < len(row) else ""
                if cell in ("", "n/a", "-") or not re.search(r"\d", cell):
                    continue
                if not FORMATTED_AMOUNT.match(cell):
                    problems.append(f"{path.name} table {number} column {name!r}: {cell!r} is not a formatted amount")
                    break
    text = " ".join(parser.text)
    for pattern, what in (
        (r"minor units", "an amount in minor units"),
        (r"(?<![\w,.\-/])\d{4,}\.\d+(?![\d\w])", "an amount without thousands separators"),
        (r"(?<![\w,.\-/:])\d{6,}(?![\d,.\w\-])", "a long number without separators"),
    ):
        for match in re.finditer(pattern, text):
            context = text[max(0, match.start() - 60) : match.end() + 20].replace("\n", " ")
            problems.append(f"{path.name}: {what}: ...{context}...")
    return problems
