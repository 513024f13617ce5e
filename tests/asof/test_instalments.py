"""Instalment schedules (issue 19), hand-checked: a 30/50/20 split settled in due-date order by a
partial payment and a credit memo; aged, dunned and counted past due by instalment; days beyond
terms against the instalment's due date; the schedule_total rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from closelib.areas.collections.dunning import document_stages
from closelib.areas.collections.kpis import kpi_table
from closelib.areas.credit.behaviour import payment_history
from closelib.areas.reserve.customers import customer_aged_listing
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.asof.instalments import allocate, application_due_dates
from closelib.book.load import load_book, validate_source
from closelib.params import load_parameters
from closelib.periods import Period
from tests.conftest import MINI, write_source


def schedule_tables(schedule: list[tuple[int, str, str]] | None = None) -> dict:
    """US01 invoice I1 USD 1,000.00 of 2026-01-01 in three instalments: 300.00 due 2026-01-31,
    500.00 due 2026-02-28, 200.00 due 2026-03-31. R1 pays 400.00 on 2026-02-10; credit memo CM1
    of 150.00 is applied on 2026-03-05."""
    customer = dict(MINI["customers"][0], customer_id="K1")
    base = {"customer_id": "K1", "entity": "US01", "currency": "USD", "reference": "", "description": ""}
    documents = [
        dict(
            base, document_id="I1", doc_type="INV", document_date="2026-01-01", due_date="2026-03-31", amount="1000.00"
        ),
        dict(
            base, document_id="CM1", doc_type="CM", document_date="2026-03-05", due_date="2026-03-05", amount="-150.00"
        ),
    ]
    schedule = schedule or [(1, "2026-01-31", "300.00"), (2, "2026-02-28", "500.00"), (3, "2026-03-31", "200.00")]
    return {
        "customers": [customer],
        "documents": documents,
        "receipts": [
            {
                "receipt_id": "R1",
                "entity": "US01",
                "customer_id": "K1",
                "receipt_date": "2026-02-10",
                "currency": "USD",
                "amount": "400.00",
                "bank_reference": "",
            }
        ],
        "applications": [
            {
                "application_id": "A1",
                "applied_date": "2026-02-10",
                "source_id": "R1",
                "target_id": "I1",
                "amount": "400.00",
            },
            {
                "application_id": "A2",
                "applied_date": "2026-03-05",
                "source_id": "CM1",
                "target_id": "I1",
                "amount": "150.00",
            },
        ],
        "payment_schedules": [
            {"document_id": "I1", "instalment": str(n), "due_date": due, "amount": amount}
            for n, due, amount in schedule
        ],
        "gl_balances": MINI["gl_balances"],
    }


@pytest.fixture
def book(tmp_path: Path):
    return load_book(write_source(tmp_path / "sched", schedule_tables()))


def test_allocation_in_due_date_order():
    # 550.00 cleared of 300/500/200: the first instalment is settled, 250.00 of the second
    open_ = allocate(np.array([300, 500, 200]), np.array([0, 0, 0]), np.array([550]))
    assert open_.tolist() == [0, 250, 200]


def test_partial_payment_and_credit_memo_settle_instalments_in_due_date_order(book):
    aged = aging_at(book, "2026-03-31", AgingPolicy("due_date", [0, 30, 60, 90]), ("INV", "DM"))
    rows = aged.sort_values("instalment")[["instalment", "open_amount", "days_past_due", "bucket"]]
    # 400.00 + 150.00 = 550.00 cleared: instalment 1 settled, 2 has 250.00 left (31 days past
    # 2026-02-28), 3 is due today (current). Together the document's open 450.00.
    assert rows.astype({"bucket": str}).values.tolist() == [[2, 25000, 31, "31-60"], [3, 20000, 0, "current"]]
    assert aged["open_amount"].sum() == 45000


def test_before_the_credit_memo_only_the_payment_has_settled(book):
    aged = aging_at(book, "2026-02-28", AgingPolicy("due_date", [0, 30, 60, 90]), ("INV", "DM"))
    assert sorted(zip(aged["instalment"], aged["open_amount"], strict=True)) == [(2, 40000), (3, 20000)]


def test_dunned_by_instalment(book):
    stages = document_stages(book, Period.parse("2026-03"), load_parameters("2026-03"))
    # only instalment 2 is past due; instalment 3 falls due on the period end
    assert stages["instalment"].tolist() == [2]
    assert stages["open_amount"].tolist() == [25000]


def test_days_beyond_terms_use_the_instalment_due_date(book):
    parts = application_due_dates(book)
    got = sorted((int(p), int(a), str(d.date())) for p, a, d in parts[["position", "amount", "due_date"]].values)
    # A1 (row 0): 300.00 settles instalment 1 (due 01-31), 100.00 instalment 2 (due 02-28);
    # A2 (row 1, the credit memo): 150.00 of instalment 2.
    assert got == [(0, 10000, "2026-02-28"), (0, 30000, "2026-01-31"), (1, 15000, "2026-02-28")]
    kpis = kpi_table(book, Period.parse("2026-03"), months=3).set_index("month")
    # February's receipt: 300.00 ten days late, 100.00 on time -> 7.5 days beyond terms
    # (against the document's single due date 2026-03-31 it would have been 0)
    assert kpis.loc["2026-02", "days_beyond_terms"] == 7.5
    # past due at February's end by instalment: instalment 2 (400.00 left) is due 02-28, not past
    assert kpis.loc["2026-01", "past_due"] == 0
    assert kpis.loc["2026-03", "past_due"] == 25000


def test_schedule_must_add_up_to_the_document(tmp_path: Path):
    tables = schedule_tables([(1, "2026-01-31", "300.00"), (2, "2026-02-28", "500.00"), (3, "2026-03-31", "100.00")])
    problems = validate_source(write_source(tmp_path / "bad", tables))
    totals = [p for p in problems if p.rule == "schedule_total"]
    assert len(totals) == 1 and "I1" in totals[0].message and "900.00" in totals[0].message


def test_schedule_rules_target_and_dates(tmp_path: Path):
    tables = schedule_tables()
    tables["payment_schedules"].append(
        {"document_id": "CM1", "instalment": "1", "due_date": "2026-03-01", "amount": "1.00"}
    )
    tables["payment_schedules"].append(
        {"document_id": "NOPE", "instalment": "1", "due_date": "2026-03-01", "amount": "1.00"}
    )
    rules = {(p.rule, p.row) for p in validate_source(write_source(tmp_path / "bad", tables))}
    assert ("schedule_target", 5) in rules  # a credit memo has no schedule
    assert ("due_after_document", 5) in rules  # due 03-01, the memo is dated 03-05
    assert ("foreign_key", 6) in rules


def test_credit_behaviour_measures_each_instalment_against_its_due_date(book):
    from_history = payment_history(book, pd.Timestamp("2026-03-31"))
    rows = sorted(zip(from_history["amount"], from_history["days_beyond_terms"], strict=True))
    # R1's 400.00 on 2026-02-10: 100.00 of instalment 2 on time, 300.00 of instalment 1 ten days late
    assert rows == [(10000, 0), (30000, 10)]


def test_a_document_in_several_instalments_is_one_document_of_the_customer_listing(book):
    policy = AgingPolicy("due_date", [0, 30, 60, 90])
    aged = aging_at(book, "2026-03-31", policy)
    listing = customer_aged_listing(aged, book, policy.labels)
    # I1's two open instalments (250.00 in 31-60, 200.00 current) are one document
    assert listing[["customer_id", "documents", "31-60", "current", "total"]].values.tolist() == [
        ["K1", 1, 25000, 20000, 45000]
    ]
