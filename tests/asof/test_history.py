"""The month-end history (issue 21): the fast paths give the numbers of the straightforward ones.

* :func:`translated_rows` (translate a row only where it changes) equals translating every cell;
* a history's column is the as-of open items of that month end, in the functional currency;
* roll rates, agings and the backtest on a generated book (foreign currencies, instalments,
  write-offs, recoveries) equal the dense computations they replaced (kept below as references).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.reserve.compute import pools_of
from closelib.asof.history import Cells, History, build_history, translated_rows
from closelib.asof.openitems import open_items
from closelib.asof.rollrate import agings, bucket_matrix, roll_rates
from closelib.book.fx import translate, translation
from closelib.book.load import load_book
from closelib.book.model import Book
from closelib.demo import generate_book, write_book
from closelib.params import bucket_labels, load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period

BOUNDS = [0, 30, 60, 90]
PERIOD = Period(2026, 10)


def test_translated_rows_by_hand():
    # 1 USD = 1.35 SGD: 100.00 -> 135.00, 40.00 -> 54.00; JPY (no minor unit) 1,001 at 0.0105 -> 10.51 SGD
    values = np.array([[0, 10000, 10000, 4000], [1001, 1001, 0, 1001]], dtype="int64")
    out = translated_rows(
        values, np.array([1.35, 0.0105]), np.array(["USD", "JPY"], dtype=object), np.array(["SGD", "SGD"], dtype=object)
    )
    assert out.tolist() == [[0, 13500, 13500, 5400], [1051, 1051, 0, 1051]]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 8),
    st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=4),
    st.data(),
)
def test_translated_rows_equals_every_cell(rows, months, amounts, data):
    values = np.array(
        [[data.draw(st.sampled_from(amounts)) for _ in range(months)] for _ in range(rows)], dtype="int64"
    )
    rate = np.array([data.draw(st.sampled_from([1.0, 1.35, 0.7412, 151.25, 0.0105])) for _ in range(rows)])
    ccy = np.array([data.draw(st.sampled_from(["USD", "JPY", "KWD", "SGD"])) for _ in range(rows)], dtype=object)
    fun = np.array([data.draw(st.sampled_from(["USD", "SGD"])) for _ in range(rows)], dtype=object)
    every = translate(values.reshape(-1), np.repeat(rate, months), np.repeat(ccy, months), np.repeat(fun, months))
    assert translated_rows(values, rate, ccy, fun).tolist() == every.reshape(rows, months).tolist()


def test_cells_add_up_per_cell():
    cells = Cells.summed(np.array([1, 1, 0]), np.array([2, 2, 0]), np.array([5, 7, 3]), (2, 3))
    assert cells.dense().tolist() == [[3, 0, 0], [0, 0, 12]]
    assert cells.column(2).tolist() == [0, 12]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Book:
    source = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(scale=0.3), source)
    return load_book(source)


@pytest.fixture(scope="module")
def params() -> dict:
    return load_parameters(str(PERIOD), PARAMETERS_DIR, None, [])


def test_demo_book_has_what_the_fast_paths_skip(book):
    fx = translation(book)
    assert (book.documents["currency"].to_numpy(dtype=object) != fx.doc_functional).any()
    assert len(book.payment_schedules) and (book.adjustments["type"] == "write_off").any()


def test_each_month_end_is_the_as_of_open_items(book):
    history = build_history(book, PERIOD, 6)
    ids = history.docs["document_id"].to_numpy(dtype=object)
    for j, end in enumerate(history.month_ends):
        items = open_items(book, end, ("INV", "DM"))
        expected = pd.Series(items["open_functional"].to_numpy(), index=items["document_id"].to_numpy(dtype=object))
        found = pd.Series(history.open[:, j], index=ids)
        assert found[found != 0].sort_index().to_dict() == expected[expected != 0].sort_index().to_dict()


def test_instalments_add_up_to_their_document(book):
    by_doc = build_history(book, PERIOD, 4)
    split = build_history(book, PERIOD, 4, instalments=True)
    assert len(split.docs) > len(by_doc.docs)
    summed = pd.DataFrame(split.open).groupby(split.docs["document_id"].to_numpy(dtype=object)).sum()
    whole = pd.DataFrame(by_doc.open, index=by_doc.docs["document_id"].to_numpy(dtype=object))
    assert summed.sort_index().to_numpy().tolist() == whole.sort_index().to_numpy().tolist()


def test_roll_rates_and_agings_equal_the_dense_computation(book, params):
    history = build_history(book, PERIOD, 24, pools_of(book, params["reserve"]["pool_by"]))
    pd.testing.assert_frame_equal(roll_rates(history, "due_date", BOUNDS), dense_roll_rates(history, BOUNDS))
    pd.testing.assert_frame_equal(agings(history, "due_date", BOUNDS), dense_agings(history, BOUNDS))


# ---------------------------------------------------------------- the dense references (pre-issue-21 code)


def dense_agings(history: History, bounds: list[int]) -> pd.DataFrame:
    buckets = bucket_matrix(history, "due_date", bounds)
    labels = bucket_labels(bounds)
    rows = []
    for key, idx in history.docs.groupby(["entity", "pool"]).indices.items():
        entity, pool = cast(tuple[str, str], key)
        for j, end in enumerate(history.month_ends):
            amounts = history.open[idx, j]
            sums = np.bincount(buckets[idx, j], minlength=len(labels))
            totals = np.zeros(len(labels), dtype="int64")
            np.add.at(totals, buckets[idx, j], amounts)
            for k, label in enumerate(labels):
                if sums[k] or totals[k]:
                    rows.append((entity, pool, end.date(), label, int(totals[k])))
    return pd.DataFrame(rows, columns=["entity", "pool", "month_end", "bucket", "open_amount"])


def dense_roll_rates(history: History, bounds: list[int]) -> pd.DataFrame:
    labels = bucket_labels(bounds)
    last = len(labels) - 1
    buckets = bucket_matrix(history, "due_date", bounds)
    written_off, recovered = history.written_off, history.recovered
    records = []
    group = history.docs["entity"].astype(str) + "\x1f" + history.docs["pool"].astype(str)
    codes, keys = pd.factorize(group, sort=True)
    groups = int(codes.max()) + 1
    for j in range(len(history.month_ends) - 1):
        now, nxt = history.open[:, j], history.open[:, j + 1]
        b_now, b_next = buckets[:, j], buckets[:, j + 1]
        wo, rec = written_off[:, j + 1], recovered[:, j + 1]
        held = now > 0
        exposed = held & ((b_next > b_now) | (wo > 0)) & (b_now < last)
        rolled = np.where(exposed, np.minimum(np.maximum(nxt, 0), now) + wo, 0)
        in_last = b_now == last
        entered = held & (b_now < last) & (b_next == last)
        exp = np.zeros((last + 1) * groups, dtype="int64")
        rol = np.zeros((last + 1) * groups, dtype="int64")
        np.add.at(exp, b_now[exposed] * groups + codes[exposed], now[exposed])
        np.add.at(rol, b_now[exposed] * groups + codes[exposed], rolled[exposed])
        net_wo = wo - rec
        num = np.where(in_last | entered, net_wo, 0)
        den = np.where(in_last, np.maximum(now, 0) - np.maximum(nxt, 0), 0) + np.where(entered, net_wo, 0)
        tail = (in_last | entered) & ((num != 0) | (den != 0))
        exp[last * groups :] = 0
        rol[last * groups :] = 0
        np.add.at(exp, last * groups + codes[tail], den[tail])
        np.add.at(rol, last * groups + codes[tail], num[tail])
        records.append((exp, rol))
    months = len(records)
    frame = pd.DataFrame(
        {
            "group": np.tile(np.arange(groups), months * (last + 1)),
            "month": np.repeat(np.arange(months), (last + 1) * groups),
            "bucket": np.tile(np.repeat(np.arange(last + 1), groups), months),
            "exposed": np.concatenate([e for e, _ in records]),
            "rolled": np.concatenate([r for _, r in records]),
        }
    )
    split = pd.Series(keys)[frame["group"].to_numpy()].str.split("\x1f", expand=True)
    frame["entity"] = split[0].to_numpy()
    frame["pool"] = split[1].to_numpy()
    frame["bucket"] = np.asarray(labels)[frame["bucket"].to_numpy(dtype="int64")]
    frame["month_end"] = [history.month_ends[j + 1].date() for j in frame["month"]]
    return frame[["entity", "pool", "bucket", "month_end", "exposed", "rolled"]]


# ---------------------------------------------------------------- the frame helpers of build_history

TEXT = st.one_of(st.none(), st.sampled_from(["USD", "EUR", "SGD", "", "b\x1fc", "é"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, max_size=30))
def test_object_text_is_the_column_the_array_makes(values):
    from closelib.asof.history import _object_text

    array = np.array(values, dtype=object)
    frame = pd.DataFrame(index=range(len(values)))
    frame["assigned"] = array  # what build_history did
    frame["made"] = _object_text(array)
    pd.testing.assert_series_equal(frame["made"], frame["assigned"], check_names=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["C1", "C2", "C3", "C4"]), max_size=30), st.booleans())
def test_pool_text_is_the_map_filled(customers, with_missing):
    from closelib.asof.history import _pool_text

    pools = pd.Series(["Retail", "Enterprise", "Retail"], index=pd.Index(["C1", "C2", "C3"], dtype="str"), dtype="str")
    if with_missing:
        pools = pd.Series(["Retail", None], index=pd.Index(["C1", "C2"], dtype="str"), dtype="str")
    ids = pd.Series(customers, dtype="str")
    frame = pd.DataFrame(index=range(len(customers)))
    frame["old"] = ids.map(pools).fillna("unassigned").to_numpy()
    frame["new"] = _pool_text(ids, pools)
    pd.testing.assert_series_equal(frame["new"], frame["old"], check_names=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, st.integers(-5, 5), st.booleans()), min_size=1, max_size=20), st.data())
def test_kept_then_is_the_take(rows, data):
    from closelib.asof.history import _kept_then

    n = len(rows)
    frame = pd.DataFrame(
        {
            "text": pd.Series([r[0] for r in rows], dtype="str"),
            "amount": np.array([r[1] for r in rows], dtype="int64"),
            "date": pd.to_datetime(["2026-01-01"] * n) + pd.to_timedelta([r[1] + 5 for r in rows], unit="D"),
            "rate": np.array([r[1] / 4 for r in rows], dtype="float64"),
            "flag": np.array([r[2] for r in rows]),
            "other": pd.Series([r[1] for r in rows], dtype="Int64"),
        }
    )
    keep = np.array([r[2] for r in rows])
    then = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=8)), dtype="int64")
    expected = frame.take(np.concatenate([np.flatnonzero(keep), then])).reset_index(drop=True)
    pd.testing.assert_frame_equal(_kept_then(frame, keep, then), expected)


def test_kept_then_by_hand():
    from closelib.asof.history import _kept_then

    frame = pd.DataFrame({"id": pd.Series(["a", "b", "c"], dtype="str"), "amount": np.array([1, 2, 3])})
    out = _kept_then(frame, np.array([True, False, True]), np.array([1, 1]))
    assert out["id"].tolist() == ["a", "c", "b", "b"] and out["amount"].tolist() == [1, 3, 2, 2]
