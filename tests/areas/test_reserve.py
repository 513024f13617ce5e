"""The bad-debt reserve on hand-checkable books, and its properties.

MINI at 2026-10-31 (conftest): open D1 300.00 (due 08-31, 61 days past due: 61-90),
D2 500.00 (due 10-01, 30 days: 1-30), D4 250.50 (due 11-04: current), all INV; D5 was
written off on 10-31; C003 (bankrupt) has nothing open. With the default policy matrix:
current 250.50 x 0.005 = 1.2525 -> 1.25; 1-30 500.00 x 0.016 = 8.00; 61-90 300.00 x 0.10 = 30.00.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.areas import reserve
from closelib.book.load import load_book
from closelib.nb.excel import read_cells
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source


def gl_rows(period, allowance_credit, expense_ytd, entity="US01"):
    """AR 1050.50, allowance, bad-debt expense YTD, plug to retained earnings: balanced."""
    from decimal import Decimal

    ar, al, ex = Decimal("1050.50"), Decimal(allowance_credit), Decimal(expense_ytd)
    plug = ar + ex - al
    rows = [("1100", "asset", ar, 0), ("1190", "asset", 0, al), ("6500", "expense", ex, 0), ("3100", "equity", 0, plug)]
    return [
        {
            "entity": entity,
            "period": period,
            "account": a,
            "account_name": a,
            "account_type": t,
            "currency": "USD",
            "debit": f"{d:.2f}",
            "credit": f"{c:.2f}",
        }
        for a, t, d, c in rows
    ]


@pytest.fixture
def mini_book(tmp_path):
    tables = copy.deepcopy(MINI)
    # Sep: allowance 100.00, expense YTD 100.00; Oct: provision 25.25, write-off 75.25 -> 50.00
    tables["gl_balances"] = gl_rows("2026-09", "100.00", "100.00") + gl_rows("2026-10", "50.00", "125.25")
    return load_book(write_source(tmp_path / "mini", tables))


@pytest.fixture
def params():
    p = load_parameters("2026-10", PARAMETERS_DIR)
    p["reserve"]["method"] = "fixed_rates"
    return p


def by_bucket(res, column="allowance"):
    return res.matrix.set_index("bucket")[column].to_dict()


def test_policy_matrix_by_hand(mini_book, params):
    res = reserve.compute(mini_book, Period(2026, 10), params)
    assert by_bucket(res, "gross")["current"] == 25050 and by_bucket(res, "gross")["61-90"] == 30000
    assert by_bucket(res)["current"] == 125 and by_bucket(res)["1-30"] == 800 and by_bucket(res)["61-90"] == 3000
    row = res.summary.iloc[0]
    assert row["gross_receivables"] == 105050 and row["collective"] == 3925 and row["specific"] == 0
    assert row["required"] == 3925 and row["booked"] == 5000 and row["true_up"] == 3925 - 5000


def test_true_up_journal_reverses_when_less_is_required(mini_book, params):
    res = reserve.compute(mini_book, Period(2026, 10), params)
    j = res.journals
    assert list(j["account"]) == ["1190", "6500"] and list(j["debit"]) == [1075, 0] and list(j["credit"]) == [0, 1075]
    assert reserve.booked_matches(j)


def test_allowance_roll_forward_closes(mini_book, params):
    roll = reserve.compute(mini_book, Period(2026, 10), params).roll_forward["US01"].set_index("line")["amount"]
    assert roll["opening allowance (GL, prior period end)"] == 10000
    assert roll["provision charged (bad-debt expense)"] == 2525
    assert roll["write-offs"] == -7525 and roll["recoveries"] == 0
    assert roll["closing allowance, rolled forward"] == roll["closing allowance booked (GL)"] == 5000


def test_specific_reserve_leaves_the_pool(mini_book, params):
    params["reserve"]["specific"] = [{"customer_id": "C001", "rate": 0.5, "reason": "payment plan broken"}]
    res = reserve.compute(mini_book, Period(2026, 10), params)
    # C001's D1 + D2 = 800.00 at 50% = 400.00; the pool keeps only D4 (250.50 current -> 1.25)
    assert res.specific["allowance"].tolist() == [40000]
    assert res.summary.iloc[0]["collective_gross"] == 25050 and res.summary.iloc[0]["collective"] == 125
    assert res.summary.iloc[0]["required"] == 40125
    gross, parts = reserve.gross_ties(res.aged, res.matrix, res.specific)["US01"]
    assert gross == parts == 105050


def test_specific_amount_is_capped_and_said(mini_book, params):
    params["reserve"]["specific"] = [{"customer_id": "C002", "amount": "999.00", "reason": "dispute"}]
    res = reserve.compute(mini_book, Period(2026, 10), params)
    assert res.specific["allowance"].tolist() == [25050]
    assert any("exceeds its open balance" in p for p in res.problems)


def test_bankrupt_customer_reserved_at_bankrupt_rate(tmp_path, params):
    tables = copy.deepcopy(MINI)
    tables["adjustments"] = []  # D5 (C003, bankrupt) stays open: 75.25 at 100%
    tables["gl_balances"] = gl_rows("2026-10", "50.00", "125.25")
    res = reserve.compute(load_book(write_source(tmp_path / "b", tables)), Period(2026, 10), params)
    spec = res.specific.set_index("customer_id")
    assert spec.at["C003", "allowance"] == 7525 and spec.at["C003", "source"] == "bankrupt"
    assert res.summary.iloc[0]["specific_gross"] == 7525 and res.summary.iloc[0]["collective_gross"] == 105050


def test_overlay_is_its_own_line(mini_book, params):
    params["reserve"]["overlay"] = {"overall": 1.2, "per_bucket": {}, "reason": "recession scenario"}
    res = reserve.compute(mini_book, Period(2026, 10), params)
    # current: 250.50 x 0.006 = 1.503 -> 1.50, overlay 1.50 - 1.25 = 0.25; 1-30: 500 x 0.0192 = 9.60 (+1.60)
    # 61-90: 300 x 0.12 = 36.00 (+6.00)
    assert by_bucket(res, "overlay") == {**by_bucket(res, "overlay"), "current": 25, "1-30": 160, "61-90": 600}
    assert res.summary.iloc[0]["overlay"] == 785 and res.summary.iloc[0]["required"] == 3925 + 785


def roll_book(tmp_path):
    """Three invoices due 2026-01-31: A paid 02-15, B never paid, C written off 02-20."""
    doc = {
        "customer_id": "C001",
        "entity": "US01",
        "doc_type": "INV",
        "document_date": "2026-01-01",
        "due_date": "2026-01-31",
        "currency": "USD",
        "reference": "",
        "description": "",
    }
    tables = copy.deepcopy(MINI)
    tables["documents"] = [
        dict(doc, document_id="A", amount="100.00"),
        dict(doc, document_id="B", amount="100.00"),
        dict(doc, document_id="C", amount="50.00"),
    ]
    tables["receipts"] = [
        {
            "receipt_id": "R",
            "entity": "US01",
            "customer_id": "C001",
            "receipt_date": "2026-02-15",
            "currency": "USD",
            "amount": "100.00",
            "bank_reference": "",
        }
    ]
    tables["applications"] = [
        {"application_id": "AP", "applied_date": "2026-02-15", "source_id": "R", "target_id": "A", "amount": "100.00"}
    ]
    tables["adjustments"] = [
        {
            "adjustment_id": "W",
            "document_id": "C",
            "adjustment_date": "2026-02-20",
            "type": "write_off",
            "amount": "-50.00",
            "reason_code": "",
            "approved_by": "",
            "approval_reference": "",
        }
    ]
    tables["gl_balances"] = gl_rows("2026-03", "0.00", "0.00")
    return load_book(write_source(tmp_path / "roll", tables))


def test_roll_rates_by_hand(tmp_path, params):
    labels = ["current", "1-30", "31-60", "60+"]
    params["aging"]["buckets"] = [0, 30, 60]
    params["reserve"].update(
        method="roll_rate",
        lookback_months=2,
        min_exposure_months=1,
        floor_rates={"current": 0.0, "1-30": 0.0, "31-60": 0.4, "60+": 1.0},
        fixed_rates=dict.fromkeys(labels, 0.0),
    )
    res = reserve.compute(roll_book(tmp_path), Period(2026, 3), params)
    rates = res.rates.set_index("bucket")
    # Jan->Feb: all 250 leave current; B (100) still open, C (50) written off: 150 / 250 = 0.6
    assert rates.at["current", "exposed"] == 25000 and rates.at["current", "rolled"] == 15000
    assert rates.at["current", "roll_rate"] == pytest.approx(0.6)
    # Feb->Mar: B leaves 1-30 and is still open: 1.0
    assert rates.at["1-30", "roll_rate"] == pytest.approx(1.0)
    # 31-60 and 60+ have no exposure: floors; chained losses 1-30 = 1.0 x 0.4, current = 0.6 x 0.4
    assert rates.at["31-60", "loss_rate"] == 0.4 and rates.at["31-60", "basis"].startswith("floor")
    assert rates.at["1-30", "loss_rate"] == pytest.approx(0.4) and rates.at["current", "loss_rate"] == pytest.approx(
        0.24
    )
    # B is 59 days past due at 03-31: 31-60 at 40% = 40.00
    assert by_bucket(res)["31-60"] == 4000


def test_an_absent_floor_is_zero_and_the_unread_matrix_is_not_needed(tmp_path, params):
    # roll_book under roll_rate with buckets [0, 30, 60]: floors given for 31-60 only; the policy
    # matrix is left stale (default labels) since roll_rate never reads it.
    params["aging"]["buckets"] = [0, 30, 60]
    params["reserve"].update(method="roll_rate", lookback_months=2, min_exposure_months=1)
    params["reserve"]["floor_rates"] = {"31-60": 0.4}
    assert "91-120" in params["reserve"]["fixed_rates"]
    res = reserve.compute(roll_book(tmp_path), Period(2026, 3), params)
    rates = res.rates.set_index("bucket")
    # 60+ has no exposure and no floor given: zero, said in the basis; 31-60 keeps its floor
    assert rates.at["60+", "loss_rate"] == 0.0 and rates.at["60+", "basis"].startswith("floor")
    assert rates.at["31-60", "loss_rate"] == 0.4
    # current: roll 0.6 x 1-30 (1.0 x 0.4), above its zero floor
    assert rates.at["current", "loss_rate"] == pytest.approx(0.24) and rates.at["current", "basis"] == "roll rates"
    note = reserve.floor_note(params, ["current", "1-30", "31-60", "60+"])
    assert "no floor given for current, 1-30, 60+, so zero" in note


def test_an_earlier_aging_is_reconstructed_exactly(tmp_path, params):
    book = roll_book(tmp_path)
    res = reserve.compute(book, Period(2026, 1), params)  # everything current and open at 01-31
    assert res.summary.iloc[0]["gross_receivables"] == 25000 and by_bucket(res, "gross")["current"] == 25000


def test_excel_pack_ties_and_is_deterministic(mini_book, params, tmp_path):
    res = reserve.compute(mini_book, Period(2026, 10), params)
    first = read_cells(reserve.write_pack(res, tmp_path / "a.xlsx", Period(2026, 10), params))
    second = read_cells(
        reserve.write_pack(
            reserve.compute(mini_book, Period(2026, 10), params), tmp_path / "b.xlsx", Period(2026, 10), params
        )
    )
    assert first == second
    matrix = first["Provision matrix"]
    header = matrix[0]
    total = next(r for r in matrix if r[0] == "Total USD")
    assert str(total[header.index("allowance")]) == "39.25"
    journal = first["True-up journals"]
    assert next(r for r in journal if r[0] == "Total USD")[4:6] == [money.from_minor(1075, "USD")] * 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rates=st.lists(st.integers(0, 1000), min_size=8, max_size=8), bump=st.integers(0, 7), extra=st.integers(1, 500))
def test_required_allowance_is_monotone_in_rates(mini_book, params, rates, bump, extra):
    labels = list(params["reserve"]["fixed_rates"])
    params["reserve"]["fixed_rates"] = {label: r / 1000 for label, r in zip(labels, rates, strict=False)}
    low = reserve.compute(mini_book, Period(2026, 10), params).summary.iloc[0]["required"]
    raised = dict(params["reserve"]["fixed_rates"])
    raised[labels[bump]] = min(1.0, raised[labels[bump]] + extra / 1000)
    params["reserve"]["fixed_rates"] = raised
    high = reserve.compute(mini_book, Period(2026, 10), params).summary.iloc[0]["required"]
    assert high >= low


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 10**9), min_size=1, max_size=30),
    due_offsets=st.lists(st.integers(-60, 800), min_size=30, max_size=30),
)
def test_aging_buckets_sum_to_the_open_total(amounts, due_offsets):
    as_of = pd.Timestamp("2026-10-31")
    aged = pd.DataFrame(
        {
            "entity": "US01",
            "pool": "all",
            "doc_type": "INV",
            "open_amount": pd.array(amounts, dtype="int64"),
            "due_date": [as_of - pd.Timedelta(days=d) for d in due_offsets[: len(amounts)]],
        }
    )
    from closelib.asof.aging import age
    from closelib.params import bucket_labels

    bounds = [0, 30, 60, 90, 120, 180, 365]
    aged = age(aged, as_of, "due_date", bounds)
    table = reserve.aging_by_bucket(aged, bucket_labels(bounds))
    assert int(table[bucket_labels(bounds)].to_numpy().sum()) == int(table["total"].sum()) == sum(amounts)


def test_customer_aged_trial_balance_by_hand(mini_book, params):
    # At 2026-09-30 (MINI): C001 has D1 400.00 (due 08-31: 30 days, 1-30), D2 500.00 (due 10-01:
    # current) and the credit memo D3 -100.00 (due 09-15: 15 days, 1-30): total 800.00 over 3
    # documents; C003 (bankrupt) has D5 75.25 (due 07-31: 61 days, 61-90). Largest first; the
    # credit memo is in the listing, so it ties to subledger AR (875.25).
    res = reserve.compute(mini_book, Period(2026, 9), params)
    listing = res.customers.set_index("customer_id")
    assert list(listing.index) == ["C001", "C003"]
    assert listing.loc["C001", ["current", "1-30", "61-90", "total", "documents"]].tolist() == [
        50000,
        30000,
        0,
        80000,
        3,
    ]
    assert listing.loc["C003", ["61-90", "total", "status", "name"]].tolist() == [
        7525,
        7525,
        "bankrupt",
        "Gamma Hosting",
    ]
    labels = list(params["reserve"]["fixed_rates"])
    assert (listing[labels].sum(axis=1) == listing["total"]).all()
    assert reserve.listing_ties(res.customers, {"US01": 87525}, ["US01"]) == {"US01": (87525, 87525)}
    assert reserve.listing_caption(res.customers, "US01", "USD", lambda m, c: f"{m / 100:,.2f}") == (
        "US01 (USD): 2 customers with open items, total 875.25"
    )
    assert (
        reserve.listing_caption(res.customers, "SG01", "SGD", str)
        == "SG01: no customer has open items at the period end"
    )


def test_customer_aged_trial_balance_is_complete_and_in_the_pack(tmp_path, params):
    # 75 customers with one open invoice each (more than any top-N or screen page): all 75 listed.
    tables = copy.deepcopy(MINI)
    base = MINI["customers"][0]
    tables["customers"] = [dict(base, customer_id=f"K{i:03d}", name=f"Customer {i}") for i in range(75)]
    doc = MINI["documents"][1]
    tables["documents"] = [
        dict(doc, document_id=f"I{i:03d}", customer_id=f"K{i:03d}", amount=f"{100 + i}.00") for i in range(75)
    ]
    tables.update(receipts=[], applications=[], adjustments=[], gl_balances=gl_rows("2026-10", "50.00", "125.25"))
    res = reserve.compute(load_book(write_source(tmp_path / "many", tables)), Period(2026, 10), params)
    assert len(res.customers) == 75 and res.customers["customer_id"].iloc[0] == "K074"  # 174.00, the largest
    assert int(res.customers["total"].sum()) == sum(10000 + 100 * i for i in range(75))
    sheet = read_cells(reserve.write_pack(res, tmp_path / "p.xlsx", Period(2026, 10), params))["Customer aged TB"]
    header = sheet[0]
    assert len(sheet) == 1 + 75 + 1 and sheet[-1][0] == "Total USD"
    assert sheet[-1][header.index("total")] == 10275  # 75 x 100.00 + (0 + 1 + ... + 74) = 10,275.00


invoices = st.lists(
    st.tuples(
        st.integers(0, 330),  # issued this many days after 2025-12-01
        st.integers(1, 10**7),  # amount, minor units
        st.integers(0, 100),  # percent paid ...
        st.integers(1, 200),  # ... this many days after issue
        st.sampled_from(["C001", "C002", "C003"]),  # C003 is bankrupt: a specific reserve
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=invoices,
    method=st.sampled_from(["fixed_rates", "roll_rate"]),
    rates=st.lists(st.integers(0, 1000), min_size=8, max_size=8),
    overall=st.integers(0, 10000),
    per_bucket=st.dictionaries(st.sampled_from(["current", "1-30", "91-120", "365+"]), st.integers(0, 10000)),
    specific=st.one_of(st.none(), st.integers(0, 1000), st.integers(1, 10**8).map(str)),
)
def test_allowance_never_exceeds_gross_and_buckets_sum_to_the_total(
    tmp_path_factory, params, docs, method, rates, overall, per_bucket, specific
):
    start = pd.Timestamp("2025-12-01")
    tables = copy.deepcopy(MINI)
    tables["documents"], tables["receipts"], tables["applications"], tables["adjustments"] = [], [], [], []
    for n, (issued, amount, paid_pct, paid_after, customer) in enumerate(docs):
        day = start + pd.Timedelta(days=issued)
        doc_id = f"I{n}"
        tables["documents"].append(
            dict(
                MINI["documents"][0],
                document_id=doc_id,
                customer_id=customer,
                document_date=day.date().isoformat(),
                due_date=(day + pd.Timedelta(days=30)).date().isoformat(),
                amount=str(money.from_minor(amount, "USD")),
            )
        )
        paid = amount * paid_pct // 100
        if paid:
            when = (day + pd.Timedelta(days=paid_after)).date().isoformat()
            text = str(money.from_minor(paid, "USD"))
            tables["receipts"].append(dict(MINI["receipts"][0], receipt_id=f"R{n}", receipt_date=when, amount=text))
            tables["applications"].append(
                {
                    "application_id": f"A{n}",
                    "applied_date": when,
                    "source_id": f"R{n}",
                    "target_id": doc_id,
                    "amount": text,
                }
            )
    tables["gl_balances"] = gl_rows("2026-10", "50.00", "125.25")
    book = load_book(write_source(tmp_path_factory.mktemp("prop"), tables))
    labels = list(params["reserve"]["fixed_rates"])
    params["reserve"].update(method=method, min_exposure_months=1)
    params["reserve"]["fixed_rates"] = {label: r / 1000 for label, r in zip(labels, rates, strict=True)}
    params["reserve"]["overlay"] = {
        "overall": overall / 1000,
        "per_bucket": {b: m / 1000 for b, m in per_bucket.items()},
        "reason": "scenario",
    }
    if specific is not None:
        item = (
            {"rate": specific / 1000}
            if isinstance(specific, int)
            else {"amount": str(money.from_minor(int(specific), "USD"))}
        )
        params["reserve"]["specific"] = [{"customer_id": "C001", "reason": "named", **item}]
    res = reserve.compute(book, Period(2026, 10), params)
    for row in res.summary.to_dict("records"):
        assert 0 <= row["required"] <= row["gross_receivables"]
        assert row["required"] == row["collective"] + row["overlay"] + row["specific"]
    matrix = res.matrix
    assert (matrix["allowance"] <= matrix["gross"]).all() and (matrix["allowance"] >= 0).all()
    by_bucket = reserve.bucket_figures(matrix, labels)
    for entity, buckets in by_bucket.items():
        row = res.summary.set_index("entity").loc[entity]
        assert sum(allowance for _, allowance, _ in buckets.values()) == row["collective"] + row["overlay"]
        assert sum(gross for gross, _, _ in buckets.values()) == row["collective_gross"]
    assert (res.specific["allowance"] <= res.specific["gross"]).all()


def test_journal_descriptions_show_amounts_in_their_currency(params):
    from closelib.areas.reserve.compute import true_up_journals

    summary = pd.DataFrame(
        [{"entity": "SG01", "currency": "SGD", "required": 3313126, "booked": 1510000, "true_up": 1803126}]
    )
    journals = true_up_journals(summary, params, Period(2026, 10))
    assert set(journals["description"]) == {
        "Bad-debt reserve true-up 2026-10: required 33,131.26 SGD, booked 15,100.00 SGD"
    }
