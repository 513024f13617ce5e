"""Credit memos never contradict their own evidence (issue 16): rating caps from hard signals,
overrides with a reason, stale financials, rating and limit moving in opposite directions.

MINI (conftest) at 2026-10-31: C001 (rating 3, limit 5,000.00) owes D1 300.00 (61 days past
due) and D2 500.00 (30 days), paid 600.00 of D1 10 days late; no financials, no activities.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from closelib.areas.credit import caps as cc
from closelib.areas.credit import memo as credit_memo
from closelib.areas.credit import queue as credit
from closelib.areas.credit.lookback import DEFAULT_WINDOWS
from closelib.areas.credit.memos import caps_summary
from closelib.errors import ParameterError
from closelib.nb.context import fmt_money
from closelib.nb.markup import md
from closelib.params import check_parameters, load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.areas.credit.test_credit import FINANCIALS, add, book

END = Period(2026, 10)
DAY = END.end
WINDOWS = DEFAULT_WINDOWS


@pytest.fixture
def params():
    return load_parameters(END, PARAMETERS_DIR)


def evidence(**changes):
    base = {
        "status": "active",
        "z2": 3.0,
        "financials_year_end": None,
        "financials_stale": False,
        "referrals": 0,
        "broken_promises": 0,
        "suspensions": 0,
        "past_due_over_90": 0.0,
    }
    return cc.Evidence(**{**base, **changes})


def names(found):
    return [s.name for s in found]


# ---------------------------------------------------------------- the signals, at their thresholds


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"z2": 1.0999}, ["altman_distress"]),
        ({"z2": 1.1}, []),  # 1.1 is grey, not distress
        ({"z2": None}, []),
        ({"referrals": 1}, ["referral"]),
        ({"broken_promises": 1}, []),
        ({"broken_promises": 2}, ["broken_promises"]),
        ({"suspensions": 1}, ["suspensions"]),
        ({"past_due_over_90": 0.25}, []),  # the cap is for more than 25 %
        ({"past_due_over_90": 0.2501}, ["past_due_over_90"]),
        ({"status": "suspended"}, ["status"]),
        ({"status": "on_hold"}, []),
    ],
)
def test_each_hard_signal_at_its_threshold(params, changes, expected):
    assert names(cc.signals(evidence(**changes), params, "C001", WINDOWS)) == expected


def test_caps_come_from_the_parameters(params):
    p = copy.deepcopy(params)
    p["credit_review"]["caps"]["broken_promises"] = {"at_least": 3, "rating": 8}
    assert cc.signals(evidence(broken_promises=2), p, "C001", WINDOWS) == []
    (s,) = cc.signals(evidence(broken_promises=3), p, "C001", WINDOWS)
    assert s.cap == 8 and s.applies


# ---------------------------------------------------------------- the capped rating, by hand


def test_proposed_rating_never_better_than_the_cap_or_the_current_rating():
    distress = cc.Signal("altman_distress", "Z'' -1.00", 7)
    # score says 4, now 6: the cap 7 wins
    assert cc.capped_rating(4, 6, [distress]) == (7, "capped at 7 by altman_distress (the score alone gives 4)")
    # a lenient cap (3) still holds the rating at the current 6 while the signal holds
    lenient = cc.Signal("referral", "1 referral", 3)
    rating, why = cc.capped_rating(2, 6, [lenient])
    assert rating == 6 and why.startswith("held at the current rating 6 while referral holds")
    # several signals: the strictest cap binds and is named
    referral = cc.Signal("referral", "1 referral", 9)
    assert cc.capped_rating(4, 6, [distress, referral]) == (9, "capped at 9 by referral (the score alone gives 4)")
    # no signal: the score's rating, upgrade allowed
    assert cc.capped_rating(2, 6, []) == (2, "")
    # the score is already worse than every cap: nothing to say
    assert cc.capped_rating(9, 6, [distress]) == (9, "")
    # an overridden signal does not cap
    lifted = cc.Signal("altman_distress", "Z'' -1.00", 7, override="interim accounts")
    assert cc.capped_rating(4, 6, [lifted]) == (4, "")


# ---------------------------------------------------------------- the memo


DISTRESS = {  # Z'' = 6.56(0.15) + 3.26(-0.4) + 6.72(-0.03) + 1.05(1.5) = 1.0534; current ratio 2.0, leverage 40 %
    "financials": add(
        {
            "customer_id": "C001",
            "fiscal_year_end": "2025-12-31",
            "currency": "USD",
            "revenue": "2000.00",
            "ebit": "-30.00",
            "total_assets": "1000.00",
            "total_liabilities": "400.00",
            "current_assets": "300.00",
            "current_liabilities": "150.00",
            "retained_earnings": "-400.00",
            "book_equity": "600.00",
            "market_equity": "",
        }
    )
}


def test_a_distressed_customer_is_capped_and_the_memo_lists_the_signal(tmp_path, params):
    rv = credit_memo.review(book(tmp_path, **DISTRESS), END, params, "C001")
    assert rv.financials["z2"] == pytest.approx(1.0534)
    assert rv.score_rating < 7  # the score alone would rate C001 (now 3) better than the cap
    assert rv.rating == 7 and names(rv.signals) == ["altman_distress"]
    assert rv.capped_because == f"capped at 7 by altman_distress (the score alone gives {rv.score_rating})"
    table = cc.signal_table(rv.signals)
    assert table.iloc[0]["evidence"] == "Altman Z'' 1.05 (distress zone, year to 2025-12-31)"
    assert table.iloc[0]["applied"] == "yes"
    assert "the proposed rating is **7**" in credit_memo.caps_text(rv)
    assert credit_memo.result_of(rv)["capped_by"] == credit_memo.result_of(rv)["signals"] == "altman_distress"
    # the limit follows the capped rating: factor of rating 7 (band 5-7)
    assert rv.limit["rating"] == 7


def test_an_override_lifts_a_cap_only_with_its_reason_printed(tmp_path, params):
    p = copy.deepcopy(params)
    p["credit_review"]["overrides"] = [
        {"customer_id": "C001", "signal": "altman_distress", "reason": "2026 interim accounts show Z'' 2.9"}
    ]
    rv = credit_memo.review(book(tmp_path, **DISTRESS), END, check_parameters(p), "C001")
    assert rv.rating == rv.score_rating and rv.capped_because == ""
    assert cc.signal_table(rv.signals).iloc[0]["applied"] == "no: overridden"
    assert md("2026 interim accounts show Z'' 2.9") in credit_memo.caps_text(rv)
    assert credit_memo.result_of(rv)["overridden"] == "altman_distress"
    p["credit_review"]["overrides"][0]["reason"] = "  "
    with pytest.raises(ParameterError, match=r"overrides\[0\]\.reason: an override of a rating cap needs its reason"):
        check_parameters(p)


def test_another_customers_override_does_not_lift_the_cap(tmp_path, params):
    p = copy.deepcopy(params)
    p["credit_review"]["overrides"] = [{"customer_id": "C002", "signal": "altman_distress", "reason": "x"}]
    assert credit_memo.review(book(tmp_path, **DISTRESS), END, p, "C001").rating == 7


def test_stale_financials_are_marked_and_not_scored(tmp_path, params):
    fresh = credit_memo.review(book(tmp_path, **FINANCIALS), END, params, "C001")  # year to 2025-12-31
    assert not fresh.financials_stale and "altman_z2" in set(fresh.log["factor"])
    # the rows are copied: FINANCIALS' closure holds the dicts other tests use
    old_rows = copy.deepcopy(FINANCIALS["financials"]([]))
    old_rows[0]["fiscal_year_end"] = "2025-07-30"  # 15 months before 2026-10-31 is 2025-07-31
    rv = credit_memo.review(book(tmp_path / "o", financials=lambda _: old_rows), END, params, "C001")
    assert rv.financials_stale and rv.financials is not None  # still shown
    assert "altman_z2" not in set(rv.log["factor"]) and rv.log["weight"].sum() == pytest.approx(1.0)
    assert "**Stale financials**" in credit_memo.stale_text(rv, 15)
    assert credit_memo.result_of(rv)["financials_stale"] is True
    assert cc.is_stale(pd.Timestamp("2025-07-30"), DAY, 15)
    assert not cc.is_stale(pd.Timestamp("2025-07-31"), DAY, 15)
    q = credit.signals(book(tmp_path / "q", financials=lambda _: old_rows), END, params).set_index("customer_id")
    assert q.loc["C001", "financials"] == "stale" and q.loc["C002", "financials"] == "none"


def test_a_stale_distress_still_caps(tmp_path, params):
    rows = copy.deepcopy(DISTRESS["financials"]([]))
    rows[0]["fiscal_year_end"] = "2024-12-31"
    rv = credit_memo.review(book(tmp_path, financials=lambda _: rows), END, params, "C001")
    assert rv.financials_stale and rv.rating == 7 and names(rv.signals) == ["altman_distress"]


def test_referrals_in_the_window_cap_the_rating(tmp_path, params):
    def referral(day):
        return {
            "activity_id": "G1",
            "customer_id": "C001",
            "document_id": "D1",
            "activity_date": day,
            "type": "legal",
            "promised_date": "",
            "promised_amount": "",
            "user": "Ben",
            "note": "",
        }

    rv = credit_memo.review(book(tmp_path, activities=add(referral("2026-10-20"))), END, params, "C001")
    assert names(rv.signals) == ["referral"] and rv.rating == 9
    old = credit_memo.review(book(tmp_path / "o", activities=add(referral("2025-10-31"))), END, params, "C001")
    assert "referral" not in names(old.signals)  # 12 months before 2026-10-31 is outside the window


# ---------------------------------------------------------------- rating and limit in opposite directions


LIMIT = {
    "rating": 5,
    "rating_factor": 1.0,
    "months_of_billing": 3,
    "monthly_billing": 100000,
    "formula": 300000,
    "current": 500000,
    "recommended": 300000,
    "change": -200000,
}


def test_a_better_rating_with_a_lower_limit_says_why():
    text = cc.opposite_reason(7, 5, LIMIT, "USD", fmt_money)
    assert text.startswith("The rating improves (7 -> 5) while the limit falls")
    assert (
        "1,000.00 USD a month x 3 months x factor 1 = 3,000.00 USD is below the current limit of 5,000.00 USD" in text
    )
    assert cc.opposite_reason(5, 5, LIMIT, "USD", fmt_money) == ""  # no rating change


def test_a_worse_rating_never_raises_the_limit():
    up = {**LIMIT, "recommended": 700000, "change": 200000}
    held = cc.hold_if_worse(up, 4, 6)
    assert held["recommended"] == 500000 and held["change"] == 0 and held["policy_recommended"] == 700000
    text = cc.opposite_reason(4, 6, held, "USD", fmt_money)
    assert "billing would support a higher limit (7,000.00 USD)" in text and "held at 5,000.00 USD" in text
    assert cc.hold_if_worse(up, 6, 4) == up  # a better rating may raise it


def test_the_queue_summary_counts_signals_and_caps():
    frame = pd.DataFrame(
        {
            "signals": ["altman_distress, referral", "suspensions", ""],
            "capped_by": ["altman_distress, referral", "", ""],
            "overridden": ["", "altman_distress", ""],
            "financials_stale": [True, False, False],
            "opposite_reason": ["", "", "The rating improves"],
        }
    )
    assert caps_summary(frame) == (
        "2 memo(s) show hard signals (altman\\_distress 1, referral 1, suspensions 1); 1 proposed rating(s) are "
        "worse than the score's because of them. 1 memo(s) carry a cap lifted by `credit_review.overrides`, "
        "with its reason. 1 memo(s) rest on stale financials, shown but not scored. 1 memo(s) move rating and "
        "limit in opposite directions and say why. "
    )
