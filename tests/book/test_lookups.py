"""Lookups that hash the smaller side (arrays.positions) find what a plain index_in finds;
text helpers read from Arrow offsets agree with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.book.arrays import combined, empty_cells, isin, lookup, positions, stripped_text
from closelib.book.rulekit import shared_codes, text_at

IDS = st.lists(st.sampled_from(["D1", "D2", "D3", "D10", "", "x y", "Ω"]), max_size=30)


def _plain(keys: list, table: list) -> list[int]:
    where = pc.index_in(pa.array(keys, pa.string()), value_set=pa.array(table, pa.string()))
    return np.asarray(pc.fill_null(where, -1), dtype="int64").tolist()


@settings(max_examples=200, deadline=None)
@given(IDS, IDS)
def test_positions_equal_index_in_either_way(keys, table):
    # Either side may be the smaller: few keys against a big table are hashed as keys.
    assert positions(pa.array(keys, pa.string()), pa.array(table, pa.string())).tolist() == _plain(keys, table)


def test_positions_first_occurrence_nulls_and_chunks():
    table = pa.chunked_array([pa.array(["A", "B"], pa.large_string()), pa.array(["A", "C", "B"], pa.large_string())])
    keys = pa.array(["B", None, "A", "Z"], pa.string())
    assert positions(keys, table).tolist() == [1, -1, 0, -1]  # the first row of a repeated id
    assert positions(pa.array([], pa.string()), table).tolist() == []
    assert positions(pa.array([None, None], pa.string()), table).tolist() == [-1, -1]  # no key to hash


def test_isin_and_lookup_as_pandas():
    values = pd.Series(["D1", "D9", "", "D2"], dtype="str")
    choices = pd.Series([f"D{i}" for i in range(100)], dtype="str")
    assert isin(values, choices).tolist() == values.isin(choices.tolist()).tolist()
    mapping = pd.Series(["USD", "SGD", "JPY"], index=pd.Index(["D1", "D2", "D1"], dtype="str"), dtype="str")
    assert lookup(values, mapping).fillna("-").tolist() == ["USD", "-", "-", "SGD"]  # first entry wins


def test_combined_does_not_copy_a_single_chunk():
    array = pa.array(["a", "b"], pa.large_string())
    assert combined(pa.chunked_array([array])) is not None
    assert combined(pa.chunked_array([array])).buffers()[2].address == array.buffers()[2].address


TEXT = st.lists(st.one_of(st.none(), st.text(alphabet="ab \t\u00a0\u3000\n—", max_size=5)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_stripped_and_empty_as_pandas(cells):
    column = pd.Series(cells, dtype="str")
    expected = column.fillna("").str.strip()
    assert stripped_text(column).tolist() == expected.tolist()
    assert empty_cells(expected).tolist() == (expected == "").tolist()
    sliced = expected.iloc[1:]  # an Arrow array with an offset
    assert empty_cells(sliced).tolist() == (sliced == "").tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["USD", "EUR", "", "Ω", None]), max_size=20),
    st.lists(st.sampled_from(["EUR", "JPY", None]), max_size=20),
)
def test_shared_codes_equal_exactly_where_the_texts_do(left, right):
    (a, b), texts = shared_codes(pd.Series(left, dtype="str"), pd.Series(right, dtype="str"))
    assert text_at(a, texts).tolist() == left and text_at(b, texts).tolist() == right
    assert ((a == -1) == [x is None for x in left]).all() and ((b == -1) == [x is None for x in right]).all()
    same = [[x == y and x is not None for y in right] for x in left]
    assert [[x == y and x != -1 for y in b] for x in a] == same
    assert text_at(np.array([-1, 0][: 1 + bool(len(texts))]), texts)[0] is None


def _old_edge_space(array: pa.ChunkedArray) -> bool:
    """arrays._edge_space before its blocked gathers (the reference): exact per cell."""
    for chunk in array.chunks:
        for cell in chunk.to_pylist():
            data = (cell or "").encode()
            if data and any(b <= 0x20 or b >= 0x7F for b in (data[0], data[-1])):
                return True
    return False


EDGES = st.lists(st.one_of(st.none(), st.text(alphabet="ab~! \t\u00a0\x7f\x00é", max_size=4)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(EDGES, max_size=3), st.integers(0, 2), st.sampled_from([1, 2, 5, 1 << 16]))
def test_edge_space_never_misses_an_edge(chunks, cut, block):
    from closelib.book import arrays

    parts = [pa.array(cells, pa.large_string()).slice(min(cut, len(cells))) for cells in chunks]  # offsets
    array = pa.chunked_array(parts, pa.large_string())
    was, arrays._BLOCK = arrays._BLOCK, block
    try:
        found = arrays._edge_space(array)
    finally:
        arrays._BLOCK = was
    expected = _old_edge_space(array)
    assert found or not expected  # an edge is never missed
    if not any(cell in ("", None) for cell in array.to_pylist()):
        assert found == expected  # and only an empty cell may look like one


def test_edge_space_by_hand():
    from closelib.book.arrays import _edge_space

    def edge(*cells):
        return _edge_space(pa.chunked_array([pa.array(list(cells), pa.large_string())]))

    assert not edge("a", "b c", "~!")
    assert edge("a", " b") and edge("a", "b ") and edge("é", "a") and edge("a\x7f")
    assert not edge("a b", "c")  # a space inside a cell is no edge


IDS = st.lists(st.text(alphabet="AB-01é", min_size=0, max_size=30), max_size=40)


@settings(max_examples=300, deadline=None)
@given(IDS, st.integers(0, 3), st.sampled_from([1, 3, 1 << 16]), st.booleans())
def test_all_distinct_is_the_set_count(cells, cut, block, large):
    from closelib.book import arrays

    array = pa.array(cells, pa.large_string() if large else pa.string()).slice(min(cut, len(cells)))
    kept = cells[min(cut, len(cells)) :]
    was, arrays._BLOCK = arrays._BLOCK, block
    try:
        shown, found = arrays._hashes_distinct(array), arrays.all_distinct(array)
    finally:
        arrays._BLOCK = was
    assert found == (len(set(kept)) == len(kept))
    assert not shown or found  # never shown distinct when a cell repeats
    if found and len(kept) >= 2 and all(8 <= len(c.encode()) <= 24 for c in kept):
        assert shown  # every byte hashed: distinct cells, distinct hashes (but for 2^-64 odds)


def test_all_distinct_by_hand():
    from closelib.book.arrays import _hashes_distinct, all_distinct

    ids = ["US01-INV-0000001", "US01-INV-0000002", "SG01-CM-0000001"]
    assert _hashes_distinct(pa.array(ids)) and all_distinct(pa.array(ids))
    assert not all_distinct(pa.array([*ids, "US01-INV-0000002"]))
    assert not _hashes_distinct(pa.array([*ids, "US01-INV-0000002"]))
    # Cells that differ in one middle byte only (of 24): still told apart.
    assert _hashes_distinct(pa.array(["AAAAAAAAAAAxAAAAAAAAAAAA", "AAAAAAAAAAAyAAAAAAAAAAAA"]))
    # A short cell: not shown by hashes, the exact count decides.
    assert not _hashes_distinct(pa.array(["A1", "A2"])) and all_distinct(pa.array(["A1", "A2"]))
    assert not all_distinct(pa.array(["A1", "A1"]))
    assert all_distinct(pa.chunked_array([pa.array(ids[:1]), pa.array(ids[1:])]))  # two chunks
    assert not all_distinct(pa.array([None, None, "US01-INV-0000001"]))  # a null counts as a value
