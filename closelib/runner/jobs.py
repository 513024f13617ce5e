"""The notebooks of a run as jobs: built, ordered, executed on the run's notebook workers, judged.

The period notebooks run on ``run.workers`` notebook workers (:mod:`closelib.runner.pool`), each
notebook held to a wall-clock limit. An interrupted run (SIGTERM, Ctrl-C, an error in the
runner) stops every worker together with the kernels below it, and records each notebook
running or not yet started as failed.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from closelib.files import sha256_file
from closelib.nb.execute import NotebookJob, inspect_notebook
from closelib.params import RunSettings
from closelib.periods import Period
from closelib.runner.pool import NotebookWorkers
from closelib.runner.processes import interruption, signals_blocked
from closelib.runner.runfolder import MANIFEST

# A notebook may use this much longer than run.timeout_seconds in total before it is killed
# (each cell separately is held to run.timeout_seconds by papermill).
WALL_FACTOR = 3


def longest_first(jobs: list[NotebookJob], outputs: Path) -> list[NotebookJob]:
    """Start the notebooks that take longest first, so that with ``run.workers`` at a time
    the run is not left waiting on a long notebook started last. Expected seconds come from
    the newest earlier run in ``outputs`` that ran the same notebook; without one, from the
    notebook's ``metadata.closelib.relative_cost`` (default 1). Ties keep file order."""
    # Only an ordering hint: anything odd in an earlier manifest or a notebook's metadata is
    # skipped, never allowed to stop the run.
    seen: dict[str, float] = {}
    manifests = sorted(outputs.glob("*/*/" + MANIFEST), key=lambda p: p.parent.name, reverse=True)
    for path in manifests[:20]:
        try:
            ran = json.loads(path.read_text(encoding="utf-8")).get("notebooks") or {}
            for name, entry in ran.items():
                if name not in seen and isinstance(entry, dict) and entry.get("seconds") is not None:
                    seen[name] = float(entry["seconds"])
        except Exception:
            continue
    hinted = {}
    for job in jobs:
        try:
            meta = json.loads(Path(job.input).read_text(encoding="utf-8")).get("metadata", {})
            hinted[job.name] = float(meta.get("closelib", {}).get("relative_cost", 1))
        except Exception:
            hinted[job.name] = 1.0
    if all(job.name in seen for job in jobs):
        return sorted(jobs, key=lambda job: -seen[job.name])
    return sorted(jobs, key=lambda job: -hinted[job.name])


def make_job(
    name: str,
    path: Path,
    run_dir: Path,
    period: Period,
    run_id: str,
    params: dict,
    subject: dict[str, str] | None = None,
) -> NotebookJob:
    timeout = RunSettings.from_params(params).timeout_seconds
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    return NotebookJob(
        name=name,
        input=str(path),
        output=str(run_dir / path.name),
        html=str(run_dir / (path.stem + ".html")),
        status_file=str(logs / f"{name}.json"),
        cell_timeout=timeout,
        wall_timeout=timeout * WALL_FACTOR,
        cwd=str(run_dir),
        # JSON-safe strings only: closelib parses them, papermill's type guessing never runs.
        parameters={
            "notebook": name,
            "period": str(period),
            "source": str(run_dir / "inputs"),
            "run_dir": str(run_dir),
            "run_id": run_id,
            "params_json": json.dumps(params, sort_keys=True),
            **(subject or {}),
        },
    )


# How often the status of the running notebooks is reported (``status`` of :func:`execute_jobs`).
STATUS_EVERY = 0.5


def execute_jobs(
    jobs: list[NotebookJob],
    params: dict,
    say: Callable[[str], None],
    messages: list[str],
    results: dict,
    status: Callable[[dict[str, float]], None] | None = None,
    workers: NotebookWorkers | None = None,
) -> None:
    """The notebooks on ``run.workers`` notebook workers (:mod:`closelib.runner.pool`; ``workers``:
    already started, else started here), into ``results`` (in ``jobs`` order). Each notebook is
    held to its wall-clock limit (its worker killed with its kernel, and replaced). Interrupted
    (a signal, an error), it stops every worker with the processes they started, records the
    notebooks running and those not started as failed, and re-raises. ``say`` gets a line as
    each notebook starts and ends; ``status`` (if given), every :data:`STATUS_EVERY` seconds,
    the seconds each running notebook has taken so far."""
    if workers is None:
        count = min(RunSettings.from_params(params).workers, len(jobs))
        with NotebookWorkers(Path(jobs[0].cwd or "."), count) if jobs else contextlib.nullcontext() as pool:
            if pool is not None:
                _execute(jobs, pool, say, messages, results, status)
        return
    _execute(jobs, workers, say, messages, results, status)


