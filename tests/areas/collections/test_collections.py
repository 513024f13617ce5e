"""Collections KPIs, the dunning queue and dispute SLAs, by hand on MINI (conftest).

AR (open INV, DM, CM) at 2026-10-31 = D1 300.00 + D2 500.00 + D4 250.50 = 1,050.50;
at 2026-09-30 = D1 400.00 + D2 500.00 + D3 -100.00 + D5 75.25 = 875.25.
Credit sales: Oct 250.50 (D4), Sep 500.00 (D2), Aug 1,000.00 (D1), Jul 75.25 (D5).
Not yet due at 10-31: D4 (due 11-04) = 250.50. Past-due INV/DM: D1 + D2 = 800.00 of 1,050.50.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closelib.areas.collections import disputes, dunning
from closelib.areas.collections import kpis as coll
from closelib.areas.collections.conclusion import conclusion
from closelib.areas.collections.promises import broken_promises
from closelib.book.load import load_book
from closelib.book.model import Book
from closelib.demo import generate_book, write_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source


@pytest.fixture
def params():
    return load_parameters("2026-10", PARAMETERS_DIR)


def mini(tmp_path, **changes):
    tables = copy.deepcopy(MINI)
    for name, rows in changes.items():
        tables[name] = rows
    return load_book(write_source(tmp_path / "b", tables))


def test_kpis_by_hand(tmp_path):
    k = coll.kpi_table(mini(tmp_path), Period(2026, 10), months=2).set_index("month").loc["2026-10"]
    assert (k["end_ar"], k["prior_ar"], k["sales"], k["not_yet_due"]) == (105050, 87525, 25050, 25050)
    # count-back: 1050.50 - Oct 250.50 (31 d) - Sep 500 (30 d) = 300 left of Aug's 1000: 61 + 0.3 x 31
    assert k["dso"] == pytest.approx(70.3)
    assert k["dso_simple"] == round(1050.50 / 250.50 * 31, 2) == 130.0
    assert k["bpdso"] == 31.0 and k["add"] == 99.0
    # CEI = (875.25 + 250.50 - 1050.50) / (875.25 + 250.50 - 250.50) x 100
    assert k["cei"] == round(75.25 / 875.25 * 100, 2)
    assert k["past_due_ratio"] == round(800 / 1050.50, 4)
    sep = coll.kpi_table(mini(tmp_path / "s"), Period(2026, 9), months=1).iloc[0]
    # A1: 600.00 applied 09-10 to D1 (dated 08-01, due 08-31): 40 days to pay, 10 beyond terms, 10 late
    assert (sep["days_to_pay"], sep["days_beyond_terms"], sep["wadl"]) == (40.0, 10.0, 10.0)


def test_kpi_with_no_sales_is_not_a_division_error(tmp_path):
    k = coll.kpi_table(mini(tmp_path), Period(2026, 12), months=1).iloc[0]
    assert k["sales"] == 0 and k["dso_simple"] is None and k["bpdso"] is None and k["cei"] is not None


def test_count_back_dso_edges():
    assert coll.count_back_dso(0, [(100, 31)]) == 0.0
    assert coll.count_back_dso(50, [(100, 30)]) == 15.0
    assert coll.count_back_dso(150, [(100, 31), (100, 30)]) == 31 + 15.0
    assert coll.count_back_dso(100, [(0, 31), (200, 30)]) == 31 + 15.0  # a month without sales counts whole


@given(ar=st.integers(1, 10**9), sales=st.lists(st.integers(1, 10**8), min_size=1, max_size=24))
def test_count_back_dso_is_monotone_in_ar(ar, sales):
    months = [(s, 30) for s in sales]
    low, high = coll.count_back_dso(ar, months), coll.count_back_dso(ar + 1, months)
    assert low <= high <= 30 * len(sales)


def test_dunning_stages_and_what_is_done(tmp_path, params):
    stages = dunning.document_stages(mini(tmp_path), Period(2026, 10), params).set_index("document_id")
    # D1 61 days past due -> suspension (45); D2 30 -> suspension warning (30); D4 not yet due
    assert stages.loc["D1", "stage"] == "suspension" and stages.loc["D2", "stage"] == "suspension_warning"
    assert "D4" not in stages.index
    due, held = dunning.action_queue(stages.reset_index())
    assert set(due["document_id"]) == {"D1", "D2"} and held.empty
    # an account-level suspension on 10-20 (after D1 reached the stage on 10-15) covers D1
    acts = [
        {
            "activity_id": "S1",
            "customer_id": "C001",
            "document_id": "",
            "activity_date": "2026-10-20",
            "type": "suspension",
            "promised_date": "",
            "promised_amount": "",
            "user": "Ana",
            "note": "",
        }
    ]
    dispute = [
        {
            "case_id": "DSP-9",
            "customer_id": "C001",
            "document_id": "D2",
            "opened_date": "2026-10-05",
            "closed_date": "",
            "currency": "USD",
            "amount": "500.00",
            "reason_code": "pricing",
            "status": "open",
            "resolution": "",
            "owner": "Ben",
        }
    ]
    stages = dunning.document_stages(mini(tmp_path / "b", activities=acts, disputes=dispute), Period(2026, 10), params)
    due, held = dunning.action_queue(stages)
    assert due.empty  # D1 done, D2 held
    assert held["document_id"].tolist() == ["D2"] and held.iloc[0]["held_by_dispute"] == "DSP-9"
    q = dunning.customer_queue(
        dunning.action_queue(dunning.document_stages(mini(tmp_path / "c"), Period(2026, 10), params))[0], params
    )
    assert q.iloc[0]["action"] == "suspension" and q.iloc[0]["past_due"] == 80000 and q.iloc[0]["documents"] == 2


def dispute(case, opened, closed, reason, status="resolved"):
    return {
        "case_id": case,
        "customer_id": "C001",
        "document_id": "D1",
        "opened_date": opened,
        "closed_date": closed,
        "currency": "USD",
        "amount": "10.00",
        "reason_code": reason,
        "status": status,
        "resolution": "",
        "owner": "Ben",
    }


def test_dispute_sla_ageing_and_attainment(tmp_path, params):
    rows = [
        dispute("A", "2026-10-01", "", "pricing", "open"),  # 30 days old, SLA 30: within
        dispute("B", "2026-09-01", "", "duplicate_billing", "open"),  # 60 days, SLA 10: breached
        dispute("C", "2026-09-20", "2026-10-10", "sla_credit"),  # 20 days to close, SLA 20: met
        dispute("D", "2026-09-01", "2026-10-20", "install_date", "rejected"),  # 49 days, SLA 15: missed
        dispute("E", "2026-09-01", "2026-11-20", "other", "resolved"),
    ]  # closed after D: open at D
    b = mini(tmp_path, disputes=rows)
    cases = disputes.open_cases(b, Period(2026, 10), params).set_index("case_id")
    assert set(cases.index) == {"A", "B", "E"}
    assert not cases.loc["A", "breached"] and cases.loc["B", "breached"] and cases.loc["B", "over_sla_days"] == 50
    att = disputes.attainment(disputes.closed_in_period(b, Period(2026, 10), params)).set_index("reason_code")
    assert att.loc["sla_credit", "attainment"] == 1.0 and att.loc["install_date", "attainment"] == 0.0
    assert att.loc["install_date", "rejected"] == 1
    pareto = disputes.pareto(b, Period(2026, 10))
    assert pareto["cases"].is_monotonic_decreasing and pareto["cumulative_share"].iloc[-1] == 1.0


def test_credit_memo_resolving_a_dispute_is_linked(tmp_path):
    docs = [dict(r) for r in MINI["documents"]]
    docs.append(
        {
            "document_id": "D6",
            "customer_id": "C001",
            "entity": "US01",
            "doc_type": "CM",
            "document_date": "2026-10-12",
            "due_date": "2026-10-12",
            "currency": "USD",
            "amount": "-10.00",
            "reference": "",
            "description": "pricing credit",
        }
    )
    rows = [dict(dispute("P", "2026-10-01", "2026-10-12", "pricing"), resolution="credited by D6")]
    cms = disputes.resolving_credit_memos(mini(tmp_path, documents=docs, disputes=rows), Period(2026, 10))
    assert cms.empty  # "D6" is not a document id of the CM pattern: nothing invented
    docs[-1]["document_id"] = "US01-CM-7"
    rows[0]["resolution"] = "credit memo US01-CM-7 issued"
    cms = disputes.resolving_credit_memos(mini(tmp_path / "b", documents=docs, disputes=rows), Period(2026, 10))
    assert cms[["document_id", "case_id", "reason_code"]].values.tolist() == [["US01-CM-7", "P", "pricing"]]


# ---------------------------------------------------------------- issue 17: nothing to report


@pytest.mark.parametrize("case", ["header_only_documents", "period_before_the_book"])
def test_kpis_of_an_empty_book_or_an_early_period_are_empty_not_a_key_error(tmp_path, case):
    if case == "header_only_documents":
        book, period = mini(tmp_path, documents=[], applications=[], adjustments=[]), Period(2026, 10)
    else:
        book, period = mini(tmp_path), Period(2020, 1)
    kpis = coll.kpi_table(book, period, months=13)
    assert kpis.empty and {"entity", "month", "end_ar", "dso", "cei"} <= set(kpis.columns)
    now = kpis[kpis["month"] == str(period)].set_index("entity")  # what the notebook does next
    by = coll.kpi_table(book, period, months=1, by="collector")
    assert by.empty and "collector" in by.columns
    text = conclusion(now, pd.DataFrame(columns=["entity", "action"]), pd.DataFrame(), pd.DataFrame(), None)
    assert "no KPIs to report" in text


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    source = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(scale=0.3), source)
    return load_book(source)


@pytest.mark.parametrize(("months", "by"), [(13, None), (1, "collector"), (1, "segment"), (4, None)])
def test_a_kpi_table_from_a_shared_longer_history_is_the_table_computed_alone(demo_book, months, by):
    period = Period(2026, 10)
    history = coll.kpi_history(demo_book, period, months=13)
    shared = coll.kpi_table(demo_book, period, months=months, by=by, history=history)
    alone = coll.kpi_table(demo_book, period, months=months, by=by)
    assert len(alone) > 0
    pd.testing.assert_frame_equal(shared, alone)


def test_a_history_too_short_or_of_another_period_is_refused(tmp_path):
    book = mini(tmp_path)
    history = coll.kpi_history(book, Period(2026, 10), months=1)
    with pytest.raises(ValueError, match="cannot give 2"):
        coll.kpi_table(book, Period(2026, 10), months=2, history=history)
    with pytest.raises(ValueError, match="cannot give 1"):
        coll.kpi_table(book, Period(2026, 9), months=1, history=history)


def test_broken_promises_are_kept_per_day_and_grace_and_made_again_for_new_receipts():
    acts = pd.DataFrame(
        {
            "activity_id": pd.Series(["P1"], dtype="str"),
            "customer_id": pd.Series(["C1"], dtype="str"),
            "document_id": pd.Series([""], dtype="str"),
            "activity_date": pd.to_datetime(["2026-09-01"]),
            "type": pd.Series(["promise_to_pay"], dtype="str"),
            "promised_date": pd.to_datetime(["2026-09-10"]),
            "promised_amount": pd.Series([10000], dtype="Int64"),
        }
    )

    def receipts(*rows):
        return pd.DataFrame(
            {
                "customer_id": pd.Series([c for c, _, _ in rows], dtype="str"),
                "receipt_date": pd.to_datetime([d for _, d, _ in rows]),
                "amount": pd.Series([a for _, _, a in rows], dtype="int64"),
            }
        )

    tables = {"activities": acts, "receipts": receipts(("C1", "2026-09-05", 4000), ("C2", "2026-09-05", 9000))}
    book = Book(Path("."), tables, {}, frozenset(tables))
    day = pd.Timestamp("2026-10-31")
    first = broken_promises(book, day, 5)
    assert first[["received", "broken"]].values.tolist() == [[4000, True]]
    first.loc[:, "broken"] = False  # the caller's copy
    assert broken_promises(book, day, 5)["broken"].tolist() == [True]
    book.tables["receipts"] = receipts(("C1", "2026-09-05", 4000), ("C1", "2026-09-14", 6000))
    assert broken_promises(book, day, 5)[["received", "broken"]].values.tolist() == [[10000, False]]
    assert broken_promises(book, day, 3)[["received", "broken"]].values.tolist() == [[4000, True]]  # 14th > 13th
