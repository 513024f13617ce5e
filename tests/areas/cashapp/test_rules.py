"""Each rule on hand-checkable cases (cents): what it proposes, and what it must leave alone."""

import time

import pandas as pd

from benchmarks.cashbook import workload
from closelib.areas.cashapp import match, names, report
from closelib.areas.cashapp.candidates import Policy
from closelib.periods import Period
from tests.areas.cashapp.frames import CUSTOMERS, POLICY, applied, document, receipt, sources, targets


def propose(src, tgt, policy: Policy = POLICY, customers: pd.DataFrame = CUSTOMERS):
    return match.propose(src, tgt, customers, policy)


def test_remittance_applies_the_named_documents_oldest_first_as_far_as_the_receipt_goes():
    src = sources(receipt("R1", 150_00, remittance="INV-0000002 and US01 INV 0000001"))
    tgt = targets(
        document("US01-INV-0000001", 100_00, day="2026-08-01"),
        document("US01-INV-0000002", 100_00, day="2026-09-01"),
        document("US01-INV-0000003", 150_00, day="2026-07-01"),  # exactly the amount, but not named
    )
    result = propose(src, tgt)
    assert applied(result) == {
        ("R1", "US01-INV-0000001"): (100_00, "remittance"),
        ("R1", "US01-INV-0000002"): (50_00, "remittance"),
    }


def test_remittance_never_names_another_customers_document():
    src = sources(receipt("R1", 100_00, customer="C1", remittance="US01-INV-0000009"))
    tgt = targets(document("US01-INV-0000009", 100_00, customer="C2"))
    assert applied(propose(src, tgt)) == {}


def test_unidentified_receipt_takes_the_customer_its_remittance_names():
    src = sources(receipt("R1", 100_00, customer="", remittance="US01-INV-0000009"))
    tgt = targets(document("US01-INV-0000009", 100_00, customer="C2"))
    result = propose(src, tgt)
    assert applied(result) == {("R1", "US01-INV-0000009"): (100_00, "remittance")}
    assert "unidentified" in result.lines["reason"].iloc[0]


def test_exact_amount_takes_the_one_document_of_that_amount():
    src = sources(receipt("R1", 123_45))
    tgt = targets(document("US01-INV-0000001", 100_00), document("US01-INV-0000002", 123_45))
    result = propose(src, tgt)
    assert applied(result) == {("R1", "US01-INV-0000002"): (123_45, "exact_amount")}
    assert result.lines["confidence"].iloc[0] == 0.9


def test_exact_amount_with_two_documents_of_that_amount_takes_the_oldest_less_surely():
    src = sources(receipt("R1", 500_00), receipt("R2", 500_00, day="2026-10-21"))
    tgt = targets(
        document("US01-INV-0000002", 500_00, day="2026-09-01"),
        document("US01-INV-0000001", 500_00, day="2026-08-01"),
    )
    result = propose(src, tgt)
    assert applied(result) == {
        ("R1", "US01-INV-0000001"): (500_00, "exact_amount"),
        ("R2", "US01-INV-0000002"): (500_00, "exact_amount"),
    }
    assert (result.lines["confidence"] == 0.75).all()


def test_exact_amount_only_within_the_customer():
    src = sources(receipt("R1", 123_45, customer="C1"))
    tgt = targets(document("US01-INV-0000001", 123_45, customer="C2"))
    assert applied(propose(src, tgt)) == {}


def test_combination_sums_exactly_oldest_documents_first():
    src = sources(receipt("R1", 350_00))
    tgt = targets(
        document("US01-INV-0000001", 100_00, day="2026-06-01"),
        document("US01-INV-0000002", 200_00, day="2026-07-01"),
        document("US01-INV-0000003", 50_00, day="2026-08-01"),
        document("US01-INV-0000004", 150_00, day="2026-09-01"),
    )
    result = propose(src, tgt)
    # 100 + 200 + 50 and 200 + 150 both make 350: the pair (fewer documents) wins
    assert applied(result) == {
        ("R1", "US01-INV-0000002"): (200_00, "combination"),
        ("R1", "US01-INV-0000004"): (150_00, "combination"),
    }


