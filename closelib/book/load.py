"""The book: a validated source folder, as typed frames with money in minor units.

``load_book(source)`` reads every table, checks every rule of CONTRACT §1 and either
returns a :class:`Book` or raises :class:`SourceError` carrying *all* problems.
Optional tables that are absent come back as empty frames with the right columns, and
``book.has(name)`` says whether the source gave them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pandas as pd

from closelib import money
from closelib.book.currencies import CURRENCY_SOURCES, entity_currencies, resolve_currencies
from closelib.book.extracts import Problem
from closelib.book.idlinks import IdLinks
from closelib.book.links import keep_found
from closelib.book.model import Book
from closelib.book.parse import Collector, check_header, parse_table
from closelib.book.reading import find_tables, read_one
from closelib.book.rules import rule_tasks
from closelib.book.schema import LOAD_ORDER, TABLES
from closelib.book.taskrun import Task, run_tasks
from closelib.errors import SourceError


def _parse_all(source: Path, out: Collector) -> tuple[dict[str, pd.DataFrame], dict[str, Path], IdLinks]:
    """Read, parse and check every table, as tasks on two threads (taskrun): a table is parsed
    once it is read and the tables its money's currency comes from are parsed, and each rule
    runs once the tables it reads are parsed and the rules it follows have run. Problems come
    in the order of a sequential validation: reading problems in table order, then each
    table's parse, then the rules in order."""
    files = find_tables(source, out)
    raw: dict[str, pd.DataFrame] = {}
    frames: dict[str, pd.DataFrame] = {}
    links = IdLinks(frames)  # id lookups shared by the currency resolution and the rules

    def read(name: str, path: Path) -> Callable[[Collector], object]:
        def run(into: Collector) -> None:
            frame = read_one(path, name, into)
            if frame is not None:
                raw[name] = frame

        return run

    def parse(name: str, path: Path) -> Callable[[Collector], object]:
        def run(into: Collector) -> None:
            text = raw.pop(name, None)  # the text frame is not held once parsed
            if text is None or not check_header(TABLES[name], text, path.name, into):
                return
            currencies = resolve_currencies(name, text, frames, links)
            frames[name] = parse_table(TABLES[name], text, path.name, into, currencies)

        return run

    reads = [Task(f"read:{name}", read(name, path)) for name, path in files.items()]
    parses = [
        Task(
            f"parse:{name}",
            parse(name, path),
            (f"read:{name}", *(f"parse:{s}" for s in CURRENCY_SOURCES.get(name, ()) if s in files)),
        )
        for name, path in files.items()
    ]
    rules = rule_tasks(frames, {n: p.name for n, p in files.items()}, links, {task.name for task in parses})
    # Priority (a free thread takes the first ready task listed): a parse as soon as it can
    # (its text frame is then freed), the applications' rules (the longest) and the rules they
    # run after, then the reads: the tables others wait for, the small ones (quick, and a rule
    # may wait for one), applications, then the biggest first; the other rules fill in.
    first = {source for sources in CURRENCY_SOURCES.values() for source in sources}
    longest = f"rule:{LONGEST_CHAIN}"

    def read_rank(task: Task) -> tuple[bool, bool, bool, int]:
        name = task.name.removeprefix("read:")
        size = _size(files[name])
        return name not in first, size > SMALL_FILE, name != LONGEST_CHAIN, -size

    by_need = sorted(reads, key=read_rank)
    order = [task.name for task in (*reads, *parses, *rules)]  # problems: as a sequential validation gives them
    # The longest rule as soon as it can, and the rules it runs after before it.
    ahead = next((task.after for task in rules if task.name == longest), ())
    heavy = [task for task in rules if task.name in (*ahead, longest)]
    light = [task for task in rules if task not in heavy]
    _, checked = run_tasks([*parses, *heavy, *by_need, *light], out, report_order=order)
    out.problems[:] = checked.problems
    ordered = {name: frames[name] for name in LOAD_ORDER if name in frames}  # parsed in any order
    frames.clear()
    frames.update(ordered)
    return frames, {name: path for name, path in files.items() if name in frames}, links


SMALL_FILE = 1 << 20  # bytes: read before the big tables (a few ms each)
# The table with the longest chain of work after its read (its parse's id lookups, then the
# applications' rules): read before the other big tables, its rule before the other rules.
LONGEST_CHAIN = "applications"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # unreadable: its read reports it
        return 0


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
    frames, files, found = _parse_all(path, out)
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
    book = Book(path, tables, files, frozenset(frames), entities)
    keep_found(book, found.found)  # the row links the validation found, kept (links.py)
    return book


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
