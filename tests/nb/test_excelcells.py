"""The pack's data cells written a column at a time (numbers, dates) and in reading order (text)
make the same workbook, byte for byte, as deciding each cell alone (the loop this replaced, kept
here as the reference); the vectorised pieces agree with what they replace."""

from __future__ import annotations

import gc
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import _datetime_to_excel_datetime

from closelib.nb import excel, excelcells
from closelib.nb.excel import Cover, Sheet, write_workbook


def _one_by_one(ws, frame, first_row, row_currency, is_money, is_rate, link_of, formats, write_value, write_link):
    """The loop ``write_sheet`` ran before: every cell decided alone, row by row."""
    for i, record in enumerate(frame.itertuples(index=False, name=None)):
        r = first_row + i
        for col, value in enumerate(record):
            if col in link_of and isinstance(link_of[col][i], str) and link_of[col][i] and not excel.missing(value):
                write_link(ws, r, col, str(value), link_of[col][i], formats)
            else:
                write_value(ws, r, col, value, row_currency[i] if is_money[col] else None, is_rate[col], formats)


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _both(tmp_path, monkeypatch, sheets, cover=None):
    monkeypatch.setattr(excel, "write_rows", _one_by_one)
    before = _members(write_workbook(tmp_path / "before.xlsx", sheets, cover=cover))
    monkeypatch.setattr(excel, "write_rows", excelcells.write_rows)
    after = _members(write_workbook(tmp_path / "after.xlsx", sheets, cover=cover))
    return before, after


def _mixed(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    floats = rng.normal(size=n) * 1000
    floats[::5] = np.nan
    floats[3 % n] = np.inf
    text = [["plain", "=SUM(A1)", "-minus", "@at", None, "", "\tTab", "ümlaut"][i % 8] for i in range(n)]
    mixed = [[1, "x", None, Decimal("1.5"), pd.Timestamp("2026-10-31"), True, 2.5, np.nan][i % 8] for i in range(n)]
    dates = pd.Series(pd.date_range("2026-01-01", periods=n, freq="D"))
    dates[::4] = pd.NaT
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "memo": [f"memos/C{i:04d}.html" if i % 3 else "" for i in range(n)],
            "currency": [["USD", "JPY", "BHD", "EUR"][i % 4] for i in range(n)],
            "amount": rng.integers(-(10**9), 10**9, size=n),
            "open_amount": np.where(np.arange(n) % 6 == 0, np.nan, rng.integers(-(10**6), 10**6, size=n)),
            "count": rng.integers(0, 50, size=n),
            "days": floats,
            "rate": rng.random(size=n),
            "whole_rate": rng.integers(0, 2, size=n),
            "flag": rng.random(size=n) > 0.5,
            "text": text,
            "mixed": mixed,
            "since": dates,
            "iso": [f"2026-10-{1 + i % 28:02d}" for i in range(n)],
            "strings": pd.Series([t if t is not None else None for t in text], dtype="str"),
            # money the column writer leaves to _write_value: missing (Int64), infinite, beyond 2**53
            "promised": pd.array([None if i % 3 == 0 else (-1) ** i * i * 1001 for i in range(n)], dtype="Int64"),
            "received": np.where(np.arange(n) % 7 == 1, np.inf, np.where(np.arange(n) % 2, np.nan, 125.0)),
            # 2**53 + 1 as a double is 2**53: over 100 it would round apart from the exact amount
            "huge": np.where(np.arange(n) % 2 == 0, 2**53 + 1 + 2 * np.arange(n), 2**53 - 1 - np.arange(n)),
            "small_count": np.arange(n, dtype="uint16"),
            "nullable_count": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
            "ratio32": (rng.random(size=n) * 100).astype("float32"),
            "stamp": pd.Series(
                [
                    [
                        pd.Timestamp("1899-12-30 06:00"),
                        pd.Timestamp("1900-01-01 12:34:56.789012"),
                        pd.Timestamp("1900-02-28 23:59:59.999999"),
                        pd.Timestamp("1900-03-01"),
                        pd.NaT,
                        pd.Timestamp("2026-10-31 17:45:00.000001"),
                    ][i % 6]
                    for i in range(n)
                ]
            ),
            "nanos": pd.Series(pd.date_range("2026-01-01 00:00:00.000000001", periods=n, freq="37h")),
            "seconds": pd.Series(pd.date_range("1969-12-31 23:59", periods=n, freq="D")).astype("datetime64[s]"),
            "status": pd.Categorical([["open", "=paid", None][i % 3] for i in range(n)]),
        }
    )


