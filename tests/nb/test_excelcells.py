"""The pack's data cells planned by column blocks write the same workbook, byte for byte, as
deciding each cell alone (the loop this replaced, kept here as the reference)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        }
    )


@pytest.mark.parametrize("block", [3, 4096])
def test_the_planned_workbook_is_byte_for_byte_the_one_cell_at_a_time(tmp_path, monkeypatch, block):
    monkeypatch.setattr(excelcells, "BLOCK_ROWS", block)
    frame = _mixed(23)
    sheets = [
        Sheet(
            "Mixed",
            frame,
            money_columns=["amount", "open_amount"],
            currency_column="currency",
            rate_columns=["rate", "whole_rate"],
            title=["Title", "subtitle"],
            total=True,
            links={"customer_id": "memo"},
        ),
        Sheet("One currency", frame.drop(columns=["currency"]), money_columns=["amount"], currency="EUR", total=True),
        Sheet("No money", frame[["count", "days", "text"]]),
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
