"""The notebooks of a run as jobs: built, ordered, executed in processes of their own, judged.

Each period notebook runs in a spawned child process (:func:`closelib.runner.worker.notebook_main`),
``run.workers`` at a time, each held to a wall-clock limit. An interrupted run (SIGTERM,
Ctrl-C, an error in the runner) stops every notebook still running together with the
kernels below it, and records each as failed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

from closelib.files import sha256_file
from closelib.nb.execute import NotebookJob, inspect_notebook
from closelib.params import RunSettings
from closelib.periods import Period
from closelib.runner.processes import interruption, kill_tree, signals_blocked, wait_gone
from closelib.runner.runfolder import MANIFEST
from closelib.runner.worker import notebook_main

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
) -> None:
    """Each notebook in its own spawned process, ``run.workers`` at a time, into ``results`` (in
    ``jobs`` order). Interrupted (a signal, an error), it stops every notebook still running with
    the processes they started, records them and those not started as failed, and re-raises.
    ``say`` gets a line as each notebook starts and ends; ``status`` (if given), every
    :data:`STATUS_EVERY` seconds, the seconds each running notebook has taken so far."""
    context = multiprocessing.get_context("spawn")
    workers = RunSettings.from_params(params).workers
    pending = list(jobs)
    running: dict[str, tuple[BaseProcess, float, NotebookJob]] = {}
    order: dict[str, int] = {}
    reported = 0.0
    try:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop(0)
                order[job.name] = len(order)
                process: BaseProcess = context.Process(
                    target=notebook_main, args=(job,), name=f"close-{job.name}", daemon=False
                )
                with signals_blocked():
                    process.start()
                    running[job.name] = (process, time.monotonic(), job)
                say(f"  {job.name:<22} started")
            time.sleep(0.05)
            now = time.monotonic()
            if status is not None and now - reported >= STATUS_EVERY:
                reported = now
                status({name: now - started for name, (_, started, _) in running.items()})
            for name, (process, started, job) in list(running.items()):
                elapsed = time.monotonic() - started
                if process.is_alive() and (job.wall_timeout is None or elapsed <= job.wall_timeout):
                    continue
                timed_out = process.is_alive()
                if timed_out:
                    kill_notebook(process)
                process.join()
                del running[name]
                results[name] = judge(job, process.exitcode, timed_out, round(elapsed, 3))
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
        _stop_all(running)
        for name, (_, started, job) in running.items():
            entry = judge(job, None, False, round(time.monotonic() - started, 3))
            if entry["status"] != "succeeded":
                entry["error"] = f"stopped: the run was {why}"
            results[name] = {**entry, "start_order": order[name]}
        for job in pending:
            results[job.name] = {
                "file": Path(job.output).name,
                "status": "failed",
                "sha256": None,
                "seconds": 0.0,
                "html": None,
                "error": f"not started: the run was {why}",
                "start_order": None,
            }
        raise
    finally:
        ordered = {job.name: results[job.name] for job in jobs if job.name in results}
        results.clear()
        results.update(ordered)


def _stop_all(running: dict[str, tuple[BaseProcess, float, NotebookJob]]) -> None:
    """Kill every running notebook process with everything below it (kernels, memo kernels) and
    wait until they are gone, so that nothing writes into the run folder after it is closed."""
    roots = [process.pid for process, _, _ in running.values() if process.pid is not None]
    signalled = kill_tree(roots)
    for process, _, _ in running.values():
        process.join(timeout=5)
    wait_gone(signalled, timeout=10)


def kill_notebook(process: BaseProcess) -> None:
    """The whole process group: the child and the kernel it started."""
    if process.pid is None:  # never started: nothing to stop
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        process.kill()


def judge(job: NotebookJob, exitcode: int | None, timed_out: bool, elapsed: float) -> dict:
    output = Path(job.output)
    status_file = Path(job.status_file) if job.status_file else None
    entry = {"file": output.name, "status": "failed", "sha256": None, "seconds": elapsed, "html": None, "error": None}
    if timed_out:
        where = inspect_notebook(output) or "no cell was left running"
        entry["error"] = f"timed out after {job.wall_timeout} s and was stopped ({where})"
    elif status_file is not None and status_file.is_file():
        reported = json.loads(status_file.read_text(encoding="utf-8"))
        entry.update(status=reported["status"], error=reported["error"], html=reported["html"])
    else:
        entry["error"] = (
            f"the notebook's process died (exit code {exitcode}) before reporting; "
            f"{inspect_notebook(output) or 'the notebook looks complete'}"
        )
    if output.is_file():
        entry["sha256"] = sha256_file(output)
    return entry
