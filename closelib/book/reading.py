"""Finding a source folder's table files and reading one of them.

Reading problems (a required table missing, a table given twice, ragged CSV rows, an
unreadable file) are collected, not raised: load.py reads the tables as tasks on two
threads (taskrun) and puts these problems first, in table order.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from closelib.book.extracts import RaggedRows, find_table_files
from closelib.book.parse import Collector, nearest
from closelib.book.schema import LOAD_ORDER, TABLES
from closelib.book.typed import read_frame
from closelib.errors import ExtractReadError


def find_tables(source: Path, out: Collector) -> dict[str, Path]:
    """The file of every table the folder gives, in load order. A required table missing or a
    table given twice (say as .csv and .parquet) is a problem, and that table is not read."""
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
    return wanted


def read_one(path: Path, name: str, out: Collector) -> pd.DataFrame | None:
    """The table's frame as read (typed.read_frame), or None with its reading problems
    (ragged CSV rows, an unreadable file) in ``out``."""
    try:
        return read_frame(path, name)
    except RaggedRows as exc:
        for row, fields, expected, text in exc.rows:
            message = f"{fields} fields where the header has {expected}"
            out.add(path.name, row, None, "columns", message, text)
        if exc.more:
            message = f"... and {exc.more} more rows with the wrong field count"
            out.add(path.name, None, None, "columns", message)
    except ExtractReadError as exc:
        out.add(path.name, None, None, "unreadable", str(exc))
    return None