def test_combination_is_bounded_by_max_combination():
    src = sources(receipt("R1", 600_00))
    tgt = targets(*(document(f"US01-INV-{i:07d}", 100_00, day=f"2026-0{i}-01") for i in range(1, 7)))
    assert applied(propose(src, tgt, Policy(**{**POLICY.__dict__, "max_combination": 5}))) == {}
    assert len(applied(propose(src, tgt, Policy(**{**POLICY.__dict__, "max_combination": 6})))) == 6


def test_combination_searches_only_the_oldest_candidates_and_stays_fast_with_thousands():
    # 3,000 open documents: only the 12 oldest are searched (bounded), so this takes no time and
    # a sum only the newest documents make is not found.
    docs = [document(f"US01-INV-{i:07d}", 1_000_00 + i, day="2026-01-01") for i in range(3000)]
    src = sources(receipt("R1", (1_000_00 + 0) + (1_000_00 + 1)), receipt("R2", (1_000_00 + 2998) + (1_000_00 + 2999)))
    started = time.perf_counter()
    result = propose(src, targets(*docs))
    assert time.perf_counter() - started < 10
    assert {k[0] for k in applied(result)} == {"R1"}


def test_tolerance_bank_charge_and_short_pay():
    src = sources(
        receipt("R1", 2_000_00 - 25_00),  # 25.00 short: at most bank_charge_max 30.00
        receipt("R2", 5_000_00 - 45_00, customer="C2"),  # 45.00 short: a short-pay
    )
    tgt = targets(document("US01-INV-0000001", 2_000_00), document("US01-INV-0000002", 5_000_00, customer="C2"))
    result = propose(src, tgt)
    assert applied(result) == {
        ("R1", "US01-INV-0000001"): (1_975_00, "tolerance"),
        ("R2", "US01-INV-0000002"): (4_955_00, "tolerance"),
    }
    adj = result.adjustments.sort_values("src")
    assert adj["amount"].tolist() == [25_00, 45_00]
    assert adj["kind"].tolist() == ["bank charge", "short-pay"]
    assert (result.targets["remaining"] == 0).all()


def test_tolerance_is_the_lower_of_absolute_and_percent():
    # 2 % of 1,000.00 is 20.00 (below the 50.00 absolute): 21.00 short is outside tolerance
    src = sources(receipt("R1", 1_000_00 - 21_00))
    tgt = targets(document("US01-INV-0000001", 1_000_00))
    assert applied(propose(src, tgt)) == {}


def test_tolerance_overpayment_leaves_the_excess_unapplied():
    src = sources(receipt("R1", 1_000_00 + 10_00))
    result = propose(src, targets(document("US01-INV-0000001", 1_000_00)))
    assert applied(result) == {("R1", "US01-INV-0000001"): (1_000_00, "tolerance")}
    assert result.sources["remaining"].tolist() == [10_00]
    assert result.adjustments.empty


def test_payer_name_and_amount_place_an_unidentified_receipt():
    src = sources(receipt("R1", 777_00, customer="", payer="ACME DATA CENTERS"))
    tgt = targets(
        document("US01-INV-0000001", 777_00, customer="C1"), document("US01-INV-0000002", 777_00, customer="C2")
    )
    result = propose(src, tgt)
    assert applied(result) == {("R1", "US01-INV-0000001"): (777_00, "payer_name")}
    assert "C1" in result.lines["reason"].iloc[0]


def test_payer_name_unlike_every_customer_stays_unmatched():
    src = sources(receipt("R1", 777_00, customer="", payer="NORTHWIND TRADERS"))
    result = propose(src, targets(document("US01-INV-0000001", 777_00)))
    assert applied(result) == {}
    assert result.sources["remaining"].tolist() == [777_00]


def test_credit_memo_is_matched_the_same_way_but_never_by_tolerance():
    src = sources(
        receipt("US01-CM-0000001", 250_00, kind="credit memo", day="2026-09-15"),
        receipt("US01-CM-0000002", 99_00, kind="credit memo", customer="C2", day="2026-09-15"),
    )
    tgt = targets(document("US01-INV-0000001", 250_00), document("US01-INV-0000002", 100_00, customer="C2"))
    result = propose(src, tgt)
    assert applied(result) == {("US01-CM-0000001", "US01-INV-0000001"): (250_00, "exact_amount")}


def test_rules_run_in_order_and_a_matched_source_is_left_alone():
    # R1 names INV-1 (remittance, partly), so the exact-amount document INV-2 is not offered to it
    src = sources(receipt("R1", 300_00, remittance="US01-INV-0000001"))
    tgt = targets(document("US01-INV-0000001", 100_00), document("US01-INV-0000002", 300_00))
    result = propose(src, tgt)
    assert applied(result) == {("R1", "US01-INV-0000001"): (100_00, "remittance")}
    assert result.sources["remaining"].tolist() == [200_00]


