"""Who is running a run, and stopping a run's whole process tree.

A run's manifest says ``running`` from the moment its folder exists until it finishes. So
that a run whose process is gone (killed, the machine restarted) is not taken for one still
under way, the manifest records the process that runs it (:func:`process_record`): its
``pid``, ``host`` and ``started`` (the process's start time as the operating system counts it,
so a pid reused by another process is not mistaken for the run). :func:`is_gone` reads it back.

While a run is under way SIGTERM and SIGINT (Ctrl-C) raise KeyboardInterrupt in the runner,
naming the signal (:func:`interrupts_raise`, :func:`interruption`); the runner then stops every process it started and
everything they started in turn (:func:`kill_tree`): notebook processes, their kernels and
the credit memos' kernels, which run in process groups and sessions of their own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")
# The signals that stop a run under way: kill, Ctrl-C, the terminal closing.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def interruption(exc: BaseException) -> signal.Signals | None:
    """The signal that stopped a run, for a KeyboardInterrupt (raised by :func:`interrupts_raise`
    with the signal's name, or by Python's own Ctrl-C handler without one); None otherwise.
    A KeyboardInterrupt is a BaseException: no ``except Exception`` on the way swallows it."""
    if not isinstance(exc, KeyboardInterrupt):
        return None
    name = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    return signal.Signals[name] if name in signal.Signals.__members__ else signal.SIGINT


def start_token(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc/<pid>/stat`` field 22),
    as text; ``None`` where the system does not tell (then only the pid is compared)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) ": state is field 3
    return fields[19] if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :][:1]


def process_record() -> dict:
    """This process, as the manifest of a run under way records it."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "started": start_token(pid)}


def is_gone(record: object) -> bool:
    """True when the process ``record`` names has certainly ended: it ran on this host and no
    process has its pid, or the one that has it is a zombie or started at another time. A run
    recorded on another host, or without a record, is never called gone."""
    if not isinstance(record, dict) or record.get("host") != socket.gethostname():
        return False
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, and belongs to someone else
        pass
    except OSError:
        return False
    if _state(pid) in ("Z", "X"):
        return True
    now, then = start_token(pid), record.get("started")
    return bool(then) and now is not None and now != then


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from ``/proc``; empty where
    there is no ``/proc`` (the process groups are then all that can be stopped)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [entry for entry in os.listdir(PROC) if entry.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            stat = (PROC / entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        if child not in found:
            found.append(child)
            todo.extend(children.get(child, []))
    return found


def kill_tree(roots: list[int]) -> list[int]:
    """SIGKILL each root's process group (a notebook process leads its own) and every process
    below it, found before the first is killed (kernels run in sessions of their own, so a
    group alone would miss them). Returns the pids signalled."""
    below = [pid for root in roots for pid in descendants(root)]
    for root in roots:
        with contextlib.suppress(OSError):
            os.killpg(root, signal.SIGKILL)
    for pid in [*roots, *below]:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return [*roots, *below]


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """Wait until none of ``pids`` runs (zombies count as gone); returns those still running."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive:
        alive = [pid for pid in alive if _running(pid)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return alive


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return _state(pid) not in ("Z", "X")


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """While the block runs, SIGTERM, SIGINT and SIGHUP raise KeyboardInterrupt("SIGTERM") (once: a second
    signal during the clean-up that follows is ignored). A signal this process was started
    ignoring stays ignored (``nohup``, or SIGINT of a shell's background job). Only the main
    thread can handle signals; elsewhere (a run started from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [each for each in STOP_SIGNALS if signal.getsignal(each) is not signal.SIG_IGN]

    def interrupt(signum: int, frame: object) -> None:
        for each in wanted:
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {each: signal.signal(each, interrupt) for each in wanted}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block the interrupting signals (:data:`STOP_SIGNALS`) in this thread while a child process
    is started and registered: the child inherits the mask, so a Ctrl-C at the terminal cannot
    interrupt it half-started (and print its traceback), and the runner cannot be interrupted
    between starting a child and knowing it has to stop it. The child unblocks them and ignores
    SIGINT (``nb.execute.die_with_parent``); a signal that arrives meanwhile reaches the runner
    when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def describe_os_error(exc: OSError) -> str:
    """One line for a failed write: "No space left on device: /path" (no traceback)."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason}: {where}" if where else reason
