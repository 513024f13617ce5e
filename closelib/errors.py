"""One exception base for closelib, with specific subclasses (as papermill does).

A :class:`CloseError` is a user's mistake or a refused operation: the CLI prints its
message and exits non-zero without a traceback. Anything else is a bug.
"""

from __future__ import annotations


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
