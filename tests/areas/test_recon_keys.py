"""The reconciling items' aggregations on integer keys give what the pandas code they replaced gave.

References (the replaced code, kept as the specification): a ``groupby(keys).agg`` per side, a
``pd.concat([gl, sl], axis=1)`` of the two, and ``groupby([entity, day]).transform("sum")`` for
the batch postings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.recon.items import CAUSES, _batch_explained, _per_key, _side_by_side

SETTINGS = settings(max_examples=80, deadline=None)
DAYS = pd.date_range("2026-09-28", periods=6).to_numpy()


def _columns(rows: list[tuple[int, int, bool, int]]) -> dict[str, tuple[np.ndarray, str]]:
    return {
        "posted": (np.array([r[1] for r in rows], dtype="int64"), "sum"),
        "jid_row": (np.array([np.nan if r[2] else float(i) for i, r in enumerate(rows)]), "first"),
        "period_rank": (np.array([np.nan if r[2] else float(r[3]) for r in rows]), "min"),
        "posting_date": (
            np.array([DAYS[r[3]] if not r[2] else np.datetime64("NaT") for r in rows], dtype="datetime64[ns]"),
            "min",
        ),
    }


ROWS = st.lists(st.tuples(st.integers(0, 12), st.integers(-50, 50), st.booleans(), st.integers(0, 5)), max_size=25)


@SETTINGS
@given(ROWS, st.booleans())
def test_per_key_is_the_groupby(rows, increasing):
    if increasing:  # the fast path: one row per key, keys increasing
        rows = [(i * 3, *r[1:]) for i, r in enumerate(rows)]
    keys = np.array([r[0] for r in rows], dtype="int64")
    columns = _columns(rows)
    expected = (
        pd.DataFrame({name: values for name, (values, _) in columns.items()})
        .groupby(keys)
        .agg(**{name: (name, how) for name, (_, how) in columns.items()})
    )
    pd.testing.assert_frame_equal(_per_key(keys, columns), expected)


@SETTINGS
@given(ROWS, ROWS)
def test_side_by_side_is_the_concat(left_rows, right_rows):
    left = _per_key(np.array([r[0] for r in left_rows], dtype="int64"), _columns(left_rows))
    right_columns = {
        "expected": (np.array([r[1] for r in right_rows], dtype="int64"), "sum"),
        "date": (np.array([DAYS[r[3]] for r in right_rows], dtype="datetime64[ns]"), "min"),
        "kind": (np.array([np.nan if r[2] else 1.0 for r in right_rows]), "first"),
    }
    right = _per_key(np.array([r[0] for r in right_rows], dtype="int64"), right_columns)
    pd.testing.assert_frame_equal(_side_by_side(left, right), pd.concat([left, right], axis=1))


def test_side_by_side_by_hand():
    left = pd.DataFrame({"posted": np.array([5, 7])}, index=pd.Index([1, 4]))
    right = pd.DataFrame({"expected": np.array([3, 2])}, index=pd.Index([4, 9]))
    out = _side_by_side(left, right)
    assert out.index.tolist() == [1, 4, 9]
    assert out["posted"].tolist()[:2] == [5.0, 7.0] and np.isnan(out["posted"].iloc[2])
    assert np.isnan(out["expected"].iloc[0]) and out["expected"].tolist()[1:] == [3.0, 2.0]


def _old_batch_explained(entity, cause, subledger_date, posting_date, amount):
    not_posted = cause == "not posted to the GL"
    unmatched = not_posted | (cause == "GL subledger line with no subledger transaction")
    day = np.where(not_posted, subledger_date, posting_date).astype("datetime64[D]")
    dated = ~np.isnat(day)
    net = np.zeros(len(amount), dtype="int64")
    if dated.any():
        frame = pd.DataFrame(
            {"entity": entity[dated], "day": day[dated], "amount": np.where(unmatched, amount, 0)[dated]}
        )
        net[dated] = frame.groupby(["entity", "day"])["amount"].transform("sum").to_numpy(dtype="int64")
    return unmatched & dated & (net == 0)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, len(CAUSES) - 1),
            st.one_of(st.none(), st.integers(0, 5)),
            st.one_of(st.none(), st.integers(0, 5)),
            st.integers(-3, 3),
        ),
        max_size=30,
    ),
    st.booleans(),
)
def test_batch_explained_is_the_groupby(rows, far):
    span = 4000 if far else 1  # days far apart take the path that numbers the cells present
    entity = np.array([r[0] for r in rows], dtype="int64")
    cause = np.asarray(CAUSES, dtype=object)[[r[1] for r in rows]] if rows else np.zeros(0, dtype=object)

    def dates(k):
        return np.array(
            [np.datetime64("NaT") if r[k] is None else DAYS[0] + np.timedelta64(r[k] * span, "D") for r in rows],
            dtype="datetime64[ns]",
        )

    amount = np.array([r[4] for r in rows], dtype="int64")
    args = (entity, cause, dates(2), dates(3), amount)
    assert _batch_explained(*args).tolist() == _old_batch_explained(*args).tolist()
