"""The typed Parquet path: date columns that Parquet already stores as dates skip the text.

The text path turns every cell into the text a person would read (a date32 becomes
"2026-01-31") and parses that text back. For a Parquet date column whose every date lies
in the contract's range that round trip is the identity, so the column is converted
directly (days -> datetime64[ns]) and an empty cell is a null. A column with any date out
of range, or any other type, takes the text path, whose problems (and their order) are
the contract's: the typed path gives the same frame and the same problems, only sooner.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from closelib.book.arrays import all_distinct, arrow_text, combined, stripped_text
from closelib.book.extracts import _arrow_column_text, read_text_frame
from closelib.book.moneytext import Encoded, encode
from closelib.book.schema import TABLES
from closelib.errors import ExtractReadError
from closelib.periods import FIRST_YEAR, LAST_YEAR

_EPOCH = dt.date(1970, 1, 1)
# Days since 1970-01-01 of the first and last date the contract allows.
FIRST_DAY = (dt.date(FIRST_YEAR, 1, 1) - _EPOCH).days
LAST_DAY = (dt.date(LAST_YEAR, 12, 31) - _EPOCH).days
_NS_PER_DAY = 86_400 * 10**9
# Kinds of column read as dictionaries from Parquet: money, and text of few distinct values.
CODED_KINDS = ("money", "enum", "currency", "period")


def is_typed(values: pd.Series) -> bool:
    """A column kept in its Parquet type (pandas' ArrowDtype), not yet text."""
    return isinstance(values.dtype, pd.ArrowDtype)


def read_frame(path: Path, table: str) -> pd.DataFrame:
    """:func:`closelib.book.extracts.read_text_frame`, except that a Parquet file's date32
    columns which the contract reads as dates stay dates (ArrowDtype), not text; then
    :func:`prepared` on the reading thread."""
    if path.suffix.lower() != ".parquet" or table not in TABLES:
        return prepared(read_text_frame(path, table), table)
    return prepared(_read_parquet(path, table), table)


class Shared(dict):
    """A frame's ``attrs`` entry that is shared, not copied: pandas deep-copies a frame's
    attrs into each column it hands out, and these hold arrays of a million rows."""

    def __deepcopy__(self, memo: dict) -> Shared:
        return self


def prepared(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Work of the parse done where the file is read (the reading threads run beside the
    parse): the contract's text columns stripped (``attrs["stripped"]`` names them; the
    parse does not strip them again), whether a single key's cells are all distinct
    (``attrs["distinct_key"]``), the distinct texts and codes of the columns read as
    dictionaries (``attrs["codes"]``) and the text rules of each stripped money column's
    distinct texts (``attrs["money_text"]``, :func:`closelib.book.moneytext.encode`). The
    same functions the parse would call, so the same text and the same results."""
    names = [str(name) for name in frame.columns]
    if table not in TABLES or len(set(names)) != len(names):
        return frame  # a header naming a column twice is reported; nothing is parsed
    schema = TABLES[table]
    read_codes = frame.attrs.pop("read_codes", {})
    stripped = []
    codes, money = Shared(), Shared()
    for column in schema.columns:
        if column.name not in frame.columns:
            continue
        encoded = read_codes.get(column.name)
        if is_typed(frame[column.name]) and encoded is None:
            continue  # a date in its Parquet type: parsed from that
        if encoded is not None and _stripped(encoded[0]):
            # Every distinct text is stripped, so every cell is: the column as it is (a
            # money column still coded: _dictionary_text).
            codes[column.name] = encoded
            if column.kind == "money":
                money[column.name] = encode(frame[column.name], encoded)
        else:
            frame[column.name] = stripped_text(as_text(frame[column.name]))
        stripped.append(column.name)
    frame.attrs["stripped"] = stripped
    frame.attrs["codes"] = codes
    for column in schema.columns:
        if column.kind == "money" and column.name in stripped and column.name not in money:
            money[column.name] = encode(frame[column.name])
    frame.attrs["money_text"] = money
    if len(schema.key) == 1 and schema.key[0] in stripped and frame[schema.key[0]].dtype == "str":
        keys = combined(arrow_text(frame[schema.key[0]]))
        frame.attrs["distinct_key"] = _increasing(keys) or all_distinct(keys)
    return frame


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    # Money and the few-valued columns are read as Parquet stores them, dictionary-encoded
    # per row group: their distinct texts then come almost free (the parse examines those),
    # not by hashing every cell. Should that read fail (a header naming a column twice), the
    # plain read runs, and its error is the one reported.
    coded = [c.name for c in TABLES[table].columns if c.kind in CODED_KINDS]
    money = {c.name for c in TABLES[table].columns if c.kind == "money"}
    try:
        arrow = _read_whole(path, coded)
    except Exception:
        try:
            arrow = pq.read_table(path)
        except Exception as exc:  # a corrupt file is the user's problem, reported, not a traceback
            raise ExtractReadError(f"cannot read {path.name}: {exc}") from exc
    dates = {c.name for c in TABLES[table].columns if c.kind == "date"}
    names = [str(name).lstrip("\ufeff") for name in arrow.column_names]
    columns = {}
    codes = {}
    for i, (name, column) in enumerate(zip(names, arrow.columns, strict=True)):
        if name in dates and pa.types.is_date32(column.type) and names.count(name) == 1:
            columns[i] = pd.Series(pd.arrays.ArrowExtensionArray(column))
            continue
        single = names.count(name) == 1
        decoded = _dictionary_text(column, keep_coded=name in money) if name in coded and single else None
        if decoded is not None:
            columns[i], codes[name] = decoded
        else:
            columns[i] = _arrow_column_text(column)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows))
    frame.columns = names
    frame.attrs["read_codes"] = Shared(codes)  # taken (and dropped) by prepared
    return frame


def _read_whole(path: Path, coded: list[str]) -> pa.Table:
    """The file's columns, each one chunk: ``coded`` as dictionaries, the other text as
    large_string. ``pq.read_table`` (a dataset scan) cuts each column into batches of 128k
    rows, as Arrow's ``string``: pandas' "str" then casts every text column to
    ``large_string`` and the chunks are joined, two copies of each (about 1 s for the
    2.9M-line GL journal). Read whole, and the text as ``large_string`` (``binary_type``: a
    file carrying its Arrow schema keeps its own types and takes the longer way), pandas
    takes the columns as they are. Arrow reads no dictionaries when ``binary_type`` is
    given, so the coded columns are read apart."""
    with pq.ParquetFile(path, read_dictionary=coded) as file:
        names = file.schema_arrow.names
        if len(set(names)) != len(names) or not any(name in coded for name in names):
            return file.read()  # a column named twice cannot be read by name (and is reported)
        dictionaries = file.read(columns=[name for name in names if name in coded])
    with pq.ParquetFile(path, binary_type=pa.large_binary()) as file:
        plain = file.read(columns=[name for name in names if name not in coded])
    return pa.table({name: (dictionaries if name in coded else plain).column(name) for name in names})


def _dictionary_text(column: pa.ChunkedArray, keep_coded: bool = False) -> tuple[pd.Series, Encoded] | None:
    """A dictionary-encoded text column as :func:`_arrow_column_text` gives it, and its
    distinct texts with each row's position among them; None if it is not such a column.
    ``keep_coded``: the column stays coded (a typed column, ArrowDtype dictionary, whose
    text :func:`as_text` makes): a money column's text is shown only in the problems of a
    few rows, and making it for every row costs more than the money's whole parse.

    The chunks of one Parquet row group share one dictionary: the distinct dictionaries
    (a few, of some hundred thousand texts for millions of rows) are joined and hashed,
    and each chunk's indices are mapped through that."""
    kind = column.type
    if not (pa.types.is_dictionary(kind) and kind.value_type in (pa.string(), pa.large_string())):
        return None
    start: dict[tuple, int] = {}  # each distinct dictionary's position in the joined one
    parts: list[pa.Array] = []
    size = 0
    for chunk in column.chunks:
        values = chunk.dictionary
        if values.null_count:
            return None  # a null among the distinct texts: the plain path
        if _identity(values) not in start:
            start[_identity(values)], size = size, size + len(values)
            parts.append(values.cast(pa.large_string()))
    parts.append(pa.array([""], type=pa.large_string()))  # what a null cell reads as, at ``size``
    joined = pc.dictionary_encode(pa.concat_arrays(parts))
    codes = _joined_codes(column, start, np.asarray(joined.indices), size)
    if codes is None:
        return None
    encoded = (joined.dictionary, codes)
    if keep_coded:
        coded = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), joined.dictionary)
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([coded]))), encoded
    # Each row's text from the joined distinct texts: one array, a null cell already "".
    text = pc.take(joined.dictionary, pa.array(codes))
    return pd.Series(text, dtype="str"), encoded


