"""The tasks of a batch: one close each, of a period, of some entities of it, restating a run.

Planned before anything runs, and refused whole with every problem listed when a task cannot be
run as asked (a restatement of a period that has no run to restate), so a batch never stops
half-way through on something that could have been known at its start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from closelib.book.extracts import find_table_files, read_text_frame
from closelib.errors import CloseError, RunError
from closelib.periods import Period
from closelib.runner.runfolder import all_runs, read_manifest, run_status
from closelib.safenames import safe_name


@dataclass(frozen=True)
class Task:
    """One close of a batch. ``entities`` None: the whole group; ``restates``: the run id of the
    same period (and the same entities) this close restates."""

    period: str
    entities: tuple[str, ...] | None = None
    restates: str | None = None

    @property
    def name(self) -> str:
        """How the batch names the task to a reader: ``2026-03``, ``2026-03 US01``."""
        return self.period if self.entities is None else f"{self.period} {'+'.join(self.entities)}"

    @property
    def file_stem(self) -> str:
        """The task's name made safe for a file name (its log in the batch folder)."""
        return safe_name(self.name.replace(" ", "_"))

    def overrides(self) -> list[str]:
        """The ``-p`` overrides that make the close an entity close (none for the whole group);
        the ids written as a JSON list, which YAML reads back as the same text."""
        return [] if self.entities is None else ["entities=" + json.dumps(list(self.entities))]


def run_entities(manifest: dict) -> tuple[str, ...] | None:
    """The entities a run closed, from its recorded parameters (``None``: the whole group)."""
    found = (manifest.get("parameters") or {}).get("entities")
    return tuple(str(e) for e in found) if found else None


def group_entities(source: Path) -> list[str]:
    """The entities of the group in the source folder, sorted: the ``entities`` table, else the
    entities of ``gl_balances`` (a close needs an entity's trial balance). Read as text, before
    any validation: the close of each entity validates the book as ``close run`` does."""
    problems = []
    for table in ("entities", "gl_balances"):
        files = find_table_files(Path(source), table)
        if not files:
            continue
        try:
            frame = read_text_frame(files[0], table)
        except (CloseError, OSError) as exc:
            problems.append(f"{files[0].name}: {exc}")
            continue
        if "entity" in frame.columns:
            found = sorted(set(frame["entity"].astype(str).str.strip()) - {""})
            if found:
                return found
    detail = "; ".join(problems) or "no entities or gl_balances table with an entity column"
    raise RunError(f"--by-entity: cannot tell the entities of the group in {source}: {detail}")


def plan_tasks(periods: Iterable[Period], entities: list[str] | None) -> list[Task]:
    """A close per period, or (``entities`` given: ``--by-entity``) per period and entity."""
    if entities is None:
        return [Task(str(p)) for p in periods]
    return [Task(str(p), (e,)) for p in periods for e in entities]


def with_restatements(tasks: list[Task], outputs: Path) -> list[Task]:
    """Each task restating its period's latest run that succeeded with the same entities (what
    ``close run --restate RUN`` would be given). Refuses the batch, naming each period, when one
    has no such run: a restatement restates something, and a failed run reported nothing."""
    problems = []
    planned = []
    for task in tasks:
        candidates = []
        for run_dir in all_runs(outputs, task.period):
            try:
                manifest = read_manifest(run_dir)
            except (OSError, ValueError):
                continue
            if run_entities(manifest) == task.entities and run_status(manifest) == "succeeded":
                candidates.append(str(manifest.get("run_id") or run_dir.name))
        if not candidates:
            scope = "" if task.entities is None else f" of {'+'.join(task.entities)}"
            problems.append(
                f"{task.name}: no run{scope} for {task.period} succeeded under {outputs}, so there is nothing "
                "to restate (close it without --restate-reason)"
            )
            continue
        planned.append(Task(task.period, task.entities, candidates[-1]))
    if problems:
        raise RunError("cannot restate:\n" + "\n".join(f"  - {p}" for p in problems))
    return planned
