"""closelib.extracts: every extract comes back as text exactly as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from closelib.book.extracts import (
    Problem,
    find_table_files,
    read_text_frame,
)
from closelib.errors import ExtractReadError
from closelib.files import sha256_file


def test_csv_is_text_with_leading_zeros_and_empty_cells(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text('customer_id,amount,note\n0120,1000.50,\n007,1e3,"a, b"\n', encoding="utf-8")
    frame = read_text_frame(path, "customers")
    assert list(frame.columns) == ["customer_id", "amount", "note"]
    assert frame["customer_id"].tolist() == ["0120", "007"]
    assert frame["amount"].tolist() == ["1000.50", "1e3"]  # the digits as written, no float
    assert frame["note"].tolist() == ["", "a, b"]
    assert frame.index.tolist() == [0, 1]  # spreadsheet row = index + 2


def test_csv_with_bom_keeps_first_column_text(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_bytes("\ufeffcustomer_id,name\r\n0120,Alpha\r\n".encode("utf-8"))
    frame = read_text_frame(path, "customers")
    assert list(frame.columns) == ["customer_id", "name"]
    assert frame["customer_id"].tolist() == ["0120"]


def test_csv_quoted_newline_and_quotes(tmp_path: Path):
    path = tmp_path / "documents.csv"
    path.write_text('document_id,description\nD1,"line one\nline two"\nD2,"say ""hi"""\n', encoding="utf-8")
    frame = read_text_frame(path, "documents")
    assert frame["description"].tolist() == ["line one\nline two", 'say "hi"']


def test_csv_duplicate_header_keeps_both_columns(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,name\nC1,a,b\n", encoding="utf-8")
    frame = read_text_frame(path, "customers")
    assert list(frame.columns) == ["customer_id", "name", "name"]


def test_empty_csv_is_a_read_error(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ExtractReadError, match="empty"):
        read_text_frame(path, "customers")


def test_header_only_csv_has_no_rows(tmp_path: Path):
    path = tmp_path / "adjustments.csv"
    path.write_text("adjustment_id,amount\n", encoding="utf-8")
    frame = read_text_frame(path, "adjustments")
    assert list(frame.columns) == ["adjustment_id", "amount"] and len(frame) == 0


def test_ragged_csv_is_a_read_error_not_a_crash(tmp_path: Path):
    path = tmp_path / "customers.csv"
    path.write_text("a,b\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(ExtractReadError):
        read_text_frame(path, "customers")


def test_unsupported_suffix(tmp_path: Path):
    path = tmp_path / "customers.txt"
    path.write_text("a\n1\n")
    with pytest.raises(ExtractReadError, match="unsupported"):
        read_text_frame(path, "customers")


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_cells_become_text_as_a_person_reads_them(tmp_path: Path):
    path = _xlsx(
        tmp_path / "documents.xlsx",
        {
            "Sheet1": [
                ["document_id", "amount", "document_date", "flag", "note"],
                ["0120", 1000.5, dt.datetime(2026, 10, 5), True, None],
                [120, 250, dt.date(2026, 1, 31), False, "x"],
                [None, None, None, None, None],  # trailing formatting row: not a record
            ]
        },
    )
    frame = read_text_frame(path, "documents")
    assert frame["document_id"].tolist() == ["0120", "120"]  # text cell keeps its zero
    assert frame["amount"].tolist() == ["1000.5", "250"]
    assert frame["document_date"].tolist() == ["2026-10-05", "2026-01-31"]
    assert frame["flag"].tolist() == ["true", "false"]
    assert frame["note"].tolist() == ["", "x"]


def test_xlsx_sheet_named_after_table_wins(tmp_path: Path):
    path = _xlsx(tmp_path / "receipts.xlsx", {"notes": [["x"], ["1"]], "receipts": [["receipt_id"], ["R1"]]})
    assert read_text_frame(path, "receipts")["receipt_id"].tolist() == ["R1"]


def test_xlsx_several_sheets_none_named_is_an_error(tmp_path: Path):
    path = _xlsx(tmp_path / "receipts.xlsx", {"a": [["x"]], "b": [["y"]]})
    with pytest.raises(ExtractReadError, match="several sheets"):
        read_text_frame(path, "receipts")


def test_corrupt_xlsx_is_a_read_error(tmp_path: Path):
    path = tmp_path / "receipts.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ExtractReadError, match="cannot read"):
        read_text_frame(path, "receipts")


def test_parquet_types_become_text(tmp_path: Path):
    table = pa.table(
        {
            "customer_id": pa.array(["0120", None]),
            "count": pa.array([3, None], type=pa.int64()),
            "amount": pa.array([1000.5, 12.0]),
            "exact": pa.array([Decimal("1000.50"), Decimal("-0.05")], type=pa.decimal128(12, 2)),
            "day": pa.array([dt.date(2026, 10, 31), None]),
            "stamp": pa.array([dt.datetime(2026, 9, 1), dt.datetime(2026, 9, 2)]),
        }
    )
    path = tmp_path / "customers.parquet"
    pq.write_table(table, path)
    frame = read_text_frame(path, "customers")
    assert frame["customer_id"].tolist() == ["0120", ""]
    assert frame["count"].tolist() == ["3", ""]
    assert frame["amount"].tolist() == ["1000.5", "12"]
    assert frame["exact"].tolist() == ["1000.50", "-0.05"]
    assert frame["day"].tolist() == ["2026-10-31", ""]
    assert frame["stamp"].tolist() == ["2026-09-01", "2026-09-02"]


def test_find_table_files_and_sha(tmp_path: Path):
    (tmp_path / "customers.csv").write_text("a\n")
    (tmp_path / "customers.parquet").write_bytes(b"x")
    (tmp_path / "customers.txt").write_text("a\n")
    assert [p.name for p in find_table_files(tmp_path, "customers")] == ["customers.csv", "customers.parquet"]
    # sha256 of b"a\n", computed independently
    import hashlib

    assert sha256_file(tmp_path / "customers.csv") == hashlib.sha256(b"a\n").hexdigest()


def test_problem_text_names_file_row_column_rule_value():
    problem = Problem("documents.csv", 5, "amount", "sign", "INV and DM amounts must be > 0", "-5.00")
    assert str(problem) == "documents.csv row 5, column amount: [sign] INV and DM amounts must be > 0 (value '-5.00')"
    assert problem.as_dict() == {
        "file": "documents.csv",
        "row": 5,
        "column": "amount",
        "rule": "sign",
        "message": "INV and DM amounts must be > 0",
        "value": "-5.00",
    }
    assert str(Problem("x.csv", None, None, "missing_table", "gone")) == "x.csv: [missing_table] gone"
