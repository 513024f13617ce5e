"""``close verify``: re-hash a finished run against its manifest (CONTRACT §4).

What is checked, each difference reported as a :class:`Mismatch` (file, expected, found):

- every stored input ``inputs/<file>`` against ``manifest.inputs[file].sha256``, and the
  content-addressed store copy ``<outputs>/.store/sha256/<ab>/<sha>`` it was linked from;
- every file listed in ``manifest.outputs`` (notebooks, HTML, Excel packs, records, logs);
- every executed notebook against ``manifest.notebooks[name].sha256``;
- files in the run folder that the manifest does not list (``expected`` is "not listed");
- the typed book cache the run's notebooks read (``manifest.book_cache.files``: the sha256 of
  each cache file, as checked when the run used it), and, for a cache another run wrote, that
  those are the hashes the writer recorded in its ``run.json``;
- the period's sign-off log: a sign-off of this run whose manifest hash no longer matches
  the manifest is *void*; a broken hash chain, a line without its anchor file or an anchor
  without its line means the log was edited (:func:`closelib.audit.signoffs.log_problems`).

A missing file is a mismatch with ``found`` = "missing". The manifest itself is the
reference; a changed manifest shows up as void sign-offs (their hash was taken when they
were signed) and usually as inconsistent hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from closelib.audit.mismatch import Mismatch
from closelib.audit.signoffs import log_problems, signoffs_for
from closelib.errors import RunError
from closelib.files import sha256_file
from closelib.runner.bookcache import SLICED_FROM, cache_folder, run_label, writer_files
from closelib.runner.runfolder import MANIFEST, outputs_root, period_folder, read_manifest
from closelib.runner.store import STORE_DIR

MISSING = "missing"
NOT_LISTED = "not listed in the manifest"


@dataclass
class Verification:
    run_dir: Path
    mismatches: list[Mismatch]
    files_checked: int

    @property
    def ok(self) -> bool:
        return not self.mismatches


class _Hasher:
    """Hashes each inode once (stored inputs are hard links of the store copies)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int, int, int], str] = {}

    def __call__(self, path: Path) -> str | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in self.seen:
            self.seen[key] = sha256_file(path)
        return self.seen[key]


def verify_run(run_dir: Path) -> list[Mismatch]:
    """Every mismatch between a finished run folder and its manifest (empty: intact)."""
    return verify(run_dir).mismatches


def verify(run_dir: Path) -> Verification:
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("status") not in ("succeeded", "failed"):
        raise RunError(
            f"run {manifest.get('run_id')} has not finished (status {manifest.get('status')}); "
            "only a finished run has hashes to verify"
        )
    digest = _Hasher()
    found: list[Mismatch] = []
    checked = 0
    listed: set[str] = {MANIFEST}

    store = outputs_root(run_dir) / STORE_DIR / "sha256"
    for name, entry in sorted((manifest.get("inputs") or {}).items()):
        rel = f"inputs/{name}"
        listed.add(rel)
        expected = entry.get("sha256")
        actual = digest(run_dir / rel)
        checked += 1
        if actual != expected:
            found.append(Mismatch(rel, str(expected), actual or MISSING))
        if expected:
            stored = store / expected[:2] / expected
            actual_store = digest(stored)
            checked += 1
            if actual_store != expected:
                found.append(
                    Mismatch(
                        f"{STORE_DIR}/sha256/{expected[:2]}/{expected} (store copy of {name})",
                        expected,
                        actual_store or MISSING,
                    )
                )

    for rel, expected in sorted((manifest.get("outputs") or {}).items()):
        listed.add(rel)
        actual = digest(run_dir / rel)
        checked += 1
        if actual != expected:
            found.append(Mismatch(rel, str(expected), actual or MISSING))

    for name, entry in sorted((manifest.get("notebooks") or {}).items()):
        rel, expected = entry.get("file"), entry.get("sha256")
        if not rel or not expected:
            continue
        listed.add(rel)
        actual = digest(run_dir / rel)
        if actual != expected and not any(m.file == rel for m in found):
            found.append(Mismatch(f"{rel} (notebook {name})", expected, actual or MISSING))

    cache_checked, cache_found = _book_cache(run_dir, manifest, digest)
    checked += cache_checked
    found.extend(cache_found)

    for path in sorted(run_dir.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(run_dir).as_posix()
        if rel not in listed:
            found.append(Mismatch(rel, NOT_LISTED, f"present (sha256 {digest(path)})"))

    for entry in signoffs_for(run_dir):
        if entry["void"]:
            found.append(
                Mismatch(
                    f"sign-off {entry['role']} {entry['name']} at {entry['at']} (VOID)",
                    f"manifest sha256 {entry['manifest_sha256']}",
                    f"manifest sha256 {entry['current_sha256']}",
                )
            )
    for problem in log_problems(period_folder(run_dir)):
        found.append(problem)
    return Verification(run_dir, found, checked)


def _book_cache(run_dir: Path, manifest: dict, digest: _Hasher) -> tuple[int, list[Mismatch]]:
    """The cache files the run read, re-hashed, and the writer's record of them; for an entity
    close, the same for the group's cache its share was cut from."""
    entry = manifest.get("book_cache") or {}
    sliced = entry.get(SLICED_FROM)
    checked, found = _cache_files(run_dir, entry, "typed book cache this run read", digest)
    if isinstance(sliced, dict):
        more, also = _cache_files(run_dir, sliced, "typed book cache of the group this run's was cut from", digest)
        checked, found = checked + more, found + also
    return checked, found


def _cache_files(run_dir: Path, entry: dict, what: str, digest: _Hasher) -> tuple[int, list[Mismatch]]:
    files = entry.get("files")
    outputs = outputs_root(run_dir)
    folder = cache_folder(outputs, entry)
    if not isinstance(files, dict) or folder is None:
        return 0, []
    found = []
    label = f"{entry.get('folder')}/"
    for name, expected in sorted(files.items()):
        actual = digest(folder / name)
        if actual != expected:
            found.append(Mismatch(f"{label}{name} ({what})", str(expected), actual or MISSING))
    writer = str(entry.get("written_by") or "")
    if writer and writer != run_label(run_dir, outputs):
        recorded = writer_files(outputs, writer, folder)
        if recorded != files:
            found.append(
                Mismatch(
                    f"{label} ({what}, as recorded by the run that wrote it, {writer})",
                    "the same sha256 for every cache file",
                    "missing" if recorded is None else "different sha256",
                )
            )
    return len(files), found