def test_the_bench_workload_runs_small_and_never_over_applies():
    src, tgt, customers = workload(300, 3000)
    result = match.propose(src, tgt, customers, POLICY)
    assert result.problems == []
    assert set(result.lines["rule"]) == set(match.RULES)


def test_payer_names_compared_in_blocks_beyond_the_full_matrix(monkeypatch):
    monkeypatch.setattr(names, "FULL_MATRIX", 0)
    src = sources(receipt("R1", 777_00, customer="", payer="ACME DATA CENTERS"))
    result = propose(src, targets(document("US01-INV-0000001", 777_00, customer="C1")))
    assert applied(result) == {("R1", "US01-INV-0000001"): (777_00, "payer_name")}


def test_nothing_to_apply_gives_empty_tables_and_says_so():
    src = sources(receipt("R1", 100_00)).iloc[0:0]
    tgt = targets(document("US01-INV-0000001", 100_00)).iloc[0:0]
    result = propose(src, tgt)
    period = Period.parse("2026-10")
    proposals = report.proposal_table(result, period)
    assert proposals.empty and list(report.upload(proposals).columns) == report.UPLOAD_COLUMNS
    assert report.by_rule(result, proposals).empty and report.worklist(result).empty
    assert report.adjustment_table(result).empty and report.age_table(result).empty
    report.age_chart(report.age_table(result))
    figures = report.entity_figures(result, proposals, {"US01": "USD"})
    assert figures["US01"]["match_rate"] is None
    assert "nothing to apply" in report.conclusion(figures, report.adjustment_table(result), [], str, {"US01": "USD"})


def test_remittance_paid_short_within_tolerance_proposes_the_difference_as_an_adjustment():
    src = sources(
        receipt("R1", 2_000_00 - 20_00, remittance="US01-INV-0000001"),  # a bank charge
        receipt("R2", 1_000_00 - 300_00, customer="C2", remittance="US01-INV-0000002"),  # far short: no adjustment
    )
    tgt = targets(document("US01-INV-0000001", 2_000_00), document("US01-INV-0000002", 1_000_00, customer="C2"))
    result = propose(src, tgt)
    assert applied(result) == {
        ("R1", "US01-INV-0000001"): (1_980_00, "remittance"),
        ("R2", "US01-INV-0000002"): (700_00, "remittance"),
    }
    assert result.adjustments[["amount", "kind"]].values.tolist() == [[20_00, "bank charge"]]
    assert result.targets["remaining"].tolist() == [0, 300_00]


def test_worklist_shows_the_documents_nearest_in_amount_below_and_above():
    src = sources(receipt("R1", 430_00, remittance=""))
    tgt = targets(
        document("US01-INV-0000001", 100_00),
        document("US01-INV-0000002", 400_00),
        document("US01-INV-0000003", 900_00),
        document("US01-INV-0000004", 500_00),
    )
    work = report.worklist(propose(src, tgt, Policy(**{**POLICY.__dict__, "max_combination": 1})))
    assert work["best_candidates"].tolist() == [
        "US01-INV-0000002 (400.00 USD open); US01-INV-0000004 (500.00 USD open)"
    ]


def test_figures_count_a_foreign_source_at_its_booking_rate():
    """A EUR receipt of 100.00 at 1.1 in a USD entity: 110.00 USD available; 60.00 EUR applied
    leaves 40.00 EUR = 44.00 USD unmatched, so 66.00 USD is proposed (available - unmatched)."""
    eur = {**receipt("R1", 100_00, remittance="US01-INV-0000001"), "currency": "EUR", "booking_rate": 1.1}
    doc = {**document("US01-INV-0000001", 60_00), "currency": "EUR"}
    result = propose(sources(eur), targets(doc))
    proposals = report.proposal_table(result, Period.parse("2026-10"))
    f = report.entity_figures(result, proposals, {"US01": "USD"})["US01"]
    assert (f["unapplied_before"], f["proposed_amount"], f["unmatched_amount"]) == (110_00, 66_00, 44_00)
    assert f["proposed_count"] == 1 and f["other_currencies"] == 1 and f["match_rate"] == 0.6