@pytest.mark.filterwarnings("ignore:Discarding nonzero nanoseconds")  # as before: a datetime has none
@pytest.mark.parametrize("block", [3, 4096])
def test_the_planned_workbook_is_byte_for_byte_the_one_cell_at_a_time(tmp_path, monkeypatch, block):
    monkeypatch.setattr(excelcells, "BLOCK_ROWS", block)
    frame = _mixed(23)
    sheets = [
        Sheet(
            "Mixed",
            frame,
            money_columns=["amount", "open_amount", "promised", "huge"],
            currency_column="currency",
            rate_columns=["rate", "whole_rate"],
            title=["Title", "subtitle"],
            total=True,
            links={"customer_id": "memo"},
        ),
        Sheet("One currency", frame.drop(columns=["currency"]), money_columns=["amount"], currency="EUR", total=True),
        Sheet("No money", frame[["count", "days", "text"]]),
        # rows without a currency: their money is decided one by one (written as a count)
        Sheet(
            "Some currencies",
            frame.assign(
                currency=pd.Series([None if i % 3 == 1 else c for i, c in enumerate(frame["currency"])], dtype=object)
            ),
            money_columns=["amount", "promised"],
            currency_column="currency",
            total=True,
        ),
        # (an infinite amount has no width to measure: the sheet gives one)
        Sheet(
            "Infinite money",
            frame[["currency", "received", "text"]],
            ["received"],
            currency_column="currency",
            widths={"received": 12},
        ),
        Sheet("Empty", frame.iloc[:0]),
    ]
    cover = Cover(company="Co", workpaper="W", period="2026-10", period_end=date(2026, 10, 31), run_id="r1")
    before, after = _both(tmp_path, monkeypatch, sheets, cover)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name] == after[name], name


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.integers(-(10**12), 10**12),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=6),
            st.booleans(),
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
        ),
        min_size=1,
        max_size=12,
    ),
    money=st.booleans(),
)
def test_any_object_column_is_written_as_before(tmp_path_factory, values, money):
    tmp_path = tmp_path_factory.mktemp("x")
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object), "n": range(len(values))})
    sheets = [Sheet("S", frame, money_columns=["n"] + (["v"] if money else []), currency="USD")]
    outcomes = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(excelcells, "BLOCK_ROWS", 5)
        for name, writer in (("before", _one_by_one), ("after", excelcells.write_rows)):
            monkeypatch.setattr(excel, "write_rows", writer)
            try:
                outcomes.append(_members(write_workbook(tmp_path / f"{name}.xlsx", sheets)))
            except Exception as exc:  # a value the writer refuses must be refused the same way by both
                outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]


@settings(max_examples=200, deadline=None)
@given(
    stamps=st.lists(
        st.datetimes(min_value=datetime(1677, 9, 22), max_value=datetime(2262, 4, 10))
        | st.sampled_from([datetime(1900, 1, 1), datetime(1900, 1, 1, 23, 59), datetime(1900, 2, 28, 12)])
        | st.sampled_from([datetime(1900, 3, 1), datetime(1899, 12, 31), datetime(1899, 12, 30, 18)]),
        min_size=1,
        max_size=20,
    )
)
def test_excel_serials_are_xlsxwriters(stamps):
    serials = excelcells.excel_serials(np.array(stamps, dtype="datetime64[us]"))
    assert serials is not None
    assert serials.tolist() == [_datetime_to_excel_datetime(s, False, False) for s in stamps]


def test_excel_serials_by_hand_and_nanoseconds_left_to_datetime():
    stamps = np.array(["1900-01-01", "1900-02-28", "1900-03-01", "2026-10-31T18:00"], dtype="datetime64[ns]")
    # 1900-01-01 as a datetime is 0 in XlsxWriter (its rule for a time alone); 1900-02-29 is Excel's leap day
    assert excelcells.excel_serials(stamps).tolist() == [0.0, 59.0, 61.0, 46326.75]
    assert excelcells.excel_serials(np.array(["2026-10-31T00:00:00.000000001"], dtype="datetime64[ns]")) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**63 - 1) | st.sampled_from([0, 9, 10, 99, 100, 10**18 - 1, 10**18]), min_size=1))
