"""A batch on Dask distributed: a local cluster of ``workers`` processes (the default), or an
existing cluster reached through its scheduler's address.

Each task (:func:`closelib.batch.task.run_task`) is one close, and a worker runs one task at a
time (one thread per worker; each close runs its notebooks in processes of its own). A local
cluster's workers are processes under a nanny that restarts one that dies. A task is never tried
again (``distributed.scheduler.allowed-failures`` 0 on a local cluster): a close that killed its
worker is a failed run, and trying it again would file a second run of the period behind the
reader's back. Dask is an optional extra (``pip install 'closelib[cluster]'``), imported here only
when a batch starts.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from closelib.audit.binder import refresh_binder, write_period_index
from closelib.batch.manifest import (
    BATCH_FILE,
    FAILED,
    SUCCEEDED,
    TaskOutcome,
    finish_batch,
    record_task,
    start_batch,
)
from closelib.batch.plan import Task
from closelib.batch.task import run_task
from closelib.errors import RunAborted, RunError
from closelib.runner.processes import interruption, interrupts_raise

INSTALL_HINT = (
    "close batch runs its closes on Dask distributed, which is not installed: "
    "pip install 'closelib[cluster]' (or pip install dask distributed)"
)
# Long enough for a scheduler on another machine to answer; a typo fails within it.
CONNECT_TIMEOUT = "30s"


@dataclass
class BatchResult:
    folder: Path  # <outputs>/batches/<BATCH_ID>
    batch: dict  # what batch.json holds

    @property
    def failed(self) -> list[dict]:
        return [t for t in self.batch["tasks"] if t["status"] != SUCCEEDED]

    @property
    def succeeded(self) -> bool:
        return self.batch["status"] == SUCCEEDED


def distributed_module() -> ModuleType:
    """``distributed``, or a clear error saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise RunError(INSTALL_HINT) from None
    return distributed


def run_batch(
    tasks: list[Task],
    *,
    outputs: Path,
    settings: dict,
    spec: dict,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> BatchResult:
    """Run ``tasks`` on a local cluster of ``workers`` processes, or on the cluster whose
    scheduler is at ``scheduler``; every task ends, succeeded or failed, whatever the others do.

    ``spec`` is what every close is given (source, params_file, overrides, reason); ``settings``
    is recorded in ``batch.json`` with the scheduler. Each period's binder is rewritten as its
    tasks end and once more when the batch ends."""
    distributed = distributed_module()
    if not tasks:
        raise RunError("nothing to run: the batch has no task")
    outputs = Path(outputs)
    where = {"kind": "existing", "address": scheduler} if scheduler else {"kind": "local", "workers": workers or 2}
    folder, batch = start_batch(outputs, tasks, {**settings, "scheduler": where})
    progress(f"batch {batch['batch_id']}: {len(tasks)} close(s) on {_describe(where)}; summary {folder / BATCH_FILE}")
    error = None
    try:
        # Ctrl-C, SIGTERM or SIGHUP: the cluster is closed (a local one's workers stop, and each
        # close under way gets SIGTERM and records its run as interrupted), then the batch
        with interrupts_raise(), _client(distributed, where) as client:
            batch["scheduler"]["workers_seen"] = len(client.scheduler_info().get("workers", {}))

            def submit(i: int) -> Any:
                spec_i = _task_spec(tasks[i], spec, outputs, folder, i)
                return client.submit(run_task, spec_i, key=f"close-{batch['batch_id']}-{i}", pure=False)

            # Every task reads the one source: the first validates it and writes the typed book
            # cache alone, the others reuse that cache. Started together, each would validate
            # the whole book at once, holding it once per worker (5M documents: ~10 GiB each).
            first = submit(0)
            futures = {first: 0}
            queue = distributed.as_completed([first])
            for future in queue:
                index = futures[future]
                outcome = _outcome(future)
                record_task(folder, batch, index, outcome)
                _refresh(outputs, outcome)
                line = batch["tasks"][index]
                progress(f"  {line['task']:<24} {line['status']:<10} {line['run'] or '-'}")
                if index == 0:
                    for i in range(1, len(tasks)):
                        later = submit(i)
                        futures[later] = i
                        queue.add(later)
    except RunError as exc:
        error = str(exc)
    except KeyboardInterrupt as exc:
        signum = interruption(exc) or signal.SIGINT
        error = f"interrupted by {signum.name}"
        finish_batch(folder, batch, error)
        _refresh_periods(outputs, tasks)
        raise RunAborted(
            f"{error}; batch {batch['batch_id']} recorded as failed ({folder / BATCH_FILE})",
            exit_code=128 + signum.value,
        ) from None
    except OSError as exc:  # the scheduler could not be reached, say
        error = f"the cluster failed: {exc}"
    finish_batch(folder, batch, error)
    _refresh_periods(outputs, tasks)
    return BatchResult(folder, batch)


def _refresh_periods(outputs: Path, tasks: list[Task]) -> None:
    """Each period's binder, with the batch's final status."""
    for period in sorted({t.period for t in tasks}):
        with contextlib.suppress(Exception):  # a binder is a convenience: never the batch's failure
            write_period_index(outputs, period)


def _describe(where: dict) -> str:
    if where["kind"] == "local":
        return f"a local Dask cluster of {where['workers']} worker(s)"
    return f"the Dask scheduler at {where['address']}"


def _task_spec(task: Task, spec: dict, outputs: Path, folder: Path, index: int) -> dict:
    return {
        **spec,
        "period": task.period,
        "overrides": [*spec.get("overrides", []), *task.overrides()],
        "restates": task.restates,
        "reason": spec.get("reason") if task.restates else None,
        "outputs": str(outputs),
        "log": str(folder / "logs" / f"{task.file_stem}.log"),
        "index": index,
    }


class _client:
    """A Dask client on a new local cluster (closed with it) or on an existing scheduler."""

    def __init__(self, distributed: ModuleType, where: dict) -> None:
        self.distributed, self.where = distributed, where
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Any:
        import dask

        d = self.distributed
        try:
            if self.where["kind"] == "local":
                # a close that kills its worker is a failed run, never tried again
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    self.cluster = d.LocalCluster(
                        n_workers=self.where["workers"],
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                self.client = d.Client(self.cluster)
            else:
                self.client = d.Client(self.where["address"], timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            self.__exit__(None, None, None)
            raise RunError(f"cannot start or reach {_describe(self.where)}: {exc}") from None
        return self.client

    def __exit__(self, *exc: object) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing is best effort: the batch is already recorded
                    logging.getLogger(__name__).debug("closing the Dask %s failed", type(thing).__name__)


def _outcome(future: Any) -> TaskOutcome:
    """The task's outcome; a task the cluster could not run (its worker died, it was cancelled)
    is a failed task with the cluster's reason."""
    try:
        outcome = future.result()
    except Exception as exc:  # KilledWorker, CancelledError, a worker's error: this task's failure
        return TaskOutcome(FAILED, None, f"the cluster could not run the close: {type(exc).__name__}: {exc}", None)
    if isinstance(outcome, TaskOutcome):
        return outcome
    return TaskOutcome(FAILED, None, f"the task returned {type(outcome).__name__}, not an outcome", None)


def _refresh(outputs: Path, outcome: TaskOutcome) -> None:
    if outcome.run:
        refresh_binder(outputs / outcome.run, outcome.run.split("/")[0])
