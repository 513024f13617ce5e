"""The runner's side of the typed book cache: reuse only one that checks out, else validate and
write a new one, and record what the run read (``manifest.book_cache``, ``run.json``).

A cache is reused only when (1) every file matches the cache's ``hashes.json`` and (2) those
hashes are the ones the run that wrote it recorded in its ``run.json`` (``book_cache_files``),
so rewriting a cache file together with its ``hashes.json`` is not enough to have it read.
Anything else (a changed, missing or extra file, a writer that no longer records the same
hashes) discards the cache: the inputs are validated again, a new cache is swapped in, and
the run says so (progress line and ``book_cache.rebuilt_because``). A re-performance never
reads an earlier cache: it writes its own, ``books/<key>.<run_id>/``, and reads that.

An entity close (parameter ``entities``) reads a cache of its own too: its entities' share of the
group's cache, ``books/<group cache>.entities-<tag>/``, with the share's row links and translation
(:func:`prepare_slice_cache`). It is written once, from the group's checked cache, and reused on
the same terms; the run's ``run.json`` records both (``book_cache_files`` the share's, and
``sliced_from`` the group's), so either can be reused by a later run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from closelib.book.cache import cache_key, cache_meta, check_book_cache, read_book_cache, write_sealed, written_by
from closelib.book.load import load_book
from closelib.book.slice import entity_slice, share_of
from closelib.errors import RunError
from closelib.runner.apart import call_apart
from closelib.runner.runfolder import RUN_INFO
from closelib.runner.store import STORE_DIR, store_root

BOOKS = "books"
RUN_INFO_FILES = "book_cache_files"  # the key in run.json: {cache file: sha256} the notebooks check
RUN_INFO_ENTITIES = "book_cache_entities"  # run.json: the entities whose share the cache holds (None: the book)
SLICED_FROM = "sliced_from"  # run.json and manifest.book_cache: the group's cache an entity close's was cut from


@dataclass(frozen=True)
class BookCache:
    """The cache a run's notebooks read and what the manifest records of it."""

    folder: Path
    files: dict[str, str]  # cache file -> sha256, as checked by this run
    rows: dict[str, int]  # input file -> rows, as validated
    entry: dict  # manifest["book_cache"]


def run_label(run_dir: Path, outputs: Path) -> str:
    """A run folder as recorded in a cache (``written_by``): relative to the outputs root."""
    try:
        return Path(run_dir).resolve().relative_to(outputs.resolve()).as_posix()
    except ValueError:
        return str(run_dir)


def writer_files(outputs: Path, written_by: str, folder: Path) -> dict[str, str] | None:
    """The sha256 of the files of the cache ``folder`` that the run ``written_by`` recorded in its
    ``run.json``: the cache its notebooks read, or the group's cache an entity close's was cut
    from (``None`` when that run, or its record of that folder, is not there). Only a folder
    inside ``outputs`` is read."""
    root = outputs.resolve()
    path = (root / written_by / RUN_INFO).resolve()
    if not written_by or not path.is_relative_to(root):
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        read, sliced = info.get("book_cache"), info.get(SLICED_FROM) or {}
        if Path(str(read or "")).name == folder.name:
            found = info.get(RUN_INFO_FILES)
        elif Path(str(sliced.get("folder") or "")).name == folder.name:
            found = sliced.get("files")
        else:
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, dict) else None


def _reusable(folder: Path, outputs: Path) -> tuple[dict[str, str] | None, str | None]:
    files, problem = check_book_cache(folder)
    if files is None:
        return None, problem
    writer = written_by(folder)
    if writer_files(outputs, writer, folder) != files:
        return None, f"its files are not the ones the run that wrote it ({writer or 'unknown'}) recorded"
    return files, None


def prepare_book_cache(
    run_dir: Path, outputs: Path, hashes: dict[str, str], reuse: bool, say: Callable[[str], None]
) -> BookCache:
    """Reuse the cache of these inputs if it checks out, else validate ``run_dir/inputs`` and write
    one (``reuse=False``: always, into a folder of this run's own)."""
    key = cache_key({name: {"sha256": sha} for name, sha in hashes.items()})
    books = store_root(outputs) / BOOKS
    folder = books / key
    problem = None
    if reuse:
        files, problem = _reusable(folder, outputs)
        if files is not None:
            say("  inputs validated before (same sha256 and code): reusing the typed book cache")
            rows = cache_meta(folder)["rows"]
            return BookCache(folder, files, rows, _entry(key, True, folder, written_by(folder), files, None))
        if problem:
            say(f"  typed book cache {key[:12]} discarded ({problem}): validating again and rebuilding it")
    if not reuse:
        folder = books / f"{key}.{run_dir.name}"
    # In a child process: the parsed book (GiBs at a million documents) never lives in the
    # runner, which would otherwise keep what its allocators hold through every notebook.
    folder, rows, files = call_apart(
        validate_and_write, run_dir / "inputs", folder, run_label(run_dir, outputs), problem
    )
    files = _checked_after_writing(folder, files)
    return BookCache(folder, files, rows, _entry(key, False, folder, written_by(folder), files, problem))


