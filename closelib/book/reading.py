"""Finding and reading a source folder's table files, on two threads, in load order.

Reading problems (a required table missing, a table given twice, ragged CSV rows, an
unreadable file) are collected in table order, as a sequential read would give them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from closelib.book.extracts import RaggedRows, find_table_files
from closelib.book.parse import Collector, nearest
from closelib.book.schema import LOAD_ORDER, TABLES
from closelib.book.typed import read_frame
from closelib.errors import ExtractReadError


def read_tables(source: Path, out: Collector) -> tuple[dict[str, pd.DataFrame], dict[str, Path]]:
    """Find and read every table file as text. Missing required tables are problems."""
    raw: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    for name, frame, path in each_table(source, out):
        raw[name], files[name] = frame, path
    return raw, files


def each_table(source: Path, out: Collector) -> Iterator[tuple[str, pd.DataFrame, Path]]:
    """(name, frame, file) of every table read, in load order, each as soon as it is read.

    The files are read on two threads (the Arrow readers and text casts release the GIL),
    so the caller parses a table while the next ones are read. Reading problems go to
    ``out`` in table order, as a sequential read would give them."""
    known = {f"{t}{s}" for t in TABLES for s in (".csv", ".xlsx", ".parquet")}
    wanted: dict[str, Path] = {}
    for name in LOAD_ORDER:
        found = find_table_files(source, name)
        if not found:
            if TABLES[name].required:
                near = [p.name for p in source.iterdir() if p.is_file() and p.name not in known]
                hint = nearest(f"{name}.csv", near)
                out.add(
                    f"{name}.csv",
                    None,
                    None,
                    "missing_table",
                    f"required table {name!r} not found (as {name}.csv, .xlsx or .parquet){hint}",
                )
            continue
        if len(found) > 1:
            out.add(
                found[0].name,
                None,
                None,
                "ambiguous_table",
                f"table {name!r} is given more than once: {', '.join(p.name for p in found)}",
            )
            continue
        wanted[name] = found[0]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reads = {name: pool.submit(read_frame, path, name) for name, path in wanted.items()}
        for name, path in wanted.items():
            try:
                frame = reads.pop(name).result()
            except RaggedRows as exc:
                for row, fields, expected, text in exc.rows:
                    message = f"{fields} fields where the header has {expected}"
                    out.add(path.name, row, None, "columns", message, text)
                if exc.more:
                    message = f"... and {exc.more} more rows with the wrong field count"
                    out.add(path.name, None, None, "columns", message)
                continue
            except ExtractReadError as exc:
                out.add(path.name, None, None, "unreadable", str(exc))
                continue
            yield name, frame, path
