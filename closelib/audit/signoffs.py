"""The period's sign-off log: an append-only, hash-chained ``signoffs.jsonl``."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from pathlib import Path

from closelib.audit.mismatch import Mismatch
from closelib.files import sha256_file
from closelib.runner.runfolder import MANIFEST, period_folder

LOG = "signoffs.jsonl"


LOCK = ".signoffs.lock"


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
            if path.exists():
                os.chmod(path, path.stat().st_mode | stat.S_IWUSR)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
