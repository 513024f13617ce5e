"""Finding and reading runs that already exist (never changing them)."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from closelib.errors import (
    NotFoundError,
    RunError,
)
from closelib.runner.processes import is_gone

# The figures a reader sees first, in `close list` and in the period binder alike: each plain
# (``tb.unexplained``) and per entity (``tb.US01.unexplained``).
KEY_FIGURES = (
    "tb.unexplained",
    "reserve.allowance_required",
    "reserve.true_up",
    "write_off.total",
    "kpi.dso",
    "cash_app.unmatched_amount",  # unapplied cash and credit memos left after the proposals
)


def key_figures(figures: dict) -> dict:
    """The key figures among a manifest's ``figures``, in :data:`KEY_FIGURES` order (plain first,
    then per entity by name)."""
    order = {name: rank for rank, name in enumerate(KEY_FIGURES)}

    def rank(name: str) -> tuple[int, int, str] | None:
        parts = name.split(".")
        if len(parts) not in (2, 3):
            return None
        key = f"{parts[0]}.{parts[-1]}"
        return (order[key], len(parts), name) if key in order else None

    found = sorted((r, name) for name in figures if (r := rank(name)) is not None)
    return {name: figures[name] for _, name in found}


def period_folder(run_dir: Path) -> Path:
    """``<outputs>/<PERIOD>/``: where a run's period keeps its runs, binder and sign-off log."""
    return Path(run_dir).parent


def outputs_root(run_dir: Path) -> Path:
    """``<outputs>/``: the root a run folder ``<outputs>/<PERIOD>/<RUN_ID>/`` lives under."""
    return Path(run_dir).parent.parent


def run_status(manifest: dict) -> str:
    """The status a reader is shown: the manifest's, except that a run still ``running`` whose
    process has ended (killed, the machine restarted: :func:`closelib.runner.processes.is_gone`)
    is ``abandoned``: it will never finish and its folder holds whatever it got to write."""
    status = str(manifest.get("status") or "unknown")
    if status == "running" and is_gone(manifest.get("process")):
        return "abandoned"
    return status


def read_manifest(run_dir: Path) -> dict:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"{run_dir} is not a run folder (no {MANIFEST})")
    return json.loads(path.read_text(encoding="utf-8"))


def all_runs(outputs: Path | None = None, period: str | None = None) -> list[Path]:
    """Run folders, oldest first (run ids sort by start time)."""
    outputs = outputs or default_outputs()
    if not outputs.is_dir():
        return []
    periods = (
        [outputs / period]
        if period
        else sorted(p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    found: list[Path] = []
    for folder in periods:
        if folder.is_dir():
            found.extend(
                p for p in folder.iterdir() if p.is_dir() and RUN_ID.match(p.name) and (p / MANIFEST).is_file()
            )
    return sorted(found, key=lambda p: p.name)


def find_run(run: str | Path, outputs: Path | None = None) -> Path:
    """A run folder from its path or its id (a unique prefix of the id will do). An empty or
    blank ``run`` is an error: as a prefix it would match every run."""
    if not str(run).strip():
        raise NotFoundError("no run given: name a run folder, a run id or a unique prefix of one (see `close list`)")
    path = Path(run)
    if (path / MANIFEST).is_file():
        return path.resolve()
    runs = all_runs(outputs)
    exact = [p for p in runs if p.name == str(run)]
    if exact:
        return exact[0]
    matches = [p for p in runs if p.name.startswith(str(run))]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NotFoundError(f"run id {run!r} is ambiguous: " + ", ".join(p.name for p in matches[:5]))
    raise NotFoundError(f"no run {run!r} under {outputs or default_outputs()} (see `close list`)")


def failed_checks(manifest: dict) -> list[str]:
    return [
        name
        for name, c in manifest.get("checks", {}).items()
        if not c.get("passed") and c.get("severity", "error") == "error"
    ]


def describe(run_dir: Path, figures: bool = True) -> str:
    """One line per run for ``close list`` (without the key figures when ``figures`` is False: the
    CLI shows them formatted on lines of their own)."""
    m = read_manifest(run_dir)
    shown = "  ".join(f"{k}={v}" for k, v in key_figures(m.get("figures", {})).items()) if figures else ""
    extra = ""
    if m.get("restates"):
        extra = f"  restates {m['restates']}"
    elif m.get("reperforms"):
        extra = f"  reperforms {m['reperforms']}"
    checks = m.get("checks", {})
    passed = sum(1 for c in checks.values() if c.get("passed"))
    line = f"{m['period']}  {m['run_id']}  {run_status(m):<9}  checks {passed}/{len(checks)} passed"
    return f"{line}  {shown}{extra}" if shown else f"{line}{extra}"


MANIFEST = "manifest.json"


RUN_INFO = "run.json"


RUN_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")


def default_outputs() -> Path:
    return Path(os.environ.get("CLOSE_OUTPUTS", "outputs")).resolve()


def claim_folder(parent: Path, names: Iterable[str]) -> tuple[str, Path]:
    """The first of ``names`` (any iterable, tried lazily) that can be created under ``parent``
    with an exclusive mkdir: a folder is never shared or reused, even by runs started at once."""
    parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            (parent / name).mkdir()
        except FileExistsError:
            continue
        return name, parent / name
    raise RunError(f"could not create a new run folder under {parent}")


def new_run_dir(outputs: Path, period: str) -> tuple[str, Path]:
    """A fresh run folder; the id sorts by start time (UTC, microseconds) and carries random hex."""
    names = (f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}" for _ in range(100))
    return claim_folder(outputs / period, names)