def _joined_codes(column: pa.ChunkedArray, start: dict[tuple, int], where: np.ndarray, size: int) -> np.ndarray | None:
    """Each row's position in the joined distinct texts (int32): ``where`` maps the joined
    dictionaries' entries (and, at ``size``, a null cell's "") to it. None if an index lies
    outside its chunk's dictionary (not a valid column: the plain path).

    One dictionary without a repeated text and no null cell (a file of one row group) maps
    to itself: the indices as Arrow read them, no copy. Otherwise each chunk's indices are
    mapped through its small table straight into the codes: no million-row temporary."""
    chunks = column.chunks
    # dictionary_encode numbers texts in order of first appearance, so the first ``size``
    # entries are all distinct exactly when the last of them is numbered ``size - 1``.
    if len(chunks) == 1 and not chunks[0].null_count and (size == 0 or where[size - 1] == size - 1):
        indices = np.asarray(chunks[0].indices)
        if indices.dtype == where.dtype and _in_bounds(chunks[0]):
            return indices
    codes = np.empty(len(column), dtype=where.dtype)
    row = 0
    for chunk in chunks:
        if not _in_bounds(chunk):
            return None
        first, width = start[_identity(chunk.dictionary)], len(chunk.dictionary)
        table = np.append(where[first : first + width], where[size])  # a null cell: "", at ``width``
        indices = chunk.indices.fill_null(width) if chunk.null_count else chunk.indices
        # mode="clip" writes into ``out`` unbuffered; _in_bounds made it a no-op.
        np.take(table, np.asarray(indices), out=codes[row : row + len(chunk)], mode="clip")
        row += len(chunk)
    return codes


