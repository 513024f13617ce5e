"""Credit review: Altman Z'', ratios, score log, limit policy, approval, the queue, the memos.

MINI at 2026-10-31 (conftest): C001 (rating 3, limit 5,000.00, reviewed 2026-01-15) owes D1
300.00 + D2 500.00 = 800.00 and paid D1 (invoiced 08-01, due 08-31) with R1 600.00 on 09-10:
40 days to pay, 10 beyond terms. C002 (rating 6, limit 1,000.00, never reviewed) owes D4 250.50
and never paid. C003 is bankrupt (not reviewed). No financials, no activities.
"""

from __future__ import annotations

import copy
import json
import sys

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from closelib.areas.credit import conclusion as credit_conclusion
from closelib.areas.credit import financials as credit_financials
from closelib.areas.credit import limit as credit_limit
from closelib.areas.credit import memo as credit_memo
from closelib.areas.credit import memos as credit_run
from closelib.areas.credit import queue as credit
from closelib.areas.credit import score as credit_score
from closelib.areas.credit import sections as credit_sections
from closelib.areas.credit.customerbook import customer_book
from closelib.book.load import load_book
from closelib.errors import NotFoundError
from closelib.nb import context as nb
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

END = Period(2026, 10)
DAY = pd.Timestamp("2026-10-31")


@pytest.fixture
def params():
    return load_parameters(END, PARAMETERS_DIR)


def book(tmp_path, **changes):
    tables = copy.deepcopy(MINI)
    for name, change in changes.items():
        tables[name] = change(tables.get(name, []))
    return load_book(write_source(tmp_path / "b", tables))


def customer(cid, **values):
    return lambda rows: [dict(r, **values) if r["customer_id"] == cid else r for r in rows]


def add(*rows):
    return lambda existing: list(existing) + list(rows)


ON_TIME = {  # C001 paid an invoice of March 10 days early: 20 days to pay, 0 beyond terms
    "documents": add(
        {
            "document_id": "D0",
            "customer_id": "C001",
            "entity": "US01",
            "doc_type": "INV",
            "document_date": "2026-03-01",
            "due_date": "2026-03-31",
            "currency": "USD",
            "amount": "200.00",
            "reference": "",
            "description": "Colocation Mar",
        }
    ),
    "receipts": add(
        {
            "receipt_id": "R0",
            "entity": "US01",
            "customer_id": "C001",
            "receipt_date": "2026-03-21",
            "currency": "USD",
            "amount": "200.00",
            "bank_reference": "BNK0",
        }
    ),
    "applications": add(
        {"application_id": "A0", "applied_date": "2026-03-21", "source_id": "R0", "target_id": "D0", "amount": "200.00"}
    ),
}
BROKEN_PROMISE = {
    "activities": add(
        {
            "activity_id": "P1",
            "customer_id": "C001",
            "document_id": "D2",
            "activity_date": "2026-10-01",
            "type": "promise_to_pay",
            "promised_date": "2026-10-10",
            "promised_amount": "500.00",
            "user": "Ana",
            "note": "",
        }
    )
}
FINANCIALS = {
    "financials": add(
        {
            "customer_id": "C001",
            "fiscal_year_end": "2025-12-31",
            "currency": "USD",
            "revenue": "2000.00",
            "ebit": "50.00",
            "total_assets": "1000.00",
            "total_liabilities": "600.00",
            "current_assets": "500.00",
            "current_liabilities": "300.00",
            "retained_earnings": "100.00",
            "book_equity": "400.00",
            "market_equity": "",
        }
    )
}


# ---------------------------------------------------------------- Altman Z'' and ratios


def test_altman_z2_on_hand_computed_numbers():
    # X1 = 200/1000 = 0.2, X2 = 100/1000 = 0.1, X3 = 50/1000 = 0.05, X4 = 400/600 = 2/3
    # Z'' = 6.56*0.2 + 3.26*0.1 + 6.72*0.05 + 1.05*2/3 = 1.312 + 0.326 + 0.336 + 0.7 = 2.674
    z = credit_financials.altman_z2(20_000, 10_000, 5_000, 40_000, 100_000, 60_000)
    assert (z["x1"], z["x2"], z["x3"]) == (0.2, 0.1, 0.05) and z["x4"] == pytest.approx(2 / 3)
    assert z["z2"] == pytest.approx(2.674) and z["zone"] == "safe"
    # negative working capital and a loss: distress
    z = credit_financials.altman_z2(-30_000, -10_000, -5_000, 10_000, 100_000, 90_000)
    assert z["z2"] == pytest.approx(-1.968 - 0.326 - 0.336 + 1.05 / 9) and z["zone"] == "distress"
    assert credit_financials.altman_z2(1, 1, 1, 1, 0, 10) is None  # no total assets: not computable


