"""The runner's notebook workers: ``run.workers`` processes, each running the notebooks it is
handed one after another in one python3 kernel (:func:`closelib.runner.worker.worker_main`).

A kernel's start and imports (about 1.5 s of CPU at a close's size) and a notebook process's
imports of papermill and nbconvert (about 1 s) are paid once per worker, not once per notebook;
every notebook still starts from an empty namespace, with the previous one's garbage collected.
The workers are started as the run starts, so that this start-up overlaps the validation of the
book, which leaves a core idle part of the time.

Each worker leads a process group of its own; its kernels start in sessions of their own, so a
worker is stopped with everything below it (:func:`closelib.runner.processes.kill_tree`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from closelib.nb.execute import NotebookJob
from closelib.runner.processes import kill_tree, signals_blocked, start_token, wait_gone
from closelib.runner.worker import ENDED, KERNEL, STARTED, worker_main

# A worker told to stop has this long to shut its kernel down before it is killed.
STOP_SECONDS = 30.0
# A worker handed a notebook before its start-up and warm-up are over (a new worker, on a loaded
# machine) has this long to start it; from then on the notebook's own wall-clock limit counts.
START_SECONDS = 300.0


@dataclass
class Worker:
    number: int  # from 1, in the order started: its log is ``logs/worker-<number>.log``
    process: BaseProcess
    conn: Connection
    job: NotebookJob | None = None  # the notebook it is running
    started: float = 0.0  # when it started that notebook, as it said (else when handed it; time.monotonic)
    kernels: list[tuple[int, str | None]] = field(default_factory=list)  # (pid, start time) it started
    took: bool = False  # it said it started the notebook (its start-up and warm-up are behind it)


@dataclass(frozen=True)
class Ended:
    """A notebook that ended, as the pool saw it: reported by its worker, or its worker died
    (``exitcode``) or overran the notebook's wall-clock limit and was killed (``timed_out``)."""

    job: NotebookJob
    seconds: float
    exitcode: int | None = None
    timed_out: bool = False


class NotebookWorkers:
    """Up to ``count`` notebook workers writing into ``run_dir``; use as a context manager: on
    leaving, idle workers are told to stop and anything still running is killed."""

    def __init__(self, run_dir: Path, count: int) -> None:
        self.run_dir = Path(run_dir)
        self.count = max(1, count)
        self.workers: list[Worker] = []
        self._started = 0
        self._context = multiprocessing.get_context("spawn")

    def __enter__(self) -> NotebookWorkers:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.kill()

    def start(self, count: int | None = None) -> None:
        """Start workers until ``count`` (default: the pool's size) are alive."""
        wanted = min(self.count, self.count if count is None else count)
        while len(self.workers) < wanted:
            self._spawn()

    def _spawn(self) -> Worker:
        self._started += 1
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"worker-{self._started}.log"
        ours, theirs = self._context.Pipe()
        process: BaseProcess = self._context.Process(
            target=worker_main,
            args=(theirs, str(log), str(self.run_dir)),
            name=f"close-worker-{self._started}",
            daemon=False,
        )
        with signals_blocked():
            process.start()
            worker = Worker(self._started, process, ours)
            self.workers.append(worker)
        theirs.close()
        return worker

    def idle(self) -> list[Worker]:
        return [worker for worker in self.workers if worker.job is None]

    def busy(self) -> list[Worker]:
        return [worker for worker in self.workers if worker.job is not None]

    def give(self, worker: Worker, job: NotebookJob) -> bool:
        """Hand ``job`` to an idle ``worker``; False (and the worker dropped) if it is gone."""
        try:
            worker.conn.send(job)
        except (OSError, ValueError):  # its end of the pipe is closed: the worker died
            self._drop(worker)
            return False
        worker.job, worker.started, worker.took = job, time.monotonic(), False
        return True

    def running(self) -> dict[str, float]:
        """Each running notebook's name -> seconds since it was handed out."""
        now = time.monotonic()
        return {worker.job.name: now - worker.started for worker in self.busy() if worker.job is not None}

    def ended(self, wait: float = 0.05) -> list[Ended]:
        """The notebooks that ended, waiting up to ``wait`` seconds for one. A worker that died
        or overran its notebook's wall-clock limit (killed here, with its kernel) is dropped:
        :meth:`start` replaces it."""
        busy = self.busy()
        if busy:
            multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], wait)
        else:
            time.sleep(wait)
        found: list[Ended] = []
        for worker in busy:
            job = worker.job
            assert job is not None
            reported = self._reported(worker)  # (first: it may say when the notebook started)
            elapsed = round(time.monotonic() - worker.started, 3)
            if reported or (not worker.process.is_alive() and self._reported(worker)):
                worker.job = None
                found.append(Ended(job, elapsed))
            elif not worker.process.is_alive():
                worker.process.join()
                found.append(Ended(job, elapsed, exitcode=worker.process.exitcode))
                self._kill([worker])  # the kernel it leaves behind, and anything below that
            elif job.wall_timeout is not None and elapsed > self._limit(worker, job.wall_timeout):
                if self._reported(worker):  # it ended just now, after all
                    worker.job = None
                    found.append(Ended(job, elapsed))
                    continue
                found.append(Ended(job, elapsed, timed_out=True))
                self._kill([worker])
        return found

    @staticmethod
    def _limit(worker: Worker, wall_timeout: float) -> float:
        """The notebook's limit once its worker took it; before that, its start-up's."""
        return wall_timeout if worker.took else max(wall_timeout, START_SECONDS)

    def _reported(self, worker: Worker) -> bool:
        """Read what ``worker`` sent; whether it reported its notebook ended."""
        ended = False
        with contextlib.suppress(EOFError, OSError):
            while worker.conn.poll():
                kind, value = worker.conn.recv()
                if kind == KERNEL:
                    worker.kernels.append(tuple(value))
                elif kind == STARTED and worker.job is not None and value == worker.job.name:
                    worker.started = time.monotonic()  # the limit counts from here, not the hand-over
                    worker.took = True
                elif kind == ENDED and worker.job is not None and value == worker.job.name:
                    ended = True
        return ended

    def close(self) -> None:
        """Tell every worker to stop (each shuts its kernel down) and wait; kill any that do not
        (and every worker, should the wait be interrupted)."""
        try:
            for worker in self.workers:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
            deadline = time.monotonic() + STOP_SECONDS
            for worker in self.workers:
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            self.kill()

    def kill(self) -> None:
        """Kill every worker still there, with the kernels (and memo workers) below it."""
        self._kill(list(self.workers))

    def _kill(self, workers: list[Worker]) -> None:
        """Kill ``workers`` with everything below them, and the kernels they reported (a kernel
        is no longer below a worker that died first), and wait until all are gone."""
        roots = [w.process.pid for w in workers if w.process.pid is not None and w.process.is_alive()]
        for worker in workers:
            self._reported(worker)  # kernels started since last read
            roots += [pid for pid, started in worker.kernels if started is None or start_token(pid) == started]
        signalled = kill_tree(roots) if roots else []
        for worker in workers:
            worker.process.join(timeout=5)
            self._drop(worker)
        wait_gone(signalled, timeout=10)

    def _drop(self, worker: Worker) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        with contextlib.suppress(OSError):
            worker.conn.close()
