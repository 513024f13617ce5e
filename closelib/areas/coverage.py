"""Every entity accounted for: a workpaper says so when an entity has nothing to report.

A table per entity that leaves an entity out (no write-off candidates, no reconciling items, no
unapplied cash) is silent about it, and silence cannot be told from an omission. Under each such
table a notebook calls :func:`say_absent`, which writes one line per entity with no row:
``US01: no write-off candidates this period.``
"""

from __future__ import annotations

import pandas as pd

from closelib.nb.context import markdown
from closelib.nb.markup import md


def absent(frame: pd.DataFrame, entities: list[str], column: str = "entity") -> list[str]:
    """The entities (in the book's order) with no row in ``frame``."""
    present = set(frame[column]) if column in frame.columns and len(frame) else set()
    return [e for e in entities if e not in present]


def absent_lines(frame: pd.DataFrame, entities: list[str], what: str | dict[str, str], column: str = "entity") -> str:
    """One line per entity with no row: ``US01: <what>.`` (``what`` may differ per entity)."""
    lines = []
    for entity in absent(frame, entities, column):
        text = what if isinstance(what, str) else what.get(entity, "nothing to report")
        lines.append(f"{md(entity)}: {text.rstrip('.')}.")
    return "  \n".join(lines)  # a Markdown line break between entities


def say_absent(frame: pd.DataFrame, entities: list[str], what: str | dict[str, str], column: str = "entity") -> str:
    """Show :func:`absent_lines` under a table (nothing when every entity has rows); return the text."""
    text = absent_lines(frame, entities, what, column)
    if text:
        markdown(text)
    return text