@pytest.mark.parametrize(
    "z, zone",
    [(2.6000001, "safe"), (2.6, "grey"), (1.1, "grey"), (1.0999999, "distress"), (4.5, "safe"), (-3.0, "distress")],
)
def test_zones_at_the_boundaries(z, zone):
    assert credit_financials.zone(z) == zone


def test_ratios_and_interest_cover_only_with_an_interest_column():
    row = pd.Series(
        {
            "fiscal_year_end": pd.Timestamp("2025-12-31"),
            "currency": "USD",
            "revenue": 200_000,
            "ebit": 5_000,
            "total_assets": 100_000,
            "total_liabilities": 60_000,
            "current_assets": 50_000,
            "current_liabilities": 30_000,
            "retained_earnings": 10_000,
            "book_equity": 40_000,
        }
    )
    r = credit_financials.ratios(row)
    assert r["current_ratio"] == pytest.approx(50 / 30) and r["leverage"] == 0.6 and r["ebit_margin"] == 0.025
    assert r["working_capital"] == 20_000 and r["z2"] == pytest.approx(2.674)
    assert r["interest_cover"] is None and "not available" in r["interest_cover_note"]
    r = credit_financials.ratios(pd.concat([row, pd.Series({"interest_expense": "12.50"})]))
    assert r["interest_cover"] == 4.0  # 50.00 / 12.50
    zero = credit_financials.ratios(row.copy().replace({30_000: 0}))
    assert zero["current_ratio"] is None


# ---------------------------------------------------------------- the score


PERFECT = {
    "days_beyond_terms": 0,
    "share_paid_late": 0.0,
    "days_beyond_terms_trend": -2.0,
    "past_due_over_30": 0.0,
    "broken_promises": 0,
    "utilisation": 0.3,
    "suspensions": 0,
}


def test_score_log_sums_to_the_score_and_maps_to_a_rating():
    values = {
        "days_beyond_terms": 12.0,
        "share_paid_late": 0.3,
        "days_beyond_terms_trend": 3.0,
        "past_due_over_30": 0.2,
        "broken_promises": 1,
        "utilisation": 0.95,
        "suspensions": 0,
        "altman_z2": 2.0,
        "current_ratio": 1.2,
        "leverage": 0.7,
    }
    log, total, rating = credit_score.score(values, True)
    # points: 65, 50, 70, 45, 60, 45, 100, 45 (grey), 55, 45
    assert list(log["points"]) == [65, 50, 70, 45, 60, 45, 100, 45, 55, 45]
    expected = (
        65 * 0.14
        + 50 * 0.08
        + 70 * 0.06
        + 45 * 0.10
        + 60 * 0.08
        + 45 * 0.07
        + 100 * 0.07
        + 45 * 0.20
        + 55 * 0.10
        + 45 * 0.10
    )
    assert total == pytest.approx(expected) == pytest.approx(55.75)
    assert round(log["contribution"].sum(), 2) == total
    assert list(log["contribution"]) == pytest.approx(
        [p * w for p, w in zip(log["points"], log["weight"], strict=False)], abs=0.011
    )
    assert rating == 5
    assert credit_score.score({**PERFECT, "altman_z2": 5.0, "current_ratio": 3.0, "leverage": 0.2}, True)[1:] == (
        100.0,
        1,
    )


def test_without_financials_behaviour_weights_sum_to_one_and_no_data_is_neutral():
    log, total, rating = credit_score.score(
        {**PERFECT, "days_beyond_terms": None, "share_paid_late": None, "days_beyond_terms_trend": None}, False
    )
    assert "altman_z2" not in set(log["factor"]) and log["weight"].sum() == pytest.approx(1.0, abs=1e-3)
    neutral = log[log["note"] != ""]
    assert list(neutral["factor"]) == ["days_beyond_terms", "share_paid_late", "days_beyond_terms_trend"]
    assert (neutral["points"] == credit_score.NEUTRAL_POINTS).all()
    # behaviour weights .14 + .08 + .06 = .28 of .60 get 50 points, the rest (.32 of .60) get 100
    assert total == 76.67 == round(50 * 0.28 / 0.6 + 100 * 0.32 / 0.6, 2)
    assert round(log["contribution"].sum(), 2) == total and rating == 3