def _in_bounds(chunk: pa.DictionaryArray) -> bool:
    """Every non-null index names an entry of the chunk's dictionary."""
    low, high = pc.min_max(chunk.indices).values()
    return not low.is_valid or (low.as_py() >= 0 and high.as_py() < len(chunk.dictionary))


def _increasing(keys: pa.Array) -> bool:
    """Each key sorts strictly after the one before (bytewise), so none repeats: one
    comparison pass, where hashing a million ids costs ten times more. Ids are often
    written in order; when not, this says False and the keys are hashed."""
    if len(keys) < 2 or keys.null_count:
        return False
    return bool(pc.all(pc.less(keys[:-1], keys[1:])).as_py())


def _identity(values: pa.Array) -> tuple:
    """The same key for the same array in memory (chunks of a row group share theirs)."""
    return (*(b.address if b is not None else 0 for b in values.buffers()), values.offset, len(values))


def _stripped(distinct: pa.Array) -> bool:
    """No text of ``distinct`` would change by :func:`stripped_text` (so no cell does)."""
    texts = pd.Series(distinct, dtype="str")
    return stripped_text(texts) is texts


def as_text(values: pd.Series) -> pd.Series:
    """The text the text path reads for a typed column (as written, empty for null)."""
    if not is_typed(values):
        return values
    return _arrow_column_text(pa.chunked_array(values.array._pa_array))


def typed_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """(datetime64[ns] dates, empty mask) of a typed date32 column whose every date is in
    the contract's range; None if some date is not (the text path reports those)."""
    array = values.array._pa_array
    array = combined(array)
    days = pc.cast(array, pa.int32())
    low, high = pc.min_max(days).values()
    if low.is_valid and (low.as_py() < FIRST_DAY or high.as_py() > LAST_DAY):
        return None
    empty = np.asarray(pc.is_null(days), dtype=bool)
    ns = np.asarray(pc.fill_null(days, 0), dtype="int64") * _NS_PER_DAY
    dates = ns.view("datetime64[ns]")
    dates[empty] = np.datetime64("NaT")
    return pd.Series(dates, index=values.index, dtype="datetime64[ns]", copy=False), empty
