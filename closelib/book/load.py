"""The book: a validated source folder, as typed frames with money in minor units.

``load_book(source)`` reads every table, checks every rule of CONTRACT §1 and either
returns a :class:`Book` or raises :class:`SourceError` carrying *all* problems.
Optional tables that are absent come back as empty frames with the right columns, and
``book.has(name)`` says whether the source gave them.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pandas as pd

from closelib import money
from closelib.book.extracts import Problem
from closelib.book.model import Book
from closelib.book.parse import Collector, check_header, parse_table
from closelib.book.reading import each_table
from closelib.book.rules import check_all, entity_currencies, resolve_currencies
from closelib.book.schema import LOAD_ORDER, TABLES
from closelib.errors import SourceError


def _parse_all(source: Path, out: Collector) -> tuple[dict[str, pd.DataFrame], dict[str, Path]]:
    # Each table is parsed as soon as it is read, while the next ones are read. The reading
    # problems (missing, ragged, unreadable files) still come first, as they did when every
    # file was read before any was parsed: they are collected apart and put in front.
    reading = Collector()
    files: dict[str, Path] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, raw, path in each_table(source, reading):
        files[name] = path
        table = TABLES[name]
        if not check_header(table, raw, path.name, out):
            continue
        currencies = resolve_currencies(name, raw, frames)
        frames[name] = parse_table(table, raw, path.name, out, currencies)
        del raw  # the text frame is not held while the next table is parsed
    out.problems[:0] = reading.problems
    check_all(frames, {n: p.name for n, p in files.items()}, out)
    return frames, files


def validate_source(source: str | Path) -> list[Problem]:
    """Every problem of a source folder (empty list when it meets the contract)."""
    path = Path(source)
    if not path.is_dir():
        return [Problem(str(source), None, None, "source_folder", "source folder does not exist")]
    out = Collector()
    _parse_all(path, out)
    return out.problems


def load_book(source: str | Path) -> Book:
    """Load and validate; raises SourceError listing every problem."""
    path = Path(source).resolve()
    if not path.is_dir():
        raise SourceError(
            [Problem(str(source), None, None, "source_folder", "source folder does not exist")], str(source)
        )
    out = Collector()
    frames, files = _parse_all(path, out)
    if out.problems:
        raise SourceError(out.problems, str(path))
    tables = {}
    for name in LOAD_ORDER:
        tables[name] = frames[name] if name in frames else _empty(name)
    ent_ccy = entity_currencies(frames)
    entities = cast(dict[str, str], ent_ccy.to_dict())  # entity -> functional currency code
    if "entities" not in frames:
        tables["entities"] = pd.DataFrame(
            {
                "entity": list(entities),
                "name": list(entities),
                "functional_currency": list(entities.values()),
                "country": "",
            }
        )
    return Book(path, tables, files, frozenset(frames), entities)


def _empty(name: str) -> pd.DataFrame:
    dtypes = {"date": "datetime64[ns]", "int": "int64", "money": "int64", "rate": "float64"}
    table = TABLES[name]
    return pd.DataFrame({c.name: pd.Series(dtype=dtypes.get(c.kind, object)) for c in table.columns if not c.optional})


def summary(book: Book) -> dict:
    """What a good source holds: rows per table, date range, entities, currencies."""
    docs = book.documents
    dates = pd.concat([docs["document_date"], book.receipts["receipt_date"]])
    open_by_ccy: dict[str, str] = {}
    for key, amounts in docs.groupby("currency")["amount"]:
        ccy = cast(str, key)  # a currency code
        open_by_ccy[ccy] = money.format_minor(money.total(amounts), ccy)
    return {
        "source": str(book.source),
        "rows": {name: len(book.tables[name]) for name in LOAD_ORDER if book.has(name)},
        "missing_optional": [n for n in LOAD_ORDER if not TABLES[n].required and not book.has(n)],
        "first_date": None if dates.empty else dates.min().strftime("%Y-%m-%d"),
        "last_date": None if dates.empty else dates.max().strftime("%Y-%m-%d"),
        "gl_periods": sorted(book.gl_balances["period"].unique().tolist()),
        "entities": book.entity_currency,
        "currencies": sorted(docs["currency"].unique().tolist()),
        "documents_total_by_currency": open_by_ccy,
    }


def release_memory() -> None:
    """Give freed memory back to the system. pyarrow's allocator (mimalloc) keeps the buffers
    of tables already converted or dropped: 2.3 GiB after validating a 1M-document book,
    held by the runner for the rest of the run unless released."""
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
