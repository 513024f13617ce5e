"""Validation work as tasks on two threads, with problems in the order a single thread gives.

Reading, parsing and the cross-table rules are mostly Arrow and numpy work that releases
the GIL, so two threads keep both cores busy. Each task writes to a collector of its own,
made from those of the tasks it runs after (so it sees the cells they flagged); the
problems are then joined in a fixed order (load.py: the order of the sequential validation),
whatever order the threads finished in. Tasks are listed in priority order: a free thread
takes the first listed task whose ``after`` have all finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from closelib.book.parse import Collector

WORKERS = 2  # the machines closes run on have 2 cores or more; a third thread only contends


@dataclass(frozen=True)
class Task:
    """``run(out)`` once every task named in ``after`` has finished. A task reads the flags of
    the tasks it runs after (and theirs), nothing else: ``after`` must name every earlier task
    whose flagged cells it reads."""

    name: str
    run: Callable[[Collector], object]
    after: tuple[str, ...] = ()


def run_tasks(
    tasks: Sequence[Task], base: Collector, workers: int | None = None, report_order: Sequence[str] = ()
) -> tuple[dict[str, object], Collector]:
    """Run ``tasks`` (listed in priority order; a ready task starts before later-listed ones)
    and return (each task's result, one collector: ``base``'s state and problems, then every
    task's problems in ``report_order`` (default: listed order), with every task's flags).
    A task that raises stops the run (tasks not started are skipped) and the exception is
    raised here: a bug is not a problem of the source."""
    workers = WORKERS if workers is None else workers
    names = [task.name for task in tasks]
    if report_order and sorted(report_order) != sorted(names):
        raise ValueError("report_order must name every task once")
    if len(set(names)) != len(names):
        raise ValueError(f"task names repeat: {names}")
    known = set(names)
    for task in tasks:
        unknown = [name for name in task.after if name not in known]
        if unknown:
            raise ValueError(f"task {task.name!r} runs after unknown tasks {unknown}")
    pending = list(tasks)
    done: dict[str, Collector] = {}
    results: dict[str, object] = {}
    if workers <= 1:  # in the calling thread (profiling sees every task), the same choice of task
        while pending:
            ready = [task for task in pending if all(name in done for name in task.after)]
            if not ready:
                raise ValueError(f"tasks wait on each other: {[task.name for task in pending]}")
            task = ready[0]
            pending.remove(task)
            out = Collector.branch(base, *(done[name] for name in task.after))
            results[task.name] = task.run(out)
            done[task.name] = out
        return results, _joined(base, done, report_order or names)
    running: dict[Future, tuple[Task, Collector]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending or running:
            ready = [task for task in pending if all(name in done for name in task.after)]
            for task in ready[: workers - len(running)]:
                pending.remove(task)
                out = Collector.branch(base, *(done[name] for name in task.after))
                running[pool.submit(task.run, out)] = (task, out)
            if not running:  # nothing runs and nothing can start: a cycle in ``after``
                raise ValueError(f"tasks wait on each other: {[task.name for task in pending]}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task, out = running.pop(future)
                if future.exception() is not None:
                    pending.clear()
                    raise future.exception()  # type: ignore[misc]
                results[task.name] = future.result()
                done[task.name] = out
    return results, _joined(base, done, report_order or names)


def _joined(base: Collector, done: dict[str, Collector], order: Sequence[str]) -> Collector:
    joined = Collector.branch(base)
    joined.problems = list(base.problems)
    for name in order:
        joined.problems.extend(done[name].problems)
        joined.absorb_state(done[name])
    return joined
