"""The period's sign-off log: an append-only, hash-chained ``signoffs.jsonl``, each line anchored.

Each line carries ``prev_sha256``, the sha256 of the line before it, so an edited, removed or
reordered line breaks the chain at the line after it. The last line has no line after it, so
each sign-off is also written, before its line is appended, as its own read-only anchor file
``.signoffs/<sha256 of the line>.json`` holding exactly the line's text: a line without its
anchor (edited, or added by hand) and an anchor without its line (the line deleted or edited)
are reported, as is an anchor whose content no longer has the sha256 it is named by.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from pathlib import Path

from closelib.audit.mismatch import Mismatch
from closelib.files import sha256_file, write_text_atomic
from closelib.runner.runfolder import MANIFEST, period_folder

MISSING = "missing"

LOG = "signoffs.jsonl"


LOCK = ".signoffs.lock"
ANCHORS = ".signoffs"


def log_path(period_dir: Path) -> Path:
    return Path(period_dir) / LOG


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def log_lines(period_dir: Path) -> list[str]:
    path = log_path(period_dir)
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_log(period_dir: Path) -> list[dict]:
    """Every readable sign-off of the period, in the order signed."""
    entries = []
    for line in log_lines(period_dir):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def chain_problems(period_dir: Path) -> list[Mismatch]:
    """Lines that are unreadable or whose ``prev_sha256`` does not match the line before."""
    problems = []
    previous = None
    for number, line in enumerate(log_lines(period_dir), start=1):
        where = f"{LOG} line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(Mismatch(where, "a JSON sign-off", "unreadable text"))
            previous = line_hash(line)
            continue
        found = entry.get("prev_sha256") if isinstance(entry, dict) else None
        if found != previous:
            problems.append(
                Mismatch(
                    f"{where} (the log was edited: a line before it changed or was removed)",
                    f"prev_sha256 {previous}",
                    f"prev_sha256 {found}",
                )
            )
        previous = line_hash(line)
    return problems


def anchor_path(period_dir: Path, sha: str) -> Path:
    return Path(period_dir) / ANCHORS / f"{sha}.json"


def anchor_problems(period_dir: Path) -> list[Mismatch]:
    """Log lines without their anchor file, anchors without their line, anchors edited."""
    period_dir = Path(period_dir)
    lines = log_lines(period_dir)
    in_log = {line_hash(line) for line in lines}
    problems = []
    for number, line in enumerate(lines, start=1):
        sha = line_hash(line)
        if not anchor_path(period_dir, sha).is_file():
            problems.append(
                Mismatch(
                    f"{LOG} line {number} (the log was edited: this line was changed or added by hand)",
                    f"its anchor {ANCHORS}/{sha}.json, written when it was signed",
                    MISSING,
                )
            )
    folder = period_dir / ANCHORS
    anchors = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in anchors:
        sha = path.stem
        found = sha256_file(path)
        if found != sha:
            problems.append(
                Mismatch(f"{ANCHORS}/{path.name} (a sign-off anchor was edited)", f"sha256 {sha}", f"sha256 {found}")
            )
            continue
        if sha not in in_log:
            problems.append(
                Mismatch(
                    f"{_describe(path)} (the log was edited: its line was deleted or changed)",
                    f"a line of {LOG} with sha256 {sha}",
                    MISSING,
                )
            )
    return problems


def _describe(anchor: Path) -> str:
    try:
        entry = json.loads(anchor.read_text(encoding="utf-8"))
        who = f"{entry['role']} {entry['name']} of run {entry['run_id']} at {entry['at']}"
        return f"sign-off {who} ({ANCHORS}/{anchor.name})"
    except (OSError, ValueError, KeyError, TypeError):
        return f"sign-off {ANCHORS}/{anchor.name}"


def log_problems(period_dir: Path) -> list[Mismatch]:
    """Everything that shows the period's sign-off log was edited: the chain, then the anchors."""
    return chain_problems(period_dir) + anchor_problems(period_dir)


def signoffs_for(run_dir: Path) -> list[dict]:
    """This run's sign-offs, each with ``void`` (manifest changed since) and ``current_sha256``."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / MANIFEST
    current = sha256_file(manifest_path) if manifest_path.is_file() else None
    result = []
    for entry in read_log(period_folder(run_dir)):
        if entry.get("run_id") != run_dir.name:
            continue
        result.append({**entry, "current_sha256": current, "void": entry.get("manifest_sha256") != current})
    return result


def append_entry(period_dir: Path, entry: dict) -> None:
    path = log_path(period_dir)
    with open(period_dir / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lines = log_lines(period_dir)
            entry["prev_sha256"] = line_hash(lines[-1]) if lines else None
            line = json.dumps(entry, sort_keys=False, ensure_ascii=False)
            _write_anchor(period_dir, line)
            if path.exists():
                os.chmod(path, path.stat().st_mode | stat.S_IWUSR)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_anchor(period_dir: Path, line: str) -> None:
    """The line's text, alone, read-only, named by its sha256 (written before the line itself)."""
    folder = Path(period_dir) / ANCHORS
    folder.mkdir(exist_ok=True)
    target = anchor_path(period_dir, line_hash(line))
    write_text_atomic(target, line, mode=stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
