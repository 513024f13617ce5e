"""The typed Parquet path (book/typed.py): date32 columns parsed without the text round
trip give the same frames and the same problems as the same book written as text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.book import typed
from closelib.book.arrays import stripped_text
from closelib.book.extracts import _arrow_column_text
from closelib.book.load import load_book, validate_source
from closelib.book.moneytext import encode
from closelib.book.schema import TABLES
from closelib.book.typed import _dictionary_text, _increasing, _read_whole, as_text, is_typed, prepared, read_frame
from closelib.errors import ExtractReadError
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


def _plain_read(path: Path, table: str) -> pd.DataFrame:
    """read_frame as it was before money was read as dictionaries (closelib c8b1be5)."""
    arrow = pq.read_table(path)
    dates = {c.name for c in TABLES[table].columns if c.kind == "date"}
    names = [str(name).lstrip("\ufeff") for name in arrow.column_names]
    columns = {}
    for i, (name, column) in enumerate(zip(names, arrow.columns, strict=True)):
        if name in dates and pa.types.is_date32(column.type) and names.count(name) == 1:
            columns[i] = pd.Series(pd.arrays.ArrowExtensionArray(column))
        else:
            columns[i] = _arrow_column_text(column)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows))
    frame.columns = names
    if len(set(names)) == len(names):
        for column in TABLES[table].columns:
            if column.name in frame.columns and not is_typed(frame[column.name]):
                frame[column.name] = stripped_text(frame[column.name])
    return frame


AMOUNTS = st.one_of(st.none(), st.sampled_from(["", "12.50", " 7", "7", "-0.001", "1,5", "x", "99999999999999999"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(AMOUNTS, AMOUNTS), min_size=0, max_size=30),
    st.integers(1, 7),
    st.sampled_from(["plain", "dictionary", "double", "twice"]),
)
def test_money_read_as_dictionaries_gives_the_plain_frame(tmp_path, rows, group, form):
    """Money read as Parquet dictionaries (per row group, with nulls, cells to strip, a
    column already dictionary-typed, a money column that is not text, a header naming it
    twice) gives the plain read's frame, and its reader-made text rules are the column's."""
    debit = pa.array([a for a, _ in rows], pa.string())
    credit = pa.array([b for _, b in rows], pa.string())
    if form == "dictionary":
        credit = credit.dictionary_encode()
    if form == "double":
        credit = pa.array([float(len(b or "")) if b is not None else None for _, b in rows], pa.float64())
    names = ["debit", "credit" if form != "twice" else "debit", "entity"]
    table = pa.table([debit, credit, pa.array(["E1"] * len(rows))], names=names)
    path = tmp_path / "gl_journal.parquet"
    pq.write_table(table, path, row_group_size=group)
    try:
        theirs = _plain_read(path, "gl_journal")
    except pa.ArrowException as exc:  # the plain read fails (a header naming a column twice)
        with pytest.raises(ExtractReadError) as raised:
            read_frame(path, "gl_journal")
        assert str(raised.value) == f"cannot read gl_journal.parquet: {exc}"
        return
    ours = read_frame(path, "gl_journal")
    # A money column read as dictionaries stays coded (its text made when a problem shows it).
    coded = [name for name in ours.attrs["codes"] if ours.columns.tolist().count(name) == 1]
    assert all(is_typed(ours[name]) for name in coded)
    as_read = pd.concat([as_text(ours.iloc[:, i]) for i in range(ours.shape[1])], axis=1)
    as_read.columns = ours.columns
    pd.testing.assert_frame_equal(as_read, theirs)
    assert [str(t) for t in as_read.dtypes] == [str(t) for t in theirs.dtypes]
    for name, text in ours.attrs.get("money_text", {}).items():
        digits = np.full(len(rows), 2)
        for a, b in zip(text.parse(digits), encode(theirs[name]).parse(digits), strict=True):
            assert a.tolist() == b.tolist()
        assert text.rows_empty().tolist() == (theirs[name] == "").tolist()


def test_row_groups_share_one_dictionary(tmp_path):
    """The distinct texts of a column of many row groups: each text once."""
    table = pa.table({"debit": pa.array(["1.00", "2.00", "1.00", None, "3.00", "2.00"] * 50)})
    pq.write_table(table, tmp_path / "gl_journal.parquet", row_group_size=7)
    frame = read_frame(tmp_path / "gl_journal.parquet", "gl_journal")
    distinct = sorted(frame.attrs["money_text"]["debit"].unscaled.tolist())
    assert distinct == [0, 100, 200, 300]  # "" (the nulls) and the three amounts
    column = pq.read_table(tmp_path / "gl_journal.parquet", read_dictionary=["debit"])["debit"]
    assert column.num_chunks > 1
    text, (distinct, codes) = _dictionary_text(column)
    assert len(distinct) == 4 and distinct.take(pa.array(codes)).to_pylist() == text.tolist()
    assert text.tolist() == ["1.00", "2.00", "1.00", "", "3.00", "2.00"] * 50


def test_dictionary_read_columns_give_the_plain_problems(tmp_path, mini_source, monkeypatch):
    """Enum, currency, period and money columns read as dictionaries (their rules looked
    up once per distinct text) give the problems of the plain read, in the same order."""

    def edit(name, table):
        if name == "documents":
            table = _set(table, "doc_type", 0, "XX", pa.string())
            table = _set(table, "currency", 1, "ZZZ", pa.string())
            table = _set(table, "amount", 2, " 1,5", pa.string())
            table = _set(table, "amount", 3, "12.345", pa.string())
            table = _set(table, "amount", 4, None, pa.string())
        if name == "gl_balances":
            table = _set(table, "period", 0, "1850-01", pa.string())
            table = _set(table, "period", 1, "2026-1", pa.string())
            table = _set(table, "currency", 2, " usd", pa.string())
        return table

    source = _as_parquet(mini_source, tmp_path / "book", False, edit)
    ours = validate_source(source)
    monkeypatch.setattr("closelib.book.typed.CODED_KINDS", ())
    theirs = validate_source(source)
    assert ours == theirs
    assert {(p.file, p.column, p.rule) for p in ours} >= {
        ("documents.parquet", "doc_type", "enum"),
        ("documents.parquet", "currency", "currency"),
        ("documents.parquet", "amount", "decimal"),
        ("gl_balances.parquet", "period", "period_range"),
        ("gl_balances.parquet", "period", "period"),
    }


def test_keys_in_order_are_distinct_without_hashing():
    def prepared_key(ids):
        frame = pd.DataFrame({"document_id": pd.Series(ids, dtype="str")})
        return prepared(frame, "documents").attrs["distinct_key"]

    assert _increasing(pa.array(["A1", "A2", "B1"])) and prepared_key(["A1", "A2", "B1"])
    assert not _increasing(pa.array(["A1", "A1", "B1"])) and not prepared_key(["A1", "A1", "B1"])
    assert not _increasing(pa.array(["B1", "A1"])) and prepared_key(["B1", "A1"])  # hashed
    assert not _increasing(pa.array(["A1", None, "B1"]))
    assert not prepared_key(["A1", "B1", "A1"])


def test_parquet_read_whole_with_or_without_its_arrow_schema(tmp_path):
    # Written in two row groups; once with pyarrow's Arrow schema in the file (pandas,
    # pyarrow), once without (Spark and most other writers): the same frame either way.
    table = pa.table(
        {
            "document_id": [f"D{i}" for i in range(6)],
            "doc_type": ["INV", "CM", "INV", "DM", "INV", "INV"],
            "amount": ["1.00", "2.50", " 3", "", "1.00", "4"],
            "description": ["a", None, "b ", "c", "d", "e"],
        }
    )
    frames = []
    for stored in (True, False):
        path = tmp_path / f"documents-{stored}.parquet"
        pq.write_table(table, path, row_group_size=3, store_schema=stored)
        whole = _read_whole(path, ["doc_type", "amount"])
        assert whole.column_names == table.column_names
        assert whole.column("description").num_chunks == 1  # dictionaries: one chunk per row group
        assert pa.types.is_dictionary(whole.schema.field("amount").type)
        if not stored:  # text comes as pandas keeps it: nothing to cast or join
            assert whole.schema.field("description").type == pa.large_string()
        frames.append(read_frame(path, "documents"))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[1]["description"].tolist() == ["a", "", "b", "c", "d", "e"]  # stripped
    assert frames[1]["amount"].tolist() == ["1.00", "2.50", "3", "", "1.00", "4"]


def test_parquet_column_named_twice_is_read_whole(tmp_path):
    path = tmp_path / "documents.parquet"
    pq.write_table(pa.table([pa.array(["1"]), pa.array(["2"])], names=["amount", "amount"]), path)
    assert _read_whole(path, ["amount"]).column_names == ["amount", "amount"]


def _old_dictionary_text(column: pa.ChunkedArray, keep_coded: bool = False):
    """typed._dictionary_text before its codes skipped the int64 positions (the reference)."""
    start: dict[tuple, int] = {}
    parts: list[pa.Array] = []
    size = 0
    key = typed._identity
    for chunk in column.chunks:
        if chunk.dictionary.null_count:
            return None
        if key(chunk.dictionary) not in start:
            start[key(chunk.dictionary)], size = size, size + len(chunk.dictionary)
            parts.append(chunk.dictionary.cast(pa.large_string()))
    parts.append(pa.array([""], type=pa.large_string()))
    joined = pc.dictionary_encode(pa.concat_arrays(parts))
    where = np.asarray(joined.indices)
    codes = np.empty(len(column), dtype=where.dtype)
    row = 0
    for chunk in column.chunks:
        indices = chunk.indices
        positions = np.asarray(pc.fill_null(indices, 0), dtype="int64") + start[key(chunk.dictionary)]
        if indices.null_count:
            positions[np.asarray(indices.is_null())] = size
        codes[row : row + len(chunk)] = where[positions]
        row += len(chunk)
    if keep_coded:
        coded = pa.DictionaryArray.from_arrays(pa.array(codes), joined.dictionary)
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([coded]))), (joined.dictionary, codes)
    return pd.Series(pc.take(joined.dictionary, pa.array(codes)), dtype="str"), (joined.dictionary, codes)


_texts = st.lists(st.sampled_from(["", " ", "a", "b", "USD", "1.5", "é"]), min_size=0, max_size=6)


@st.composite
def _dictionary_columns(draw) -> pa.ChunkedArray:
    """Chunks of dictionary-encoded text: own or shared dictionaries (repeated entries and
    "" allowed), null cells, empty chunks, string or large_string."""
    value_type = draw(st.sampled_from([pa.string(), pa.large_string()]))
    dictionaries = [pa.array(texts, type=value_type) for texts in draw(st.lists(_texts, min_size=1, max_size=3))]
    chunks = []
    for _ in range(draw(st.integers(0, 4))):
        dictionary = draw(st.sampled_from(dictionaries))
        width = len(dictionary)
        cells = draw(st.lists(st.integers(0, width - 1) if width else st.none(), max_size=8))
        if width:
            cells = [draw(st.sampled_from([cell, None])) for cell in cells]
        indices = pa.array(cells, type=pa.int32())
        chunks.append(pa.DictionaryArray.from_arrays(indices, dictionary))
    return pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), value_type))


@given(column=_dictionary_columns(), keep_coded=st.booleans())
@settings(max_examples=300, deadline=None)
def test_dictionary_codes_are_the_old_ones(column, keep_coded):
    new, old = _dictionary_text(column, keep_coded), _old_dictionary_text(column, keep_coded)
    assert (new is None) == (old is None)
    if new is not None:
        assert new[1][0].equals(old[1][0])
        assert new[1][1].dtype == old[1][1].dtype
        np.testing.assert_array_equal(new[1][1], old[1][1])
        assert new[0].dtype == old[0].dtype
        assert as_text(new[0]).tolist() == as_text(old[0]).tolist()


def test_one_dictionary_without_repeats_is_its_own_codes():
    # One chunk, no null, no repeated text: the indices Arrow read are the codes, no copy.
    chunk = pa.DictionaryArray.from_arrays(pa.array([2, 0, 1, 0], pa.int32()), pa.array(["b", "a", "c"]))
    _, (distinct, codes) = _dictionary_text(pa.chunked_array([chunk]))
    assert distinct.to_pylist() == ["b", "a", "c", ""]
    assert codes.tolist() == [2, 0, 1, 0]
    assert not codes.flags.writeable  # Arrow's own buffer
    # A repeated text: the codes are mapped ("a" twice: both rows read 1).
    chunk = pa.DictionaryArray.from_arrays(pa.array([2, 1, 0], pa.int32()), pa.array(["b", "a", "a"]))
    _, (distinct, codes) = _dictionary_text(pa.chunked_array([chunk]))
    assert distinct.to_pylist() == ["b", "a", ""]
    assert codes.tolist() == [1, 1, 0]
    # A null cell reads as "" (a new last text, or the dictionary's own "").
    chunk = pa.DictionaryArray.from_arrays(pa.array([None, 0], pa.int32()), pa.array(["x", ""]))
    _, (distinct, codes) = _dictionary_text(pa.chunked_array([chunk]))
    assert distinct.to_pylist() == ["x", ""]
    assert codes.tolist() == [1, 0]


def test_an_index_outside_its_dictionary_takes_the_plain_path():
    # Arrow does not check indices unless asked: such a column is not mapped (no wrong text).
    for cells in ([0, 2], [-1, 0]):
        chunk = pa.DictionaryArray.from_arrays(pa.array(cells, pa.int32()), pa.array(["a", "b"]), safe=False)
        assert _dictionary_text(pa.chunked_array([chunk])) is None
        two = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array(["c"])), chunk])
        assert _dictionary_text(two) is None
