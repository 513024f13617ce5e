"""One exception base for closelib, with specific subclasses (as papermill does).

A :class:`CloseError` is a user's mistake or a refused operation: the CLI prints its
message and exits non-zero without a traceback. Anything else is a bug.
"""

from __future__ import annotations

import reprlib


class CloseError(Exception):
    """Base of every error closelib raises on purpose."""

    exit_code = 1


class ParameterError(CloseError):
    """The merged parameters break the schema (unknown key, wrong type, bad value)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid parameters:\n" + "\n".join(f"  - {p}" for p in problems))


class SourceError(CloseError):
    """A source folder breaks the contract; carries every problem found."""

    def __init__(self, problems: list, source: str = ""):
        self.problems = problems
        head = f"{len(problems)} problem(s) in source {source}" if source else f"{len(problems)} problem(s)"
        lines = [head] + [f"  - {p}" for p in problems[:200]]
        if len(problems) > 200:
            lines.append(f"  ... and {len(problems) - 200} more (use --json for all)")
        super().__init__("\n".join(lines))


class RunError(CloseError):
    """A run could not be started or did not succeed."""


class RunAborted(RunError):
    """A run that ended before it could finish normally (interrupted, the disk full): its
    manifest records why, ``run_dir`` is its folder and ``exit_code`` what ``close`` exits with
    (128 + the signal for an interruption, as a shell reports it)."""

    def __init__(self, message: str, run_dir: object = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        self.exit_code = exit_code


class NotFoundError(CloseError):
    """A run, customer, document or case that does not exist."""


class CacheError(CloseError):
    """A typed book cache whose files no longer match the sha256 recorded when it was written."""


class ExtractReadError(CloseError):
    """A file that cannot be read at all (internal to the load; turned into a Problem)."""


class RecordError(CloseError, ValueError):
    """A figure or check that cannot be recorded (bad name or value): a notebook bug.

    Still a ValueError, as it was before it moved here, for any caller that catches that."""


class RatingBandError(ParameterError):
    """A risk rating that none of the configured rating bands covers (the schema check makes
    them cover 1..10, so this is a rating outside that range)."""

    def __init__(self, rating: int, bands: list[str]):
        self.rating = rating
        self.bands = bands
        super().__init__([f"rating {rating!r} is in none of the rating bands {', '.join(bands) or '(none)'}"])


class UnsafePathError(CloseError):
    """A file name built from data that would resolve outside the folder it is meant for."""


_SHOWN = 60  # characters of a value a message shows at most


def clip(value: object, limit: int = _SHOWN) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters: a huge value (a
    billion-digit number, a list of a million items) is never echoed whole."""
    shown = reprlib.Repr()
    shown.maxstring = shown.maxother = shown.maxlong = limit
    shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = 6
    shown.maxlevel = 3
    try:
        text = shown.repr(value)
    except ValueError:  # an int too long to print (Python refuses past 4300 digits)
        return "<a number too long to show>"
    return text if len(text) <= limit + 10 else text[:limit] + "..."
