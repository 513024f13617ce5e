"""Dunning chases only whom it should (issue 16): customers handed over leave the queue, and
suspension or escalation needs an overdue balance of at least collections.min_action_balance.

MINI (conftest) at 2026-10-31: C001 owes D1 300.00 (due 08-31, 61 days past due: suspension)
and D2 500.00 (due 10-01, 30 days: suspension warning), 800.00 overdue in all. At 2026-09-30
bankrupt C003 owes D5 75.25 (due 07-31, 61 days: suspension); it is written off on 10-31.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from closelib.areas.collections import dunning
from closelib.asof.customers import book_as_of
from closelib.book.load import load_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

OCT, SEP = Period(2026, 10), Period(2026, 9)


@pytest.fixture
def params():
    return load_parameters(OCT, PARAMETERS_DIR)


def mini(tmp_path, **changes):
    tables = copy.deepcopy(MINI)
    for name, rows in changes.items():
        tables[name] = rows
    return load_book(write_source(tmp_path / "b", tables))


def activity(aid, kind, day, document="", customer="C001", user="Ana"):
    return {
        "activity_id": aid,
        "customer_id": customer,
        "document_id": document,
        "activity_date": day,
        "type": kind,
        "promised_date": "",
        "promised_amount": "",
        "user": user,
        "note": "",
    }


def run(book, period, params):
    stages = dunning.document_stages(book, period, params)
    due, held = dunning.action_queue(stages)
    return stages, due, held, dunning.customer_queue(due, params), dunning.handover_table(stages, book, period.end)


def test_a_bankrupt_customer_is_handed_over_not_dunned(tmp_path, params):
    book = mini(tmp_path)
    stages, due, held, queue, handed = run(book, SEP, params)
    assert stages.set_index("document_id").loc["D5", "stage_reached"] == "suspension"
    assert "C003" not in set(due["customer_id"]) | set(held["customer_id"]) | set(queue["customer_id"])
    row = handed.set_index("customer_id").loc["C003"]
    assert row["handed_to"] == "insolvency process (bankruptcy)" and row["open_past_due"] == 7525
    # without customer_history the book cannot say since when: the line says so
    assert pd.isna(row["since"]) and "no customer_history" in row["basis"]


def test_handed_over_since_the_status_date_in_customer_history(tmp_path, params):
    history = [
        {"customer_id": "C003", "effective_date": "2025-01-01", "field": "status", "value": "active"},
        {"customer_id": "C003", "effective_date": "2026-09-12", "field": "status", "value": "bankrupt"},
    ]
    book = book_as_of(mini(tmp_path, customer_history=history), SEP.end)
    handed = run(book, SEP, params)[4].set_index("customer_id")
    assert handed.loc["C003", "since"] == pd.Timestamp("2026-09-12")
    assert handed.loc["C003", "basis"] == "status bankrupt"


def test_a_document_referred_to_legal_hands_the_customer_over_while_it_is_open(tmp_path, params):
    acts = [activity("L1", "legal", "2026-10-20", document="D1", user="Ben")]
    _, due, _, queue, handed = run(mini(tmp_path, activities=acts), OCT, params)
    assert due.empty and queue.empty  # D2 (not referred) leaves with its customer
    row = handed.set_index("customer_id").loc["C001"]
    assert row["handed_to"] == "legal counsel" and row["since"] == pd.Timestamp("2026-10-20")
    assert row["basis"] == "legal of D1 by Ben, still open" and row["documents"] == 2 and row["open_past_due"] == 80000


def test_a_referral_of_a_document_since_paid_no_longer_hands_over(tmp_path, params):
    # the agency had D5 (bankrupt C003's, written off on 10-31): by October nothing referred is open
    acts = [activity("G1", "agency_referral", "2026-09-05", document="D5", customer="C003")]
    customers = [dict(c, status="active") if c["customer_id"] == "C003" else c for c in MINI["customers"]]
    book = mini(tmp_path, activities=acts, customers=customers)
    assert run(book, SEP, params)[4].set_index("customer_id").loc["C003", "handed_to"] == "collection agency"
    acts.append(activity("G2", "agency_referral", "2026-10-25", document="D2"))
    book = mini(tmp_path / "x", activities=acts, customers=customers)
    handed = run(book, OCT, params)[4]
    assert "C003" not in set(handed["customer_id"])
    assert handed.set_index("customer_id").loc["C001", "basis"] == "agency_referral of D2 by Ana, still open"


def test_an_account_referral_covers_what_was_past_due_then(tmp_path, params):
    # on 09-15 only D1 (due 08-31) was past due: handed over while D1 is open
    acts = [activity("G1", "agency_referral", "2026-09-15")]
    handed = run(mini(tmp_path, activities=acts), OCT, params)[4].set_index("customer_id")
    assert handed.loc["C001", "basis"] == "agency_referral of the account by Ana, still open"
    # an account referral dated before anything was past due refers nothing
    acts = [activity("G1", "agency_referral", "2026-08-15")]
    assert run(mini(tmp_path / "x", activities=acts), OCT, params)[4].empty


def test_escalation_needs_the_minimum_overdue_balance_else_reminders_only(tmp_path, params):
    book = mini(tmp_path)
    _, due, _, queue, _ = run(book, OCT, params)  # 800.00 overdue >= default 100.00: escalated
    assert set(due["stage"]) == {"suspension", "suspension_warning"} and (due["note"] == "").all()
    high = copy.deepcopy(params)
    high["collections"]["min_action_balance"] = {"default": "50.00", "USD": "800.01"}
    _, due, _, queue, _ = run(book, OCT, high)
    assert set(due["stage"]) == {"reminder"}
    assert queue.iloc[0]["action"] == "reminder"
    assert queue.iloc[0]["note"] == (
        "reminder only: overdue 800.00 USD below min_action_balance 800.01 USD (stage reached: suspension)"
    )
    exact = copy.deepcopy(params)
    exact["collections"]["min_action_balance"] = {"USD": "800.00"}  # at the minimum: escalated
    assert run(book, OCT, exact)[3].iloc[0]["action"] == "suspension"


def test_a_reminder_sent_since_the_stage_was_reached_is_done(tmp_path, params):
    high = copy.deepcopy(params)
    high["collections"]["min_action_balance"] = {"USD": "1000.00"}
    # D1 reached suspension on 10-15: a reminder of 10-20 on it counts, one of 10-10 does not
    acts = [activity("R1", "reminder", "2026-10-20", document="D1"), activity("R0", "reminder", "2026-10-10", "D2")]
    _, due, _, _, _ = run(mini(tmp_path, activities=acts), OCT, high)
    assert due["document_id"].tolist() == ["D2"]
