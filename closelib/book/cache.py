"""A validated book, cached as typed Arrow files so each notebook of a run skips re-validation.

The runner validates the source once, then writes every table (money already in int64
minor units, dates typed) under ``<store>/books/<key>/`` where ``key`` is the sha256 of
the input hashes. Each table is an uncompressed Arrow IPC file, which a notebook maps into
memory instead of reading and decoding it: its text columns are the file's pages in the
system's page cache, shared by every kernel of the run, not a private copy each kernel
decodes (at a million documents, about 1 s of CPU and 0.7 GB of fresh memory per kernel).
The cache is derived data: deleting it costs time (the next run of the
same inputs rebuilds it), and ``close verify`` of the runs that read it finds it missing until then.

A cache is sealed when written: ``hashes.json`` (written last, then the folder is renamed
into place in one step) holds the sha256 of every other file, and every file and the folder
are read-only. Nothing reads a cache without checking it: :func:`check_book_cache` (the
runner, before reusing one, and again once the notebooks have ended: a file mapped by a
notebook and changed while it ran fails the run) and :func:`read_book_cache` (the notebooks,
which hash the very bytes they map) report a changed, missing or extra file, and a cache is
never repaired in place: a new one is written beside it and swapped in (:func:`write_book_cache` ``replace``).
The same book always gives the same bytes (for the same code and library versions, which the
key covers), so a rebuilt cache has the hashes the first one had.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.book.cachefiles import (
    ipc_table,
    mapped,
    read_arrays,
    restored_translation,
    stored_translation,
    write_arrays,
    write_hashed,
    write_table,
)
from closelib.book.fx import translation
from closelib.book.links import Links, links
from closelib.book.load import release_memory
from closelib.book.model import Book, keep_derived
from closelib.errors import CacheError
from closelib.files import sha256_file, write_json_atomic
from closelib.paths import PACKAGE_DIR

TABLE_SUFFIX = ".arrow"  # Arrow IPC file format, uncompressed
META = "book.json"
# The links and the translation (layout 6): Arrow IPC files like the tables, one row whose columns
# are the arrays (each a list), mapped and hashed like a table; numpy's .npz (a zip) was read
# through zipfile, copied and CRC-checked in Python (about 0.2 s of CPU in every kernel at 1M).
ARRAYS_SUFFIX = ".ipc"
LINKS = f"links{ARRAYS_SUFFIX}"
FX = f"fx{ARRAYS_SUFFIX}"
HASHES = "hashes.json"
READ_ONLY_FILE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
READ_ONLY_DIR = READ_ONLY_FILE | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def code_fingerprint() -> str:
    """sha256 over closelib's own source files and the versions of the libraries that parse
    the extracts: a cache written by other code (other rules, other parsing) is never taken
    for this code's validated book."""
    from importlib import metadata

    digest = hashlib.sha256()
    for package in ("pandas", "pyarrow", "numpy", "openpyxl"):
        try:
            digest.update(f"{package}={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=absent\0".encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(inputs: dict[str, dict]) -> str:
    """Hash of the input files' hashes, of the code that validated them and of the layout."""
    text = json.dumps(
        {"layout": 6, "code": code_fingerprint(), "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())}},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cache_meta(folder: Path) -> dict:
    """``book.json`` of a cache (rows per input file): read only after the cache was checked
    (:func:`check_book_cache`)."""
    return json.loads((folder / META).read_text(encoding="utf-8"))


def written_by(folder: Path) -> str:
    """The run that wrote the cache, as ``hashes.json`` says (kept out of the hashed files, so a
    rebuilt cache has the very bytes, and hashes, of the first one)."""
    try:
        return str(json.loads((folder / HASHES).read_text(encoding="utf-8")).get("written_by") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _short(sha: str | None) -> str:
    return f"sha256 {sha[:16]}..." if sha else "missing"


def _problem(name: str, expected: str | None, found: str | None) -> str:
    return f"{name} changed ({_short(expected)} when written, {_short(found)} now)"


def check_book_cache(folder: Path) -> tuple[dict[str, str] | None, str | None]:
    """``(hashes, None)`` for a cache whose every file matches its ``hashes.json``; ``(None, None)``
    when there is no cache; ``(None, why)`` for one that must not be used (a file changed,
    missing or not listed, or no ``hashes.json``: a cache from before caches were sealed)."""
    if not folder.is_dir():
        return None, None
    try:
        recorded = json.loads((folder / HASHES).read_text(encoding="utf-8"))["files"]
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
            raise ValueError(recorded)
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"{HASHES} is missing or unreadable"
    present = sorted(p.name for p in folder.iterdir() if p.name != HASHES)
    for name in present:
        if name not in recorded:
            return None, f"{name} is not one of the files it was written with"
    changed = first_change(folder, recorded)
    return (None, changed) if changed else (dict(recorded), None)


def first_change(folder: Path, expected: dict[str, str]) -> str | None:
    """The first file of ``expected`` (name -> sha256) whose bytes in ``folder`` are not those,
    as the problem (``documents.arrow changed (sha256 ... when written, ... now)``); None when
    every one matches."""
    for name, sha in sorted(expected.items()):
        path = folder / name
        found = sha256_file(path) if path.is_file() else None
        if found != sha:
            return _problem(name, sha, found)
    return None


def _seal(scratch: Path, writer: str, files: dict[str, str]) -> None:
    """``hashes.json`` last (``files``: the sha256 of the bytes written), then every file and
    the folder read-only."""
    write_json_atomic(scratch / HASHES, {"files": dict(sorted(files.items())), "written_by": writer}, sort_keys=True)
    for path in scratch.iterdir():
        os.chmod(path, READ_ONLY_FILE)
    os.chmod(scratch, READ_ONLY_DIR)


def remove_cache(folder: Path) -> None:
    """Delete a (read-only) cache folder: derived data, it costs only time."""
    if folder.is_dir():
        os.chmod(folder, READ_ONLY_DIR | stat.S_IWUSR)
        shutil.rmtree(folder)


def write_book_cache(book: Book, folder: Path, writer: str = "", replace: bool = False) -> Path:
    """Write atomically and sealed: a half-written cache from a killed run is never read.

    An existing ``folder`` is kept (another run wrote the same cache first) unless ``replace``:
    then the new cache is swapped in and the old one deleted; it is never edited in place.
    ``writer`` names the run that validated the book (kept in ``hashes.json``)."""
    return write_sealed(book, folder, writer, replace)[0]


def write_sealed(
    book: Book, folder: Path, writer: str = "", replace: bool = False
) -> tuple[Path, dict[str, str] | None]:
    """:func:`write_book_cache`, and the sha256 of each file it wrote (``None`` when it kept a
    cache already there, or another run's identical cache won the race: check that one)."""
    if folder.exists() and not replace:
        return folder, None
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    # The tables are written on a second thread while this one works out the links and the
    # translation: Arrow's conversion, hashing and writing release the GIL, so both cores work (the
    # notebooks, which would use the other core, wait for the cache). Each file is written
    # whole by one thread, so the bytes are those of a sequential write.
    files: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        writes = {
            f"{name}{TABLE_SUFFIX}": pool.submit(write_table, frame, scratch / f"{name}{TABLE_SUFFIX}")
            for name, frame in book.tables.items()
        }
        # Where applications and adjustments point (row positions): worked out once here, not
        # again in every notebook's first as-of computation.
        found = links(book)
        arrays = {name: found.get(name) for name in Links.NAMES}
        files[LINKS] = write_arrays(scratch / LINKS, arrays)
        # The book's lines in the functional currency (about 5 s of CPU at 1M documents), which
        # nearly every notebook asks for: made once here, a pure function of the cached tables.
        fx = stored_translation(translation(book))
        if fx is not None:
            files[FX] = write_arrays(scratch / FX, fx)
        for name, write in writes.items():
            files[name] = write.result()
    meta = {
        "present": sorted(book.present),
        "entity_currency": book.entity_currency,
        "files": {name: path.name for name, path in book.files.items()},
        "rows": {path.name: len(book.tables[name]) for name, path in book.files.items()},
    }
    files[META] = write_hashed(scratch / META, lambda out: out.write(json.dumps(meta, sort_keys=True).encode()))
    _seal(scratch, writer, files)
    # Out of the way under a new name in the same folder (a read-only folder can be renamed
    # there, not moved elsewhere), then deleted: never edited in place.
    aside = folder.parent / f".discarded-{folder.name}-{secrets.token_hex(4)}"
    if replace:
        with contextlib.suppress(OSError):  # gone already: another run swapped it out first
            os.rename(folder, aside)
    written: dict[str, str] | None = files
    try:
        os.rename(scratch, folder)
    except OSError:  # another run wrote the same cache first: theirs is identical
        remove_cache(scratch)
        written = None
    remove_cache(aside)
    return folder, written


def read_book_cache(
    folder: Path,
    source: Path,
    expected: dict[str, str] | None = None,
    entities: list[str] | None = None,
    unread: tuple[str, ...] = (),
) -> Book:
    """The cached book, every file checked against ``expected`` (the sha256 the runner checked
    and gave the notebook in ``run.json``), else against the cache's own ``hashes.json``.

    ``entities`` (``None``: all) keeps only the rows of those entities, as
    :func:`closelib.book.slice.entity_slice` would, but table by table while reading: a kernel
    holds one entity's rows, never the whole book (every file is still hashed whole).
    ``unread`` tables (those a workpaper never reads) are neither read nor held: the book has no
    frame for them, so reading one fails loudly.

    The bytes hashed are the bytes read: a table is mapped into memory and hashed there, and a
    file changed after the check is found by the runner's check once the notebooks have ended.
    Raises :class:`CacheError` naming the file on any difference."""
    if expected is None:  # each file read is checked below: no need to hash it twice
        try:
            expected = dict(json.loads((folder / HASHES).read_text(encoding="utf-8"))["files"])
        except (OSError, ValueError, KeyError, TypeError):
            raise CacheError(f"typed book cache {folder}: {HASHES} is missing or unreadable") from None
    # one file at a time (map or read, hash, parse, let go)
    meta: dict | None = None
    stored: dict[str, pa.Buffer] = {}
    tables: dict[str, pd.DataFrame] = {}
    keep = None if entities is None else _EntityRows(list(dict.fromkeys(entities)))
    for name in sorted(expected, key=_read_order):
        sha = expected[name]
        if name.endswith(TABLE_SUFFIX) and Path(name).stem in unread:
            continue
        try:
            raw = (
                mapped(folder / name) if name.endswith((TABLE_SUFFIX, ARRAYS_SUFFIX)) else (folder / name).read_bytes()
            )
        except OSError:
            raise CacheError(f"typed book cache {folder}: {_problem(name, sha, None)}") from None
        found = hashlib.sha256(raw).hexdigest()
        if found != sha:
            raise CacheError(f"typed book cache {folder}: {_problem(name, sha, found)}")
        if name == META:
            meta = json.loads(bytes(raw))
        elif name in (LINKS, FX):
            if keep is None:  # row positions of the whole book: not a slice's
                stored[name] = raw
        elif isinstance(raw, pa.Buffer):
            table = Path(name).stem
            tables[table] = ipc_table(raw).to_pandas() if keep is None else keep.read(table, raw)
        del raw
    if meta is None:
        raise CacheError(f"typed book cache {folder}: {META} is not among its checked files")
    files = {name: source / filename for name, filename in meta["files"].items()}
    currencies = meta["entity_currency"]
    if keep is not None:
        currencies = {e: c for e, c in currencies.items() if e in keep.entities}
    tables = {name: tables[name] for name in sorted(tables)}  # the order the files are listed in
    book = Book(source, tables, files, frozenset(meta["present"]), currencies)
    if LINKS in stored:
        found_links = links(book)
        for name, values in read_arrays(stored.pop(LINKS)).items():
            if name in Links.NAMES:
                found_links.set(name, values)
    if FX in stored:
        keep_derived(book, "_fx", restored_translation(book, read_arrays(stored.pop(FX))))
    release_memory()  # Arrow's buffers of columns already converted to numpy
    return book


# Tables with an entity column first, then those that follow their document, then the rest.
_BY_ENTITY = ("entities", "documents", "receipts", "gl_balances", "gl_journal")
_BY_DOCUMENT = {"applications": "target_id", "adjustments": "document_id", "payment_schedules": "document_id"}
_BY_OPTIONAL_DOCUMENT = {"disputes": "document_id", "activities": "document_id"}


def _read_order(name: str) -> tuple[int, str]:
    table = Path(name).stem
    rank = 0 if table in _BY_ENTITY else 1 if table in _BY_DOCUMENT or table in _BY_OPTIONAL_DOCUMENT else 2
    return rank, name


class _EntityRows:
    """Reads a cached table keeping the chosen entities' rows (the rules of ``entity_slice``):
    batch by batch (the mapped file's record batches hold no copy of its rows), so no copy of
    other entities' rows is made."""

    def __init__(self, entities: list[str]) -> None:
        self.entities = entities
        self.documents: pa.Array | None = None  # ids of the kept documents

    def read(self, table: str, raw: pa.Buffer) -> pd.DataFrame:
        if table in _BY_ENTITY:
            column, value_set, optional = "entity", pa.array(self.entities, type=pa.string()), False
        elif table in _BY_DOCUMENT or table in _BY_OPTIONAL_DOCUMENT:
            column = _BY_DOCUMENT.get(table) or _BY_OPTIONAL_DOCUMENT[table]
            value_set, optional = self._documents(), table in _BY_OPTIONAL_DOCUMENT
        else:  # tables of the group (customers, financials, fx_rates, history): whole
            return ipc_table(raw).to_pandas()
        reader = pa.ipc.open_file(raw)
        kept = []
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            values = batch.column(column)
            mask = pc.fill_null(pc.is_in(values, value_set=value_set), False)
            if optional:  # a row naming no document belongs to the group: kept
                mask = pc.or_(mask, pc.equal(pc.fill_null(pc.utf8_trim_whitespace(values), ""), ""))
            kept.append(batch.filter(mask))
        frame = pa.Table.from_batches(kept, schema=reader.schema).to_pandas()
        if table == "documents":
            self.documents = pa.array(frame["document_id"].array, type=pa.string())
        return frame

    def _documents(self) -> pa.Array:
        return self.documents if self.documents is not None else pa.array([], type=pa.string())
