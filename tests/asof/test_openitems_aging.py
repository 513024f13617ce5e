"""As-of derivations on the MINI book (hand-checked) and aging properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.asof.aging import AgingPolicy, aging_at, aging_table, assign_buckets
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.load import _empty, load_book
from closelib.book.model import Book
from closelib.book.schema import LOAD_ORDER
from closelib.params import bucket_labels
from tests.conftest import write_source

BOUNDS = [0, 30, 60, 90]


@pytest.fixture
def mini_book(mini_source) -> Book:
    return load_book(mini_source)


def open_by_id(book, day, **kw) -> dict[str, int]:
    items = open_items(book, day, **kw)
    return dict(zip(items["document_id"], items["open_amount"], strict=False))


# ---------------------------------------------------------------- open amounts by hand


def test_open_amounts_at_october_end(mini_book):
    # D1 1000.00 - 600.00 (R1) - 100.00 (CM D3) = 300.00; D2 500.00; D4 250.50;
    # D3 -100.00 + 100.00 applied from it = 0 (closed); D5 75.25 - 75.25 written off = 0.
    assert open_by_id(mini_book, "2026-10-31") == {"D1": 30000, "D2": 50000, "D4": 25050}
    assert open_items(mini_book, "2026-10-31")["open_amount"].sum() == 105050


def test_open_amounts_at_september_end(mini_book):
    # A2 (CM to D1, 2026-10-02), D4 (2026-10-05) and the write-off (2026-10-31) are later.
    assert open_by_id(mini_book, "2026-09-30") == {"D1": 40000, "D2": 50000, "D3": -10000, "D5": 7525}
    assert sum(open_by_id(mini_book, "2026-09-30").values()) == 87525


def test_open_amounts_at_other_dates(mini_book):
    # 2026-08-31: only D1 and D5 exist, nothing applied yet.
    assert open_by_id(mini_book, "2026-08-31") == {"D1": 100000, "D5": 7525}
    # 2026-09-10: R1 applied that very day (dated <= D counts); D2 dated 09-01 exists.
    assert open_by_id(mini_book, "2026-09-10") == {"D1": 40000, "D2": 50000, "D5": 7525}
    # 2026-10-02: the CM is used up and leaves the list; D1 300.00.
    assert open_by_id(mini_book, "2026-10-02") == {"D1": 30000, "D2": 50000, "D5": 7525}
    # 2026-10-30: the day before the write-off D5 is still open.
    assert open_by_id(mini_book, "2026-10-30")["D5"] == 7525
    assert open_by_id(mini_book, "2026-06-30") == {}


def test_include_closed_and_doc_types(mini_book):
    items = open_items(mini_book, "2026-10-31", include_closed=True).set_index("document_id")
    assert items.loc["D3", ["amount", "applied_from", "open_amount"]].tolist() == [-10000, 10000, 0]
    assert items.loc["D5", ["adjusted", "open_amount"]].tolist() == [-7525, 0]
    assert items.loc["D1", "applied_to"] == 70000
    assert open_by_id(mini_book, "2026-09-30", doc_types=("CM",)) == {"D3": -10000}


def test_unapplied_cash(mini_book):
    cash = unapplied_cash(mini_book, "2026-10-31")
    assert cash["receipt_id"].tolist() == ["R2"]
    assert cash["unapplied"].tolist() == [4000]
    assert cash["identified"].tolist() == [False]
    assert cash["age_days"].tolist() == [11]  # 2026-10-20 .. 2026-10-31
    assert unapplied_cash(mini_book, "2026-09-30").empty
    # R1 received and applied on 2026-09-10: nothing unapplied at any date
    assert unapplied_cash(mini_book, "2026-09-30", include_closed=True)["unapplied"].tolist() == [0]


def test_unapplied_cash_before_application(tmp_path, mini_tables):
    mini_tables["applications"][0]["applied_date"] = "2026-09-20"  # R1 received 09-10, applied 09-20
    book = load_book(write_source(tmp_path / "s", mini_tables))
    cash = unapplied_cash(book, "2026-09-15")
    assert cash["unapplied"].tolist() == [60000] and cash["identified"].tolist() == [True]
    assert open_by_id(book, "2026-09-15")["D1"] == 100000


def test_earlier_date_is_reconstructed_exactly(tmp_path, mini_tables):
    before = load_book(write_source(tmp_path / "before", mini_tables))
    expected_items = open_items(before, "2026-09-30")
    expected_cash = unapplied_cash(before, "2026-09-30", include_closed=True)
    # Later history: a November invoice, a receipt and its application, a new write-off.
    mini_tables["documents"].append(
        dict(
            mini_tables["documents"][1],
            document_id="D6",
            document_date="2026-11-01",
            due_date="2026-12-01",
            amount="999.99",
        )
    )
    mini_tables["receipts"].append(
        dict(mini_tables["receipts"][0], receipt_id="R3", receipt_date="2026-11-05", amount="500.00")
    )
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-11-05", "source_id": "R3", "target_id": "D2", "amount": "500.00"}
    )
    mini_tables["adjustments"].append(
        {
            "adjustment_id": "J2",
            "document_id": "D1",
            "adjustment_date": "2026-11-30",
            "type": "write_off",
            "amount": "-300.00",
            "reason_code": "x",
            "approved_by": "cfo",
            "approval_reference": "WO-2",
        }
    )
    after = load_book(write_source(tmp_path / "after", mini_tables))
    pd.testing.assert_frame_equal(open_items(after, "2026-09-30"), expected_items)
    pd.testing.assert_frame_equal(unapplied_cash(after, "2026-09-30", include_closed=True), expected_cash)
    # ... while November shows the new state: D1 written off, D2 paid, D6 open.
    assert open_by_id(after, "2026-11-30") == {"D4": 25050, "D6": 99999}


# ---------------------------------------------------------------- aging


def test_bucket_labels_from_bounds():
    assert bucket_labels([0, 30, 60, 90]) == ["current", "1-30", "31-60", "61-90", "90+"]
    assert bucket_labels([0, 30, 60, 90, 120, 180, 365]) == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-120",
        "121-180",
        "181-365",
        "365+",
    ]
    assert bucket_labels([0]) == ["current", "0+"]


@pytest.mark.parametrize(
    "days, label",
    [
        (-10, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (5000, "90+"),
    ],
)
def test_assign_buckets_boundaries(days, label):
    assert list(assign_buckets(np.array([days]), BOUNDS)) == [label]


def test_aging_mini_due_date_basis(mini_book):
    aged = aging_at(mini_book, "2026-09-30", AgingPolicy("due_date", BOUNDS))
    by = dict(
        zip(aged["document_id"], zip(aged["days_past_due"], aged["bucket"].astype(str), strict=False), strict=False)
    )
    # D1 due 08-31: 30 days; D2 due 10-01: -1; D3 due 09-15: 15; D5 due 07-31: 61.
    assert by == {"D1": (30, "1-30"), "D2": (-1, "current"), "D3": (15, "1-30"), "D5": (61, "61-90")}
    aged["entity"] = "US01"
    table = aging_table(aged, ["entity"])
    assert list(table.columns) == ["current", "1-30", "31-60", "61-90", "90+", "total"]
    # current 500.00; 1-30: 400.00 - 100.00 = 300.00; 61-90: 75.25; total 875.25
    assert table.loc["US01"].tolist() == [50000, 30000, 0, 7525, 0, 87525]


def test_empty_aging_keeps_every_bucket_column(mini_book):
    aged = aging_at(mini_book, "2026-06-30", AgingPolicy("due_date", BOUNDS))
    aged["entity"] = "US01"
    table = aging_table(aged, ["entity"])
    assert list(table.columns) == ["current", "1-30", "31-60", "61-90", "90+", "total"]
    assert len(table) == 0


def test_aging_mini_document_date_basis(mini_book):
    aged = aging_at(mini_book, "2026-10-31", AgingPolicy("document_date", BOUNDS))
    by = dict(zip(aged["document_id"], aged["bucket"].astype(str), strict=False))
    # D1 dated 08-01: 91 days; D2 09-01: 60 days; D4 10-05: 26 days
    assert by == {"D1": "90+", "D2": "31-60", "D4": "1-30"}


# ---------------------------------------------------------------- properties


def _label_holds(label: str, days: int) -> bool:
    """Independent reading of a CONTRACT §2 label: does ``days`` belong to it?"""
    if label == "current":
        return days <= 0
    if label.endswith("+"):
        return days > int(label[:-1])
    low, high = (int(x) for x in label.split("-"))
    return low <= days <= high


bounds_strategy = st.lists(st.integers(1, 2000), min_size=0, max_size=8, unique=True).map(lambda xs: [0, *sorted(xs)])


@settings(max_examples=200, deadline=None)
@given(bounds=bounds_strategy, days=st.lists(st.integers(-400, 3000), min_size=1, max_size=50))
def test_every_day_lands_in_the_bucket_its_label_names(bounds, days):
    buckets = assign_buckets(np.array(days), bounds)
    assert list(buckets.categories) == bucket_labels(bounds)
    for d, label in zip(days, buckets, strict=False):
        assert _label_holds(label, d), (d, label, bounds)


DAY0 = pd.Timestamp("2026-01-01")


@st.composite
def books(draw):
    n_docs = draw(st.integers(1, 12))
    docs, apps, adjs, recs = [], [], [], []
    for i in range(n_docs):
        kind = draw(st.sampled_from(["INV", "DM", "CM"]))
        size = draw(st.integers(1, 10**7))
        date = DAY0 + pd.Timedelta(days=draw(st.integers(0, 300)))
        docs.append(
            {
                "document_id": f"D{i}",
                "customer_id": "C1",
                "entity": "E1",
                "doc_type": kind,
                "document_date": date,
                "due_date": date + pd.Timedelta(days=draw(st.integers(0, 90))),
                "currency": "USD",
                "amount": -size if kind == "CM" else size,
                "reference": "",
                "description": "",
            }
        )
    for j in range(draw(st.integers(0, 15))):
        target = draw(st.sampled_from(docs))
        if target["doc_type"] == "CM":
            continue
        recs.append(
            {
                "receipt_id": f"R{j}",
                "entity": "E1",
                "customer_id": "C1",
                "receipt_date": target["document_date"],
                "currency": "USD",
                "amount": draw(st.integers(1, 10**7)),
                "bank_reference": "",
            }
        )
        apps.append(
            {
                "application_id": f"A{j}",
                "applied_date": target["document_date"] + pd.Timedelta(days=draw(st.integers(0, 100))),
                "source_id": f"R{j}",
                "target_id": target["document_id"],
                "amount": draw(st.integers(1, 10**6)),
            }
        )
    for k in range(draw(st.integers(0, 5))):
        target = draw(st.sampled_from(docs))
        adjs.append(
            {
                "adjustment_id": f"J{k}",
                "document_id": target["document_id"],
                "adjustment_date": target["document_date"] + pd.Timedelta(days=draw(st.integers(0, 100))),
                "type": "adjustment",
                "amount": draw(st.integers(-(10**6), 10**6)),
                "reason_code": "",
                "approved_by": "",
                "approval_reference": "",
            }
        )
    tables = {name: _empty(name) for name in LOAD_ORDER}
    for name, rows in (("documents", docs), ("applications", apps), ("adjustments", adjs), ("receipts", recs)):
        if rows:
            frame = pd.DataFrame(rows)
            for column in frame.columns:
                if str(tables[name][column].dtype).startswith("datetime64"):
                    frame[column] = frame[column].astype("datetime64[ns]")
            tables[name] = frame
    book = Book(
        Path("."), tables, {}, frozenset({"documents", "applications", "adjustments", "receipts"}), {"E1": "USD"}
    )
    return book, docs, apps, adjs


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=books(),
    offset=st.integers(0, 400),
    bounds=bounds_strategy,
    basis=st.sampled_from(["due_date", "document_date"]),
)
def test_aging_buckets_sum_to_the_open_total(data, offset, bounds, basis):
    book, docs, apps, adjs = data
    day = DAY0 + pd.Timedelta(days=offset)
    # The open total by the contract formula, computed row by row.
    expected = 0
    for d in docs:
        if d["document_date"] > day:
            continue
        expected += d["amount"] + sum(
            a["amount"] for a in adjs if a["document_id"] == d["document_id"] and a["adjustment_date"] <= day
        )
        expected -= sum(a["amount"] for a in apps if a["target_id"] == d["document_id"] and a["applied_date"] <= day)
    aged = aging_at(book, day, AgingPolicy(basis, bounds))
    assert int(aged["open_amount"].sum()) == expected
    if aged.empty:
        return
    aged["entity"] = "E1"
    table = aging_table(aged, ["entity"])
    labels = bucket_labels(bounds)
    assert list(table.columns) == [*labels, "total"]
    assert int(table[labels].to_numpy().sum()) == int(table["total"].sum()) == expected
    for label in labels:  # each bucket holds exactly the items whose age its label names
        mask = [_label_holds(label, int(x)) for x in aged["days_past_due"]]
        assert int(table[label].iloc[0]) == int(aged.loc[mask, "open_amount"].sum())


# ---------------------------------------------------------------- an aging kept on the book


def test_an_aging_is_kept_per_day_and_each_caller_gets_its_own_copy(mini_book):
    policy = AgingPolicy("due_date", BOUNDS)
    first = aging_at(mini_book, "2026-10-31", policy)
    first.loc[:, "open_amount"] = 0  # a caller changing its copy changes nobody else's
    again = aging_at(mini_book, "2026-10-31", policy)
    assert dict(zip(again["document_id"], again["open_amount"], strict=True)) == {"D1": 30000, "D2": 50000, "D4": 25050}
    assert set(aging_at(mini_book, "2026-10-31", policy, ("INV",))["doc_type"]) == {"INV"}  # its own key
    september = aging_at(mini_book, "2026-09-30", policy)
    assert len(september) and (september["days_past_due"] != again["days_past_due"].iloc[0]).any()


def test_an_aging_is_made_again_when_a_table_is_replaced(mini_book):
    policy = AgingPolicy("due_date", BOUNDS)
    before = aging_at(mini_book, "2026-10-31", policy)
    adj = mini_book.adjustments
    extra = adj.iloc[:1].copy()
    extra["adjustment_id"], extra["document_id"], extra["amount"] = "J99", "D2", -50000
    extra["adjustment_date"] = pd.Timestamp("2026-10-15")
    mini_book.tables["adjustments"] = pd.concat([adj, extra], ignore_index=True)
    after = aging_at(mini_book, "2026-10-31", policy)
    assert "D2" in set(before["document_id"]) and "D2" not in set(after["document_id"])
