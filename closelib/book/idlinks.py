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

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib.book.arrays import arrow_text, combined, positions

# The id column of each table other tables name.
TARGET_IDS = {"documents": "document_id", "receipts": "receipt_id", "customers": "customer_id"}


class IdLinks:
    """Positions of referencing ids in the frames of their target tables (first row holding
    the id; -1 where none does, or the target table is absent), each found once.

    ``frames`` is the dict of parsed frames the load fills in; a target must be parsed before
    it is asked for (load.py's tasks run each lookup after its target's parse)."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self._frames = frames
        self._found: dict[tuple[str, str, str], np.ndarray] = {}
        self._locks: defaultdict[tuple[str, str, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def rows(self, table: str, column: str, keys: pd.Series, target: str) -> np.ndarray:
        """First row of ``target`` whose id is each cell of ``keys`` (``table.column``, the
        cells as parsed: stripped text), -1 where none is."""
        key = (table, column, target)
        with self._guard:
            lock = self._locks[key]
        with lock:  # a second thread asking for the same lookup waits for the first's answer
            found = self._found.get(key)
            if found is None or len(found) != len(keys):
                found = self._found[key] = find_rows(keys, self._frames.get(target), TARGET_IDS[target])
            return found

    def find_together(self, table: str, columns: dict[str, pd.Series], target: str) -> None:
        """Find several columns of ``table`` in ``target`` by one lookup: the target's ids are
        hashed once for all of them (an application's source and target among the documents)."""
        keys = {column: values for column, values in columns.items() if (table, column, target) not in self._found}
        if not keys:
            return
        found = find_rows(
            pd.concat(list(keys.values()), ignore_index=True), self._frames.get(target), TARGET_IDS[target]
        )
        start = 0
        with self._guard:
            for column, values in keys.items():
                self._found.setdefault((table, column, target), found[start : start + len(values)])
                start += len(values)


def find_rows(keys: pd.Series, frame: pd.DataFrame | None, id_column: str) -> np.ndarray:
    """First row of ``frame`` whose ``id_column`` is each key, -1 where none is."""
    if frame is None or len(frame) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype="int64")
    ids = combined(arrow_text(frame[id_column])).cast(pa.large_string())
    return positions(combined(arrow_text(keys)).cast(pa.large_string()), ids)
