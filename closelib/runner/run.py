"""A period run: new folder, stored inputs, parallel notebooks, manifest (CONTRACT §3).

The steps, each leaving something an auditor can read even when a later one fails:

1. create ``<outputs>/<PERIOD>/<RUN_ID>/`` exclusively (never reusing a folder) and write
   a ``manifest.json`` with status ``running``;
2. merge and check the parameters, copy the source into the content-addressed store and
   validate it once; a bad input fails the run here with every problem listed;
3. write ``run.json`` (what the notebooks read) and a typed cache of the validated book;
4. execute every period notebook (``notebooks/NN_name.ipynb``) on ``run.workers`` notebook
   workers, started with the run, each notebook with a wall-clock limit
   (:mod:`closelib.runner.jobs`, :mod:`closelib.runner.pool`);
5. merge figures and checks into the manifest, hash every output, mark the folder read-only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from closelib.areas.credit.memos import MEMO_FOLDER
from closelib.book.cache import cache_meta, first_change
from closelib.book.slice import entity_problems, share_of
from closelib.errors import CloseError, ParameterError, RunAborted, RunError, SourceError
from closelib.files import sha256_file, write_json_atomic
from closelib.nb.record import read_file_names, read_records
from closelib.params import RunSettings, check_parameters, load_parameters
from closelib.paths import NOTEBOOKS_DIR, PARAMETERS_DIR, default_source, period_notebook_name
from closelib.periods import Period
from closelib.runner.bookcache import (
    RUN_INFO_ENTITIES,
    RUN_INFO_FILES,
    SLICED_FROM,
    BookCache,
    prepare_book_cache,
    prepare_slice_cache,
)
from closelib.runner.inputs_info import gl_periods
from closelib.runner.jobs import execute_jobs, longest_first, make_job
from closelib.runner.pool import NotebookWorkers
from closelib.runner.processes import (
    describe_os_error,
    interruption,
    interrupts_raise,
    process_record,
)
from closelib.runner.provenance import code_info, utc_now
from closelib.runner.runfolder import MANIFEST, RUN_INFO, default_outputs, new_run_dir
from closelib.runner.store import link_inputs, make_read_only
from closelib.runner.ties import cross_tie_checks


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
    status: Callable[[dict[str, float], tuple[int, int] | None], None] | None = None,
    notebooks: list[tuple[str, Path]] | None = None,
    run_folder: tuple[str, Path] | None = None,
    subject: dict[str, str] | None = None,
) -> RunResult:
    """Run the close for ``period``; always returns the run (failed or not) once a folder exists.

    ``parameters`` (already merged) replaces the parameter files: re-performance uses the
    parameters a run recorded. Errors before a folder exists (a malformed period) raise.
    An ad-hoc run (``close investigate``) passes its own ``notebooks``, an already created
    ``run_folder`` (id, path) and a ``subject`` given to each notebook as extra parameters.
    ``progress`` gets the lines that stay (each notebook started and finished); ``status``, twice a
    second, the notebooks running (name -> seconds so far) and the credit memos (done, total).
    """

    say = progress or (lambda line: None)
    period = Period.parse(period)
    outputs = Path(outputs).resolve() if outputs else default_outputs()
    notebooks = notebooks if notebooks is not None else period_notebooks(notebooks_dir)
    if not notebooks:
        raise RunError(f"no period notebooks (NN_name.ipynb) in {notebooks_dir or NOTEBOOKS_DIR}")
    run_id, run_dir = run_folder if run_folder is not None else _new_folder(outputs, period)
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
        "process": process_record(),  # who runs it, so that a dead run reads as abandoned
    }
    if subject:
        manifest["subject"] = subject
    try:
        write_json_atomic(run_dir / MANIFEST, manifest)
    except OSError as exc:  # nothing written: leave no empty folder that looks like a run
        with contextlib.suppress(OSError):
            run_dir.rmdir()
        raise RunError(f"cannot write the run folder {run_dir}: {describe_os_error(exc)}") from None
    messages: list[str] = []
    # Every way the run ends records it: SIGTERM and Ctrl-C stop the notebooks' whole process
    # tree, and those, a full disk or a bug leave the manifest failed with the reason.
    with interrupts_raise():
        try:
            return _run(
                manifest,
                run_dir,
                outputs,
                period,
                source,
                params_file,
                overrides,
                parameters,
                say,
                messages,
                notebooks,
                reperforms,
                subject,
                status,
            )
        except BaseException as exc:
            replacement = _end_early(run_dir, manifest, messages, say, exc)
            if replacement is None:  # a bug: recorded, and its traceback shown
                raise
            raise replacement from None


def _new_folder(outputs: Path, period: Period) -> tuple[str, Path]:
    """A new run folder under ``outputs``; an outputs path that is a file, unwritable or on a
    full disk is one clear error (nothing was created)."""
    if outputs.exists() and not outputs.is_dir():
        raise RunError(f"outputs {outputs} is not a folder")
    try:
        return new_run_dir(outputs, str(period))
    except OSError as exc:
        raise RunError(f"cannot create a run folder under {outputs}: {describe_os_error(exc)}") from None


def _run(
    manifest: dict,
    run_dir: Path,
    outputs: Path,
    period: Period,
    source: str | Path | None,
    params_file: str | Path | None,
    overrides: tuple[str, ...] | list[str],
    parameters: dict | None,
    say: Callable[[str], None],
    messages: list[str],
    notebooks: list[tuple[str, Path]],
    reperforms: str | None,
    subject: dict[str, str] | None,
    status: Callable[[dict[str, float], tuple[int, int] | None], None] | None = None,
) -> RunResult:
    """Parameters, inputs, validation, the notebooks and the final manifest (steps 2 to 5)."""
    run_id = manifest["run_id"]
    # The notebook workers start as soon as the parameters say how many: their kernels start and
    # import while the book is validated (:mod:`closelib.runner.pool`); leaving the block on an
    # error or a signal kills them with everything below them.
    workers: NotebookWorkers | None = None
    group: BookCache | None = None  # an entity close: the group's cache its own was cut from
    with contextlib.ExitStack() as stack:
        try:
            params = (
                check_parameters(parameters)
                if parameters is not None
                else load_parameters(period, PARAMETERS_DIR, params_file, list(overrides))
            )
            manifest["parameters"] = params
            count = min(RunSettings.from_params(params).workers, len(notebooks))
            workers = stack.enter_context(NotebookWorkers(run_dir, count))
            workers.start()
            source_path = resolve_source(source, params)
            manifest["source"] = str(source_path)
            cache = _store_and_validate(source_path, outputs, run_dir, manifest, say, reuse=reperforms is None)
            # an entity close (parameter entities) names only entities the validated book has
            unknown = entity_problems(params.get("entities"), cache_meta(cache.folder)["entity_currency"])
            if unknown:
                raise ParameterError(unknown)
            if subject is None:  # a period close; an ad-hoc investigation needs no trial balance
                _require_gl(run_dir / "inputs", period)
            if params.get("entities") is not None:  # an entity close reads a cache of its share
                group = cache
                cache = prepare_slice_cache(group, params["entities"], run_dir, outputs, reperforms is None, say)
                manifest["book_cache"] = {**cache.entry, SLICED_FROM: group.entry}
        except CloseError as exc:
            if workers is not None:  # no notebook will run: the workers are stopped first
                workers.kill()
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
                "reperforms": reperforms,
                "inputs": manifest["inputs"],
                "parameters": params,
                "code": manifest["code"],
                "book_cache": str(cache.folder),
                RUN_INFO_FILES: cache.files,
                RUN_INFO_ENTITIES: share_of(params["entities"]) if group is not None else None,
                SLICED_FROM: {"folder": str(group.folder), "files": group.files} if group is not None else None,
                "source_original": str(source_path),
            },
        )
        jobs = [make_job(name, path, run_dir, period, run_id, params, subject) for name, path in notebooks]
        jobs = longest_first(jobs, outputs)
        ticker = None
        if status is not None:

            def ticker(running: dict[str, float]) -> None:
                status(running, memo_progress(run_dir) if "credit_review" in running else None)

        execute_jobs(jobs, params, say, messages, manifest["notebooks"], ticker, workers)
    # The notebooks map the cache's tables (book/cache.py): each hashed them when it mapped them,
    # and a file changed after that would have been read as changed. Checked again now.
    changed = first_change(cache.folder, cache.files)
    if changed:
        manifest["error"] = f"the typed book cache {cache.folder} changed while the notebooks read it: {changed}"
        messages.append(f"run failed: {manifest['error']}")
        say(f"  {manifest['error']}")
    return _finish(run_dir, manifest, messages, say)


def memo_progress(run_dir: Path) -> tuple[int, int] | None:
    """(memos finished, memos queued) while the credit review runs them: the queue records the
    memos' file names before it starts them, and each memo writes its result file when it ends."""
    try:
        queued = read_file_names(run_dir).get(MEMO_FOLDER) or {}
        done = sum(1 for _ in (run_dir / MEMO_FOLDER).glob("*.json")) if queued else 0
    except (OSError, ValueError):  # a records line being written: next time
        return None
    return (min(done, len(queued)), len(queued)) if queued else None