def prepare_slice_cache(
    group: BookCache, entities: list[str], run_dir: Path, outputs: Path, reuse: bool, say: Callable[[str], None]
) -> BookCache:
    """An entity close's cache: the share of ``entities`` of the group's cache ``group`` (already
    checked), with the share's own row links and translation. Reused if it checks out, as a
    group's cache is; else cut from ``group`` in a child process and written beside it. Every
    kernel of the run then maps the share, instead of hashing the whole group's cache and
    filtering it (what made an entity close cost more the larger its group was)."""
    chosen = share_of(entities)
    tag = hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:16]
    folder = group.folder.parent / f"{group.folder.name}.entities-{tag}"
    key = f"{group.entry['key']}.entities-{tag}"
    names = ", ".join(chosen)
    problem = None
    if reuse:
        files, problem = _reusable(folder, outputs)
        if files is not None:
            say(f"  reusing the typed cache of the share of {names}")
            return BookCache(folder, files, group.rows, _entry(key, True, folder, written_by(folder), files, None))
        if problem:
            say(f"  typed cache of the share of {names} discarded ({problem}): cutting it again")
    say(f"  writing the typed cache of the share of {names}")
    writer, inputs = run_label(run_dir, outputs), run_dir / "inputs"
    folder, files = call_apart(cut_and_write, group.folder, group.files, inputs, chosen, folder, writer, problem)
    files = _checked_after_writing(folder, files)
    return BookCache(folder, files, group.rows, _entry(key, False, folder, written_by(folder), files, problem))


def _checked_after_writing(folder: Path, files: dict[str, str] | None) -> dict[str, str]:
    """The sha256 of the cache just written (``files``), or, when another run had written the
    same cache first and it was kept (``None``), of that one once it checks out."""
    if files is not None:
        return files
    found, problem = check_book_cache(folder)
    if found is None:
        raise RunError(f"the typed book cache {folder} does not check out right after it was written: {problem}")
    return found


def cut_and_write(
    group: Path,
    group_files: dict[str, str],
    inputs: Path,
    entities: list[str],
    folder: Path,
    writer: str,
    problem: str | None,
) -> tuple[Path, dict[str, str] | None]:
    """Read the share of ``entities`` of the group's cache (each file checked against
    ``group_files``), as a kernel would, and write it as a cache of its own into ``folder``."""
    book = entity_slice(read_book_cache(group, inputs, group_files, entities), entities)
    return write_sealed(book, folder, writer, replace=problem is not None)


def validate_and_write(
    inputs: Path, folder: Path, writer: str, problem: str | None
) -> tuple[Path, dict[str, int], dict[str, str] | None]:
    """Validate ``inputs`` (a bad book raises :class:`SourceError` with every problem) and write
    its typed cache into ``folder`` (replacing one that was discarded for ``problem``): the
    folder, the rows of each input file and the sha256 of the files as written (``None`` when
    another run's cache is there instead, see :func:`write_sealed`)."""
    book = load_book(inputs)
    rows = {path.name: len(book.tables[name]) for name, path in book.files.items()}
    folder, files = write_sealed(book, folder, writer, replace=problem is not None)
    return folder, rows, files


def _entry(key: str, reused: bool, folder: Path, writer: str, files: dict[str, str], rebuilt: str | None) -> dict:
    return {
        "key": key,
        "reused": reused,
        "folder": f"{STORE_DIR}/{BOOKS}/{folder.name}",
        "written_by": writer,
        "files": files,
        "rebuilt_because": rebuilt,
    }


def cache_folder(outputs: Path, entry: dict) -> Path | None:
    """The cache folder a manifest's ``book_cache`` names (only inside ``outputs``'s store)."""
    name = Path(str(entry.get("folder") or "")).name
    return store_root(outputs) / BOOKS / name if name else None
