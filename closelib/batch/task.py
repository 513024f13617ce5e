"""One task of a batch: one close, run on a Dask worker exactly as ``close run`` runs it.

:func:`run_task` runs on the worker. It creates the run folder (so the batch knows it even if
the close dies) and runs :func:`closelib.runner.run.execute_run` in a Python process of its own
(``python -m closelib.batch.task``), never in the worker itself: the runner installs signal
handlers (which only a main thread may), starts notebook processes that die with the thread that
started them, and notebooks change the working folder, which is process-wide; and a close that
crashes, or is killed, takes down only its own process, never the worker and the tasks after it.
That process gets SIGTERM when the worker dies, so its run is still recorded as failed (the
runner stops its notebooks and closes the manifest, as on Ctrl-C). What it prints goes to the
task's log in the batch folder. The outcome is read back from the run's own manifest.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import subprocess
import sys
from pathlib import Path

from closelib.batch.manifest import FAILED, SUCCEEDED, TaskOutcome, failure_reason
from closelib.errors import CloseError, RunAborted
from closelib.files import sha256_file
from closelib.runner.provenance import utc_now
from closelib.runner.run import execute_run
from closelib.runner.runfolder import MANIFEST, new_run_dir

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_task(spec: dict) -> TaskOutcome:
    """Run the close ``spec`` describes (period, source, outputs, params_file, overrides,
    restates, reason, log) in a process of its own; its outcome, never an exception (whatever
    goes wrong is this task's failure, named, and the batch goes on)."""
    started = utc_now()
    outputs = Path(spec["outputs"])
    try:
        run_id, run_dir = new_run_dir(outputs, spec["period"])
    except (OSError, CloseError) as exc:
        return TaskOutcome(FAILED, None, f"cannot create a run folder under {outputs}: {exc}", None, started, utc_now())
    relative = f"{spec['period']}/{run_id}"
    child = {**spec, "run_id": run_id, "run_dir": str(run_dir)}
    try:
        with open(spec["log"], "ab") as log:
            done = subprocess.run(
                [sys.executable, "-m", "closelib.batch.task", json.dumps(child)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        code: int | None = done.returncode
    except OSError as exc:
        return TaskOutcome(FAILED, relative, f"could not start the close: {exc}", None, started, utc_now())
    return outcome_of(run_dir, relative, code, started)


def outcome_of(run_dir: Path, relative: str, code: int | None, started: str) -> TaskOutcome:
    """The task's outcome from its run's manifest (the close's own record), and from how its
    process ended when the manifest does not say: killed before it could record its end."""
    manifest_path = run_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if manifest is None or manifest.get("status") not in (SUCCEEDED, FAILED):
        how = f"ended by {_signal_name(-code)}" if code is not None and code < 0 else f"exited with {code}"
        left = "no manifest" if manifest is None else "its manifest still says running (abandoned)"
        error = f"the close process {how} before recording its end: {left}"
        return TaskOutcome(FAILED, relative if manifest is not None else None, error, None, started, utc_now())
    status = SUCCEEDED if manifest["status"] == SUCCEEDED else FAILED
    return TaskOutcome(status, relative, failure_reason(manifest), sha256_file(manifest_path), started, utc_now())


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _terminate_with_parent() -> None:
    """SIGTERM when the worker that started this process dies (Linux): the runner then records
    the run as interrupted and stops its notebooks, as on Ctrl-C."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def main(argv: list[str] | None = None) -> int:
    """``python -m closelib.batch.task SPEC_JSON``: the close itself (exit 0 only if it succeeded)."""
    _terminate_with_parent()
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    say = print
    try:
        result = execute_run(
            spec["period"],
            source=spec.get("source"),
            params_file=spec.get("params_file"),
            overrides=list(spec.get("overrides") or []),
            outputs=spec["outputs"],
            restates=spec.get("restates"),
            reason=spec.get("reason"),
            progress=lambda line: say(line, flush=True),
            run_folder=(spec["run_id"], Path(spec["run_dir"])),
        )
    except RunAborted as exc:
        print(f"close: error: {exc}", flush=True)
        return exc.exit_code
    except CloseError as exc:
        print(f"close: error: {exc}", flush=True)
        return 1
    print(f"status: {result.manifest['status']}", flush=True)
    return 0 if result.succeeded else 1


if __name__ == "__main__":  # pragma: no cover - the task's own process
    sys.exit(main())
