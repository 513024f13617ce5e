"""The demo book: a deterministic, realistic AR source folder for two entities.

``generate_book(seed, scale, end)`` returns the thirteen contract tables and ``customer_history`` as frames (money
as int64 minor units, dates as ``datetime64[ns]``); ``write_book(tables, out_dir, fmt)``
writes them as a source folder (CSV or Parquet), byte-identical for the same seed.
The same seed, scale and end always give the same book; see ``closelib/demo/*.py`` for
the story each table tells and ``PLANTED`` items in :mod:`closelib.demo.ledger`.
"""

from __future__ import annotations

import pandas as pd

from closelib.demo.assemble import generate
from closelib.demo.writer import write_book

DEFAULT_SEED = 20261031
DEFAULT_END = "2026-10"

__all__ = ["DEFAULT_END", "DEFAULT_SEED", "generate_book", "generate_book_with_notes", "write_book"]


def generate_book_with_notes(
    seed: int = DEFAULT_SEED, scale: float = 1.0, end: str = DEFAULT_END
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The book and a description of its planted reconciling items (ids, amounts, periods)."""

    return generate(seed, scale, end)


def generate_book(seed: int = DEFAULT_SEED, scale: float = 1.0, end: str = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """The thirteen contract tables and ``customer_history`` of the demo book, columns in contract order."""
    return generate_book_with_notes(seed, scale, end)[0]
