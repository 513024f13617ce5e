"""The typed book cache's files, as bytes: tables and arrays written as uncompressed Arrow IPC
files (so a kernel maps them instead of reading them), each file's sha256 taken from the bytes as
written, and the book's translation stored as arrays (:mod:`closelib.book.cache` lays them out).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib.book.fx import Translation
from closelib.book.model import Book


def write_hashed(path: Path, write) -> str:
    """``write(buffer)`` into memory, then those bytes to ``path``; their sha256 (the file is
    hashed from the bytes as written, never read back)."""
    buffer = io.BytesIO()
    write(buffer)
    data = buffer.getbuffer()
    digest = write_bytes(path, data)
    del data
    return digest


def write_bytes(path: Path, data) -> str:
    """``data`` (any bytes-like buffer) written to ``path``; its sha256, from the bytes in memory."""
    digest = hashlib.sha256(data).hexdigest()  # releases the GIL on large buffers
    with open(path, "wb") as out:
        out.write(data)
    return digest


def write_table(frame: pd.DataFrame, path: Path) -> str:
    """``frame`` written to ``path`` as an Arrow IPC file, one record batch, uncompressed (so it
    can be mapped), with pandas' metadata (it reads back with its dtypes); the sha256 of the
    bytes written. The same frame always gives the same bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    del table
    return write_bytes(path, sink.getvalue())


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray | None]) -> str:
    """``arrays`` (name -> 1-d array; a ``None`` is left out) written to ``path`` as an Arrow IPC
    file of one row, each array a list column in that row (so arrays of any lengths share one
    file and one schema), uncompressed; the sha256 of the bytes written. The same arrays always
    give the same bytes."""
    columns = {
        name: pa.LargeListArray.from_arrays(pa.array([0, len(values)], type=pa.int64()), pa.array(values))
        for name, values in arrays.items()
        if values is not None
    }
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return write_bytes(path, sink.getvalue())


def read_arrays(raw: pa.Buffer) -> dict[str, np.ndarray]:
    """The arrays of a file written by :func:`write_arrays` (``raw``: its mapped bytes), as
    numpy arrays of the dtypes written (text as numpy text). Numbers are copied out of the
    mapping in one move each, so they are writable, as ``np.load`` gave them."""
    batch = pa.ipc.open_file(raw).get_batch(0)
    found: dict[str, np.ndarray] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        values = column.flatten()
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            found[name] = np.asarray(values.to_pylist(), dtype=str)
        else:
            found[name] = values.to_numpy(zero_copy_only=True).copy()
    return found


def mapped(path: Path) -> pa.Buffer:
    """The file's bytes, mapped (read-only) rather than read: the frames made from them refer to
    the mapping, which stays open as long as they do."""
    return pa.memory_map(str(path), "r").read_buffer()


def ipc_table(raw: pa.Buffer) -> pa.Table:
    return pa.ipc.open_file(raw).read_all()


# fx.ipc (fx.npz in layouts 4 and 5): the functional currency of each document and receipt as a small integer
# code into CURRENCIES (the few currencies' text), not as a text per row: 1 byte a row on disk,
# and restored as references to one Python string per currency (8 bytes a row, not ~60).
CURRENCIES = "functional_currencies"
CODED = ("doc_functional", "rec_functional")


def stored_translation(fx: Translation) -> dict[str, np.ndarray] | None:
    """The translation's arrays as the cache's ``fx.ipc`` holds them (no pickled objects: the functional
    currencies coded, :data:`CURRENCIES`); ``None`` when a line has no functional currency (left
    to be made in the notebook, exactly as before)."""
    if pd.isna(fx.doc_functional).any() or pd.isna(fx.rec_functional).any():
        return None
    arrays = {name: getattr(fx, name) for name in Translation.ARRAYS}
    both = pd.Index(np.concatenate([np.asarray(arrays[name], dtype=object) for name in CODED]))
    codes, currencies = pd.factorize(both, sort=True)
    width = "int8" if len(currencies) < 128 else "int32"
    start = 0
    for name in CODED:
        size = len(arrays[name])
        arrays[name] = codes[start : start + size].astype(width)
        start += size
    arrays[CURRENCIES] = np.asarray(currencies.to_numpy(dtype=object).astype(str), dtype=str)
    return arrays


def restored_translation(book: Book, arrays: dict[str, np.ndarray]) -> Translation:
    """:class:`Translation` of ``book`` from the cache's ``fx.ipc``: each coded column back to Python text
    (one string object per currency, shared by its rows)."""
    values = {name: arrays[name] for name in Translation.ARRAYS}
    currencies = np.array([str(each) for each in arrays[CURRENCIES]], dtype=object)
    for name in CODED:
        values[name] = currencies[values[name]]
    frames = (book.documents, book.receipts, book.applications, book.adjustments, book.fx_rates)
    return Translation(frames, **values, entity_currency=dict(book.entity_currency))
