"""``rows_of``: a customer's rows taken chunk by chunk are ``frame.iloc[rows]``, dtypes and index included."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.credit.customerbook import chunked, rows_of, stable_order


def _frame(n: int, chunks: int) -> pd.DataFrame:
    """``n`` rows whose Arrow columns are split in ``chunks`` chunks, as a book read from Parquet is."""
    cuts = np.linspace(0, n, chunks + 1).astype(int)

    def chunked(values, type_):
        array = pa.array(values, type=type_)
        return pa.chunked_array([array[a:b] for a, b in itertools.pairwise(cuts)], type=type_)

    ids = [f"D{i:05d}" if i % 7 else None for i in range(n)]
    return pd.DataFrame(
        {
            "document_id": pd.arrays.ArrowStringArray(
                chunked(ids, pa.large_string()), dtype=pd.StringDtype(na_value=np.nan)
            ),
            "flag": pd.arrays.ArrowExtensionArray(chunked([i % 3 == 0 for i in range(n)], pa.bool_())),
            "amount": np.arange(n, dtype="int64") * 100 - 5_000,
            "date": pd.date_range("2026-01-01", periods=n, freq="D"),
        },
        index=pd.RangeIndex(10, 10 + n),
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    chunks=st.integers(1, 6),
    picks=st.lists(st.integers(0, 10_000), max_size=30),
)
def test_rows_of_is_iloc(n, chunks, picks):
    frame = _frame(n, min(chunks, n))
    rows = np.unique(np.array([p % n for p in picks], dtype="int64"))
    taken = rows_of(frame, rows)
    pd.testing.assert_frame_equal(taken, frame.iloc[rows])
    assert list(taken.dtypes) == list(frame.dtypes)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), chunks=st.integers(1, 4), picks=st.lists(st.integers(0, 10_000), max_size=20))
def test_a_frame_of_whole_columns_is_taken_by_pandas_as_rows_of_takes_it(n, chunks, picks):
    """customer_book takes a table none of whose columns is chunked with pandas' take: the same
    frame as rows_of (and iloc) gives."""
    frame = _frame(n, min(chunks, n))
    whole = not any(chunked(frame[c]) for c in frame.columns)
    assert whole == (min(chunks, n) == 1)
    rows = np.unique(np.array([p % n for p in picks], dtype="int64"))
    if whole:
        pd.testing.assert_frame_equal(frame.take(rows), rows_of(frame, rows))
        assert list(frame.take(rows).dtypes) == list(frame.dtypes)


def test_rows_from_several_chunks_by_hand():
    frame = _frame(10, 3)  # chunks of rows 0-2, 3-5, 6-9
    taken = rows_of(frame, np.array([0, 2, 5, 9]))
    assert taken["document_id"].tolist()[1:] == ["D00002", "D00005", "D00009"]
    assert pd.isna(taken["document_id"].iloc[0])  # row 0 had no id
    assert taken.index.tolist() == [10, 12, 15, 19]
    assert taken["amount"].tolist() == [-5_000, -4_800, -4_500, -4_100]


@given(st.lists(st.integers(-1, 2**40), max_size=60), st.sampled_from([1, 2**10, 2**20, 2**40]))
def test_the_stable_order_is_numpys_whatever_the_codes_size(values, cap):
    codes = np.array([v % (cap + 1) - 1 for v in values], dtype="int64")  # -1 (no customer) to cap - 1
    assert np.array_equal(stable_order(codes), np.argsort(codes, kind="stable"))


def test_chunked_is_an_arrow_column_of_several_chunks():
    assert chunked(_frame(6, 2)["document_id"]) and chunked(_frame(6, 3)["flag"])
    assert not chunked(_frame(6, 1)["document_id"]) and not chunked(_frame(6, 2)["amount"])