def test_status_override_and_rating_scale():
    log, total, rating = credit_score.score(PERFECT, False, status="in_collections")
    assert total == 100.0 and rating == 10 and log.iloc[-1]["factor"] == "override: status in_collections"
    assert credit_score.score(PERFECT, False, status="suspended")[2] == 8
    assert [credit_score.rating_for(s) for s in (100, 90, 89.99, 50, 10, 9.99, 0)] == [1, 1, 2, 5, 9, 10, 10]
    assert (
        credit_score.score({**PERFECT, "utilisation": float("inf")}, False)[0]
        .set_index("factor")
        .loc["utilisation", "points"]
        == 0
    )


# ---------------------------------------------------------------- the limit policy and approval


def limit(params, current, monthly, rating, currency="USD"):
    return credit_limit.recommend_limit(current, monthly, rating, currency, params["credit_review"]["limit_policy"])


def test_limit_formula_cap_rounding_and_hold_band(params):
    # 5,000.00 a month x 3 x 1.25 (rating 3) = 18,750.00, capped at 1.5 x 10,000.00 = 15,000.00
    r = limit(params, 1_000_000, 500_000, 3)
    assert (r["formula"], r["cap"], r["capped"], r["recommended"], r["change"]) == (
        1_875_000,
        1_500_000,
        1_500_000,
        1_500_000,
        500_000,
    )
    # 3,200.00 x 3 x 1.25 = 12,000.00: +20 %, outside the 10 % hold band
    assert limit(params, 1_000_000, 320_000, 3)["recommended"] == 1_200_000
    # 3,000.00 x 3 x 1.25 = 11,250.00 -> rounded down 11,000.00: exactly 10 % above, kept at 10,000.00
    r = limit(params, 1_000_000, 300_000, 3)
    assert (r["formula"], r["rounded"], r["held_within_band"], r["recommended"]) == (
        1_125_000,
        1_100_000,
        True,
        1_000_000,
    )
    # rating 8 (factor 0.6): 4,000.00 x 3 x 0.6 = 7,200.00 -> 7,000.00, a decrease of 3,000.00
    r = limit(params, 1_000_000, 400_000, 8)
    assert (r["recommended"], r["change"], credit_limit.decision(r, "active")) == (700_000, -300_000, "decrease")
    # rating 10 (factor 0): credit hold
    r = limit(params, 1_000_000, 400_000, 10)
    assert r["recommended"] == 0 and credit_limit.decision(r, "active") == "credit hold"
    # a zero current limit is not capped: 18,750.00 -> 18,000.00
    r = limit(params, 0, 500_000, 3)
    assert r["cap"] is None and r["recommended"] == 1_800_000 and credit_limit.decision(r, "active") == "increase"
    # JPY: round_to "1000.00" is 1,000 yen
    assert limit(params, 200_000, 30_001, 5, "JPY")["recommended"] == 90_000  # 90,003 yen -> 90,000
    assert credit_limit.decision(limit(params, 1_000_000, 300_000, 3), "active") == "hold"


def test_approval_level_on_the_size_of_the_change(params):
    matrix = params["credit_review"]["approval_matrix"]
    assert credit_limit.approval_level(2_500_000, "USD", matrix) == "credit_analyst"
    assert credit_limit.approval_level(2_500_001, "USD", matrix) == "credit_manager"
    assert credit_limit.approval_level(-2_500_001, "USD", matrix) == "credit_manager"
    assert credit_limit.approval_level(10_000_001, "USD", matrix) == "cfo"
    assert credit_limit.approval_level(0, "USD", matrix) == "credit_analyst"


def test_average_monthly_billing_rounds_half_up(tmp_path):
    b = book(tmp_path)
    # C001 billed D1 1,000.00 + D2 500.00 in the last 12 months (the CM is not billing): 1,500.00 / 12 = 125.00
    assert credit_limit.average_monthly_billing(b.documents, "C001", "USD", DAY, 12) == (150_000, 12_500)
    # C002 250.50 / 12 = 20.875 -> 20.88
    assert credit_limit.average_monthly_billing(b.documents, "C002", "USD", DAY, 12) == (25_050, 2_088)


# ---------------------------------------------------------------- the queue


def queue(tmp_path, params, **changes):
    q = credit.review_queue(book(tmp_path, **changes), END, params)
    return q.set_index("customer_id")


