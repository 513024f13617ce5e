"""Rules whose implementation changed for speed (issue 21) give what the old one gave."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.book.arrays import all_distinct
from closelib.book.parse import Collector, _parse_column
from closelib.book.schema import Column
from closelib.periods import FIRST_YEAR, LAST_YEAR, PERIOD_PATTERN

ids = st.lists(st.one_of(st.none(), st.sampled_from(["", "A", "a", "A ", "001", "1", "é"])), max_size=12)


@settings(deadline=None)
@given(ids)
def test_all_distinct_is_count_distinct(values):
    array = pa.array(values, type=pa.string())
    assert all_distinct(array) == (pc.count_distinct(array, mode="all").as_py() == len(array))


def _old_period_problems(values: pd.Series) -> tuple[list[int], list[int]]:
    """The period rule as it was: shape per cell, then every row's year by to_numeric."""
    present = values != ""
    bad = present & ~values.str.fullmatch(PERIOD_PATTERN).astype(bool)
    year = pd.to_numeric(values.str.slice(0, 4).where(present & ~bad, "2000"), errors="coerce")
    outside = present & ~bad & ((year < FIRST_YEAR) | (year > LAST_YEAR))
    return list(bad[bad].index), list(outside[outside].index)


periods = st.lists(
    st.one_of(
        st.sampled_from(["", "2026-10", "2026-13", "0001-01", "9999-12", "1899-12", "1900-01", "2199-12", "26-10"]),
        st.from_regex(r"\d{4}-\d{2}", fullmatch=True),
    ),
    max_size=40,
)


@settings(deadline=None)
@given(periods)
def test_period_rule_reports_what_it_reported(values):
    text = pd.Series(values * 2, dtype="str")  # repeats: the new rule parses each distinct text once
    out = Collector()
    _parse_column(Column("period", "period", required=False), text, "gl.csv", out)
    bad, outside = _old_period_problems(text)
    assert sorted(p.row - 2 for p in out.problems if p.rule == "period" and p.row) == bad[:1000]
    assert sorted(p.row - 2 for p in out.problems if p.rule == "period_range" and p.row) == outside[:1000]
