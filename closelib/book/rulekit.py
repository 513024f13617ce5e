"""Helpers shared by the cross-table rules (rules.py, applied.py): which rows parsed, the
text a problem shows, positional lookups of ids and the values taken at those positions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import all_distinct, arrow_text, combined, isin, positions
from closelib.book.parse import Collector
from closelib.book.typed import as_text


def ok_rows(out: Collector, file: str, frame: pd.DataFrame, *columns: str) -> np.ndarray:
    """Rows whose ``columns`` parsed without a problem (cross-table rules check only these)."""
    ok = np.ones(len(frame), dtype=bool)
    for column in columns:
        ok &= ~out.flagged(file, column, len(frame))
    return ok


def shown(out: Collector, file: str, frame: pd.DataFrame, column: str) -> Lazy:
    """The column's cells as written in the file (money as typed, not in minor units), made
    when some row breaks the rule: a money column read from Parquet is kept coded until
    then (typed._dictionary_text)."""
    return Lazy(lambda: as_text(out.written(file, column, lambda: frame[column].astype(str))))


def keyed(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``frame[column]`` indexed by ``frame[key]`` without copying the frame (duplicates kept:
    :func:`closelib.book.arrays.lookup` takes the first, as ``drop_duplicates`` would)."""
    return pd.Series(frame[column].array, index=pd.Index(frame[key].array, name=key), name=column)


def foreign(
    frame: pd.DataFrame,
    column: str,
    valid: pd.Series,
    file: str,
    what: str,
    out: Collector,
    optional: bool = False,
    found: Callable[[], np.ndarray] | None = None,
) -> None:
    """``foreign_key``: a cell of ``column`` that is no ``valid`` id. ``found``: the cells'
    positions among the valid ids (-1: none), when a shared lookup has them (idlinks)."""
    values = frame[column]
    text = values.dtype == "str" and valid.dtype == "str"  # isin would hash these in Arrow too
    known = found() >= 0 if found is not None and text else isin(values, valid)
    bad = ~known & ok_rows(out, file, frame, column)
    if optional:
        bad &= values != ""
    out.rows(file, bad, column, "foreign_key", f"no {what} with this id", values)


def key_positions(keys: pd.Series, table) -> np.ndarray:
    """Position of each key's first occurrence in ``table`` (an Arrow string array); -1 if absent."""
    return positions(arrow_text(keys), table)


def take(values: np.ndarray, index: np.ndarray, missing) -> np.ndarray:
    """``values[index]``, ``missing`` where index is -1."""
    if len(values) == 0:
        return np.full(len(index), missing, dtype=values.dtype)
    taken = values[index]  # a fresh array; -1 reads the last value, replaced below
    absent = index < 0
    if absent.any():
        taken[absent] = missing
    return taken


def running_totals(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``pd.Series(values).groupby(group).cumsum()`` (int64): each row's total of its group's
    values so far, in row order. ``group``: non-negative integers (positions).

    A row alone in its group is its own total; the others are sorted by group (stable: row
    order within a group; applications come nearly sorted by source, which a stable sort
    takes in runs) and summed once, each group's start subtracted. pandas would hash the
    million keys to factorize them first."""
    totals = values.astype("int64")  # a copy: the rows alone in their group keep their value
    if len(group) == 0:
        return totals
    repeated = np.flatnonzero(np.bincount(group)[group] > 1)
    if len(repeated) == 0:
        return totals
    order = repeated[np.argsort(group[repeated], kind="stable")]
    keys = group[order]
    summed = np.cumsum(totals[order])
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    before = np.concatenate([[0], summed[starts[1:] - 1]])  # the total of the groups sorted earlier
    totals[order] = summed - np.repeat(before, np.diff(np.append(starts, len(order))))
    return totals


def first_in_group(group: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The first of ``rows`` (ascending positions) of each value of ``group[rows]``, ascending."""
    _, first = np.unique(group[rows], return_index=True)  # return_index: the first occurrence
    return rows[np.sort(first)]


def shared_codes(*columns: pd.Series) -> tuple[list[np.ndarray], np.ndarray]:
    """Each text column as integer codes into one vocabulary (an object array of the texts):
    equal codes are equal texts, across the columns. For columns of few distinct texts
    (currency, entity), hashed in Arrow; -1 for a missing cell. int32: half the memory of a
    million codes (and of the arrays taken from them)."""
    vocabulary: dict[str, int] = {}
    codes = []
    for column in columns:
        encoded = pc.dictionary_encode(combined(arrow_text(column)))
        words = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in encoded.dictionary.to_pylist()], "int32")
        index = np.asarray(pc.fill_null(encoded.indices, -1))  # int32: not widened first
        codes.append(np.append(words, -1)[index])  # a missing cell's -1 reads the -1 appended
    texts = np.empty(len(vocabulary), dtype=object)
    texts[:] = list(vocabulary)
    return codes, texts


def text_at(codes: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """The texts of ``codes`` as an object array, None for -1."""
    result = np.full(len(codes), None, dtype=object)
    found = codes >= 0
    result[found] = texts[codes[found]]
    return result


class Lazy:
    """Values for problem messages, computed only if some row breaks the rule."""

    def __init__(self, make: Callable[[], pd.Series]) -> None:
        self.make = make
        self.value: pd.Series | None = None

    def __call__(self) -> pd.Series:
        if self.value is None:
            self.value = self.make()
        return self.value


def int_bincount(index: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    total = np.zeros(length, dtype="int64")
    np.add.at(total, index, values.astype("int64"))
    return total


def first_of(frame: pd.DataFrame, key: str, known_distinct: bool = False) -> pd.DataFrame:
    """``frame.drop_duplicates(key)``, without the copy when the key is already unique
    (``known_distinct``: the key check found it so; not hashed again)."""
    if frame[key].dtype == "str" and (known_distinct or is_unique(frame[key])):
        return frame
    dup = frame[key].duplicated()
    return frame[~dup] if dup.any() else frame


def is_unique(values: pd.Series) -> bool:
    """No value repeats (one Arrow hash pass)."""
    array = combined(arrow_text(values))
    return all_distinct(array)


def format_amount(minor: int, currency: str) -> str:
    return money.format_minor(minor, currency if money.is_currency(str(currency)) else "KWD")


def run_starts(*columns: pa.Array) -> np.ndarray:
    """First row of each run of rows equal in every column (ascending). A missing cell starts
    a run of its own: a run is then cut more often than needed, never across two keys."""
    length = len(columns[0])
    cut = np.zeros(length, dtype=bool)
    if length:
        cut[0] = True
        for column in columns:
            cut[1:] |= np.asarray(pc.fill_null(pc.not_equal(column[1:], column[:-1]), True))
    return np.flatnonzero(cut)
