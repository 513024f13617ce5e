"""Write-off selection, holds, approvals, journals and the Excel pack on hand-built books.

MINI at 2026-10-31 (conftest): open D1 300.00 (C001, 61 days past due), D2 500.00 (C001, 30),
D4 250.50 (C002, current); D5 75.25 (C003, bankrupt) was written off on 10-31.
"""

from __future__ import annotations

import copy

import pytest
from openpyxl import load_workbook

from closelib.areas import reserve
from closelib.areas.writeoff import pack as writeoff_pack
from closelib.areas.writeoff import select as writeoff
from closelib.book.load import load_book
from closelib.nb import context as nb
from closelib.nb import excel
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

END = Period(2026, 10)


@pytest.fixture
def params():
    p = load_parameters(END, PARAMETERS_DIR)
    p["reserve"]["method"] = "fixed_rates"
    return p


def book(tmp_path, **changes):
    tables = copy.deepcopy(MINI)
    for name, change in changes.items():
        tables[name] = change(tables.get(name, []))
    return load_book(write_source(tmp_path / "b", tables))


def status(cid, value):
    return lambda rows: [dict(r, status=value) if r["customer_id"] == cid else r for r in rows]


def selected(tmp_path, params, **changes):
    candidates, held = writeoff.select(book(tmp_path, **changes), END, params)
    return dict(zip(candidates["document_id"], candidates["rule"], strict=False)), dict(
        zip(held["document_id"], held["held_because"], strict=False)
    )


def test_aged_rule_needs_age_and_status(tmp_path, params):
    params["write_off"]["min_days_past_due"] = 60
    assert selected(tmp_path / "a", params)[0] == {}  # C001 is active
    chosen, _ = selected(tmp_path / "b", params, customers=status("C001", "suspended"))
    assert chosen == {"D1": "aged"}  # D1 61 days >= 60; D2 only 30


def test_bankrupt_customer_any_age(tmp_path, params):
    no_write_off = {"adjustments": lambda rows: []}  # D5 stays open: 75.25, 92 days
    params["write_off"]["min_days_past_due"] = 365
    assert selected(tmp_path / "a", params, **no_write_off)[0] == {"D5": "bankrupt"}
    params["write_off"]["bankrupt_any_age"] = False
    assert selected(tmp_path / "b", params, **no_write_off)[0] == {}


def test_small_balance_whatever_the_status(tmp_path, params):
    params["write_off"].update(small_balance_threshold="300.00", small_balance_min_days=60)
    assert selected(tmp_path, params)[0] == {"D1": "small balance"}  # 300.00 <= 300.00, 61 days


def test_written_off_document_is_never_proposed_again(tmp_path, params):
    # D5 is fully written off: not open, not proposed, even for a bankrupt customer.
    assert "D5" not in selected(tmp_path / "a", params)[0]
    partial = {"adjustments": lambda rows: [dict(rows[0], amount="-10.00")], "customers": status("C003", "bankrupt")}
    chosen, held = selected(tmp_path / "b", params, **partial)
    assert "D5" not in chosen and held["D5"] == "already partly written off"


def dispute(doc, opened, closed="", status_="open", case="DSP-1"):
    return lambda rows: [
        {
            "case_id": case,
            "customer_id": "C001",
            "document_id": doc,
            "opened_date": opened,
            "closed_date": closed,
            "currency": "USD",
            "amount": "50.00",
            "reason_code": "pricing",
            "status": status_,
            "resolution": "",
            "owner": "Ana",
        }
    ]


def test_document_in_open_dispute_is_held_as_of_the_period_end(tmp_path, params):
    params["write_off"]["min_days_past_due"] = 60
    suspended = status("C001", "suspended")
    chosen, held = selected(tmp_path / "a", params, customers=suspended, disputes=dispute("D1", "2026-10-01"))
    assert chosen == {} and held == {"D1": "open dispute DSP-1"}
    # resolved before the period end: no hold; resolved after it: still held as of the period end
    assert selected(
        tmp_path / "b", params, customers=suspended, disputes=dispute("D1", "2026-09-01", "2026-10-15", "resolved")
    )[0] == {"D1": "aged"}
    assert selected(
        tmp_path / "c", params, customers=suspended, disputes=dispute("D1", "2026-09-01", "2026-11-15", "resolved")
    )[1] == {"D1": "open dispute DSP-1"}
    # only that document is held, not the customer's others
    params["write_off"]["min_days_past_due"] = 20
    chosen, held = selected(tmp_path / "d", params, customers=suspended, disputes=dispute("D1", "2026-10-01"))
    assert chosen == {"D2": "aged"} and set(held) == {"D1"}


def test_kept_payment_plan_holds_the_customer(tmp_path, params):
    params["write_off"]["min_days_past_due"] = 60

    def plan(rows):
        return [
            {
                "activity_id": "P1",
                "customer_id": "C001",
                "document_id": "",
                "activity_date": "2026-09-01",
                "type": "payment_plan",
                "promised_date": "2026-09-10",
                "promised_amount": "600.00",
                "user": "Ana",
                "note": "three instalments",
            }
        ]

    # R1 (600.00) arrived 2026-09-10, after the plan: 51 days before the period end.
    params["write_off"]["plan_kept_days"] = 60
    _, held = selected(tmp_path / "a", params, customers=status("C001", "suspended"), activities=plan)
    assert held == {"D1": "payment plan of 2026-09-01 being kept"}
    params["write_off"]["plan_kept_days"] = 45  # last payment too long ago: the plan is broken
    assert selected(tmp_path / "b", params, customers=status("C001", "suspended"), activities=plan)[0] == {"D1": "aged"}


