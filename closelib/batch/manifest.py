"""The batch's summary manifest, ``<outputs>/batches/<BATCH_ID>/batch.json``, and what a period's
binder shows of the batches that closed it.

Written when the batch starts (every task ``pending``), again as each task ends and when the
batch ends, atomically each time: a batch stopped half-way leaves a record of what it got to. It
links each task to its run folder (relative to the outputs folder) and binds it to the sha256 of
that run's finished ``manifest.json``, as a sign-off is bound; the runs themselves are exactly
those ``close run`` writes. The folder is made read-only when the batch ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from closelib.batch.plan import Task
from closelib.files import write_json_atomic
from closelib.runner.provenance import utc_now
from closelib.runner.runfolder import RUN_ID, failed_checks, new_run_dir
from closelib.runner.store import make_read_only

BATCHES = "batches"
BATCH_FILE = "batch.json"
LOGS = "logs"
# A task's status: waiting or running on the cluster, then how its close ended.
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


@dataclass
class TaskOutcome:
    """How one task ended, as the worker saw it (plain values: it comes back from the cluster)."""

    status: str
    run: str | None  # the run folder relative to outputs: <PERIOD>/<RUN_ID>
    error: str | None
    manifest_sha256: str | None
    started_at: str | None = None
    finished_at: str | None = None


def failure_reason(manifest: dict) -> str | None:
    """Why a finished run failed, on one line (``None`` for a run that succeeded): the run's error
    with its problems, else each failed notebook with its error, else the checks that failed."""
    if manifest.get("status") == SUCCEEDED:
        return None
    error = str(manifest.get("error") or "").strip()
    if error:
        problems = [str(p) for p in manifest.get("problems") or []]
        head = error.splitlines()[0].rstrip(":")
        return head + (": " + "; ".join(problems) if problems else "")
    notebooks = manifest.get("notebooks") or {}
    bad = [
        f"notebook {name}: {entry.get('error') or entry.get('status')}"
        for name, entry in sorted(notebooks.items())
        if entry.get("status") != SUCCEEDED
    ]
    if bad:
        return "; ".join(bad)
    checks = failed_checks(manifest)
    if checks:
        return "checks failed: " + ", ".join(sorted(checks))
    return f"the run is {manifest.get('status') or 'unknown'}"


def start_batch(outputs: Path, tasks: list[Task], settings: dict) -> tuple[Path, dict]:
    """Create ``<outputs>/batches/<BATCH_ID>/`` (never reusing one) with its ``batch.json``:
    ``settings`` (command, source, scheduler...) and every task ``pending``."""
    batch_id, folder = new_run_dir(Path(outputs), BATCHES)
    (folder / LOGS).mkdir()
    batch = {
        "batch_id": batch_id,
        "status": "running",
        "started_at": utc_now(),
        "finished_at": None,
        **settings,
        "error": None,
        "tasks": [
            {
                "task": task.name,
                "period": task.period,
                "entities": list(task.entities) if task.entities is not None else None,
                "restates": task.restates,
                "status": PENDING,
                "run": None,
                "error": None,
                "manifest_sha256": None,
                "started_at": None,
                "finished_at": None,
                "log": f"{LOGS}/{task.file_stem}.log",
            }
            for task in tasks
        ],
    }
    write_json_atomic(folder / BATCH_FILE, batch)
    return folder, batch


def record_task(folder: Path, batch: dict, index: int, outcome: TaskOutcome) -> None:
    """Task ``index`` ended with ``outcome``: written into ``batch.json`` at once."""
    batch["tasks"][index].update(outcome.__dict__)
    write_json_atomic(folder / BATCH_FILE, batch)


def finish_batch(folder: Path, batch: dict, error: str | None = None) -> None:
    """The batch's end: ``succeeded`` only when every task did; the folder then read-only. A task
    still pending (the batch was interrupted) stays ``pending``: it never ran to an end."""
    done = [t["status"] for t in batch["tasks"]]
    batch["status"] = SUCCEEDED if error is None and all(s == SUCCEEDED for s in done) else FAILED
    batch["error"] = error
    batch["finished_at"] = utc_now()
    write_json_atomic(folder / BATCH_FILE, batch)
    make_read_only(folder)


@dataclass(frozen=True)
class BatchLine:
    """One batch as a period's binder lists it: its tasks for that period and how they ended."""

    batch_id: str
    status: str
    started_at: str
    tasks_total: int
    tasks_not_succeeded: int  # over the whole batch: why a batch whose tasks here succeeded failed
    tasks: tuple[dict, ...]  # this period's tasks (task, entities, status, run id, error)
    href: str  # batch.json, relative to the period folder


def batches_for_period(outputs: Path, period: str) -> list[BatchLine]:
    """The batches with a task for ``period``, newest first. A ``batch.json`` that cannot be read
    or is not a batch's is passed over (the binder is a convenience, never a failure)."""
    root = Path(outputs) / BATCHES
    if not root.is_dir():
        return []
    found = []
    for folder in sorted((p for p in root.iterdir() if RUN_ID.match(p.name)), key=lambda p: p.name, reverse=True):
        try:
            batch = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
            tasks = [t for t in batch["tasks"] if isinstance(t, dict) and t.get("period") == period]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if tasks:
            found.append(
                BatchLine(
                    batch_id=folder.name,
                    status=str(batch.get("status") or ""),
                    started_at=str(batch.get("started_at") or ""),
                    tasks_total=len(batch["tasks"]),
                    tasks_not_succeeded=sum(
                        not isinstance(t, dict) or t.get("status") != "succeeded" for t in batch["tasks"]
                    ),
                    tasks=tuple(tasks),
                    href=f"../{BATCHES}/{folder.name}/{BATCH_FILE}",
                )
            )
    return found
