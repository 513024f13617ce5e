"""The vectorised as-of helpers give what the pandas code they replaced gave, on generated data.

Each reference below is the replaced implementation, kept here as the specification:

* :func:`closelib.asof.rollrate.group_codes`: ``pd.factorize(entity + "\\x1f" + pool, sort=True)``;
* :func:`closelib.asof.rollrate.loss_rates`: a ``groupby("bucket").agg(...)`` per (entity, pool);
* :func:`closelib.asof.customers.customers_as_of`: sort, ``groupby().tail(1)`` / ``head(1)``;
* :func:`closelib.areas.collections.promises.received_in_windows`: a merge of every promise
  with its customer's receipts;
* :func:`closelib.areas.collections.kpigroups.group_codes`: the factorized joined text;
* :func:`closelib.areas.collections.kpis._class_sums`: one masked group sum per KPI.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.collections import kpigroups
from closelib.areas.collections.kpis import _NOT_DUE, _OPEN_INVOICES, _PAST_DUE, _class_sums
from closelib.areas.collections.promises import _received_by_merge, received_in_windows
from closelib.asof.customers import customers_as_of
from closelib.asof.rollrate import group_codes, loss_rates
from closelib.book.history import typed_values
from closelib.book.model import Book
from closelib.book.schema import HISTORY_FIELDS

SETTINGS = settings(max_examples=60, deadline=None)
TEXTS = st.sampled_from(["US01", "SG01", "DE01", "A", "B\x1fC", "all", "unassigned", "Retail", "Retail2"])
LABELS = ["current", "1-30", "31-60", "61-90", "90+"]


def _text(values: list[str]) -> pd.Series:
    return pd.Series(values, dtype="str")


# ---------------------------------------------------------------- rollrate.group_codes


def _old_group_codes(docs: pd.DataFrame, by_key: bool = False) -> tuple[np.ndarray, list[tuple[str, str]]]:
    group = docs["entity"].astype(str) + "\x1f" + docs["pool"].astype(str)
    codes, joined = pd.factorize(group, sort=True)
    keys = [cast(tuple[str, str], tuple(k.split("\x1f", 1))) for k in joined]
    codes = np.asarray(codes, dtype="int64")
    if by_key and len(keys):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        rank = np.empty(len(keys), dtype="int64")
        rank[order] = np.arange(len(keys))
        codes, keys = rank[codes], [keys[i] for i in order]
    return codes, keys


@SETTINGS
@given(st.lists(st.tuples(TEXTS, TEXTS), min_size=1, max_size=40), st.booleans())
def test_group_codes_are_the_factorized_joined_text(pairs, by_key):
    docs = pd.DataFrame({"entity": _text([e for e, _ in pairs]), "pool": _text([p for _, p in pairs])})
    codes, keys = group_codes(docs, by_key=by_key)
    old_codes, old_keys = _old_group_codes(docs, by_key=by_key)
    assert codes.tolist() == old_codes.tolist() and keys == old_keys


def test_group_codes_by_hand():
    docs = pd.DataFrame({"entity": _text(["US01", "SG01", "US01", "SG01"]), "pool": _text(["b", "a", "a", "a"])})
    codes, keys = group_codes(docs)
    assert keys == [("SG01", "a"), ("US01", "a"), ("US01", "b")]
    assert codes.tolist() == [2, 0, 1, 0]


# ---------------------------------------------------------------- rollrate.loss_rates


def _old_loss_rates(rolls: pd.DataFrame, labels: list[str], floors: dict[str, float], min_months: int) -> list:
    """The sums the replaced loss_rates read per (entity, pool): its groupby and reindex."""
    out = []
    for (entity, pool), mine in rolls.groupby(["entity", "pool"], sort=True):
        agg = mine.groupby("bucket").agg(
            exposed=("exposed", "sum"), rolled=("rolled", "sum"), months=("exposed", lambda s: int((s > 0).sum()))
        )
        agg = agg.reindex(labels).fillna(0)
        out.append((entity, pool, agg[["exposed", "rolled", "months"]].to_numpy(dtype="int64").tolist()))
    return out


ROLL_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["US01", "SG01"]),
        st.sampled_from(["all", "Retail", "Wholesale"]),
        st.sampled_from([*LABELS, "other"]),
        st.integers(-(10**6), 10**9),
        st.integers(-(10**6), 10**9),
    ),
    max_size=40,
)


@SETTINGS
@given(ROLL_ROWS, st.integers(0, 4))
def test_loss_rates_read_the_sums_the_groupby_gave(rows, min_months):
    rolls = pd.DataFrame(rows, columns=["entity", "pool", "bucket", "exposed", "rolled"]).astype(
        {"entity": "str", "pool": "str", "bucket": "str", "exposed": "int64", "rolled": "int64"}
    )
    floors = dict(zip(LABELS, [0.002, 0.01, 0.03, 0.08, 1.0], strict=True))
    rates = loss_rates(rolls, LABELS, floors, min_months)
    expected = _old_loss_rates(rolls, LABELS, floors, min_months)
    got = [
        (e, p, g[["exposed", "rolled", "months"]].to_numpy(dtype="int64").tolist())
        for (e, p), g in rates.groupby(["entity", "pool"], sort=False)
    ]
    assert got == expected
    assert list(rates["bucket"]) == LABELS * len(expected)


# ---------------------------------------------------------------- customers_as_of


def _old_customers_as_of(customers: pd.DataFrame, history: pd.DataFrame, day: pd.Timestamp):
    h = history[history["customer_id"].isin(customers["customer_id"])]
    h = h.sort_values(["customer_id", "field", "effective_date"], kind="stable")
    in_effect = h[h["effective_date"] <= day].groupby(["customer_id", "field"], sort=False).tail(1)
    earliest = h.groupby(["customer_id", "field"], sort=False).head(1)
    keys = pd.MultiIndex.from_frame(earliest[["customer_id", "field"]])
    done = pd.MultiIndex.from_frame(in_effect[["customer_id", "field"]])
    before = earliest[~keys.isin(done)]
    chosen = pd.concat([in_effect, before])
    out = customers.copy()
    position = pd.Series(range(len(out)), index=pd.Index(out["customer_id"].array))
    for field in HISTORY_FIELDS:
        rows = chosen[chosen["field"] == field]
        if rows.empty:
            continue
        values = typed_values(rows, customers, field)
        at = position.reindex(rows["customer_id"].to_numpy()).to_numpy()
        column = out[field].copy()
        column.iloc[at] = values.astype(column.dtype).to_numpy() if field != "parent_id" else values.to_numpy()
        out[field] = column
    return out, len(in_effect), len(before)


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3"],
        "name": ["Alpha", "Beta", "Gamma"],
        "segment": ["Retail", "Retail", "Wholesale"],
        "country": ["US", "US", "SG"],
        "payment_terms_days": [30, 30, 45],
        "credit_limit": [100000, 200000, 0],
        "credit_currency": ["USD", "USD", "SGD"],
        "risk_rating": [3, 4, 5],
        "status": ["active", "active", "suspended"],
        "collector": ["Ann", "Bob", ""],
        "last_review_date": pd.to_datetime(["2026-01-15", None, "2025-06-30"]),
        "parent_id": ["", "C1", ""],
    }
).astype(dict.fromkeys(("customer_id", "name", "segment", "country", "credit_currency", "status", "collector"), "str"))
VALUES = {
    "status": ["active", "suspended", "bankrupt"],
    "risk_rating": ["1", "5", "9"],
    "collector": ["Ann", "Cleo", ""],
    "credit_limit": ["0.00", "1500.00", "99.99"],
    "segment": ["Retail", "Wholesale"],
}
HISTORY_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C9"]),
        st.integers(0, 1000),
        st.sampled_from(sorted(VALUES)),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda r: (r[0], r[1], r[2]),  # the extract's key: (customer, date, field)
)


@SETTINGS
@given(HISTORY_ROWS, st.integers(-10, 1010))
def test_customers_as_of_picks_the_rows_the_groupbys_picked(rows, offset):
    start = pd.Timestamp("2024-01-01")
    history = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "effective_date": [start + pd.Timedelta(days=r[1]) for r in rows],
            "field": pd.Series([r[2] for r in rows], dtype="str"),
            "value": pd.Series([VALUES[r[2]][r[3] % len(VALUES[r[2]])] for r in rows], dtype="str"),
        }
    )
    day = start + pd.Timedelta(days=offset)
    out, info = customers_as_of(CUSTOMERS, history, day)
    old, applied, before = _old_customers_as_of(CUSTOMERS, history, day)
    pd.testing.assert_frame_equal(out, old)
    assert (info.changes_applied, info.before_history) == (applied, before)


# ---------------------------------------------------------------- promises: received in each window

PROMISES = st.lists(
    st.tuples(st.sampled_from(["C1", "C2", "C3", ""]), st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=15
)  # broken_promises returns before it when there is no promise
RECEIPTS = st.lists(
    st.tuples(st.sampled_from(["C1", "C2", "C4", ""]), st.integers(-5, 80), st.integers(1, 10**9)), max_size=25
)


@SETTINGS
@given(PROMISES, RECEIPTS, st.integers(0, 10))
def test_received_in_windows_is_the_merge(promises, receipts, grace):
    start = pd.Timestamp("2026-01-01")
    p = pd.DataFrame(
        {
            "activity_id": pd.Series([f"A{i}" for i in range(len(promises))], dtype="str"),
            "customer_id": pd.Series([c for c, _, _ in promises], dtype="str"),
            "activity_date": pd.to_datetime([start + pd.Timedelta(days=d) for _, d, _ in promises]),
            "promised_date": pd.to_datetime([start + pd.Timedelta(days=d) for _, _, d in promises]),
        }
    )
    r = pd.DataFrame(
        {
            "customer_id": pd.Series([c for c, _, _ in receipts], dtype="str"),
            "receipt_date": pd.to_datetime([start + pd.Timedelta(days=d) for _, d, _ in receipts]),
            "amount": pd.Series([a for _, _, a in receipts], dtype="int64"),
        }
    )
    got = received_in_windows(p, r, grace)
    assert got.tolist() == _received_by_merge(p, r, grace).tolist()


def test_received_in_windows_by_hand():
    p = pd.DataFrame(
        {
            "activity_id": _text(["A1", "A2"]),
            "customer_id": _text(["C1", "C2"]),
            "activity_date": pd.to_datetime(["2026-01-10", "2026-01-10"]),
            "promised_date": pd.to_datetime(["2026-01-20", "2026-01-05"]),  # A2's window is empty
        }
    )
    r = pd.DataFrame(
        {
            "customer_id": _text(["C1", "C1", "C1", "C2"]),
            "receipt_date": pd.to_datetime(["2026-01-09", "2026-01-10", "2026-01-23", "2026-01-10"]),
            "amount": [1, 10, 100, 1000],
        }
    )
    assert received_in_windows(p, r, 3).tolist() == [110, 0]  # the 10th and (grace 3) the 23rd


# ---------------------------------------------------------------- KPI groups and sums


def _book(customers: pd.DataFrame) -> Book:
    return Book(source=Path("."), tables={"customers": customers}, files={}, present=frozenset({"customers"}))


@SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(["US01", "SG01", "B"]), st.sampled_from(["C1", "C2", "C3", "C9"])), max_size=30),
    st.sampled_from([None, "collector", "segment"]),
)
def test_kpi_group_codes_are_the_factorized_joined_text(rows, by):
    book = _book(CUSTOMERS)
    frame = pd.DataFrame({"entity": _text([e for e, _ in rows]), "customer_id": _text([c for _, c in rows])})
    keys = kpigroups.row_keys(book, frame)
    assert keys is not None
    codes, names = kpigroups.group_codes(book, keys, by)
    attr = book.customers.set_index("customer_id")[by].replace("", "unassigned") if by else None
    text = (
        frame["entity"]
        if by is None
        else frame["entity"] + "\x1f" + frame["customer_id"].map(attr).fillna("unassigned")
    )
    old_codes, old_names = pd.factorize(text, sort=True)
    assert codes.tolist() == np.asarray(old_codes).tolist() and names == [str(n) for n in old_names]


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.booleans(),
            st.integers(-40, 40),
            st.lists(st.integers(-50, 50), min_size=3, max_size=3),
        ),
        max_size=30,
    )
)
def test_class_sums_are_the_kpi_sums(rows):
    ends = pd.DatetimeIndex(["2026-08-31", "2026-09-30", "2026-10-31"])
    codes = np.asarray([r[0] for r in rows], dtype="int64")
    inv = np.asarray([r[1] for r in rows], dtype=bool)
    due = np.asarray([np.datetime64("2026-09-30") + np.timedelta64(r[2], "D") for r in rows], dtype="datetime64[ns]")
    if len(rows):
        due[0] = np.datetime64("NaT")  # a row without a due date is neither due nor past due
    open_ = np.asarray([r[3] for r in rows], dtype="int64").reshape(len(rows), 3)
    totals = _class_sums(codes, 4, open_, due, inv, ends)
    for j, end in enumerate(ends):
        now = open_[:, j]

        def sums(mask, now=now):
            out = np.zeros(4, dtype="int64")
            np.add.at(out, codes[mask], now[mask])
            return out.tolist()

        assert totals[j].sum(axis=1).tolist() == sums(np.ones(len(rows), dtype=bool))
        assert totals[j][:, _NOT_DUE].sum(axis=1).tolist() == sums(due >= end.to_datetime64())
        assert totals[j][:, _PAST_DUE].sum(axis=1).tolist() == sums(inv & (due < end.to_datetime64()))
        assert totals[j][:, _OPEN_INVOICES].sum(axis=1).tolist() == sums(inv)
