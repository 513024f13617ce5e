"""Arrow and pandas helpers on text columns: vectorised lookups, membership, text forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def stripped_text(column: pd.Series) -> pd.Series:
    """Cells as stripped text (pandas' Arrow-backed "str" dtype), empty for missing."""
    if column.dtype == "str":  # already text (the CSV and Parquet readers): no object round trip
        array = column.array.__arrow_array__()
        if array.null_count == 0 and not _edge_space(array):
            return column  # nothing to strip or fill: the column itself, no copy
        return column.fillna("").str.strip()
    return column.astype(object).fillna("").astype(str).str.strip()


def _offsets(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end) byte offsets of each cell of a (large_)string chunk, and its bytes."""
    _, offsets, data = chunk.buffers()
    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    bounds = np.frombuffer(offsets, dtype="int64" if wide else "int32")[chunk.offset : chunk.offset + len(chunk) + 1]
    raw = np.frombuffer(data, dtype="uint8") if data is not None else np.zeros(0, dtype="uint8")
    return bounds[:-1], bounds[1:], raw


def _edge_space(array: pa.ChunkedArray) -> bool:
    """Some cell may start or end with whitespace: its first or last byte is a control
    character, a space or not ASCII (Unicode spaces are). Read from the offsets, no copy.

    May say True of a column with no such cell (an empty cell's "edges" are its neighbours'
    bytes, or bytes beside the cells): the caller then strips, which changes nothing."""
    for chunk in array.chunks:
        starts, ends, raw = _offsets(chunk)
        used = raw[int(starts[0]) : int(ends[-1])] if len(starts) else raw[:0]
        if not len(used) or (used.min() > 0x20 and used.max() < 0x7F):
            continue  # no such byte anywhere (ids, codes, amounts): no cell needs the gathers below
        if _edge_bytes_outside(starts, ends, raw):
            return True
    return False


_BLOCK = 1 << 16  # rows per block: small temporaries, reused, not a million rows' fresh pages


def _edge_bytes_outside(starts: np.ndarray, ends: np.ndarray, raw: np.ndarray) -> bool:
    """Some cell's first or last byte lies outside "!".."~" (0x21..0x7E). An empty cell
    reads the bytes beside it (the clip keeps them inside ``raw``): at worst a True."""
    block = min(len(starts), _BLOCK)
    index = np.empty(block, dtype="int64")
    edge = np.empty(block, dtype="uint8")
    for row in range(0, len(starts), _BLOCK):
        n = min(_BLOCK, len(starts) - row)
        for positions, shift in ((starts, 0), (ends, -1)):
            np.add(positions[row : row + n], shift, out=index[:n])
            np.take(raw, index[:n], out=edge[:n], mode="clip")
            # 0x21..0x7E shifted down by 0x21 (uint8 wraps): 0..0x5D; any other byte is larger.
            np.subtract(edge[:n], 0x21, out=edge[:n])
            if edge[:n].max() > 0x7E - 0x21:
                return True
    return False


def empty_cells(values: pd.Series) -> np.ndarray:
    """``values == ""`` as a bool array: cells of no bytes, from the offsets of Arrow-backed
    text without a null (other columns are compared as pandas does)."""
    if values.dtype != "str" or values.hasnans:
        return np.asarray(values == "", dtype=bool)
    chunks = values.array.__arrow_array__().chunks
    if not chunks:
        return np.zeros(len(values), dtype=bool)
    return np.concatenate([np.equal(*_offsets(chunk)[:2]) for chunk in chunks])


def arrow_text(values: pd.Series | pd.Index | np.ndarray | list) -> pa.ChunkedArray | pa.Array:
    """The values as an Arrow string array (zero-copy for Arrow-backed text)."""
    array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    if hasattr(array, "__arrow_array__") and getattr(array, "dtype", None) == "str":
        return array.__arrow_array__()
    if isinstance(array, (pa.Array, pa.ChunkedArray)):
        return array
    return pa.array(np.asarray(array, dtype=object), type=pa.string(), from_pandas=True)


def positions(keys, table) -> np.ndarray:
    """Position of each key's first occurrence in ``table`` (Arrow arrays), -1 where absent:
    ``pc.index_in(keys, value_set=table)`` with nulls as -1.

    The hash table is built on the smaller side. Keys fewer than the table's rows (a
    thousand adjustments against a million documents) are hashed once, as their distinct
    values, and the table is probed against them: hashing the million would cost several
    times more than probing them."""
    keys, table = combined(keys), combined(table)
    if len(keys) >= len(table) or len(keys) == 0:
        return np.asarray(pc.fill_null(pc.index_in(keys, value_set=table), -1), dtype="int64")
    encoded = pc.dictionary_encode(keys)
    distinct = encoded.dictionary
    if len(distinct) == 0:  # every key null: nothing to find
        return np.full(len(keys), -1, dtype="int64")
    match = np.asarray(pc.fill_null(pc.index_in(table, value_set=distinct), -1), dtype="int64")
    rows = np.flatnonzero(match >= 0)
    first = np.full(len(distinct), len(table), dtype="int64")
    np.minimum.at(first, match[rows], rows)  # the first table row holding each distinct key
    first[first == len(table)] = -1
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype="int64")
    return np.where(codes >= 0, first[np.maximum(codes, 0)], -1)


def is_text(values) -> bool:
    dtype = getattr(values, "dtype", None)
    return dtype is not None and (dtype == "str" or dtype == np.dtype(object))


def isin(values: pd.Series, choices) -> np.ndarray:
    """``values.isin(choices)`` as a bool array, hashed in Arrow for text columns.

    pandas 3 builds a Python object per choice for Arrow-backed text, which costs seconds
    per million choices; Arrow's set lookup does not. Non-text columns use pandas.
    """
    if isinstance(choices, (list, tuple, set, frozenset)):
        choices = pd.Series(list(choices), dtype=object)
    if is_text(values) and is_text(choices) and (values.dtype == "str" or choices.dtype == "str"):
        try:
            return positions(arrow_text(values), distinct(arrow_text(choices))) >= 0
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return values.isin(choices).to_numpy(dtype=bool)
    return values.isin(choices).to_numpy(dtype=bool)


def distinct(array):
    array = combined(array)
    return pc.drop_null(array) if array.null_count else array


def lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """``keys.map(mapping)`` for text keys, the first entry winning for a repeated key.

    Same values and index as pandas' map (missing keys give NaN/None), found by Arrow's
    hash lookup instead of pandas' per-object path.
    """
    if not (is_text(keys) and is_text(mapping.index)):
        return keys.map(mapping[~mapping.index.duplicated()])
    table = arrow_text(mapping.index)
    table = combined(table)
    try:
        found = positions(arrow_text(keys), table)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return keys.map(mapping[~mapping.index.duplicated()])
    return taken(mapping, found, keys)


def taken(mapping: pd.Series, found: np.ndarray, keys: pd.Series) -> pd.Series:
    """``mapping``'s value at each position of ``found`` (-1: missing) as :func:`lookup` gives
    it: NaN/None for a miss, pandas' dtype for a map with misses, ``keys``' index and name."""
    hit = found >= 0
    if hit.all():
        return pd.Series(mapping.array.take(found), index=keys.index, name=keys.name)
    kind = getattr(mapping.dtype, "kind", "O")
    if isinstance(mapping.dtype, np.dtype) and kind in "iub":
        # pandas gives float (int mapping) or object (bool mapping) with NaN for a miss
        values = mapping.to_numpy()[np.where(hit, found, 0)].astype("float64" if kind != "b" else object)
        values[~hit] = np.nan
        return pd.Series(values, index=keys.index, name=keys.name)
    taken = mapping.array.take(found, allow_fill=True)
    return pd.Series(taken, index=keys.index, name=keys.name)


def by_distinct(values: pd.Series, func) -> pd.Series:
    """``func(values)`` computed on the distinct values only and spread back to every row.

    ``func`` must work element by element (same input text, same output), as parsing does.
    """
    if values.dtype != "str" or len(values) == 0 or values.hasnans:
        return func(values)
    encoded = pc.dictionary_encode(combined(arrow_text(values)))
    if len(encoded.dictionary) * 2 > len(values):  # mostly distinct: nothing to share
        return func(values)
    result = func(pd.Series(encoded.dictionary, dtype="str"))
    codes = np.asarray(encoded.indices, dtype="int64")
    return pd.Series(result.to_numpy()[codes], index=values.index, dtype=result.dtype, copy=False)


def combined(array):
    """One Arrow array of a chunked one. A single chunk is returned as it is:
    ``combine_chunks`` would copy it (a million-row column, for nothing)."""
    if not isinstance(array, pa.ChunkedArray):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()


def mapped_text(values: pd.Series) -> pd.Series:
    """Mapped text with blanks for no match, whatever dtype an empty mapping gave."""
    values = values.astype(object)
    return values.where(values.notna(), "").astype(str)


def id_array(values: pd.Series):
    import pyarrow as pa

    array = (
        pa.array(values.array)
        if values.dtype == "str"
        else pa.array(values.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
    )
    return combined(array)


def index_in(keys: pd.Series, table) -> np.ndarray:
    import pyarrow.compute as pc

    if len(keys) == 0:
        return np.zeros(0, dtype="int64")
    return np.asarray(pc.fill_null(pc.index_in(id_array(keys), value_set=table), -1), dtype="int64")


def all_distinct(array) -> bool:
    """No value repeats (a null counts as a value, as ``count_distinct(mode="all")`` counts it).

    Text of one chunk without a null is first shown distinct by :func:`_hashes_distinct`;
    failing that, ``len(pc.unique(...))``: one hash pass, 5x cheaper than
    ``pc.count_distinct`` on 1M ids."""
    return _hashes_distinct(array) or len(pc.unique(array)) == len(array)


_WORD = 8  # bytes of one hashed word
_MIX = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's multiplier: each step a bijection


def _hashes_distinct(array) -> bool:
    """True when the cells (text of one chunk, no null, every cell of at least 8 bytes) are
    all distinct, shown by 64-bit hashes that do not repeat: a cell's hash depends on its
    bytes alone, so cells whose hashes differ differ. False: not shown (hash the text).

    A hash mixes the cell's length and its first, middle and last 8 bytes (every byte of a
    cell of up to 24, as ids are), read in place from the offsets; the hashes are sorted and
    neighbours compared. Sorting a million integers costs a tenth of Arrow's hash table of
    a million texts."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks != 1:
            return False
        array = array.chunk(0)
    if (
        len(array) < 2
        or array.null_count
        or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type))
    ):
        return False
    starts, ends, raw = _offsets(array)
    if len(raw) < _WORD:
        return False
    # The 8 bytes from each byte position on, as one unaligned little-endian word (no copy).
    words = np.ndarray(shape=(len(raw) - _WORD + 1,), dtype="<u8", buffer=raw, strides=(1,))
    hashes = np.empty(len(starts), dtype=np.uint64)
    block = min(len(starts), _BLOCK)
    length, index, shifted = np.empty(block, "int64"), np.empty(block, "int64"), np.empty(block, np.uint64)
    for row in range(0, len(starts), _BLOCK):
        n = min(_BLOCK, len(starts) - row)
        first, end, size, at, spare = starts[row : row + n], ends[row : row + n], length[:n], index[:n], shifted[:n]
        np.subtract(end, first, out=size)
        if size.min() < _WORD:
            return False  # a short cell: its words would reach past it
        mixed = hashes[row : row + n]
        mixed[:] = size.view(np.uint64)
        _mix(mixed, words[first], spare)
        np.subtract(end, _WORD, out=at)
        _mix(mixed, words[at], spare)
        np.subtract(size, _WORD, out=at)
        at >>= 1
        at += first
        _mix(mixed, words[at], spare)
    hashes.sort()
    for row in range(0, len(hashes) - 1, _BLOCK):
        n = min(_BLOCK, len(hashes) - 1 - row)
        if (hashes[row + 1 : row + 1 + n] == hashes[row : row + n]).any():
            return False  # a repeated cell, or two cells of one hash: the exact count decides
    return True


def _mix(hashes: np.ndarray, word: np.ndarray, spare: np.ndarray) -> None:
    """``hashes`` (in place) with ``word`` mixed in: xor, multiply, xor-shift."""
    hashes ^= word
    hashes *= _MIX  # uint64 arithmetic wraps
    np.right_shift(hashes, np.uint64(31), out=spare)
    hashes ^= spare


def first_rows(table) -> np.ndarray:
    import pyarrow.compute as pc

    if all_distinct(table):
        return np.arange(len(table), dtype="int64")
    return np.asarray(pc.fill_null(pc.index_in(table, value_set=table), -1), dtype="int64")