def pack_inputs(b, params):
    candidates, held = writeoff.select(b, END, params)
    res = reserve.compute(b, END, params)
    candidates["reserve_held"] = writeoff.reserve_held(candidates, res.specific, res.rates, None)
    customers = writeoff.by_customer(candidates, params, b.currency_of)
    return candidates, held, customers


def test_approval_tiers_reserve_held_and_journals(tmp_path, params):
    params["write_off"]["min_days_past_due"] = 20
    b = book(tmp_path, customers=status("C001", "in_collections"))
    candidates, _, customers = pack_inputs(b, params)
    # D1 300.00 in 61-90 at 10% = 30.00 held; D2 500.00 in 1-30 at 1.6% = 8.00 held
    assert dict(zip(candidates["document_id"], candidates["reserve_held"], strict=False)) == {"D1": 3000, "D2": 800}
    row = customers.iloc[0]
    assert (row["total"], row["reserve_held"], row["pnl_effect"]) == (80000, 3800, 76200)
    assert row["approver"] == "collections_manager" and row["tier"] == "up to 1,000.00 USD"
    params["write_off"]["approval_matrix"][0]["up_to"] = "500.00"
    assert writeoff.by_customer(candidates, params, b.currency_of).iloc[0]["approver"] == "finance_controller"
    j = writeoff.journals(candidates, params, END, b.currency_of)
    assert j["debit"].sum() == j["credit"].sum() == 80000
    assert list(j["account"]) == ["1190", "1100"] and j.iloc[1]["description"] == "Write-off: D1, D2"


def test_broken_promise_in_evidence(tmp_path, params):
    def promise(rows):
        return [
            {
                "activity_id": "P1",
                "customer_id": "C001",
                "document_id": "D1",
                "activity_date": "2026-09-01",
                "type": "promise_to_pay",
                "promised_date": "2026-09-05",
                "promised_amount": "1000.00",
                "user": "Ana",
                "note": "",
            }
        ]

    b = book(tmp_path, activities=promise)
    # R1 arrived 09-10, after 09-05 + 3 days of grace: nothing received in the window
    ev = writeoff.evidence(b, END, ["C001"], params)
    assert ev["profile"].iloc[0]["broken_promises"] == 1
    assert bool(ev["activities"].iloc[0]["broken"]) and ev["activities"].iloc[0]["received"] == 0


def test_pack_neutralises_formula_injection(tmp_path, params):
    evil = '=HYPERLINK("http://evil.example","click")'
    params["write_off"]["min_days_past_due"] = 20
    rename = lambda rows: [dict(r, name=evil, status="suspended") if r["customer_id"] == "C001" else r for r in rows]  # noqa: E731
    b = book(tmp_path, customers=rename)
    candidates, held, customers = pack_inputs(b, params)
    ev = writeoff.evidence(b, END, ["C001"], params)
    j = writeoff.journals(candidates, params, END, b.currency_of)
    path = writeoff_pack.write_pack(
        tmp_path / "pack.xlsx",
        END,
        params,
        candidates,
        held,
        customers,
        writeoff.tier_summary(customers, params),
        j,
        writeoff.recoveries(b, END, params),
        ev,
        b.currency_of,
        nb.fmt_money,
    )
    wb = load_workbook(path)
    # the only formulas are the pack's own totals (SUM/SUMIF in a "Total" row): never text from the data
    formulas = [(ws, c) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas and all(
        str(c.value).startswith(("=SUM(", "=SUMIF(")) and str(ws.cell(c.row, 1).value).startswith("Total")
        for ws, c in formulas
    )
    names = [c for row in wb["Candidates"].iter_rows() for c in row if c.value == evil]
    assert names and all(c.data_type == "s" and c.quotePrefix for c in names)
    assert "Approved by: collections_manager" in [r[0] for r in excel.read_cells(path)["Sign-off"]]


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"])
def test_every_dangerous_prefix_is_stored_as_text(tmp_path, text):
    import pandas as pd

    path = excel.write_workbook(tmp_path / "x.xlsx", [excel.Sheet("S", pd.DataFrame({"name": [text, "plain"]}))])
    cell = load_workbook(path)["S"]["A2"]
    # XlsxWriter stores a carriage return as the OOXML escape _x000D_ (as Excel itself does,
    # and Excel shows it as the character); openpyxl reads the escape back undecoded. Either
    # way the text stays text
    assert cell.value == text.replace("\r", "_x000D_") and cell.data_type == "s" and cell.quotePrefix
    assert not load_workbook(path)["S"]["A3"].quotePrefix


def test_infinite_numbers_are_written_as_text_and_a_failed_write_leaves_no_file(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"customer": ["C1"], "utilisation": [float("inf")]})
    path = excel.write_workbook(tmp_path / "x.xlsx", [excel.Sheet("S", frame, rate_columns=["utilisation"])])
    cell = load_workbook(path)["S"]["B2"]
    assert cell.value == "inf" and cell.data_type == "s"  # Excel has no infinity; no formula either
    same_name = [excel.Sheet("A" * 31 + "1", frame), excel.Sheet("A" * 31 + "2", frame)]  # both cut to 31
    with pytest.raises(Exception, match="already in use"):
        excel.write_workbook(tmp_path / "out" / "y.xlsx", same_name)
    assert list((tmp_path / "out").iterdir()) == []