def _require_gl(inputs: Path, period: Period) -> None:
    """Refuse (before any notebook) a period the GL has no balances for: every workpaper would be
    computed against a trial balance that is not there (issue 18)."""
    periods = gl_periods(inputs)
    if str(period) not in periods:
        known = f"it has {periods[0]} .. {periods[-1]}" if periods else "it has none"
        raise RunError(
            f"gl_balances has no balances for {period} ({known}): the period cannot be closed; "
            "give the period's trial balance or choose a period it has"
        )


def _end_early(
    run_dir: Path, manifest: dict, messages: list[str], say: Callable[[str], None], exc: BaseException
) -> BaseException | None:
    """Record a run that ended on ``exc`` as failed, with the reason; return the one-line error to
    raise instead, or None to let ``exc`` (a bug, or a refusal of closelib's) go on as it is."""
    exit_code: int | None = None
    signum = interruption(exc)
    if signum is not None:
        reason, exit_code = f"interrupted by {signum.name}", 128 + signum.value
    elif isinstance(exc, OSError):
        reason, exit_code = f"could not write the run: {describe_os_error(exc)}", 1
    else:
        reason = str(exc) if isinstance(exc, CloseError) else f"{type(exc).__name__}: {exc}"
    say(f"  run stopped: {reason}")
    manifest["error"] = reason
    try:
        _finish(run_dir, manifest, messages, say)
        outcome = f"run {manifest['run_id']} recorded as failed"
    except BaseException:  # the disk is still full, say: try the manifest alone
        try:
            manifest.update(status="failed", finished_at=utc_now())
            write_json_atomic(run_dir / MANIFEST, manifest)
            outcome = f"run {manifest['run_id']} recorded as failed"
            with contextlib.suppress(OSError):
                make_read_only(run_dir)
        except BaseException:
            outcome = (
                f"run {manifest['run_id']} could not record its end: its manifest says running, "
                "and `close list` shows it as abandoned"
            )
            with contextlib.suppress(OSError):
                make_read_only(run_dir)
    if exit_code is None:
        return None
    return RunAborted(f"{reason}; {outcome} ({run_dir})", run_dir=run_dir, exit_code=exit_code)


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