def test_digit_count_is_the_length_of_the_text(values):
    whole = np.array(values, dtype="int64")
    assert excel._digit_count(whole).tolist() == [len(str(v)) for v in values]
    assert excel._digit_count(np.abs(np.array([-(2**63)], dtype="int64"))).tolist() == [20]  # as its text was


def _old_dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """dates_as_dates as it was: the first 20 values checked with pandas' string methods."""
    converted = {}
    for name in frame.columns:
        column = frame[name]
        if column.empty or not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        head = column.dropna().head(20).astype("string")
        head = head[head != ""]
        if head.empty or not bool(head.str.fullmatch(excel.ISO_DATE).all()):
            continue
        text = column.astype("string")
        present = text.notna() & (text != "")
        if bool(text[present].str.fullmatch(excel.ISO_DATE).all()):
            converted[name] = pd.to_datetime(text.where(present), format="%Y-%m-%d", errors="coerce")
    return frame.assign(**converted) if converted else frame


DATEISH = st.sampled_from(
    ["2026-10-31", "2026-02-29", "", "2026-10-31\n", "\u0662026-10-31", "26-10-31", "x", "2026-1-1"]
)


@settings(max_examples=100, deadline=None)
@given(head=st.lists(DATEISH | st.none(), max_size=30), tail=st.lists(DATEISH | st.none(), max_size=80))
def test_dates_as_dates_decides_as_before(head, tail):
    values = head + tail
    for dtype in ("str", "string", object):
        frame = pd.DataFrame({"d": pd.Series(values, dtype=dtype)})
        pd.testing.assert_frame_equal(excel.dates_as_dates(frame), _old_dates_as_dates(frame))


def test_dates_as_dates_looks_past_the_first_rows_for_twenty_values():
    column = pd.Series([None] * 100 + ["2026-10-31"] * 5 + ["not a date"], dtype="str")
    assert excel.dates_as_dates(pd.DataFrame({"d": column}))["d"].dtype == "str"  # the 21st value is never seen
    column = pd.Series([None] * 100 + ["2026-10-31"] * 30, dtype="str")
    assert excel.dates_as_dates(pd.DataFrame({"d": column}))["d"].dtype.kind == "M"


def test_the_collector_is_paused_while_writing_and_left_as_found(tmp_path, monkeypatch):
    seen = []
    real = excel.write_sheet

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(excel, "write_sheet", spy)
    sheets = [Sheet("S", pd.DataFrame({"n": [1, 2]}))]
    assert gc.isenabled()
    write_workbook(tmp_path / "a.xlsx", sheets)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        write_workbook(tmp_path / "b.xlsx", sheets)
        assert not gc.isenabled()  # the caller's choice stands
    finally:
        gc.enable()
    monkeypatch.setattr(excel, "write_sheet", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_workbook(tmp_path / "c.xlsx", sheets)
    assert gc.isenabled() and not list(tmp_path.glob(".xlsx-*"))


def test_a_written_workbook_leaves_no_garbage_for_a_later_collection(tmp_path):
    frame = pd.DataFrame({"n": range(20_000), "t": [f"t{i}" for i in range(20_000)]})
    gc.collect()
    write_workbook(tmp_path / "a.xlsx", [Sheet("S", frame)])
    assert gc.collect() < 1_000  # its cells (a cycle of workbook and sheets) were freed at once


def test_text_in_number_columns_keeps_its_order_in_the_shared_strings(tmp_path, monkeypatch):
    """An infinity is written as text ("inf") between the text of its row: the shared-string table
    numbers it where reading order puts it."""
    frame = pd.DataFrame({"a": ["x", "y", "z"], "r": [np.inf, 1.0, -np.inf], "b": ["p", "q", "inf"]})
    before, after = _both(tmp_path, monkeypatch, [Sheet("S", frame)])
    assert before == after
    strings = re.findall(rb"<t>([^<]*)</t>", after["xl/sharedStrings.xml"])
    assert strings[:2] == [b"a", b"r"] and strings[3:] == [b"x", b"inf", b"p", b"y", b"q", b"z", b"-inf"]
