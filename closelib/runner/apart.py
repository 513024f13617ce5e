"""Run one function in a forked child process and hand its result (or its exception) back.

The runner validates a book and writes its typed cache this way (:mod:`.bookcache`): the parsed
book, a few GiB at a million documents, lives only in the child, and all of it is given back to
the system when the child ends, instead of the runner holding what its allocators keep for the
rest of the run, beside every notebook.

What the caller sees is what calling the function in-process would give: its return value, or
the exception it raised (same type and message; a closelib error keeps its ``problems``, an
``OSError`` its errno and file name), so messages and exit codes are unchanged. An exception
that cannot be carried across is raised as a ``RuntimeError`` with the child's traceback.

Stopping: the child ignores SIGINT (Ctrl-C reaches the runner, whose handler stops the child)
and is killed by the system if the runner dies (``PR_SET_PDEATHSIG``). A runner interrupted
while it waits kills the child and waits for it before the interruption goes on.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable
from typing import TypeVar

from closelib.errors import CloseError
from closelib.runner.processes import STOP_SIGNALS, signals_blocked

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_fork() -> bool:
    """Forking is only for POSIX systems; elsewhere the function runs in-process."""
    return hasattr(os, "fork")


def call_apart(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` run in a forked child; its result, or its exception re-raised here.
    The result must pickle (the arguments are not pickled: the fork inherits them)."""
    if not can_fork():
        return function(*args)
    read_end, write_end = os.pipe()
    pid = 0
    try:
        # No stop signal may land between the fork and the child setting its handlers; one that
        # arrives meanwhile is raised here as the block ends, with the child's pid known.
        with signals_blocked():
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child(write_end, function, args)
            os.close(write_end)
            write_end = -1
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1  # closed by the with block from here
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:  # interrupted (Ctrl-C, SIGTERM) or worse: the child goes first
        for end in (read_end, write_end):
            if end >= 0:
                with contextlib.suppress(OSError):
                    os.close(end)
        if pid > 0:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        raise
    return _outcome(payload, status)


def _child(write_end: int, function: Callable, args: tuple) -> None:
    """In the child: stop signals as a notebook process has them, run, report, exit at once
    (no ``atexit`` handlers or buffered output of the runner's run twice)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for each in STOP_SIGNALS - {signal.SIGINT}:
            signal.signal(each, signal.SIG_DFL)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if sys.platform.startswith("linux"):
            with contextlib.suppress(Exception):  # no libc: the runner still kills it when it stops
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        try:
            payload = pickle.dumps(("value", function(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            payload = _exception_payload(exc)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _exception_payload(exc: BaseException) -> bytes:
    """The exception, with the child's traceback (shown for a bug). A closelib error goes as its
    type, ``args`` and attributes: they build their message in ``__init__``, so pickling them
    as usual would call it again with the message as ``problems``. Others pickle as Python does
    (an ``OSError`` keeps its errno and file name), checked here by reading them back."""
    trace = "".join(traceback.format_exception(exc))
    try:
        if isinstance(exc, CloseError):
            return pickle.dumps(("closelib", type(exc), exc.args, dict(vars(exc)), trace))
        payload = pickle.dumps(("raised", exc, trace))
        pickle.loads(payload)
        return payload
    except Exception:
        return pickle.dumps(("unpicklable", f"{type(exc).__name__}: {exc}", trace))


def _outcome(payload: bytes, status: int):
    """The child's value, or raise what it raised."""
    if not payload:
        if os.WIFSIGNALED(status):
            why = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            why = f"exited with code {os.waitstatus_to_exitcode(status)}"
        raise RuntimeError(f"the child process {why} before reporting")
    found = pickle.loads(payload)
    if found[0] == "value":
        return found[1]
    if found[0] == "closelib":  # a refusal: its message is all the user sees, as in-process
        _, kind, args, attributes, _ = found
        error = kind.__new__(kind)
        error.args = args
        error.__dict__.update(attributes)
        raise error
    if found[0] == "raised":
        _, exc, trace = found
        if not isinstance(exc, OSError):  # a bug: where it happened, in the child
            exc.add_note("raised in the runner's child process:\n" + trace.rstrip())
        raise exc
    raise RuntimeError(f"{found[1]} (in the runner's child process)\n{found[2]}")
