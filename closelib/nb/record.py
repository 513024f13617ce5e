"""Recording figures and checks from a notebook (closelib's own small scrapbook).

A notebook appends JSON lines to ``<run_dir>/records/<notebook>.jsonl``; the runner
merges every notebook's lines into ``manifest.json``. Figures are the period's key
numbers (CONTRACT §3): money as a decimal string, rates and days as numbers. Checks
are ties that can fail; ``severity`` "error" fails the run, "warning" is reported only.

A notebook that names files after ids from data (the credit memos) also records the id -> file
name map (``kind: file_name``), merged into the manifest's ``file_names``.

A part of a figure or check name that comes from data (a customer id, an entity) is written
through :func:`closelib.safenames.safe_name` (``nb.key`` in notebooks), so any id makes a valid,
unambiguous dotted name: ``credit.C000123.score`` stays as it is, ``credit.a b.score`` would be
refused and is ``credit.a_b-<hash>.score``.

Outside a run (a notebook opened in JupyterLab) records are kept in memory, so the
notebook behaves the same but leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from closelib.errors import RecordError
from closelib.safenames import inside

RECORDS_DIR = "records"


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or name.startswith(".") or name.endswith("."):
        raise RecordError(f"invalid figure/check name {name!r}: use dotted names like 'tb.difference'")


def _json_value(value: Any) -> Any:
    """Figures are strings (money), numbers, booleans or None, never NaN or binary-float money."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return value
    raise RecordError(f"figure value {value!r} of type {type(value).__name__} is not recordable")


class Recorder:
    """Appends records for one notebook; keeps an in-memory copy for display."""

    def __init__(self, run_dir: str | Path | None, notebook: str):
        self.notebook = notebook
        self.figures: dict[str, Any] = {}
        self.checks: dict[str, dict] = {}
        self.path: Path | None = None
        if run_dir:
            folder = Path(run_dir) / RECORDS_DIR
            folder.mkdir(parents=True, exist_ok=True)
            self.path = inside(folder, f"{notebook}.jsonl")

    def _append(self, record: dict) -> None:
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def file_names(self, folder: str, names: dict[str, str]) -> None:
        """Record which file name (stem) in ``folder`` of the run stands for which id."""
        for identifier, name in names.items():
            self._append(
                {"kind": "file_name", "folder": folder, "id": identifier, "name": name, "notebook": self.notebook}
            )

    def figure(self, name: str, value: Any) -> Any:
        _check_name(name)
        value = _json_value(value)
        if name in self.figures and self.figures[name] != value:
            raise RecordError(f"figure {name!r} recorded twice with different values")
        self.figures[name] = value
        self._append({"kind": "figure", "name": name, "value": value, "notebook": self.notebook})
        return value

    def check(self, name: str, passed: bool, detail: str = "", severity: str = "error") -> bool:
        _check_name(name)
        if severity not in ("error", "warning"):
            raise RecordError(f"severity must be 'error' or 'warning', got {severity!r}")
        passed = bool(passed)
        entry = {"passed": passed, "detail": str(detail), "severity": severity}
        self.checks[name] = entry
        self._append({"kind": "check", "name": name, **entry, "notebook": self.notebook})
        return passed


def read_records(run_dir: str | Path) -> tuple[dict, dict, list[str]]:
    """All notebooks' figures and checks in a run folder, plus conflicts found.

    The same name recorded by two notebooks with different values is a conflict
    (a figure has one meaning per period).
    """
    figures: dict[str, Any] = {}
    checks: dict[str, dict] = {}
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    folder = Path(run_dir) / RECORDS_DIR
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if record["kind"] == "file_name":
                continue
            name = record["name"]
            if record["kind"] == "figure":
                if name in figures and figures[name] != record["value"] and owner[name] != record["notebook"]:
                    conflicts.append(
                        f"figure {name} is {figures[name]!r} in {owner[name]} "
                        f"but {record['value']!r} in {record['notebook']}"
                    )
                figures[name] = record["value"]
                owner[name] = record["notebook"]
            elif record["kind"] == "check":
                checks[name] = {
                    "passed": record["passed"],
                    "detail": record["detail"],
                    "severity": record.get("severity", "error"),
                    "notebook": record["notebook"],
                }
    return dict(sorted(figures.items())), dict(sorted(checks.items())), conflicts


def read_file_names(run_dir: str | Path) -> dict[str, dict[str, str]]:
    """``{folder: {id: file name stem}}`` recorded by the run's notebooks (sorted, for the manifest)."""
    found: dict[str, dict[str, str]] = {}
    folder = Path(run_dir) / RECORDS_DIR
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and (record := json.loads(line))["kind"] == "file_name":
                found.setdefault(record["folder"], {})[record["id"]] = record["name"]
    return {k: dict(sorted(v.items())) for k, v in sorted(found.items())}
