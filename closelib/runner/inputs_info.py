"""Small facts read from a run's stored inputs: the entities' currencies and the GL periods.

Read from the text of the extracts (``inputs/entities.*``, ``inputs/gl_balances.*``), which a
run keeps for good: ``close show`` and ``close list`` name each entity's currency beside its
figures, and ``close run`` refuses a period the GL has no balances for before any notebook runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from closelib.book.extracts import find_table_files, read_text_frame
from closelib.errors import CloseError


def _table(inputs: Path, table: str, columns: list[str]):
    files = find_table_files(inputs, table)
    if not files:
        return None
    frame = read_text_frame(files[0], table)
    return frame if all(c in frame.columns for c in columns) else None


def entity_currencies(run_dir: Path, closed: Iterable[str] | None = None) -> dict[str, str]:
    """``{entity: functional currency}`` of a run's stored inputs; empty when they cannot be read
    (a run that failed before storing them, a changed file): the figures are then shown plain.

    ``closed`` (an entity close's parameter ``entities``, :func:`closed_entities`) keeps those
    entities only: such a close records its figures under plain names (CONTRACT §3), and they
    are that entity's, in its currency, not the group's."""
    try:
        frame = _table(Path(run_dir) / "inputs", "entities", ["entity", "functional_currency"])
    except (CloseError, OSError):
        return {}
    if frame is None:
        return {}
    found = {
        e: c.upper()
        for e, c in zip(frame["entity"].str.strip(), frame["functional_currency"].str.strip(), strict=False)
        if e
    }
    if closed is None:
        return found
    chosen = set(closed)
    return {e: c for e, c in found.items() if e in chosen}


def closed_entities(manifest: dict) -> list[str] | None:
    """The entities a run closed (its parameter ``entities``); ``None`` for the whole book."""
    entities = (manifest.get("parameters") or {}).get("entities")
    return [str(e) for e in entities] if isinstance(entities, list) else None


def gl_periods(inputs: Path) -> list[str]:
    """The periods (``YYYY-MM``) of ``gl_balances`` in a validated source, sorted."""
    frame = _table(Path(inputs), "gl_balances", ["period"])
    if frame is None:
        return []
    return sorted(set(frame["period"].str.strip()) - {""})


def customer_currencies(run_dir: Path) -> dict[str, str]:
    """``{customer_id: credit currency}`` of a run's stored inputs (the credit figures' currency);
    empty when they cannot be read."""
    try:
        frame = _table(Path(run_dir) / "inputs", "customers", ["customer_id", "credit_currency"])
    except (CloseError, OSError):
        return {}
    if frame is None:
        return {}
    return dict(zip(frame["customer_id"].str.strip(), frame["credit_currency"].str.strip(), strict=False))
