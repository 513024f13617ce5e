"""Where each id of a referencing column is found in the table it names, found once.

An application's source is looked up for the currency of its amount (parse), for the
foreign-key rule and for every application rule; an activity's document for its promised
amount's currency and for its foreign key; an adjustment's document three times. Each
lookup hashes a million ids, so :class:`IdLinks` finds each (table, column, target) once and
hands the same positions to every rule that asks, from whichever thread asks first.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.book.arrays import arrow_text, combined, positions

# The id column of each table other tables name.
TARGET_IDS = {"documents": "document_id", "receipts": "receipt_id", "customers": "customer_id"}


class IdLinks:
    """Positions of referencing ids in the frames of their target tables (first row holding
    the id; -1 where none does, or the target table is absent), each found once.

    ``frames`` is the dict of parsed frames the load fills in; a target must be parsed before
    it is asked for (load.py's tasks run each lookup after its target's parse).

    Two kinds of answer, kept under different keys: :meth:`rows` finds every cell;
    :meth:`rows_unless` only the cells a first table does not hold (an application's source
    is a receipt if one has its id, and only otherwise a document: a million sources need not
    be hashed against the documents for the few credit memos)."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self._frames = frames
        # (table, column, target): every cell; (table, column, target, unless): see rows_unless
        self._found: dict[tuple[str, ...], np.ndarray] = {}
        self._locks: defaultdict[tuple[str, ...], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def rows(self, table: str, column: str, keys: pd.Series, target: str) -> np.ndarray:
        """First row of ``target`` whose id is each cell of ``keys`` (``table.column``, the
        cells as parsed: stripped text), -1 where none is."""
        return self._once(
            (table, column, target), len(keys), lambda: find_rows(keys, self._frames.get(target), TARGET_IDS[target])
        )

    def rows_unless(self, table: str, column: str, keys: pd.Series, target: str, unless: str) -> np.ndarray:
        """As :meth:`rows`, but only for the cells no row of ``unless`` holds (their
        ``rows(table, column, keys, unless)`` is -1); -1 for every cell ``unless`` holds,
        whether ``target`` holds it or not. For a column read from ``unless`` first."""

        def find() -> np.ndarray:
            unfound = self.rows(table, column, keys, unless) < 0
            return _scatter(unfound, _find(_text(keys).filter(pa.array(unfound)), self._frames.get(target), target))

        return self._once((table, column, target, unless), len(keys), find)

    def found(self, table: str, column: str, target: str) -> np.ndarray | None:
        """What :meth:`rows` found for ``table.column`` in ``target``, if it was asked (None if not)."""
        with self._guard:
            return self._found.get((table, column, target))

    def _once(self, key: tuple[str, ...], length: int, find: Callable[[], np.ndarray]) -> np.ndarray:
        with self._guard:
            lock = self._locks[key]
        with lock:  # a second thread asking for the same lookup waits for the first's answer
            found = self._found.get(key)
            if found is None or len(found) != length:
                found = self._found[key] = find()
            return found

    def find_together(
        self, table: str, columns: dict[str, pd.Series], target: str, unless: dict[str, str] | None = None
    ) -> None:
        """Find several columns of ``table`` in ``target`` by one lookup: the target's ids are
        hashed once for all of them (an application's source and target among the documents).
        A column named in ``unless`` is found as by :meth:`rows_unless` with that table."""
        unless = unless or {}
        keys: dict[tuple[str, ...], tuple[np.ndarray | None, pa.Array]] = {}
        for column, values in columns.items():
            if column in unless and (table, column, target, unless[column]) not in self._found:
                missing = self.rows(table, column, values, unless[column]) < 0
                keys[(table, column, target, unless[column])] = (missing, _text(values).filter(pa.array(missing)))
            elif column not in unless and (table, column, target) not in self._found:
                keys[(table, column, target)] = (None, _text(values))
        if not keys:
            return
        found = _find_parts([text for _, text in keys.values()], self._frames.get(target), target)
        start = 0
        with self._guard:
            for key, (unfound, text) in keys.items():
                part = found[start : start + len(text)]
                self._found.setdefault(key, part if unfound is None else _scatter(unfound, part))
                start += len(text)


def _text(keys: pd.Series) -> pa.Array:
    return combined(arrow_text(keys)).cast(pa.large_string())


def _scatter(where: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` at the rows ``where`` is true, -1 elsewhere."""
    result = np.full(len(where), -1, dtype="int64")
    result[where] = values
    return result


def _find(keys: pa.Array, frame: pd.DataFrame | None, target: str) -> np.ndarray:
    if frame is None or len(frame) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype="int64")
    return positions(keys, _text(frame[TARGET_IDS[target]]))


def _find_parts(parts: list[pa.Array], frame: pd.DataFrame | None, target: str) -> np.ndarray:
    """:func:`_find` of the parts one after another. As many keys as the target has rows or
    more: the target's ids are hashed and the parts probed as chunks of one array, not
    copied into one (a million targets' ids)."""
    if frame is None or len(frame) == 0 or len(parts) == 1 or sum(map(len, parts)) < len(frame):
        return _find(pa.concat_arrays(parts) if len(parts) > 1 else parts[0], frame, target)
    where = pc.index_in(pa.chunked_array(parts, pa.large_string()), value_set=_text(frame[TARGET_IDS[target]]))
    return np.concatenate([np.asarray(pc.fill_null(chunk, -1), dtype="int64") for chunk in where.chunks])


def find_rows(keys: pd.Series, frame: pd.DataFrame | None, id_column: str) -> np.ndarray:
    """First row of ``frame`` whose ``id_column`` is each key, -1 where none is."""
    if frame is None or len(frame) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype="int64")
    return positions(_text(keys), _text(frame[id_column]))
