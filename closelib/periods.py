"""Periods: a ``YYYY-MM`` month, parsed once into a :class:`Period` (the one place the rule lives).

A period arrives from outside as text (the CLI, a notebook parameter, a manifest, the
``period`` column of ``gl_balances``). Each entry point calls :meth:`Period.parse` once;
everything inside takes a :class:`Period` and asks it for its end, start or a shifted
period, so no code re-splits a string. Written out (JSON, file names, the GL's ``period``
column) a period is ``str(period)``, the same ``YYYY-MM`` text as ever.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

import pandas as pd

from closelib.errors import ParameterError, clip

# The ``YYYY-MM`` rule, unanchored: match it whole (``re.fullmatch``, ``Series.str.fullmatch``).
# The parameter schema and the source validator reuse it, so the three agree by construction.
PERIOD_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"

# The years a close can be run for (and a source date can fall in): beyond them pandas'
# nanosecond timestamps overflow (1677..2262) and a year like 0001 or 9999 is a typing slip.
FIRST_YEAR = 1900
LAST_YEAR = 2199


def to_date(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month. Ordered by (year, month); ``str`` gives ``YYYY-MM``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        # Built directly (``Period(2026, 10)``) it must still be a real month, or ``end``
        # and ``shift`` would compute nonsense far from where the mistake was made.
        if not (1 <= self.month <= 12) or not (0 <= self.year <= 9999):
            raise ValueError(f"not a period: year {self.year!r}, month {self.month!r}")

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """``"2026-10"`` -> ``Period(2026, 10)``; a :class:`Period` is returned as it is, so an
        entry point may accept either. Anything else, or a year outside
        :data:`FIRST_YEAR`..:data:`LAST_YEAR`, raises :class:`ParameterError`."""
        if isinstance(text, Period):
            return text
        if not isinstance(text, str) or not re.fullmatch(PERIOD_PATTERN, text):
            raise ParameterError([f"period: expected YYYY-MM, got {clip(text)}"])
        if not FIRST_YEAR <= int(text[:4]) <= LAST_YEAR:
            raise ParameterError([f"period: {text} is outside {FIRST_YEAR}-01..{LAST_YEAR}-12"])
        return cls(int(text[:4]), int(text[5:7]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def end(self) -> pd.Timestamp:
        """Last calendar day of the month (midnight)."""
        return pd.Timestamp(year=self.year, month=self.month, day=calendar.monthrange(self.year, self.month)[1])

    @property
    def start(self) -> pd.Timestamp:
        """First calendar day of the month (midnight)."""
        return pd.Timestamp(year=self.year, month=self.month, day=1)

    def shift(self, months: int) -> Period:
        """The period ``months`` later (earlier when negative)."""
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def back(self, count: int) -> list[Period]:
        """``count`` periods ending with this one, oldest first."""
        return [self.shift(-k) for k in range(count - 1, -1, -1)]
