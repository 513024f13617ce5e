"""A validated book, cached as typed Parquet so each notebook of a run skips re-validation.

The runner validates the source once, then writes every table (money already in int64
minor units, dates typed) under ``<store>/books/<key>/`` where ``key`` is the sha256 of
the input hashes. Notebooks read that cache: Parquet keeps the types, so loading is a
plain columnar read. The cache is derived data; deleting it only costs time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from closelib.book.links import Links, links
from closelib.book.load import release_memory
from closelib.book.model import Book
from closelib.paths import PACKAGE_DIR

META = "book.json"
LINKS = "links.npz"


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
        {"layout": 2, "code": code_fingerprint(), "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())}},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cached_rows(folder: Path) -> dict[str, int] | None:
    """Rows per input file of a complete cache, or ``None`` when there is none: the inputs with
    this key were validated by an earlier run and need not be validated again."""
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))["rows"]
    except (OSError, ValueError, KeyError):
        return None


def write_book_cache(book: Book, folder: Path) -> Path:
    """Write atomically: a half-written cache from a killed run is never read."""
    if (folder / META).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    for name, frame in book.tables.items():
        frame.to_parquet(scratch / f"{name}.parquet", index=False)
    # Where applications and adjustments point (row positions): worked out once here, not
    # again in every notebook's first as-of computation.

    found = links(book)
    arrays = {name: found.get(name) for name in Links.NAMES}
    # mypy checks **arrays against savez's allow_pickle: bool as well as its **kwds arrays
    np.savez(scratch / LINKS, **arrays)  # type: ignore[arg-type]
    meta = {
        "present": sorted(book.present),
        "entity_currency": book.entity_currency,
        "files": {name: path.name for name, path in book.files.items()},
        "rows": {path.name: len(book.tables[name]) for name, path in book.files.items()},
    }
    (scratch / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    try:
        os.rename(scratch, folder)
    except OSError:  # another run wrote the same cache first: theirs is identical
        for item in scratch.iterdir():
            item.unlink()
        scratch.rmdir()
    return folder


def read_book_cache(folder: Path, source: Path) -> Book:
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    tables = {path.stem: pd.read_parquet(path) for path in sorted(folder.glob("*.parquet"))}
    files = {name: source / filename for name, filename in meta["files"].items()}
    book = Book(source, tables, files, frozenset(meta["present"]), meta["entity_currency"])
    if (folder / LINKS).is_file():
        with np.load(folder / LINKS) as stored:
            found = links(book)
            for name in Links.NAMES:
                if name in stored.files:
                    found.set(name, stored[name])

    release_memory()  # the Parquet read's Arrow buffers, already converted to frames
    return book