def _execute(
    jobs: list[NotebookJob],
    pool: NotebookWorkers,
    say: Callable[[str], None],
    messages: list[str],
    results: dict,
    status: Callable[[dict[str, float]], None] | None,
) -> None:
    pending = list(jobs)
    order: dict[str, int] = {}
    reported = 0.0
    try:
        while pending or pool.busy():
            pool.start(len(pending) + len(pool.busy()))  # a worker lost to a timeout is replaced
            for worker in pool.idle():
                if not pending:
                    break
                job = pending[0]
                with signals_blocked():  # handed out and recorded as such, or neither
                    if not pool.give(worker, job):  # died before it took the notebook: the next one
                        continue
                    pending.pop(0)
                    order[job.name] = len(order)
                say(f"  {job.name:<22} started")
            ended = pool.ended(0.05)
            now = time.monotonic()
            if status is not None and now - reported >= STATUS_EVERY:
                reported = now
                status(pool.running())
            for end in ended:
                name = end.job.name
                results[name] = judge(end.job, end.exitcode, end.timed_out, end.seconds)
                entry = results[name]
                entry["start_order"] = order[name]
                say(f"  {name:<22} {entry['status']:<10} {entry['seconds']:>8.1f} s")
                if entry["status"] != "succeeded":
                    line = f"notebook {name} failed: {entry['error']}"
                    messages.append(line)
                    say(f"    {line}")
    except BaseException as exc:
        signum = interruption(exc)
        why = f"interrupted by {signum.name}" if signum else f"stopped ({type(exc).__name__})"
        running = pool.running()
        pool.kill()
        # Every notebook gets an entry: those that ended (judged from what they left, though
        # the interruption came before the runner read it), those stopped, those never started.
        for job in jobs:
            if job.name in results:
                continue
            if job.name not in order:
                results[job.name] = {
                    "file": Path(job.output).name,
                    "status": "failed",
                    "sha256": None,
                    "seconds": 0.0,
                    "html": None,
                    "error": f"not started: the run was {why}",
                    "start_order": None,
                }
                continue
            entry = judge(job, None, False, round(running.get(job.name, 0.0), 3))
            if entry["status"] != "succeeded":
                entry["error"] = f"stopped: the run was {why}"
            results[job.name] = {**entry, "start_order": order[job.name]}
        raise
    finally:
        ordered = {job.name: results[job.name] for job in jobs if job.name in results}
        results.clear()
        results.update(ordered)


def judge(job: NotebookJob, exitcode: int | None, timed_out: bool, elapsed: float) -> dict:
    """A notebook's manifest entry, from its status file (written by its worker before it
    reported the notebook ended) and its executed notebook; without a status file its worker
    died (``exitcode``) before reporting, or was killed on the wall-clock limit (``timed_out``)."""
    output = Path(job.output)
    status_file = Path(job.status_file) if job.status_file else None
    entry = {"file": output.name, "status": "failed", "sha256": None, "seconds": elapsed, "html": None, "error": None}
    if timed_out:
        where = inspect_notebook(output) or "no cell was left running"
        entry["error"] = f"timed out after {job.wall_timeout} s and was stopped ({where})"
    elif status_file is not None and status_file.is_file():
        reported_status = json.loads(status_file.read_text(encoding="utf-8"))
        entry.update(status=reported_status["status"], error=reported_status["error"], html=reported_status["html"])
    else:
        entry["error"] = (
            f"the notebook's process died (exit code {exitcode}) before reporting; "
            f"{inspect_notebook(output) or 'the notebook looks complete'}"
        )
    if output.is_file():
        entry["sha256"] = sha256_file(output)
    return entry
