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
