"""The reserve backtest and the prior-period comparison, on books small enough to check by hand."""

from __future__ import annotations

import copy

import pytest

from closelib.areas import reserve
from closelib.book.load import load_book
from closelib.nb.excel import read_cells
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.areas.test_reserve import gl_rows
from tests.asof.test_rollrate import steady_tables
from tests.conftest import MINI, write_source

LABELS = ["current", "1-30", "31-60", "60+"]


@pytest.fixture
def params():
    p = load_parameters("2026-10", PARAMETERS_DIR)
    p["aging"]["buckets"] = [0, 30, 60]
    p["reserve"].update(
        method="fixed_rates",
        lookback_months=2,
        fixed_rates={"current": 0.1, "1-30": 0.2, "31-60": 0.5, "60+": 1.0},
        floor_rates={},
    )
    return p


def three_invoices(tmp_path):
    """A 100.00 due 01-31, written off 05-15; B 200.00 due 02-28, paid 03-10; C 50.00 due 03-31, open."""
    doc = dict(MINI["documents"][0], customer_id="C001", doc_type="INV", currency="USD")
    tables = copy.deepcopy(MINI)
    tables["documents"] = [
        dict(doc, document_id="A", document_date="2026-01-01", due_date="2026-01-31", amount="100.00"),
        dict(doc, document_id="B", document_date="2026-02-01", due_date="2026-02-28", amount="200.00"),
        dict(doc, document_id="C", document_date="2026-03-01", due_date="2026-03-31", amount="50.00"),
    ]
    tables["receipts"] = [dict(MINI["receipts"][0], receipt_id="R", receipt_date="2026-03-10", amount="200.00")]
    tables["applications"] = [
        {"application_id": "P", "applied_date": "2026-03-10", "source_id": "R", "target_id": "B", "amount": "200.00"}
    ]
    tables["adjustments"] = [
        dict(MINI["adjustments"][0], document_id="A", adjustment_date="2026-05-15", amount="-100.00")
    ]
    tables["gl_balances"] = gl_rows("2026-06", "0.00", "0.00")
    return load_book(write_source(tmp_path / "three", tables))


def test_backtest_by_hand(tmp_path, params):
    table = reserve.backtest(three_invoices(tmp_path), Period(2026, 6), params, months=3)
    rows = {str(r["month_end"]): r for r in table.to_dict("records")}
    assert list(rows) == ["2026-03-31", "2026-04-30", "2026-05-31"]
    # 03-31: A 59 days (31-60, 50 %) 50.00 + C 0 days (current, 10 %) 5.00; A written off since, C open
    march = rows["2026-03-31"]
    assert (march["gross"], march["allowance"], march["written_off_since"], march["still_open"]) == (
        15000,
        5500,
        10000,
        5000,
    )
    assert march["settled"] == 0 and march["coverage"] == pytest.approx(0.55)
    # 04-30: A 89 days (60+, 100 %) 100.00 + C 30 days (1-30, 20 %) 10.00: covered 1.1 times
    april = rows["2026-04-30"]
    assert (april["allowance"], april["written_off_since"], april["coverage"]) == (11000, 10000, pytest.approx(1.1))
    # 05-31: A is gone; C 61 days (60+) 50.00, nothing written off since: no coverage to measure
    may = rows["2026-05-31"]
    assert (may["gross"], may["allowance"], may["written_off_since"], may["still_open"]) == (5000, 5000, 0, 5000)
    assert may["coverage"] is None or may["coverage"] != may["coverage"]
    fmt = lambda m, c: f"{m / 100:.2f}"  # noqa: E731
    assert "covered the write-offs since in 1 of the 2 month ends with write-offs" in reserve.backtest_summary(
        table, fmt
    )
    assert reserve.backtest_summary(table[table["month_end"].astype(str) == "2026-05-31"], fmt) == (
        "**US01**: nothing open at any of the last 1 month ends has been written off since, so coverage cannot be "
        "measured yet; of the 50.00 USD open at 2026-05-31, 50.00 USD is still open."
    )


def test_backtest_uses_the_rates_the_method_would_have_measured_then(tmp_path, params):
    # On a steady book (half paid, half written off, 3 months after reaching 75+) the backtest's
    # allowance at each month end equals the whole reserve computed at that month end (no
    # specific reserve, no overlay): the same roll rates from the 12 months before it.
    params["aging"]["buckets"] = [0, 30, 60, 75]
    params["reserve"].update(method="roll_rate", lookback_months=12, min_exposure_months=1, floor_rates={})
    book = load_book(write_source(tmp_path / "steady", steady_tables(3, paid_half=True)))
    table = reserve.backtest(book, Period(2026, 10), params)
    assert len(table) == 12 and str(table["month_end"].iloc[0]) == "2025-10-31"
    for row in table.iloc[[0, 5, 11]].to_dict("records"):
        when = Period(row["month_end"].year, row["month_end"].month)
        direct = reserve.compute(book, when, params).summary.iloc[0]
        assert row["allowance"] == direct["collective"] and row["gross"] == direct["gross_receivables"]


def test_prior_period_comparison_by_hand(tmp_path):
    # MINI at 2026-12 against 2026-11, the default policy matrix:
    #   11-30: D1 300.00 91 days (91-120, 25 %) 75.00; D2 500.00 60 days (31-60, 4 %) 20.00;
    #          D4 250.50 26 days (1-30, 1.6 %) 4.01: 99.01; over 90 days: D1, 300.00
    #   12-31: D1 122 days (121-180, 45 %) 135.00; D2 91 days (91-120) 125.00; D4 57 days (31-60) 10.02:
    #          270.02; over 90 days: D1 and D2, 800.00
    params = load_parameters("2026-10", PARAMETERS_DIR)
    params["reserve"]["method"] = "fixed_rates"
    tables = copy.deepcopy(MINI)
    tables["gl_balances"] = gl_rows("2026-11", "0.00", "0.00") + gl_rows("2026-12", "0.00", "0.00")
    book = load_book(write_source(tmp_path / "mini", tables))
    current = reserve.compute(book, Period(2026, 12), params)
    by_bucket, coverage = reserve.prior_comparison(book, Period(2026, 12), params, current)
    lines = by_bucket.set_index("line")
    assert lines.loc["91-120", ["allowance", "allowance_prior", "change"]].tolist() == [12500, 7500, 5000]
    assert lines.loc["121-180", ["allowance", "allowance_prior"]].tolist() == [13500, 0]
    assert lines.loc["31-60", ["allowance", "allowance_prior"]].tolist() == [1002, 2000]
    assert lines.loc["1-30", ["allowance", "allowance_prior"]].tolist() == [0, 401]
    assert lines.loc["allowance required", ["allowance", "allowance_prior"]].tolist() == [27002, 9901]
    row = coverage.iloc[0]
    assert (row["required"], row["over_90"], row["required_prior"], row["over_90_prior"]) == (27002, 80000, 9901, 30000)
    assert row["coverage"] == pytest.approx(27002 / 80000) and row["coverage_prior"] == pytest.approx(9901 / 30000)
    pack = read_cells(
        reserve.write_pack(
            current,
            tmp_path / "p.xlsx",
            Period(2026, 12),
            params,
            reserve.backtest(book, Period(2026, 12), params),
            (by_bucket, coverage),
        )
    )
    assert {"Backtest", "Prior period", "Coverage over 90 days"} <= set(pack)
    assert len(pack["Backtest"]) == 1 + 12
