"""Shared plumbing for the demo generator: calendar, random streams, vectorised helpers.

Dates are handled internally as ``int64`` day numbers (days since 1970-01-01) because
comparisons and offsets on plain integers are fast and exact; :data:`NEVER` stands for
"not by the end of the book" (a payment that has not arrived, a dispute still open).
They become ``datetime64`` only when the public frames are assembled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.errors import CloseError
from closelib.periods import PERIOD_PATTERN

#: Sentinel day number later than any date of any book ("never, as far as the book knows").
NEVER = np.int64(1 << 40)

#: Number of months of history, ``end`` included.
HISTORY_MONTHS = 34

ENTITIES = ("US01", "SG01")
CURRENCY = {"US01": "USD", "SG01": "SGD"}

# Named random streams. Each part of the generator draws from its own child of one
# SeedSequence, so adding a draw in one module does not reshuffle every other table.
STREAM_NAMES = (
    "customers",
    "billing",
    "disputes",
    "cash",
    "collections",
    "adjustments",
    "financials",
    "fx",
    "gl",
    "forced",
    "history",
    "remittance",
    "fx_book",  # appended: SeedSequence children keep their index, so earlier streams are unchanged
    "schedules",
)

#: What the string helpers take: text, a NumPy/Python array of text or integers, or Arrow strings.
StringsLike: TypeAlias = npt.ArrayLike | pa.Array | pa.ChunkedArray

_MONTH_ABBR = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent PCG64 generator per named part, all derived from ``seed``."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CloseError(f"demo seed must be a non-negative integer, got {seed!r}")
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAM_NAMES))
    return {
        name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAM_NAMES, children, strict=False)
    }


@dataclass(frozen=True)
class Calendar:
    """The book's months: ``HISTORY_MONTHS`` months ending with ``end`` (``YYYY-MM``)."""

    periods: tuple[str, ...]
    month_start: np.ndarray  # int64 day numbers, first day of each month
    month_end: np.ndarray  # int64 day numbers, last day of each month
    years: np.ndarray  # calendar year of each month
    labels: np.ndarray  # "Oct 2026"

    @classmethod
    def ending(cls, end: str, months: int = HISTORY_MONTHS) -> Calendar:
        if not isinstance(end, str) or not re.fullmatch(PERIOD_PATTERN, end):
            raise CloseError(f"demo end period must be YYYY-MM, got {end!r}")
        last = np.datetime64(end, "M")
        first = last - (months - 1)
        m = first + np.arange(months)
        start = m.astype("datetime64[D]").astype("int64")
        stop = (m + 1).astype("datetime64[D]").astype("int64") - 1
        periods = tuple(str(p) for p in m.astype(str))
        years = np.array([int(p[:4]) for p in periods], dtype="int64")
        month_no = np.array([int(p[5:]) for p in periods], dtype="int64")
        labels = np.char.add(np.char.add(_MONTH_ABBR[month_no - 1], " "), years.astype(str))
        return cls(periods, start, stop, years, labels)

    @property
    def n(self) -> int:
        return len(self.periods)

    @property
    def first_date(self) -> int:
        return int(self.month_start[0])

    @property
    def end_date(self) -> int:
        return int(self.month_end[-1])

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index (0 = first month) of each day number; may fall outside 0..n-1."""
        return np.searchsorted(self.month_start, np.asarray(days, dtype="int64"), side="right") - 1


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes ``counts``: (group index, position within group) of every row."""
    counts = np.asarray(counts, dtype="int64")
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(int(counts.sum()), dtype="int64") - starts[group]
    return group, pos


def group_first_index(keys: np.ndarray) -> np.ndarray:
    """For rows sorted by ``keys``: index of the first row of each row's run of equal keys."""
    keys = np.asarray(keys)
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype="int64")
    new = np.ones(n, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def div_half_up(num: np.ndarray, den: int | np.ndarray) -> np.ndarray:
    """Integer ``num / den`` rounded half away from zero (``den`` > 0): exact money maths."""
    num = np.asarray(num, dtype="int64")
    den = np.asarray(den, dtype="int64")
    q = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -q, q).astype("int64")


def round_to(minor: np.ndarray, step: int) -> np.ndarray:
    """Round positive minor amounts to a multiple of ``step`` (half up), e.g. whole units."""
    return div_half_up(minor, step) * step


