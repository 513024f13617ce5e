"""The typed Parquet path (book/typed.py): date32 columns parsed without the text round
trip give the same frames and the same problems as the same book written as text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from closelib.book.load import load_book, validate_source
from closelib.book.schema import TABLES
from closelib.book.typed import is_typed, read_frame
from tests.conftest import write_source


def _as_parquet(csv_folder: Path, out: Path, typed_dates: bool, edit=None) -> Path:
    """Every CSV table as Parquet: all text, or with the date columns as date32 (empty
    cells as nulls); ``edit(name, table)`` may change a table first."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(csv_folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        columns = {}
        for name in frame.columns:
            kind = TABLES[path.stem].column(name).kind if name in TABLES[path.stem].column_names else "text"
            cells = frame[name].tolist()
            if typed_dates and kind == "date":
                days = [dt.date.fromisoformat(c) if c else None for c in cells]
                columns[name] = pa.array(days, pa.date32())
            else:
                columns[name] = pa.array(cells, pa.string())
        table = pa.table(columns)
        if edit is not None:
            table = edit(path.stem, table)
        pq.write_table(table, out / f"{path.stem}.parquet")
    return out


def test_typed_and_text_paths_give_the_same_frames(tmp_path, mini_source):
    text = load_book(_as_parquet(mini_source, tmp_path / "text", typed_dates=False))
    typed = load_book(_as_parquet(mini_source, tmp_path / "typed", typed_dates=True))
    assert set(text.tables) == set(typed.tables)
    for name, frame in text.tables.items():
        other = typed.tables[name]
        assert frame.equals(other), name
        assert list(frame.dtypes.astype(str)) == list(other.dtypes.astype(str)), name
    assert text.entity_currency == typed.entity_currency


def _set(table: pa.Table, column: str, row: int, value, type_) -> pa.Table:
    cells = table.column(column).to_pylist()
    cells[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(cells, type_))


def test_typed_problems_are_the_text_problems(tmp_path, mini_source):
    # A null required date, a date before 1900 and one after 2199, and an optional date
    # left empty: each typed column's problems are worded and ordered as the text's.
    def typed_edit(name, table):
        if name == "documents":
            table = _set(table, "document_date", 0, None, pa.date32())
            table = _set(table, "due_date", 1, dt.date(1850, 1, 1), pa.date32())
        if name == "receipts":
            table = _set(table, "receipt_date", 0, dt.date(2300, 5, 5), pa.date32())
        return table

    def text_edit(name, table):
        if name == "documents":
            table = _set(table, "document_date", 0, "", pa.string())
            table = _set(table, "due_date", 1, "1850-01-01", pa.string())
        if name == "receipts":
            table = _set(table, "receipt_date", 0, "2300-05-05", pa.string())
        return table

    typed = validate_source(_as_parquet(mini_source, tmp_path / "typed", True, typed_edit))
    text = validate_source(_as_parquet(mini_source, tmp_path / "text", False, text_edit))
    assert typed == text
    assert {(p.file, p.row, p.column, p.rule) for p in typed} >= {
        ("documents.parquet", 2, "document_date", "required"),
        ("documents.parquet", 3, "due_date", "date_range"),
        ("receipts.parquet", 2, "receipt_date", "date_range"),
    }


def test_read_frame_keeps_only_contract_date_columns_typed(tmp_path):
    path = tmp_path / "receipts.parquet"
    day = dt.date(2026, 1, 31)
    table = pa.table(
        {
            "receipt_id": pa.array(["R1"]),
            "receipt_date": pa.array([day], pa.date32()),
            "bank_reference": pa.array([day], pa.date32()),  # a text column holding a date
            "extra_day": pa.array([day], pa.date32()),  # not in the contract
        }
    )
    pq.write_table(table, path)
    frame = read_frame(path, "receipts")
    assert is_typed(frame["receipt_date"])
    assert not is_typed(frame["bank_reference"]) and frame["bank_reference"].tolist() == ["2026-01-31"]
    assert not is_typed(frame["extra_day"]) and frame["extra_day"].tolist() == ["2026-01-31"]
    csv_folder = write_source(tmp_path / "csv", {"receipts": [{"receipt_id": "R1"}]})
    assert not is_typed(read_frame(csv_folder / "receipts.csv", "receipts")["receipt_id"])


def test_prepared_strips_and_checks_the_key_where_the_file_is_read(tmp_path):
    folder = write_source(tmp_path / "csv", {"receipts": [{"receipt_id": " R1 "}, {"receipt_id": "R1"}]})
    frame = read_frame(folder / "receipts.csv", "receipts")
    assert frame["receipt_id"].tolist() == ["R1", "R1"]
    assert "receipt_id" in frame.attrs["stripped"]
    assert frame.attrs["distinct_key"] is False  # " R1 " stripped is R1 again
    other = read_frame(
        write_source(tmp_path / "b", {"receipts": [{"receipt_id": "R1"}, {"receipt_id": "R2"}]}) / "receipts.csv",
        "receipts",
    )
    assert other.attrs["distinct_key"] is True
