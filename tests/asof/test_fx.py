"""Foreign-currency receivables (issue 19): translation, missing rates, revaluation with its
reversal, realised FX, all hand-checked; and properties of the exact per-line translation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.asof.fx import fx_figures, realised_items, revaluation_items, revaluation_journal
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.fx import translate_book, translation
from closelib.book.load import load_book, validate_source
from closelib.params import load_parameters
from closelib.periods import Period
from tests.conftest import write_source


def customer(cid: str, ccy: str = "USD") -> dict:
    return {
        "customer_id": cid,
        "name": f"Customer {cid}",
        "segment": "enterprise",
        "country": "SG",
        "payment_terms_days": "30",
        "credit_limit": "5000.00",
        "credit_currency": ccy,
        "risk_rating": "3",
        "status": "active",
        "collector": "Ann",
        "last_review_date": "",
        "parent_id": "",
    }


def doc(did: str, date: str, due: str, amount: str, ccy: str = "USD", doc_type: str = "INV", **extra) -> dict:
    return {
        "document_id": did,
        "customer_id": "C1",
        "entity": "SG01",
        "doc_type": doc_type,
        "document_date": date,
        "due_date": due,
        "currency": ccy,
        "amount": amount,
        "reference": "",
        "description": "",
        **extra,
    }


def rate(day: str, value: str, ccy: str = "USD", fun: str = "SGD") -> dict:
    return {"rate_date": day, "currency": ccy, "functional_currency": fun, "rate": value}


def fx_tables() -> dict[str, list[dict]]:
    """SG01 (SGD) bills C1 in USD. USD->SGD: 1.30 from 2026-02-28, 1.35 at 2026-03-31, 1.32 at
    2026-04-10, 1.28 at 2026-04-30. Invoice X1 USD 1,000.00 on 2026-03-02 (booked at 1.30:
    SGD 1,300.00), paid in full by R1 on 2026-04-10 (rate 1.32: SGD 1,320.00). Invoice X2
    USD 500.00 on 2026-03-05 stays open."""
    return {
        "entities": [{"entity": "SG01", "name": "SG", "functional_currency": "SGD", "country": "SG"}],
        "customers": [customer("C1")],
        "documents": [
            doc("X1", "2026-03-02", "2026-04-01", "1000.00"),
            doc("X2", "2026-03-05", "2026-04-04", "500.00"),
        ],
        "receipts": [
            {
                "receipt_id": "R1",
                "entity": "SG01",
                "customer_id": "C1",
                "receipt_date": "2026-04-10",
                "currency": "USD",
                "amount": "1000.00",
                "bank_reference": "",
            }
        ],
        "applications": [
            {
                "application_id": "A1",
                "applied_date": "2026-04-10",
                "source_id": "R1",
                "target_id": "X1",
                "amount": "1000.00",
            }
        ],
        "fx_rates": [
            rate("2026-02-28", "1.30"),
            rate("2026-03-31", "1.35"),
            rate("2026-04-10", "1.32"),
            rate("2026-04-30", "1.28"),
        ],
        "gl_balances": [
            {
                "entity": "SG01",
                "period": "2026-04",
                "account": "1100",
                "account_name": "AR",
                "account_type": "asset",
                "currency": "SGD",
                "debit": "650.00",
                "credit": "0.00",
            }
        ],
    }


@pytest.fixture
def fx_book(tmp_path: Path):
    return load_book(write_source(tmp_path / "fx", fx_tables()))


def params() -> dict:
    return load_parameters(Period.parse("2026-04"))


# ---------------------------------------------------------------- translation by hand


def test_translation_of_lines_by_hand():
    # USD 1,000.01 x 1.345 = SGD 1,345.01345 -> 1,345.01
    assert money.translate_array(np.array([100001]), np.array([1.345]), 2, 2).tolist() == [134501]
    # half away from zero: 0.01 x 0.5 = 0.005 -> 0.01; -0.01 -> -0.01
    assert money.translate_array(np.array([1, -1]), np.array([0.5, 0.5]), 2, 2).tolist() == [1, -1]
    # JPY 1,000 (no decimals) x 0.006712 = USD 6.712 -> 6.71
    assert money.translate_array(np.array([1000]), np.array([0.006712]), 0, 2).tolist() == [671]
    # KWD 1.002 (3 decimals) x 2.5 = USD 2.505 -> 2.51 (half away from zero)
    assert money.translate_array(np.array([1002]), np.array([2.5]), 3, 2).tolist() == [251]
    # USD 10.00 x 150.125 = JPY 1,501.25 -> 1,501
    assert money.translate_array(np.array([1000]), np.array([150.125]), 2, 0).tolist() == [1501]
    # rate 1, same exponent: unchanged, even for amounts beyond int64 products
    big = np.array([10**16 + 7])
    assert money.translate_array(big, np.array([1.0]), 2, 2).tolist() == big.tolist()


def test_booking_rate_from_fx_rates_in_force_and_from_fx_rate_column(tmp_path: Path):
    tables = fx_tables()
    tables["documents"][1]["fx_rate"] = "1.3333"  # X2's own booking rate wins
    tables["documents"][0]["fx_rate"] = ""
    book = load_book(write_source(tmp_path / "fx", tables))
    items = open_items(book, "2026-03-31").set_index("document_id")
    # X1 dated 2026-03-02: the rate in force is 2026-02-28's 1.30 -> SGD 1,300.00
    assert items.loc["X1", "booking_rate"] == 1.30
    assert items.loc["X1", "open_functional"] == 130000
    # X2: USD 500.00 x 1.3333 = SGD 666.65
    assert items.loc["X2", "open_functional"] == 66665
    assert items.loc["X1", "functional_currency"] == "SGD"


def test_missing_rate_on_a_date_names_file_row_and_pair(tmp_path: Path):
    tables = fx_tables()
    # 2026-04-05 is more than 31 days after 2026-02-28 only if no later rate: drop March's rates
    tables["fx_rates"] = [rate("2026-02-28", "1.30")]
    tables["documents"].append(doc("X3", "2026-04-05", "2026-05-05", "10.00"))
    problems = validate_source(write_source(tmp_path / "fx", tables))
    missing = [p for p in problems if p.rule == "fx_rate_missing"]
    files_rows = {(p.file, p.row) for p in missing}
    assert ("documents.csv", 4) in files_rows  # X3, the third data row
    assert ("receipts.csv", 2) in files_rows  # R1 on 2026-04-10: nothing in force either
    assert all("USD->SGD" in p.message for p in missing)
    assert ("documents.csv", 2) not in files_rows  # X1 on 2026-03-02 uses 2026-02-28


def test_fx_rate_column_supplies_a_missing_rate(tmp_path: Path):
    tables = fx_tables()
    tables["fx_rates"] = []
    for row in tables["documents"]:
        row["fx_rate"] = "1.30"
    tables["receipts"][0]["fx_rate"] = "1.32"
    assert [p for p in validate_source(write_source(tmp_path / "fx", tables)) if p.rule == "fx_rate_missing"] == []


def test_fx_rate_on_a_functional_currency_line_must_be_one(tmp_path: Path):
    tables = fx_tables()
    tables["documents"].append(doc("S1", "2026-03-02", "2026-04-01", "10.00", ccy="SGD", fx_rate="1.2"))
    for row in tables["documents"][:-1]:
        row["fx_rate"] = ""
    problems = validate_source(write_source(tmp_path / "fx", tables))
    assert [(p.rule, p.row) for p in problems if p.rule == "fx_rate_functional"] == [("fx_rate_functional", 4)]


# ---------------------------------------------------------------- revaluation and realised FX


def test_revaluation_at_march_end_and_its_reversal(fx_book):
    march = Period.parse("2026-03")
    items = revaluation_items(fx_book, march.end).set_index("id")
    # X1 USD 1,000.00: booked 1,300.00, at 1.35 1,350.00 -> gain 50.00; X2 USD 500.00: 650.00 -> 675.00
    assert items.loc["X1", ["booked", "revalued", "unrealised"]].tolist() == [130000, 135000, 5000]
    assert items.loc["X2", "unrealised"] == 2500
    journal = revaluation_journal(items.reset_index(), march, params(), ["SG01"], lambda e: "SGD")
    main = journal[journal["journal_id"] == "FXREV-SG01-2026-03"]
    reversal = journal[journal["journal_id"] == "FXREV-SG01-2026-03-R"]
    assert main.set_index("account")[["debit", "credit"]].to_dict("index") == {
        "1100": {"debit": 7500, "credit": 0},
        "7200": {"debit": 0, "credit": 7500},
    }
    # The reversal: the same lines the other way, on the first day of the next period.
    assert reversal.set_index("account")[["debit", "credit"]].to_dict("index") == {
        "1100": {"debit": 0, "credit": 7500},
        "7200": {"debit": 7500, "credit": 0},
    }
    assert set(reversal["date"]) == {pd.Timestamp("2026-04-01")}
    assert journal["debit"].sum() == journal["credit"].sum()


def test_next_period_revalues_from_the_booking_rate_again(fx_book):
    # April: X1 is paid; X2 USD 500.00 at 1.28 = 640.00 against 650.00 booked: a loss of 10.00,
    # not the change since March (March's revaluation was reversed on 1 April).
    items = revaluation_items(fx_book, Period.parse("2026-04").end)
    assert items["id"].tolist() == ["X2"]
    assert items["unrealised"].tolist() == [-1000]


def test_realised_fx_on_settlement(fx_book):
    realised = realised_items(fx_book, Period.parse("2026-04"))
    # R1 USD 1,000.00 at 1.32 = SGD 1,320.00 relieves X1 booked at SGD 1,300.00: a gain of 20.00
    assert realised[["application_id", "source_functional", "target_functional", "realised"]].values.tolist() == [
        ["A1", 132000, 130000, 2000]
    ]
    figures = fx_figures(revaluation_items(fx_book, Period.parse("2026-04").end), realised, ["SG01"])
    assert figures == {"SG01": {"unrealised": -1000, "realised": 2000}}
    assert realised_items(fx_book, Period.parse("2026-03")).empty


def test_unapplied_foreign_cash_revalues_with_the_opposite_sign(tmp_path: Path):
    tables = fx_tables()
    tables["applications"] = []
    book = load_book(write_source(tmp_path / "fx", tables))
    cash = unapplied_cash(book, "2026-04-30")
    assert cash["unapplied_functional"].tolist() == [132000]  # USD 1,000.00 at 1.32
    items = revaluation_items(book, pd.Timestamp("2026-04-30")).set_index("id")
    # owed to the customer: USD 1,000.00 at 1.28 = 1,280.00, 40.00 less than booked: a gain
    assert items.loc["R1", "unrealised"] == 4000


def test_aging_and_subledger_run_in_functional_currency(fx_book):
    aged = aging_at(fx_book, "2026-03-31", AgingPolicy("due_date", [0, 30, 60, 90]))
    assert set(aged["currency"]) == {"SGD"}
    assert aged["open_amount"].sum() == 130000 + 65000
    assert aged.set_index("document_id").loc["X1", "transaction_open_amount"] == 100000


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=20),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("5000"), places=6),
    st.sampled_from([(2, 2), (0, 2), (2, 0), (3, 2)]),
)
def test_translation_is_exact_half_away_from_zero_per_line(amounts, rate_, digits):
    rate = float(rate_)
    got = money.translate_array(np.array(amounts), np.array([rate] * len(amounts)), *digits)
    exact = money.rate_to_decimal(rate)
    want = [
        int((Decimal(a) * exact * Decimal(10) ** (digits[1] - digits[0])).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for a in amounts
    ]
    assert got.tolist() == want


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 10**9), min_size=1, max_size=8),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=12),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("200"), places=4),
)
def test_functional_totals_are_sums_of_translated_lines(amounts, payments, rate_):
    """Documents translated line by line sum to the functional total; what their applications
    relieve plus what stays open is exactly each document's translated amount, and a settled
    document is zero in the functional currency too."""
    rate = float(rate_)
    n = len(amounts)
    docs = pd.DataFrame(
        {
            "document_id": [f"D{i}" for i in range(n)],
            "entity": "E",
            "document_date": pd.Timestamp("2026-01-01"),
            "currency": "USD",
            "amount": np.array(amounts, dtype="int64"),
            "fx_rate": rate,
        }
    )
    # payments applied to documents in turn, never beyond a document's amount
    rows, left = [], list(amounts)
    for k, p in enumerate(payments):
        i = k % n
        take = min(p, left[i])
        if take:
            rows.append((f"A{k:03d}", f"D{i}", take))
            left[i] -= take
    apps = pd.DataFrame(
        {
            "application_id": [r[0] for r in rows],
            "applied_date": pd.Timestamp("2026-02-01"),
            "source_id": "R",
            "target_id": [r[1] for r in rows],
            "amount": np.array([r[2] for r in rows], dtype="int64"),
        }
    )
    rec = pd.DataFrame(
        {
            "receipt_id": ["R"],
            "entity": "E",
            "receipt_date": pd.Timestamp("2026-01-01"),
            "currency": "USD",
            "amount": np.array([max(sum(r[2] for r in rows), 1)], dtype="int64"),
            "fx_rate": rate,
        }
    )
    adj = pd.DataFrame(
        {
            "adjustment_id": [],
            "document_id": [],
            "adjustment_date": pd.Series(dtype="datetime64[ns]"),
            "amount": pd.Series(dtype="int64"),
        }
    )
    rates = pd.DataFrame(
        {"rate_date": pd.Series(dtype="datetime64[ns]"), "currency": [], "functional_currency": [], "rate": []}
    )
    t = translate_book(docs, rec, apps, adj, rates, {"E": "SGD"})
    per_line = money.translate_array(docs["amount"].to_numpy(), np.full(n, rate), 2, 2)
    assert t.doc_amount.tolist() == per_line.tolist()
    assert int(t.doc_amount.sum()) == int(per_line.sum())
    relieved = (
        pd.Series(t.app_target).groupby(apps["target_id"].to_numpy()).sum() if len(apps) else pd.Series(dtype="int64")
    )
    for i in range(n):
        open_f = int(money.translate_array(np.array([left[i]]), np.array([rate]), 2, 2)[0])
        assert int(relieved.get(f"D{i}", 0)) + open_f == int(per_line[i])
        if left[i] == 0:
            assert open_f == 0


def test_single_currency_book_is_unchanged_by_translation(tmp_path: Path, mini_source):
    book = load_book(mini_source)
    t = translation(book)
    assert t.doc_amount.tolist() == book.documents["amount"].tolist()
    assert t.app_target.tolist() == book.applications["amount"].tolist()
    assert t.app_source.tolist() == book.applications["amount"].tolist()
    items = open_items(book, "2026-10-31")
    assert items["open_functional"].tolist() == items["open_amount"].tolist()
