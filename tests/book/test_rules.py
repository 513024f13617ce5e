"""One test per validation rule added beyond the contract (CONTRACT §1 lists the others).

Each breaks MINI in one place and expects exactly that problem: file, spreadsheet row (header
= row 1), column, rule. MINI rows: documents D1..D5 rows 2..6, receipts R1 row 2, R2 row 3,
applications A1 row 2, A2 row 3, adjustments J1 row 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.book.load import validate_source
from closelib.book.parse import Collector
from closelib.book.rulekit import first_in_group, run_starts, running_totals, take
from closelib.book.rules import _gl_journal
from tests.conftest import MINI, write_source


def problems(tmp_path: Path, tables: dict) -> list:
    return validate_source(write_source(tmp_path / "src", tables))


def keyed(found) -> set[tuple]:
    return {(p.file, p.row, p.column, p.rule) for p in found}


def test_the_mini_book_breaks_no_rule(mini_source):
    assert validate_source(mini_source) == []


def test_due_after_document(tmp_path, mini_tables):
    mini_tables["documents"][1]["due_date"] = "2026-08-31"  # D2 is dated 2026-09-01
    found = problems(tmp_path, mini_tables)
    assert keyed(found) == {("documents.csv", 3, "due_date", "due_after_document")}
    assert found[0].value == "2026-08-31"


def test_applied_before_source(tmp_path, mini_tables):
    mini_tables["applications"][0]["applied_date"] = "2026-09-09"  # R1 is dated 2026-09-10
    assert keyed(problems(tmp_path, mini_tables)) == {("applications.csv", 2, "applied_date", "applied_before_source")}


def test_applied_before_target(tmp_path, mini_tables):
    # a receipt of 2026-09-01 applied on 2026-10-01 to D4, which is dated 2026-10-05
    mini_tables["receipts"].append(
        dict(MINI["receipts"][0], receipt_id="R3", receipt_date="2026-09-01", amount="10.00")
    )
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-01", "source_id": "R3", "target_id": "D4", "amount": "10.00"}
    )
    assert keyed(problems(tmp_path, mini_tables)) == {("applications.csv", 4, "applied_date", "applied_before_target")}


def test_same_entity(tmp_path, mini_tables):
    # SG01 (USD here, so only the entity differs) receives cash and applies it to US01's D2
    mini_tables["entities"].append({"entity": "SG01", "name": "Other", "functional_currency": "USD", "country": "SG"})
    mini_tables["receipts"].append(dict(MINI["receipts"][0], receipt_id="R3", entity="SG01", amount="10.00"))
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-01", "source_id": "R3", "target_id": "D2", "amount": "10.00"}
    )
    found = problems(tmp_path, mini_tables)
    assert keyed(found) == {("applications.csv", 4, "target_id", "same_entity")} and found[0].value == "D2"


def journal_line(journal: str, account: str, debit: str, credit: str) -> dict:
    return {
        "entity": "US01",
        "journal_id": journal,
        "period": "2026-10",
        "posting_date": "2026-10-05",
        "account": account,
        "debit": debit,
        "credit": credit,
        "source": "manual",
        "reference": "",
        "description": "",
    }


def test_journal_balances(tmp_path, mini_tables):
    mini_tables["gl_journal"] = [
        journal_line("J-OK", "1100", "10.00", "0.00"),
        journal_line("J-OK", "4000", "0.00", "10.00"),
        journal_line("J-BAD", "1100", "10.00", "0.00"),
        journal_line("J-BAD", "4000", "0.00", "9.99"),
    ]
    found = problems(tmp_path, mini_tables)
    assert keyed(found) == {("gl_journal.csv", None, "journal_id", "journal_balances")}
    assert found[0].value == "J-BAD" and "= 1 minor units" in found[0].message


def test_gl_journal_amounts_are_not_negative(tmp_path, mini_tables):
    mini_tables["gl_journal"] = [
        journal_line("J-1", "1100", "-10.00", "0.00"),
        journal_line("J-1", "4000", "0.00", "-10.00"),
    ]
    assert keyed(problems(tmp_path, mini_tables)) == {
        ("gl_journal.csv", 2, "debit", "non_negative"),
        ("gl_journal.csv", 3, "credit", "non_negative"),
    }


def test_adjustment_must_not_be_zero_and_signs_follow_the_type(tmp_path, mini_tables):
    base = MINI["adjustments"][0]
    mini_tables["adjustments"] += [
        dict(base, adjustment_id="J2", document_id="D2", type="adjustment", amount="0.00"),
        dict(base, adjustment_id="J3", document_id="D2", type="write_off", amount="5.00"),
        dict(base, adjustment_id="J4", document_id="D2", type="recovery", amount="-5.00"),
    ]
    assert keyed(problems(tmp_path, mini_tables)) == {
        ("adjustments.csv", 3, "amount", "non_zero"),
        ("adjustments.csv", 4, "amount", "sign"),
        ("adjustments.csv", 5, "amount", "sign"),
    }


def test_over_cleared_on_any_date_not_only_at_the_end(tmp_path, mini_tables):
    # D2 500.00 written off by 600.00 on 10-01 (open -100.00), 150.00 recovered on 10-05: it
    # ends at 50.00, but as of 10-01..10-04 it would be negative.
    base = MINI["adjustments"][0]
    mini_tables["adjustments"] += [
        dict(base, adjustment_id="J2", document_id="D2", adjustment_date="2026-10-01", amount="-600.00"),
        dict(
            base, adjustment_id="J3", document_id="D2", adjustment_date="2026-10-05", type="recovery", amount="150.00"
        ),
    ]
    found = problems(tmp_path, mini_tables)
    assert keyed(found) == {("applications.csv", None, "target_id", "over_cleared")}
    assert found[0].value == "D2" and "open would be -100.00 on 2026-10-01" in found[0].message


def test_credit_limit_not_negative_and_parent_must_exist(tmp_path, mini_tables):
    mini_tables["customers"][0]["credit_limit"] = "-1.00"
    mini_tables["customers"][1]["parent_id"] = "C999"
    assert keyed(problems(tmp_path, mini_tables)) == {
        ("customers.csv", 2, "credit_limit", "non_negative"),
        ("customers.csv", 3, "parent_id", "foreign_key"),
    }


def dispute(case_id: str, status: str, opened: str, closed: str) -> dict:
    return {
        "case_id": case_id,
        "customer_id": "C001",
        "document_id": "D1",
        "opened_date": opened,
        "closed_date": closed,
        "currency": "USD",
        "amount": "10.00",
        "reason_code": "pricing",
        "status": status,
        "resolution": "",
        "owner": "Ana",
    }


def test_dispute_dates_follow_the_status(tmp_path, mini_tables):
    mini_tables["disputes"] = [
        dispute("K1", "open", "2026-09-01", ""),  # fine
        dispute("K2", "resolved", "2026-09-01", ""),  # closed without a closed_date
        dispute("K3", "open", "2026-09-01", "2026-09-10"),  # open with a closed_date
        dispute("K4", "rejected", "2026-09-10", "2026-09-01"),  # closed before opened
    ]
    assert keyed(problems(tmp_path, mini_tables)) == {
        ("disputes.csv", 3, "closed_date", "closed_date_required"),
        ("disputes.csv", 4, "closed_date", "open_has_closed_date"),
        ("disputes.csv", 5, "closed_date", "closed_before_opened"),
    }


def test_promise_to_pay_needs_a_date(tmp_path, mini_tables):
    activity = {
        "activity_id": "T1",
        "customer_id": "C001",
        "document_id": "D1",
        "activity_date": "2026-10-02",
        "type": "promise_to_pay",
        "promised_date": "",
        "promised_amount": "100.00",
        "user": "Ana",
        "note": "",
    }
    mini_tables["activities"] = [activity, dict(activity, activity_id="T2", promised_date="2026-10-09")]
    assert keyed(problems(tmp_path, mini_tables)) == {("activities.csv", 2, "promised_date", "promise_needs_date")}


# ------------------------------------------------------------ journals summed by runs of lines


def test_run_starts_cut_where_a_key_changes_or_is_missing():
    entity = pa.array(["E1", "E1", "E1", "E2", None, None, "E2"])
    journal = pa.array(["J1", "J1", "J2", "J2", "J2", "J2", "J2"])
    assert run_starts(entity, journal).tolist() == [0, 2, 3, 4, 5, 6]
    assert run_starts(pa.array([], pa.string())).tolist() == []


JOURNAL_LINE = st.tuples(st.sampled_from(["E1", "E2", "Ω"]), st.sampled_from(["J1", "J2", "J10"]), st.integers(0, 9))


@settings(max_examples=200, deadline=None)
@given(st.lists(JOURNAL_LINE, max_size=40), st.booleans(), st.integers(0, 9))
def test_journal_nets_as_a_sum_per_key(lines, grouped, credit):
    # grouped: each journal's lines together (summed by runs); else in any order (line by line)
    if grouped:
        lines = sorted(lines, key=lambda line: (line[0], line[1]))
    jr = pd.DataFrame(
        {
            "entity": pd.Series([e for e, _, _ in lines], dtype="str"),
            "journal_id": pd.Series([j for _, j, _ in lines], dtype="str"),
            "debit": pd.Series([d for _, _, d in lines], dtype="int64"),
            "credit": pd.Series([credit] * len(lines), dtype="int64"),
        }
    )
    out = Collector()
    _gl_journal(jr, "gl_journal.csv", out)
    nets: dict[tuple[str, str], int] = {}
    for entity, journal, debit in lines:
        nets[(entity, journal)] = nets.get((entity, journal), 0) + debit - credit
    expected = [
        f"journal {j} of entity {e} does not balance (debits - credits = {v} minor units)"
        for (e, j), v in sorted(nets.items())
        if v != 0
    ]
    assert [p.message for p in out.problems] == expected


# ------------------------------------------------ positions taken, running totals per group
def test_take_hand_checked():
    values = np.array([10, 20, 30])
    assert take(values, np.array([2, -1, 0, 2]), 0).tolist() == [30, 0, 10, 30]
    assert take(values, np.array([], dtype="int64"), 0).tolist() == []
    assert take(np.array([], dtype="int64"), np.array([-1, -1]), 7).tolist() == [7, 7]
    dates = np.array(["2026-01-02"], dtype="datetime64[ns]")
    assert np.isnat(take(dates, np.array([-1]), np.datetime64("NaT"))[0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=12), st.lists(st.integers(-1, 5), max_size=30))
def test_take_as_where(values, index):
    values_, index_ = np.array(values, dtype="int64"), np.array(index, dtype="int64")
    index_ = index_[index_ < len(values_)]
    expected = np.where(index_ >= 0, values_[np.maximum(index_, 0)], -9) if len(values_) else np.full(len(index_), -9)
    assert take(values_, index_, -9).tolist() == expected.tolist()


def test_running_totals_and_first_in_group_hand_checked():
    group = np.array([3, 1, 3, 0, 1, 3])
    values = np.array([5, 1, 2, 9, 4, 1])
    assert running_totals(group, values).tolist() == [5, 1, 7, 9, 5, 8]
    assert running_totals(np.array([], dtype="int64"), np.array([], dtype="int64")).tolist() == []
    assert first_in_group(group, np.array([1, 2, 4, 5])).tolist() == [1, 2]  # group 1 at row 1, group 3 at row 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(-(10**12), 10**12)), max_size=40), st.data())
def test_running_totals_and_first_in_group_as_pandas(rows, data):
    group = np.array([g for g, _ in rows], dtype="int64")
    values = np.array([v for _, v in rows], dtype="int64")
    expected = pd.Series(values, dtype="int64").groupby(group).cumsum().to_numpy()
    assert running_totals(group, values).tolist() == expected.tolist()
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(rows) - 1, 0)))) if rows else []), dtype="int64")
    firsts = pd.Series(chosen, dtype="int64").groupby(group[chosen]).head(1) if len(chosen) else pd.Series([])
    assert first_in_group(group, chosen).tolist() == sorted(firsts.tolist())
