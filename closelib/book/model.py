"""The :class:`Book` record: validated tables with money in minor units, and values derived from it."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from closelib.errors import SourceError
from closelib.files import sha256_file
from closelib.periods import Period


@dataclass
class Book:
    source: Path
    tables: dict[str, pd.DataFrame]
    files: dict[str, Path]
    present: frozenset[str]
    entity_currency: dict[str, str] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return table in self.present

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def inputs(self) -> dict[str, dict]:
        """Provenance of every input file: sha256 and data rows (header excluded)."""
        return {
            path.name: {"sha256": sha256_file(path), "rows": len(self.tables[name])}
            for name, path in sorted(self.files.items())
        }

    def currency_of(self, entity: str) -> str:
        return self.entity_currency[entity]

    @property
    def entities(self) -> list[str]:
        return sorted(self.entity_currency)


def latest_period(book: Book) -> Period:
    """The period a close or an investigation of ``book`` defaults to: the latest period of its GL
    balances, else (no GL extract rows) the month of its latest document. One rule for every entry
    point: nothing defaults to today's date, so the same book always gives the same period."""
    periods = book.gl_balances["period"]
    if len(periods):
        return Period.parse(str(max(periods)))
    dates = book.documents["document_date"]
    if len(dates):
        latest = dates.max()
        return Period(latest.year, latest.month)
    raise SourceError(["the book has no GL balances and no documents: pass the period (YYYY-MM)"], str(book.source))


# The last value made (or read from the book cache) per key, weakly: a book derived from another
# with the same frames (``book_as_of`` replaces only the customers) finds it through ``current``
# instead of making it again. Weak, so letting go of a book lets go of what was derived from it.
_LAST_MADE: dict[str, weakref.ref] = {}


def derived(book: Book, key: str, make):
    """A value derived from ``book`` by ``make(book)``, made once and kept on the book; made
    again when a table it came from was replaced (the value's ``current(book)`` says so). A
    value made for another book whose frames it came from are this book's very frames (the
    same objects: ``current`` checks identity) is the same value, and is shared."""
    cached = book.__dict__.get(key)
    if cached is not None and cached.current(book):
        return cached
    last = _LAST_MADE.get(key)
    shared = last() if last is not None else None
    if shared is not None and shared.current(book):
        book.__dict__[key] = shared
        return shared
    made = make(book)
    keep_derived(book, key, made)
    return made


def keep_derived(book: Book, key: str, value) -> None:
    """Keep ``value`` (made by :func:`derived`'s ``make`` or read from the book cache) on ``book``."""
    book.__dict__[key] = value
    _LAST_MADE[key] = weakref.ref(value)
