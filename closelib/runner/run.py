"""A period run: new folder, stored inputs, parallel notebooks, manifest (CONTRACT §3).

The steps, each leaving something an auditor can read even when a later one fails:

1. create ``<outputs>/<PERIOD>/<RUN_ID>/`` exclusively (never reusing a folder) and write
   a ``manifest.json`` with status ``running``;
2. merge and check the parameters, copy the source into the content-addressed store and
   validate it once; a bad input fails the run here with every problem listed;
3. write ``run.json`` (what the notebooks read) and a typed cache of the validated book;
4. execute every period notebook (``notebooks/NN_name.ipynb``) in its own process,
   ``run.workers`` at a time, each with a wall-clock limit;
5. merge figures and checks into the manifest, hash every output, mark the folder read-only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path

from closelib.errors import CloseError, ParameterError, RunError, SourceError
from closelib.files import sha256_file, write_json_atomic
from closelib.nb.execute import NotebookJob, child_main, inspect_notebook
from closelib.nb.record import read_file_names, read_records
from closelib.params import RunSettings, check_parameters, load_parameters
from closelib.paths import NOTEBOOKS_DIR, PARAMETERS_DIR, default_source, period_notebook_name
from closelib.periods import Period
from closelib.runner.bookcache import RUN_INFO_FILES, BookCache, prepare_book_cache
from closelib.runner.provenance import code_info, utc_now
from closelib.runner.runfolder import MANIFEST, RUN_INFO, default_outputs, new_run_dir
from closelib.runner.store import link_inputs, make_read_only
from closelib.runner.ties import cross_tie_checks

# A notebook may use this much longer than run.timeout_seconds in total before it is killed
# (each cell separately is held to run.timeout_seconds by papermill).
WALL_FACTOR = 3


@dataclass
class RunResult:
    run_dir: Path
    manifest: dict
    messages: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.manifest.get("status") == "succeeded"


def period_notebooks(folder: Path | None = None) -> list[tuple[str, Path]]:
    """``[(name, path)]`` of the period notebooks, in file order; ``01_tb_recon`` -> ``tb_recon``."""
    folder = folder or NOTEBOOKS_DIR
    named = ((period_notebook_name(path.name), path) for path in sorted(folder.glob("*.ipynb")))
    return [(name, path) for name, path in named if name]


def resolve_source(source: str | Path | None, params: dict) -> Path:
    """``--source`` is relative to the working folder; without it, :func:`closelib.paths.default_source`
    (``$CLOSE_SOURCE``, else ``source:`` in parameters, relative to the repository)."""
    if source is not None:
        return Path(source).expanduser().resolve()
    return default_source(params["source"])


def execute_run(
    period: Period | str,
    *,
    source: str | Path | None = None,
    params_file: str | Path | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    outputs: str | Path | None = None,
    parameters: dict | None = None,
    notebooks_dir: Path | None = None,
    restates: str | None = None,
    reason: str | None = None,
    reperforms: str | None = None,
    progress: Callable[[str], None] | None = None,
    notebooks: list[tuple[str, Path]] | None = None,
    run_folder: tuple[str, Path] | None = None,
    subject: dict[str, str] | None = None,
) -> RunResult:
    """Run the close for ``period``; always returns the run (failed or not) once a folder exists.

    ``parameters`` (already merged) replaces the parameter files: re-performance uses the
    parameters a run recorded. Errors before a folder exists (a malformed period) raise.
    An ad-hoc run (``close investigate``) passes its own ``notebooks``, an already created
    ``run_folder`` (id, path) and a ``subject`` given to each notebook as extra parameters.
    """

    say = progress or (lambda line: None)
    period = Period.parse(period)
    outputs = Path(outputs).resolve() if outputs else default_outputs()
    notebooks = notebooks if notebooks is not None else period_notebooks(notebooks_dir)
    if not notebooks:
        raise RunError(f"no period notebooks (NN_name.ipynb) in {notebooks_dir or NOTEBOOKS_DIR}")
    run_id, run_dir = run_folder if run_folder is not None else new_run_dir(outputs, str(period))
    manifest: dict = {
        "period": str(period),
        "run_id": run_id,
        "status": "running",
        "started_at": utc_now(),
        "finished_at": None,
        "restates": restates,
        "reason": reason,
        "reperforms": reperforms,
        "error": None,
        "source": None,
        "parameters": None,
        "inputs": {},
        "code": code_info(),
        "notebooks": {},
        "figures": {},
        "checks": {},
        "outputs": {},
    }
    if subject:
        manifest["subject"] = subject
    write_json_atomic(run_dir / MANIFEST, manifest)
    messages: list[str] = []
    try:
        params = (
            check_parameters(parameters)
            if parameters is not None
            else load_parameters(period, PARAMETERS_DIR, params_file, list(overrides))
        )
        manifest["parameters"] = params
        source_path = resolve_source(source, params)
        manifest["source"] = str(source_path)
        cache = _store_and_validate(source_path, outputs, run_dir, manifest, say, reuse=reperforms is None)
    except CloseError as exc:
        manifest["error"] = str(exc)
        if isinstance(exc, (SourceError, ParameterError)):
            manifest["problems"] = [str(p) for p in exc.problems]
        (run_dir / "errors.txt").write_text(str(exc) + "\n", encoding="utf-8")
        messages.append(f"run failed before any notebook: {exc}")
        return _finish(run_dir, manifest, messages, say)

    write_json_atomic(
        run_dir / RUN_INFO,
        {
            "period": str(period),
            "run_id": run_id,
            "inputs": manifest["inputs"],
            "parameters": params,
            "code": manifest["code"],
            "book_cache": str(cache.folder),
            RUN_INFO_FILES: cache.files,
            "source_original": str(source_path),
        },
    )
    jobs = [_job(name, path, run_dir, period, run_id, params, subject) for name, path in notebooks]
    jobs = longest_first(jobs, outputs)
    manifest["notebooks"] = _execute_jobs(jobs, params, say, messages)
    return _finish(run_dir, manifest, messages, say)


def _store_and_validate(
    source: Path,
    outputs: Path,
    run_dir: Path,
    manifest: dict,
    say: Callable[[str], None] = lambda line: None,
    reuse: bool = True,
) -> BookCache:
    """Store the inputs, validate them and write the typed book cache the notebooks read.

    Inputs already validated, byte for byte (sha256) and by the same closelib code, have a
    complete cache under the same key: once it checks out (:mod:`closelib.runner.bookcache`)
    that run's validation stands and is not repeated (``manifest["book_cache"]["reused"]``).
    A re-performance (``reuse=False``) validates again into a cache of its own."""

    if not source.is_dir():
        raise SourceError([f"source folder {source} does not exist"], str(source))
    hashes = link_inputs(source, outputs, run_dir / "inputs")
    cache = prepare_book_cache(run_dir, outputs, hashes, reuse, say)
    manifest["inputs"] = {name: {"sha256": sha, "rows": cache.rows.get(name)} for name, sha in sorted(hashes.items())}
    manifest["book_cache"] = cache.entry
    return cache


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


def _job(
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


def _execute_jobs(jobs: list[NotebookJob], params: dict, say: Callable[[str], None], messages: list[str]) -> dict:
    """Each notebook in its own spawned process, ``run.workers`` at a time."""
    context = multiprocessing.get_context("spawn")
    workers = RunSettings.from_params(params).workers
    pending = list(jobs)
    running: dict[str, tuple[BaseProcess, float, NotebookJob]] = {}
    results: dict[str, dict] = {}
    order: dict[str, int] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            order[job.name] = len(order)
            process: BaseProcess = context.Process(
                target=child_main, args=(job,), name=f"close-{job.name}", daemon=False
            )
            process.start()
            running[job.name] = (process, time.monotonic(), job)
        time.sleep(0.05)
        for name, (process, started, job) in list(running.items()):
            elapsed = time.monotonic() - started
            if process.is_alive() and (job.wall_timeout is None or elapsed <= job.wall_timeout):
                continue
            timed_out = process.is_alive()
            if timed_out:
                _kill(process)
            process.join()
            del running[name]
            results[name] = _judge(job, process.exitcode, timed_out, round(elapsed, 3))
            entry = results[name]
            entry["start_order"] = order[name]
            say(f"  {name:<22} {entry['status']:<10} {entry['seconds']:>8.1f} s")
            if entry["status"] != "succeeded":
                line = f"notebook {name} failed: {entry['error']}"
                messages.append(line)
                say(f"    {line}")
    return {job.name: results[job.name] for job in jobs}


def _kill(process: BaseProcess) -> None:
    """The whole process group: the child and the kernel it started."""
    if process.pid is None:  # never started: nothing to stop
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        process.kill()


def _judge(job: NotebookJob, exitcode: int | None, timed_out: bool, elapsed: float) -> dict:
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


def _finish(run_dir: Path, manifest: dict, messages: list[str], say: Callable[[str], None]) -> RunResult:
    figures, checks, conflicts = read_records(run_dir)
    checks.update(cross_tie_checks(figures))
    if conflicts:
        checks["run.figure_conflicts"] = {
            "passed": False,
            "detail": "; ".join(conflicts),
            "severity": "error",
            "notebook": "run",
        }
    manifest["figures"] = figures
    manifest["checks"] = checks
    manifest["file_names"] = read_file_names(run_dir)
    failed_checks = [n for n, c in checks.items() if not c["passed"] and c.get("severity", "error") == "error"]
    failed_notebooks = [n for n, e in manifest["notebooks"].items() if e["status"] != "succeeded"]
    ok = manifest["error"] is None and not failed_notebooks and not failed_checks and bool(manifest["notebooks"])
    manifest["status"] = "succeeded" if ok else "failed"
    if failed_checks:
        messages.append("checks failed: " + ", ".join(failed_checks))
        say("  checks failed: " + ", ".join(failed_checks))
    manifest["finished_at"] = utc_now()
    manifest["outputs"] = {
        str(p.relative_to(run_dir)): sha256_file(p)
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != MANIFEST and p.parts[len(run_dir.parts)] != "inputs" and not p.name.startswith(".")
    }
    write_json_atomic(run_dir / MANIFEST, manifest)
    make_read_only(run_dir)
    return RunResult(run_dir, manifest, messages)