def pick(rng: np.random.Generator, options: npt.ArrayLike, probs: npt.ArrayLike, size: int) -> np.ndarray:
    """``rng.choice`` on a fixed list with probabilities normalised (robust to rounding)."""
    p = np.asarray(probs, dtype="float64")
    return np.asarray(options)[rng.choice(len(p), size=size, p=p / p.sum())]


def uniform_int(
    rng: np.random.Generator, low: npt.ArrayLike, high: npt.ArrayLike, size: int | tuple[int, ...] | None = None
) -> np.ndarray:
    """Integers in ``[low, high]`` inclusive (array bounds allowed)."""
    low = np.asarray(low, dtype="int64")
    high = np.asarray(high, dtype="int64")
    if size is None:
        size = np.broadcast(low, high).shape
    u = rng.random(size)
    return (low + np.floor(u * (high - low + 1))).astype("int64")


# --- strings, built in Arrow so a million ids cost a fraction of a second -----------------


def _as_arrow_strings(part: StringsLike) -> pa.Array | pa.Scalar:
    if isinstance(part, str):
        return pa.scalar(part)
    if isinstance(part, (pa.Array, pa.ChunkedArray)):
        return part if part.type == pa.string() else pc.cast(part, pa.string())
    arr = np.asarray(part)
    if arr.dtype.kind in "iu":
        return pc.cast(pa.array(arr), pa.string())
    return pa.array(arr.astype(object) if arr.dtype.kind == "U" else arr, type=pa.string())


def cat(*parts: StringsLike) -> pa.Array:
    """Element-wise concatenation of string arrays / int arrays / scalars."""
    arrays = [_as_arrow_strings(p) for p in parts]
    if not any(isinstance(a, (pa.Array, pa.ChunkedArray)) for a in arrays):
        raise ValueError("cat() needs at least one array")
    return pc.binary_join_element_wise(*arrays, "")


def zpad(numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal text of non-negative integers."""
    return pc.utf8_lpad(_as_arrow_strings(np.asarray(numbers, dtype="int64")), width, "0")


def make_ids(prefix: StringsLike, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` (prefix scalar or per row)."""
    return cat(prefix, zpad(numbers, width))


def take(values: StringsLike, index: np.ndarray) -> pa.Array:
    """Vectorised lookup of strings (``values[index]``) staying in Arrow."""
    return pc.take(
        _as_arrow_strings(np.asarray(values) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values),
        pa.array(np.asarray(index, dtype="int64")),
    )


def sequence_in_groups(group: np.ndarray) -> np.ndarray:
    """1-based running number within groups, for rows already sorted so groups are contiguous."""
    group = np.asarray(group)
    first = group_first_index(group)
    return np.arange(len(group), dtype="int64") - first + 1


def text(values: StringsLike, length: int | None = None) -> pd.Series:
    """A pandas string column (Arrow-backed where available) from Arrow/NumPy strings."""
    if isinstance(values, str):
        values = pa.array([values] * int(length or 0), type=pa.string())
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else _as_arrow_strings(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    try:
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)
        return pd.Series(pd.array(arr, dtype=dtype))
    except (TypeError, ImportError):  # older pandas: plain object strings
        return pd.Series(arr.to_pylist(), dtype=object)


def dates(days: np.ndarray) -> pd.Series:
    """``datetime64[ns]`` column from day numbers; :data:`NEVER` (or more) becomes NaT."""
    days = np.asarray(days, dtype="int64")
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days >= NEVER] = np.datetime64("NaT")
    return pd.Series(out)


def iso(days: np.ndarray) -> np.ndarray:
    """ISO ``YYYY-MM-DD`` strings of day numbers (for descriptions)."""
    days = np.asarray(days, dtype="int64")
    uniq, inverse = np.unique(days, return_inverse=True)  # few distinct days: format those only
    return np.datetime_as_string(uniq.astype("datetime64[D]"), unit="D")[inverse.reshape(days.shape)]


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype="int64")
    uniq, inverse = np.unique(days, return_inverse=True)
    return np.char.replace(iso(uniq), "-", "")[inverse.reshape(days.shape)]


def day_text(days: np.ndarray, compact: bool = False) -> pa.Array:
    """Arrow strings ``YYYY-MM-DD`` (or ``YYYYMMDD``) of day numbers, formatted once per distinct day."""
    days = np.asarray(days, dtype="int64")
    uniq, inverse = np.unique(days, return_inverse=True)
    labels = yyyymmdd(uniq) if compact else iso(uniq)
    return pc.take(pa.array(labels.astype(object), type=pa.string()), pa.array(inverse.reshape(-1)))