def test_queue_by_cycle_for_the_rating_band(tmp_path, params):
    q = queue(tmp_path, params)
    # C001 (rating 3: 12 months) reviewed 2026-01-15 is not due; C002 never reviewed is; C003 is bankrupt
    assert list(q.index) == ["C002"] and q.loc["C002", "reasons"] == "never reviewed"
    q = queue(tmp_path, params, customers=customer("C001", last_review_date="2025-10-31"))
    assert "cycle review due 2026-10-31 (12-month cycle, rating 3)" in q.loc["C001", "reasons"]
    assert "C001" not in queue(tmp_path, params, customers=customer("C001", last_review_date="2025-11-01")).index
    # rating 8 (3 months): reviewed 2026-07-31 is due on 2026-10-31
    q = queue(tmp_path, params, customers=customer("C001", risk_rating="8", last_review_date="2026-07-31"))
    assert q.loc["C001", "cycle_due"]


def test_queue_trigger_utilisation_and_zero_limit(tmp_path, params):
    q = queue(tmp_path, params, customers=customer("C001", credit_limit="880.00"))  # 800 / 880 = 90.9 %
    assert q.loc["C001", "reasons"] == "utilisation 91% above 90%" and q.loc["C001", "triggers"] == 1
    assert "C001" not in queue(tmp_path, params, customers=customer("C001", credit_limit="890.00")).index  # 89.9 %
    q = queue(tmp_path, params, customers=customer("C001", credit_limit="0.00"))
    assert q.loc["C001", "reasons"] == "exposure with no credit limit"


def test_queue_trigger_days_beyond_terms_worsening(tmp_path, params):
    q = queue(tmp_path, params, **ON_TIME)
    # prior 12 months: 0 days beyond terms; last 3 months: 10 -> up 10 days (threshold 10)
    assert (q.loc["C001", "dbt_prior"], q.loc["C001", "dbt_recent"], q.loc["C001", "dbt_change"]) == (0.0, 10.0, 10.0)
    assert q.loc["C001", "reasons"].startswith("days beyond terms up 10.0 days (0.0 -> 10.0)")
    params["credit_review"]["triggers"]["days_beyond_terms_increase"] = 11
    assert "C001" not in queue(tmp_path, params, **ON_TIME).index


def test_queue_trigger_broken_promises(tmp_path, params):
    q = queue(tmp_path, params, **BROKEN_PROMISE)
    assert (
        q.loc["C001", "broken_promises"] == 1 and "1 broken promise(s) to pay in 6 months" in q.loc["C001", "reasons"]
    )
    params["credit_review"]["triggers"]["broken_promises"] = 2
    assert "C001" not in queue(tmp_path, params, **BROKEN_PROMISE).index
    params["credit_review"]["triggers"]["broken_promises"] = 1
    kept = {
        "receipts": add(
            {
                "receipt_id": "R9",
                "entity": "US01",
                "customer_id": "C001",
                "receipt_date": "2026-10-12",
                "currency": "USD",
                "amount": "500.00",
                "bank_reference": "BNK9",
            }
        ),
        **BROKEN_PROMISE,
    }
    assert "C001" not in queue(tmp_path, params, **kept).index  # paid within the grace days: kept


def test_queue_trigger_exposure_jump(tmp_path, params):
    july = {
        "documents": add(
            {
                "document_id": "D6",
                "customer_id": "C001",
                "entity": "US01",
                "doc_type": "INV",
                "document_date": "2026-07-01",
                "due_date": "2026-07-31",
                "currency": "USD",
                "amount": "400.00",
                "reference": "",
                "description": "Colocation Jul",
            }
        )
    }
    q = queue(tmp_path, params, **july)
    # 400.00 at 2026-07-31, 1,200.00 now: up 200 %
    assert (q.loc["C001", "exposure_before"], q.loc["C001", "exposure"]) == (40_000, 120_000)
    assert q.loc["C001", "reasons"] == "exposure up 200% in 3 months"
    # no exposure three months ago is no jump
    assert pd.isna(credit.signals(book(tmp_path), END, params).set_index("customer_id").loc["C001", "exposure_change"])


