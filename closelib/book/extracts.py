"""Reading extract files (.csv, .xlsx, .parquet) into frames of text, exactly as written.

Every cell comes back as a string (empty string for an empty cell), so that ids keep
their leading zeros and money is parsed from its digits later, never from a float.
Spreadsheet cells that Excel already stored as numbers or dates are turned back into
text the way a person reads them (see :func:`_excel_text`).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from closelib.book.arrays import arrow_text
from closelib.book.schema import FILE_SUFFIXES
from closelib.errors import ExtractReadError


@dataclass(frozen=True)
class Problem:
    """One broken rule: which file, spreadsheet row (header = row 1), column, rule, value."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: [{self.rule}] {self.message}{shown}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "value": self.value,
        }


def find_table_files(source: Path, table: str) -> list[Path]:
    return [source / f"{table}{suffix}" for suffix in FILE_SUFFIXES if (source / f"{table}{suffix}").is_file()]


def read_text_frame(path: Path, table: str) -> pd.DataFrame:
    """The file as a frame of strings, index 0..n-1 (spreadsheet row = index + 2)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".parquet":
            return _read_parquet(path)
        if suffix == ".xlsx":
            return _read_xlsx(path, table)
    except ExtractReadError:
        raise
    except Exception as exc:  # a corrupt file is the user's problem, reported, not a traceback
        raise ExtractReadError(f"cannot read {path.name}: {exc}") from exc
    raise ExtractReadError(f"unsupported file type {suffix}")


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, "rb") as handle:
        header = handle.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not header.strip():
        raise ExtractReadError(f"{path.name} is empty (no header row)")
    names = next(csv.reader([header]))
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        if "columns, got" not in str(exc):
            raise
        raise _ragged_rows(path, convert) from None
    return _arrow_to_text(table)


class RaggedRows(ExtractReadError):
    """CSV rows with more or fewer fields than the header: ``rows`` holds (row, fields, header
    fields, the row's text) for each, the row counted as a spreadsheet shows it (header = 1)."""

    def __init__(self, file: str, rows: list[tuple[int | None, int, int, str]], more: int = 0) -> None:
        self.rows = rows
        self.more = more  # ragged rows beyond those listed
        first = rows[0]
        super().__init__(f"{file}: row {first[0]} has {first[1]} fields, the header {first[2]}")


def _ragged_rows(path: Path, convert: pacsv.ConvertOptions) -> RaggedRows:
    """Read again on one thread (the only way Arrow numbers the rows), listing the ragged ones."""
    found: list[tuple[int | None, int, int, str]] = []
    more = 0

    def note(row) -> str:  # pyarrow.csv.InvalidRow
        nonlocal more
        if len(found) < RAGGED_LISTED:
            found.append((row.number, row.actual_columns, row.expected_columns, row.text[:200]))
        else:
            more += 1
        return "skip"

    pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=note),
        convert_options=convert,
    )
    return RaggedRows(path.name, found or [(None, 0, len(convert.column_types), "")], more)


RAGGED_LISTED = 1000  # ragged rows listed one by one; more are counted


def _arrow_to_text(table: pa.Table) -> pd.DataFrame:
    # Positional, so that a header naming a column twice keeps both (and is reported).
    names = [str(name).lstrip("\ufeff") for name in table.column_names]
    frame = pd.DataFrame(
        {i: _arrow_column_text(column) for i, column in enumerate(table.columns)}, index=pd.RangeIndex(table.num_rows)
    )
    frame.columns = names
    return frame


def _arrow_column_text(column: pa.ChunkedArray) -> pd.Series:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column
    elif pa.types.is_timestamp(kind):
        text = _distinct_strftime(column, lambda c: pc.strftime(c, format="%Y-%m-%d"))
    elif pa.types.is_date(kind):
        text = _distinct_strftime(column, lambda c: pc.strftime(pc.cast(c, pa.timestamp("s")), format="%Y-%m-%d"))
    elif pa.types.is_floating(kind):
        # Shortest round-trip repr, the digits a person typed; whole numbers without ".0".
        values = column.to_pandas()
        text = pa.array([_float_text(v) for v in values], type=pa.string())
    else:
        text = pc.cast(column, pa.string())
    if text.null_count:
        text = pc.fill_null(text, "")
    # Arrow-backed text (pandas' "str" dtype): no per-cell Python objects for a million rows.
    # pandas makes it large_string itself: ten times cheaper than Arrow's own cast followed by
    # joining the chunks (about 1 s for the 2.9M-line GL journal's text columns).
    series = pd.Series(text, dtype="str")
    array = arrow_text(series)
    if array.num_chunks > 1:  # chunks joined once, so later whole-column operations need not
        series = pd.Series(pa.chunked_array([array.combine_chunks()]), dtype="str")
    return series


def _distinct_strftime(column: pa.ChunkedArray, format_) -> pa.Array:
    """Format each distinct date once (a book has a few thousand dates, not a million)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(column)
    return pc.take(format_(encoded.dictionary), encoded.indices)


def _float_text(value: float) -> str:
    if value != value:  # NaN
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _read_parquet(path: Path) -> pd.DataFrame:
    return _arrow_to_text(pq.read_table(path))


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def _read_xlsx(path: Path, table: str) -> pd.DataFrame:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if table in book.sheetnames:
            sheet = book[table]
        elif len(book.sheetnames) == 1:
            sheet = book[book.sheetnames[0]]
        else:
            raise ExtractReadError(
                f"{path.name} has several sheets ({', '.join(book.sheetnames)}) and none is named {table!r}"
            )
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise ExtractReadError(f"{path.name} is empty (no header row)")
        names = [_excel_text(h).strip() for h in header]
        data = [[_excel_text(v) for v in row] for row in rows]
    finally:
        book.close()
    width = len(names)
    data = [(row + [""] * width)[:width] for row in data]
    # Trailing fully-empty rows are formatting leftovers, not records.
    while data and not any(cell.strip() for cell in data[-1]):
        data.pop()
    return pd.DataFrame(data, columns=names, dtype=object)
