"""The content-addressed input store: what a run read, kept so it can be re-performed.

Every input file a run reads is copied once into ``<outputs>/.store/sha256/<ab>/<hash>``
(read-only, named by its sha256) and linked into the run folder as
``<run>/inputs/<table file>``. The notebooks read that stored copy, never the live
source folder, so the hashes in the manifest are the hashes of what was actually read,
and ``close reperform`` works after the source has changed or been deleted. Identical
files across runs share one stored copy (a hard link where the file system allows).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from closelib.book.schema import FILE_SUFFIXES, TABLES

STORE_DIR = ".store"
CHUNK = 1 << 20


def store_root(outputs: Path) -> Path:
    return outputs / STORE_DIR


def source_files(source: Path) -> list[Path]:
    """The files of a source folder that name a contract table (anything else is ignored)."""
    if not source.is_dir():
        return []
    return sorted(
        path
        for path in source.iterdir()
        if path.is_file() and path.suffix.lower() in FILE_SUFFIXES and path.stem in TABLES
    )


def _copy_hashing(path: Path, scratch_dir: Path) -> tuple[str, Path]:
    digest = hashlib.sha256()
    handle, scratch = tempfile.mkstemp(prefix=".in-", dir=scratch_dir)
    try:
        with os.fdopen(handle, "wb") as out, open(path, "rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:  # a full disk, an interruption: no half copy is left in the store
        Path(scratch).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), Path(scratch)


def store_file(path: Path, outputs: Path) -> tuple[str, Path]:
    """Copy ``path`` into the store (once per content); return (sha256, stored path)."""
    root = store_root(outputs) / "sha256"
    root.mkdir(parents=True, exist_ok=True)
    sha, scratch = _copy_hashing(path, root)
    target = root / sha[:2] / sha
    target.parent.mkdir(exist_ok=True)
    if target.is_file():
        scratch.unlink()
    else:
        os.chmod(scratch, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(scratch, target)
    return sha, target


def link_inputs(source: Path, outputs: Path, inputs_dir: Path) -> dict[str, str]:
    """Store every table file of ``source`` and link it into ``inputs_dir``: {file name: sha256}."""
    inputs_dir.mkdir(parents=True, exist_ok=False)
    hashes: dict[str, str] = {}
    for path in source_files(source):
        sha, stored = store_file(path, outputs)
        target = inputs_dir / path.name
        try:
            os.link(stored, target)
        except OSError:  # another file system, or links not allowed: a read-only copy
            shutil.copyfile(stored, target)
            os.chmod(target, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        hashes[path.name] = sha
    return hashes


def make_read_only(folder: Path) -> None:
    """Files, then folders, bottom up: a finished run cannot be edited by accident."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        mode = path.stat().st_mode
        if path.is_dir() or path.stat().st_nlink == 1:
            os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    os.chmod(folder, folder.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
