"""What the CLI prints while it works, on a terminal and through a pipe, and a closed pipe.

On a terminal ``close run`` keeps one status line at the bottom, rewritten in place: the
notebooks running with their elapsed seconds and the credit memo counter ("credit memo 7/25").
Through a pipe or into a file there is no status line (no carriage returns in a log): every
notebook started and finished is a plain line, and so is each step of the memo counter.

A reader that stops reading (``close validate --json | head``) closes the pipe: the next write
raises ``BrokenPipeError``. :func:`emit` then sends the rest of the output to ``/dev/null`` and
the command carries on (a run is never stopped half-way because nobody reads its progress);
``main`` catches it for the other commands and exits quietly.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

# The exit status of a command whose reader went away: as if killed by SIGPIPE (128 + 13), which
# is what `set -o pipefail` scripts expect of `yes | head`.
BROKEN_PIPE_EXIT = 141


def silence_stdout() -> None:
    """Point stdout at /dev/null (file descriptor and Python object), so that nothing more (not
    even the interpreter's flush at exit) writes into a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (a test's capture): nothing to point
        pass


def emit(line: str, stream: TextIO | None = None) -> bool:
    """Print ``line``; False (and stdout silenced) when its reader has gone."""
    out = stream or sys.stdout
    try:
        out.write(line + "\n")
        out.flush()
    except BrokenPipeError:
        silence_stdout()
        return False
    return True


class Progress:
    """The progress of a run: :meth:`line` for lines that stay, :meth:`status` for the state of
    the notebooks running (a rewritten status line on a terminal; memo steps as lines otherwise)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.gone = False
        self._shown = ""
        self._last_memos: tuple[int, int] | None = None

    def _write(self, text: str) -> None:
        if self.gone:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.gone = True
            silence_stdout()

    def _clear(self) -> None:
        if self.tty and self._shown:
            self._write("\r\033[K")

    def line(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")
        if self.tty and self._shown:
            self._write(self._shown)

    def status(self, running: dict[str, float], memos: tuple[int, int] | None) -> None:
        """``running``: notebook -> seconds since it started; ``memos``: (done, total) credit memos."""
        if memos is not None and memos != self._last_memos and not self.tty:
            self._write(f"  credit memo {memos[0]}/{memos[1]}\n")
        self._last_memos = memos if memos is not None else self._last_memos
        if not self.tty:
            return
        parts = [f"{name} {seconds:.0f} s" for name, seconds in running.items()]
        text = "  running: " + ", ".join(parts) if parts else ""
        if memos is not None and "credit_review" in running:
            text += f" | credit memo {memos[0]}/{memos[1]}"
        self._clear()
        self._shown = text[:150]
        if self._shown:
            self._write(self._shown)

    def done(self) -> None:
        """Remove the status line (the run is over)."""
        self._clear()
        self._shown = ""