def test_priority_and_carried_over_beyond_max_memos(tmp_path, params):
    params["credit_review"]["max_memos"] = 1
    q = queue(tmp_path, params, customers=customer("C001", last_review_date="2025-01-15"))
    # both due by cycle only: never reviewed (C002) before overdue (C001)
    assert list(q.index) == ["C002", "C001"] and list(q["memo"]) == [True, False]
    q = queue(tmp_path, params, **BROKEN_PROMISE)
    assert list(q.index) == ["C001", "C002"] and list(q["priority"]) == [1, 2]  # a trigger comes first
    params["credit_review"]["statuses"] = ["active", "bankrupt"]
    assert "C003" in queue(tmp_path, params).index


# ---------------------------------------------------------------- one customer's review


def test_review_without_financials_or_payments_scores_behaviour_alone(tmp_path, params):
    b = book(tmp_path)
    rv = credit_memo.review(b, END, params, "C002")
    assert rv.financials is None and rv.behaviour["amount_paid"] == 0
    assert set(credit_score.FINANCIAL_FACTORS).isdisjoint(rv.log["factor"])
    assert set(rv.log.loc[rv.log["note"] != "", "factor"]) == {
        "days_beyond_terms",
        "share_paid_late",
        "days_beyond_terms_trend",
    }
    assert round(rv.log["contribution"].sum(), 2) == rv.score
    text = credit_conclusion.conclusion(
        rv.profile,
        rv.behaviour,
        rv.financials,
        rv.score,
        rv.rating,
        rv.limit,
        rv.decision,
        rv.approver,
        rv.trail,
        0,
        nb.fmt_money,
    )
    assert "No financial statements are on file" in text and "no payments" in text
    assert credit_memo.result_of(rv)["altman_z2"] is None
    # C002 belongs to C001's group
    assert list(rv.group["role"]) == ["parent", "this customer"]


def test_review_with_financials_and_a_zero_limit(tmp_path, params):
    b = book(tmp_path, customers=customer("C001", credit_limit="0.00"), **FINANCIALS, **ON_TIME)
    rv = credit_memo.review(b, END, params, "C001")
    assert rv.financials["z2"] == pytest.approx(2.674) and rv.financials["zone"] == "safe"
    log = rv.log.set_index("factor")
    assert log.loc["utilisation", "value"] == float("inf") and log.loc["utilisation", "points"] == 0
    assert log.loc["altman_z2", "points"] == 80 and round(rv.log["contribution"].sum(), 2) == rv.score
    assert rv.limit["cap"] is None and rv.limit["current"] == 0
    assert rv.limit["change"] == rv.limit["recommended"]
    assert credit_memo.result_of(rv)["altman_z2"] == pytest.approx(2.674)
    assert rv.profile["exposure"] == 80_000 and rv.profile["utilisation"] == float("inf")


def test_past_due_over_30_share(tmp_path, params):
    rv = credit_memo.review(book(tmp_path), END, params, "C001")
    # D1 300.00 is 61 days past due, D2 500.00 30 days: 300 / 800 over 30 days
    assert rv.values["past_due_over_30"] == 0.375
    assert rv.log.set_index("factor").loc["past_due_over_30", "points"] == 20


def test_profile_from_the_customers_slice_is_the_profile_from_the_book(tmp_path):
    b = book(tmp_path)
    own = customer_book(b, ["C001"])
    assert credit_sections.profile(b, "C001", END.end, own) == credit_sections.profile(b, "C001", END.end)
    assert credit_sections.profile(b, "C001", END.end)["exposure"] == 80_000  # D1 300.00 + D2 500.00 open


def test_review_of_an_unknown_customer_says_so(tmp_path, params):
    with pytest.raises(NotFoundError, match="C999"):
        credit_memo.review(book(tmp_path), END, params, "C999")


# ---------------------------------------------------------------- executing the memos


class _Ctx:
    def __init__(self, run_dir, params, source):
        self.run_dir, self.params, self.source = run_dir, params, source
        self.period, self.run_id = END, "test"

    def output_path(self, name):
        return self.run_dir / name


