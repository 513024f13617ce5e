"""The book a notebook reads: the run's cached, already-validated copy, shared by the notebooks
that run one after another in a kernel (the credit memos, the period notebooks of a runner's
notebook worker), or the source read and validated anew when there is no run.
"""

from __future__ import annotations

from pathlib import Path

from closelib.book.cache import read_book_cache
from closelib.book.load import load_book, release_memory
from closelib.book.model import Book
from closelib.book.slice import entity_slice, share_of
from closelib.errors import CacheError

# The last book read from a run's cache, kept for the life of the kernel: notebooks run one
# after another in a shared kernel (the credit memos, the period notebooks of a worker) read it
# once, not once each. The cache folder is named by the sha256 of the inputs, so the same folder
# always holds the same book. Kept with the tables it was read without (``unread``) and the
# views of it already given out (by the tables they are without).
LAST_CACHED: dict[tuple[str, str, tuple[str, ...]], tuple[frozenset[str], Book, dict[frozenset[str], Book]]] = {}


def run_book(source: Path, info: dict, entities: list[str] | None = None, unread: tuple[str, ...] = ()) -> Book:
    """The run's cached book, each file checked against the sha256 the runner checked and put in
    ``run.json`` (``book_cache_files``): a cache changed since raises ``CacheError``, failing the
    notebook with the file named (the next run discards and rebuilds that cache). An entity
    close (``entities``) reads only its entities' rows: the kernel never holds the whole group
    (the runner's cache of the share when ``run.json`` names one, else the group's, filtered);
    tables the workpaper never reads (``unread``) are not read.

    A notebook whose tables the kernel's book already holds (checked when that book was read, as
    for every notebook sharing it) is given that book, or a view of it without the tables it
    never reads (:func:`without`): the same frames, their row links and translation, and its
    customers as of any day already worked out. A notebook that needs a table the held book was
    read without reads the book again."""
    cache = info.get("book_cache")
    if cache and Path(cache).is_dir():
        # An entity close's runner cut the cache to its entities' share (run.json says whose):
        # read whole, with the share's own links and translation; else the rows are kept here.
        share = info.get("book_cache_entities")
        if share is not None and share != share_of(entities or []):
            raise CacheError(f"typed book cache {cache} holds the share of {', '.join(share)}, not of {entities}")
        keep = None if share is not None else entities
        key = (str(Path(cache).resolve()), str(source), tuple(entities or ()))
        skip = frozenset(unread)
        held = LAST_CACHED.get(key)
        if held is None or not held[0] <= skip:
            # The book held goes before the read, not after: its frames sit in reference cycles,
            # which only a collection frees (a kernel would otherwise hold both books at once).
            held = None
            if LAST_CACHED:
                LAST_CACHED.clear()
                release_memory()
            # the slice read from the cache is sliced again (a no-op) so that both paths follow
            # entity_slice's rules; kept whole for the kernel, so the memos after the first
            # share its links and translation instead of working them out again each
            book = entity_slice(read_book_cache(Path(cache), source, info.get("book_cache_files"), keep, unread), keep)
            held = LAST_CACHED[key] = (skip, book, {})
        read_without, book, views = held
        if skip == read_without:
            return book
        if skip not in views:
            views[skip] = without(book, skip)
        return views[skip]
    return entity_slice(load_book(source), entities)


def without(book: Book, tables: frozenset[str]) -> Book:
    """``book`` without ``tables``, as :func:`read_book_cache` gives it with them ``unread``: the
    same frames of every other table (so values derived from them, which check their frames by
    identity, are shared), its row links and translation, and its customers as of each day
    :func:`closelib.asof.customers.book_as_of` made (each such book without them too)."""
    view = Book(
        book.source,
        {name: frame for name, frame in book.tables.items() if name not in tables},
        book.files,
        book.present,
        dict(book.entity_currency),
    )
    for name in ("_links", "_fx", "master_data"):  # links and translation check their frames
        if name in book.__dict__:
            view.__dict__[name] = book.__dict__[name]
    as_of = book.__dict__.get("_customers_as_of")
    if as_of:
        view.__dict__["_customers_as_of"] = {day: without(made, tables) for day, made in as_of.items()}
    return view
