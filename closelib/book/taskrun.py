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
            task = _ready(pending, done)[0]
            pending.remove(task)
            out = _collector(task, base, done)
            results[task.name] = task.run(out)
            done[task.name] = out
        return results, _joined(base, done, report_order or names)
    running: dict[Future, tuple[Task, Collector]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending or running:
            for task in _ready(pending, done, allow_none=bool(running))[: workers - len(running)]:
                pending.remove(task)
                out = _collector(task, base, done)
                running[pool.submit(task.run, out)] = (task, out)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task, out = running.pop(future)
                results[task.name] = future.result()  # a task's exception is raised here
                done[task.name] = out
    return results, _joined(base, done, report_order or names)


def _ready(pending: list[Task], done: dict[str, Collector], allow_none: bool = False) -> list[Task]:
    """The pending tasks whose ``after`` have all finished, in listed order. None ready while
    nothing runs (``allow_none`` False) means they wait on each other: a cycle in ``after``."""
    ready = [task for task in pending if all(name in done for name in task.after)]
    if pending and not ready and not allow_none:
        raise ValueError(f"tasks wait on each other: {[task.name for task in pending]}")
    return ready


def _collector(task: Task, base: Collector, done: dict[str, Collector]) -> Collector:
    """The task's own collector, knowing what ``base`` and the tasks it runs after know."""
    return Collector.branch(base, *(done[name] for name in task.after))


def _joined(base: Collector, done: dict[str, Collector], order: Sequence[str]) -> Collector:
    joined = Collector.branch(base)
    joined.problems = list(base.problems)
    for name in order:
        joined.problems.extend(done[name].problems)
        joined.absorb_state(done[name])
    return joined