def test_a_failing_memo_is_reported_not_raised(tmp_path, params):
    broken = tmp_path / "broken.ipynb"
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    notebook.cells = [
        nbformat.v4.new_code_cell('customer_id = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('raise RuntimeError(f"no memo for {customer_id}")'),
    ]
    nbformat.write(notebook, broken)
    executed = credit_run.execute_memos(_Ctx(tmp_path / "run", params, tmp_path), ["C001"], template=broken, workers=1)
    row = executed.iloc[0]
    assert row["status"] == "failed" and "no memo for C001" in row["error"]
    assert (tmp_path / "run" / "credit_memos" / "C001.ipynb").is_file()
    assert credit_run.summary(executed).empty


def test_one_failed_memo_is_a_failed_check_not_a_crash():
    # pandas 3 makes a column of texts and Nones a text column with NaN: an error of None beside
    # one real error read as NaN, and the review's check line crashed on "text + NaN".
    executed = pd.DataFrame(
        [
            {"customer_id": "C1", "file_name": "C1", "status": "succeeded", "error": None, "html": "C1.html"},
            {"customer_id": "C2", "file_name": "C2", "status": "failed", "error": "ImportError: x", "html": None},
            {"customer_id": "C3", "file_name": "C3", "status": "failed", "error": None, "html": None},
        ]
    )
    names = pd.Series({"C1": "Acme", "C2": "Beta"})
    assert credit_run.memo_checks(executed, names) == [
        ("credit.memo.C1.produced", True, "C1 Acme: memo C1.html"),
        ("credit.memo.C2.produced", False, "C2 Beta: ImportError: x"),
        ("credit.memo.C3.produced", False, "C3: failed, no error recorded"),
    ]


# ---------------------------------------------------------------- the queue notebook, run for real


@pytest.fixture(scope="module")
def credit_run_result(tmp_path_factory):
    import shutil

    from closelib.demo import generate_book, write_book
    from closelib.paths import NOTEBOOKS_DIR
    from closelib.runner.run import execute_run

    source = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(scale=0.5), source)
    notebooks = tmp_path_factory.mktemp("notebooks")
    shutil.copy(NOTEBOOKS_DIR / "04_credit_review.ipynb", notebooks)
    return execute_run(
        END,
        source=source,
        outputs=tmp_path_factory.mktemp("outputs"),
        notebooks_dir=notebooks,
        overrides=["credit_review.max_memos=2"],
    )


@pytest.mark.skipif(sys.platform == "win32", reason="papermill kernels")
def test_queue_notebook_produces_memos_into_the_run(credit_run_result):
    m, run_dir = credit_run_result.manifest, credit_run_result.run_dir
    assert m["status"] == "succeeded", (
        {k: v["error"] for k, v in m["notebooks"].items()},
        [k for k, c in m["checks"].items() if not c["passed"]],
    )
    f = m["figures"]
    assert f["credit.reviews"] == 2 and f["credit.carried_over"] == f["credit.queue_due"] - 2
    memos = sorted(p.stem for p in (run_dir / "credit_memos").glob("*.html"))
    assert len(memos) == 2
    for cid in memos:
        assert isinstance(f[f"credit.{cid}.score"], float) and 1 <= f[f"credit.{cid}.rating_proposed"] <= 10
        assert "." in f[f"credit.{cid}.current_limit"] and "." in f[f"credit.{cid}.recommended_limit"]
        assert m["checks"][f"credit.memo.{cid}.produced"]["passed"]
        assert m["checks"][f"credit.{cid}.score_log_adds_up"]["passed"]
        assert f"credit_memos/{cid}.html" in m["outputs"] and f"credit_memos/{cid}.ipynb" in m["outputs"]
        html = (run_dir / "credit_memos" / f"{cid}.html").read_text(encoding="utf-8")
        assert "Reviewer sign-off" in html and "credit.review(" not in html and "rv = credit_memo" not in html
        result = json.loads((run_dir / "credit_memos" / f"{cid}.json").read_text(encoding="utf-8"))
        assert (f"credit.{cid}.altman_z2" in f) == (result["altman_z2"] is not None)
    wb = load_workbook(run_dir / "credit_review_summary.xlsx")
    assert wb.sheetnames == ["Cover", "Summary", "Queue", "Carried over", "Execution"]
    assert {wb["Summary"].cell(row=r, column=1).value for r in (6, 7)} == set(memos)


def test_memo_kernels_automatic_by_book_size(tmp_path, params):
    ctx = _Ctx(tmp_path, params, tmp_path)
    workers = int(params["run"]["workers"])
    assert credit_run.auto_kernels(ctx) == 1  # nothing recorded about the inputs: one kernel
    ctx.run_info = {"inputs": {"documents.csv": {"sha256": "x", "rows": 4_000}}}
    assert credit_run.auto_kernels(ctx) == workers
    ctx.run_info = {"inputs": {"documents.parquet": {"sha256": "x", "rows": credit_run.AUTO_KERNELS_BELOW_DOCUMENTS}}}
    assert credit_run.auto_kernels(ctx) == 1  # a large book is not copied into several kernels
