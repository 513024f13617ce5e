"""Trial-balance reconciliation on hand-built books (MINI from conftest, plus its GL detail).

MINI's transactions post to the GL as follows (USD):
  2026-07 D5 DM   Dr1100  75.25          2026-09 A1 app  Dr2150 600 / Cr1100 600
  2026-08 D1 INV  Dr1100 1000            2026-09 D3 CM   Cr1100 100
  2026-09 D2 INV  Dr1100  500            2026-10 D4 INV  Dr1100 250.50
  2026-09 R1 rcpt Cr2150 600 (Dr1000)    2026-10 R2 rcpt Cr2150 40 (Dr1000)
  2026-10 J1 write-off Cr1100 75.25 / Dr1190      (A2, a CM applied to D1, has no GL effect)
so 1100 is 875.25 at September's end and 1050.50 at October's: the subledger exactly.
"""

from __future__ import annotations

import copy
import re

import pytest

from closelib.areas import recon
from closelib.book.load import load_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

OFFSET = {"1100": "4000", "2150": "1000", "1190": "1100"}


def line(journal, period, date, account, debit, credit, ref, source="ar_subledger", entity="US01", desc=""):
    return {
        "entity": entity,
        "journal_id": journal,
        "period": period,
        "posting_date": date,
        "account": account,
        "debit": debit,
        "credit": credit,
        "source": source,
        "reference": ref,
        "description": desc,
    }


def posting(journal, period, date, ref, dr, cr, amount, source="ar_subledger", entity="US01"):
    return [
        line(journal, period, date, dr, amount, "0.00", ref, source, entity),
        line(journal, period, date, cr, "0.00", amount, ref, source, entity),
    ]


def mini_journal() -> list[dict]:
    rows = []
    rows += posting("B-D5", "2026-07", "2026-07-01", "D5", "1100", "4300", "75.25")
    rows += posting("B-D1", "2026-08", "2026-08-01", "D1", "1100", "4000", "1000.00")
    rows += posting("B-D2", "2026-09", "2026-09-01", "D2", "1100", "4000", "500.00")
    rows += posting("B-R1", "2026-09", "2026-09-10", "R1", "1000", "2150", "600.00")
    rows += posting("B-A1", "2026-09", "2026-09-10", "A1", "2150", "1100", "600.00")
    rows += posting("B-D3", "2026-09", "2026-09-15", "D3", "4900", "1100", "100.00")
    rows += posting("B-D4", "2026-10", "2026-10-05", "D4", "1100", "4200", "250.50")
    rows += posting("B-R2", "2026-10", "2026-10-20", "R2", "1000", "2150", "40.00")
    rows += posting("B-J1", "2026-10", "2026-10-31", "J1", "1190", "1100", "75.25")
    return rows


def balances(
    period: str, ar: str, unapplied: str, allowance: str = "0.00", entity="US01", currency="USD"
) -> list[dict]:
    """A small balanced TB: AR, unapplied, allowance (debit balance after the write-off), plug to equity."""
    from decimal import Decimal

    ar_d, un_d, al_d = Decimal(ar), Decimal(unapplied), Decimal(allowance)
    plug = ar_d - un_d + al_d
    rows = [
        ("1100", "AR control", "asset", ar_d, 0),
        ("2150", "Unapplied receipts", "liability", -un_d if un_d < 0 else 0, un_d if un_d > 0 else 0),
        ("1190", "Allowance", "asset", al_d if al_d > 0 else 0, -al_d if al_d < 0 else 0),
        ("3100", "Retained earnings", "equity", -plug if plug < 0 else 0, plug if plug > 0 else 0),
    ]
    return [
        {
            "entity": entity,
            "period": period,
            "account": a,
            "account_name": n,
            "account_type": t,
            "currency": currency,
            "debit": f"{d:.2f}",
            "credit": f"{c:.2f}",
        }
        for a, n, t, d, c in rows
    ]


def book_with(tmp_path, journal=None, gl=None, extra=None):
    tables = copy.deepcopy(MINI)
    tables["gl_balances"] = (
        gl
        if gl is not None
        else (balances("2026-09", "875.25", "0.00") + balances("2026-10", "1050.50", "40.00", "75.25"))
    )
    if journal is not False:
        tables["gl_journal"] = journal if journal is not None else mini_journal()
    for name, rows in (extra or {}).items():
        tables[name] = rows
    return load_book(write_source(tmp_path / "book", tables))


@pytest.fixture
def params():
    return load_parameters("2026-10", PARAMETERS_DIR)


def summary_row(rec, entity="US01") -> dict:
    return rec.summary.set_index("entity").loc[entity].to_dict()


def test_clean_book_reconciles_exactly(tmp_path, params):
    rec = recon.reconcile(book_with(tmp_path), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["gl_ar_control"] == row["subledger_ar"] == 105050 == row["effects_total"]
    assert row["difference"] == 0 and row["unexplained"] == 0 and rec.items.empty
    assert row["gl_unapplied"] == row["unapplied_cash"] == 4000 and row["unapplied_unexplained"] == 0
    roll = rec.roll_forward["US01"].set_index("line")
    # Sep end 875.25; October: invoice D4 250.50, write-off J1 -75.25; closing 1,050.50 both sides.
    assert roll.at["opening balance", "subledger"] == roll.at["opening balance", "gl"] == 87525
    assert roll.at["invoices and debit memos", "subledger"] == roll.at["invoices and debit memos", "gl"] == 25050
    assert roll.at["write-offs", "subledger"] == roll.at["write-offs", "gl"] == -7525
    assert roll.at["closing balance", "subledger"] == roll.at["closing balance", "gl"] == 105050
    assert (roll["difference"].fillna(0) == 0).all()


def test_manual_journal_is_found_with_its_age(tmp_path, params):
    journal = mini_journal() + posting("MJ-1", "2026-08", "2026-08-31", "accrual", "1100", "4200", "12.50", "manual")
    gl = balances("2026-09", "887.75", "0.00") + balances("2026-10", "1063.00", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["difference"] == 1250 and row["items_found"] == 1250 and row["unexplained"] == 0
    item = rec.items.iloc[0]
    assert (item["cause"], item["journal_id"], item["amount"], item["age_months"]) == (
        "manual journal",
        "MJ-1",
        1250,
        2,
    )


def test_invoice_posted_next_period_is_cut_off(tmp_path, params):
    journal = [r for r in mini_journal() if r["reference"] != "D4"]
    journal += posting("B-D4", "2026-11", "2026-11-01", "D4", "1100", "4200", "250.50")
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "800.00", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["difference"] == -25050 and row["unexplained"] == 0
    item = rec.items.iloc[0]
    assert item["cause"] == "cut-off: posted to the GL in a later period" and item["reference"] == "D4"
    assert item["gl_period"] == "2026-11" and item["amount"] == -25050
    roll = rec.roll_forward["US01"].set_index("line")
    assert roll.at["invoices and debit memos", "difference"] == -25050


def test_unposted_application_shows_on_both_sides(tmp_path, params):
    journal = [r for r in mini_journal() if r["reference"] != "A1"]
    gl = balances("2026-09", "1475.25", "600.00") + balances("2026-10", "1650.50", "640.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["difference"] == 60000 and row["unexplained"] == 0
    assert rec.items.iloc[0]["cause"] == "not posted to the GL"
    assert row["unapplied_difference"] == 60000 and row["unapplied_unexplained"] == 0
    assert rec.unapplied_items.iloc[0]["reference"] == "A1"


def test_altered_gl_balance_is_unexplained_by_exactly_the_alteration(tmp_path, params):
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "1060.50", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, gl=gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["difference"] == 1000 and row["items_found"] == 0 and row["unexplained"] == 1000
    roll = rec.roll_forward["US01"].set_index("line")
    assert roll.at["GL balance not supported by journal detail", "gl"] == 1000
    text = recon.conclusion(rec.summary, {"US01": 0}, True, lambda m, c: f"{m / 100:.2f}")
    assert "does NOT reconcile" in text and "10.00" in text
    # ... and a documented item of the same amount explains it
    params["gl"]["reconciling_items"] = [
        {"id": "RI-1", "entity": "US01", "amount": "10.00", "explanation": "bank fee accrued in AR", "owner": "GL team"}
    ]
    rec = recon.reconcile(book_with(tmp_path / "again", gl=gl), Period(2026, 10), params)
    assert summary_row(rec)["unexplained"] == 0 and summary_row(rec)["items_documented"] == 1000


def test_without_journal_the_difference_is_reported_and_left_unexplained(tmp_path, params):
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "1060.50", "40.00", "75.25")
    book = book_with(tmp_path, journal=False, gl=gl)
    rec = recon.reconcile(book, Period(2026, 10), params)
    row = summary_row(rec)
    assert row["difference"] == row["unexplained"] == 1000 and rec.items.empty
    assert "gl_journal" in recon.first_to_investigate(row, has_journal=False)
    roll = rec.roll_forward["US01"].set_index("line")
    assert roll.at["GL movement (no journal detail given)", "gl"] == 105050 + 1000 - 87525


def test_period_without_activity_rolls_forward_flat(tmp_path, params):
    gl = (
        balances("2026-10", "1050.50", "40.00", "75.25")
        + balances("2026-12", "1050.50", "40.00", "75.25")
        + balances("2026-11", "1050.50", "40.00", "75.25")
    )
    rec = recon.reconcile(book_with(tmp_path, gl=gl), Period(2026, 12), params)
    roll = rec.roll_forward["US01"].set_index("line")
    movements = roll.drop(index=["opening balance", "closing balance"])
    assert (movements["subledger"] == 0).all() and (movements["gl"].fillna(0) == 0).all()
    assert summary_row(rec)["unexplained"] == 0


def test_missing_gl_period_is_reported_not_crashed(tmp_path, params):
    rec = recon.reconcile(book_with(tmp_path), Period(2026, 11), params)
    row = summary_row(rec)
    assert not row["gl_present"] and row["difference"] is None
    assert "no balances" in recon.conclusion(rec.summary, {"US01": 0}, True, lambda m, c: str(m))


def test_unapplied_cash_booked_in_control(tmp_path, params):
    # Receipts booked straight to 1100: R1 and R2 credit 1100, applications net to zero there.
    journal = [r for r in mini_journal() if r["reference"] not in ("R1", "R2", "A1")]
    journal += posting("B-R1", "2026-09", "2026-09-10", "R1", "1000", "1100", "600.00")
    journal += posting("B-R2", "2026-10", "2026-10-20", "R2", "1000", "1100", "40.00")
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "1010.50", "0.00", "75.25")
    params["gl"]["unapplied_cash_in_control"] = True
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["expected_gl"] == 105050 - 4000 and row["difference"] == 0 and row["unexplained"] == 0
    assert rec.items.empty


def test_two_entities_are_reconciled_separately_in_their_currencies(tmp_path, params):
    sg = {
        "document_id": "S1",
        "customer_id": "C002",
        "entity": "SG01",
        "doc_type": "INV",
        "document_date": "2026-10-01",
        "due_date": "2026-10-31",
        "currency": "SGD",
        "amount": "1350.00",
        "reference": "",
        "description": "Colocation",
    }
    tables_extra = {
        "entities": MINI["entities"]
        + [{"entity": "SG01", "name": "Mini Pte", "functional_currency": "SGD", "country": "SG"}],
        "documents": MINI["documents"] + [sg],
    }
    journal = mini_journal() + posting("B-S1", "2026-10", "2026-10-01", "S1", "1100", "4000", "1350.00", entity="SG01")
    gl = (
        balances("2026-09", "875.25", "0.00")
        + balances("2026-10", "1050.50", "40.00", "75.25")
        + balances("2026-10", "1300.00", "0.00", entity="SG01", currency="SGD")
    )
    rec = recon.reconcile(book_with(tmp_path, journal, gl, tables_extra), Period(2026, 10), params)
    us, sg_row = summary_row(rec, "US01"), summary_row(rec, "SG01")
    assert us["unexplained"] == 0 and us["currency"] == "USD"
    assert sg_row["currency"] == "SGD" and sg_row["difference"] == -5000 and sg_row["unexplained"] == -5000


def test_batch_summarised_posting_is_not_an_item(tmp_path, params):
    # The 2150 side of A1 posted as one batch line referencing the batch, not the application.
    journal = [r for r in mini_journal() if r["reference"] != "A1"]
    journal += [
        line("ARB-0910-APP", "2026-09", "2026-09-10", "2150", "600.00", "0.00", "ARB-0910-APP"),
        line("ARB-0910-APP", "2026-09", "2026-09-10", "1100", "0.00", "600.00", "A1"),
    ]
    rec = recon.reconcile(book_with(tmp_path, journal), Period(2026, 10), params)
    assert rec.unapplied_items.empty and summary_row(rec)["unapplied_unexplained"] == 0
    # ...but a batch line on a day with nothing to net against stays listed
    journal += [
        line("ARB-0911-APP", "2026-09", "2026-09-11", "2150", "5.00", "0.00", "ARB-0911-APP"),
        line("ARB-0911-APP", "2026-09", "2026-09-11", "1000", "0.00", "5.00", "ARB-0911-APP"),
    ]
    gl = balances("2026-09", "875.25", "-5.00") + balances("2026-10", "1050.50", "35.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path / "b", journal, gl), Period(2026, 10), params)
    assert list(rec.unapplied_items["amount"]) == [-500]
    assert rec.unapplied_items.iloc[0]["cause"] == "GL subledger line with no subledger transaction"


# ---------------------------------------------------------------- classes, exceptions, correcting journals


def fmt(minor, currency):
    return f"{minor / 100:,.2f}"


def classes_of(rec) -> dict[str, tuple[str, str, str]]:
    """reference -> (class, owner, exception) of the control-account items."""
    return {r["reference"]: (r["class"], r["owner"], r["exception"]) for r in rec.items.to_dict("records")}


def test_clean_book_is_reconciled_with_no_exception(tmp_path, params):
    rec = recon.reconcile(book_with(tmp_path), Period(2026, 10), params)
    assert rec.exceptions.empty and rec.journals.empty and summary_row(rec)["exceptions"] == 0
    text = recon.conclusion(rec.summary, {"US01": 0}, True, fmt, rec.exceptions)
    assert text.startswith("**US01** reconciled: the GL control balance agrees") and "no exception is open" in text


def test_invoice_never_posted_requires_correction_and_gets_its_journal(tmp_path, params):
    # D4 (250.50, C002, 2026-10-05) never reaches the GL: GL 800.00 against subledger 1,050.50.
    journal = [r for r in mini_journal() if r["reference"] != "D4"]
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "800.00", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    row = summary_row(rec)
    assert row["unexplained"] == 0 and row["items_correction"] == -25050 and row["items_timing"] == 0
    assert classes_of(rec)["D4"][0] == "correction required"
    # Dr AR control 250.50 / Cr the invoices' offset account (gl.correction_offsets: 4000)
    j = rec.journals
    assert list(zip(j["account"], j["debit"], j["credit"], strict=True)) == [("1100", 25050, 0), ("4000", 0, 25050)]
    assert set(j["journal_id"]) == {"TBC-US01-2026-10-001"} and j["reference"].tolist() == ["D4", "D4"]
    assert rec.exceptions["proposed_journal"].tolist() == ["TBC-US01-2026-10-001"]
    assert row["exceptions"] == 1 and row["exceptions_total"] == -25050
    text = recon.conclusion(rec.summary, {"US01": 0}, True, fmt, rec.exceptions)
    assert "**US01** reconciled with 1 exception requiring adjustment, totalling -250.50 USD" in text
    shown = re.sub(r"\\(.)", r"\1", text)  # as a reader sees it: values from data are markdown-escaped
    assert "- D4 (AR control, not posted to the GL): -250.50 USD; correction required: proposed journal" in shown
    assert "fully explained" in text and "no exception is open" not in text


def test_posting_that_differs_by_100_requires_correction(tmp_path, params):
    # D2 (500.00) posted as 400.00: an amount that differs is not "explained" away.
    journal = [r for r in mini_journal() if r["reference"] != "D2"]
    journal += posting("B-D2", "2026-09", "2026-09-01", "D2", "1100", "4000", "400.00")
    gl = balances("2026-09", "775.25", "0.00") + balances("2026-10", "950.50", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    assert summary_row(rec)["unexplained"] == 0
    item = rec.items.set_index("reference").loc["D2"]
    assert (item["cause"], item["class"], item["amount"]) == (
        "posted amount differs from the subledger",
        "correction required",
        -10000,
    )
    j = rec.journals
    assert list(zip(j["account"], j["debit"], j["credit"], strict=True)) == [("1100", 10000, 0), ("4000", 0, 10000)]
    assert "reconciled with 1 exception requiring adjustment, totalling -100.00 USD" in recon.conclusion(
        rec.summary, {"US01": 0}, True, fmt, rec.exceptions
    )


def test_unposted_application_is_one_exception_with_one_journal_for_both_accounts(tmp_path, params):
    journal = [r for r in mini_journal() if r["reference"] != "A1"]
    gl = balances("2026-09", "1475.25", "600.00") + balances("2026-10", "1650.50", "640.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    assert rec.unapplied_items.iloc[0]["class"] == "correction required"
    assert rec.exceptions["reference"].tolist() == ["A1"] and summary_row(rec)["exceptions"] == 1
    # Cr AR control 600.00 / Dr unapplied receipts 600.00: both accounts corrected, no offset needed
    j = rec.journals.set_index("account")
    assert (j.at["1100", "credit"], j.at["2150", "debit"]) == (60000, 60000) and len(j) == 2


def test_recent_manual_journal_is_timing_but_unassigned_until_it_has_an_owner(tmp_path, params):
    journal = mini_journal() + posting("MJ-9", "2026-10", "2026-10-31", "ACCR-10", "1100", "4200", "12.50", "manual")
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "1063.00", "40.00", "75.25")
    book = book_with(tmp_path, journal, gl)
    rec = recon.reconcile(book, Period(2026, 10), params)
    assert classes_of(rec)["ACCR-10"] == (
        "timing",
        "unassigned",
        "unassigned: no owner or expected clearance (gl.item_owners)",
    )
    text = recon.conclusion(rec.summary, {"US01": 0}, True, fmt, rec.exceptions)
    assert "reconciled with 1 exception, totalling 12.50 USD (1 with no owner or expected clearance)" in text
    assert rec.journals.empty  # nothing to post: it needs an owner, not a correction
    # with an owner and an expected clearance (by journal id) it is an ordinary timing item
    params["gl"]["item_owners"] = [
        {"entity": "US01", "reference": "MJ-9", "owner": "GL accountant", "expected_clearance": "2026-11-30"}
    ]
    rec = recon.reconcile(book, Period(2026, 10), params)
    assert classes_of(rec)["ACCR-10"] == ("timing", "GL accountant", "")
    assert rec.items.iloc[0]["expected_clearance"] == "2026-11-30"
    text = recon.conclusion(rec.summary, {"US01": 0}, True, fmt, rec.exceptions)
    assert "**US01** reconciled: GL minus subledger is 12.50 USD" in text and "no exception is open" in text
    # ... until its expected clearance has passed
    rec = recon.reconcile(book, Period(2026, 12), params)
    assert "overdue: expected to clear by 2026-11-30" in classes_of(rec)["ACCR-10"][2]


def test_manual_journal_older_than_the_limit_requires_correction_even_with_an_owner(tmp_path, params):
    journal = mini_journal() + posting("MJ-1", "2026-08", "2026-08-31", "accrual", "1100", "4200", "12.50", "manual")
    gl = balances("2026-09", "887.75", "0.00") + balances("2026-10", "1063.00", "40.00", "75.25")
    params["gl"]["item_owners"] = [
        {"entity": "US01", "reference": "accrual", "owner": "GL accountant", "expected_clearance": "2026-11-30"}
    ]
    book = book_with(tmp_path, journal, gl)
    rec = recon.reconcile(book, Period(2026, 10), params)  # 2 months old, limit 1
    cls, owner, exception = classes_of(rec)["accrual"]
    assert (cls, owner) == ("correction required", "GL accountant")
    assert exception.startswith("correction required: a journal with no subledger support older than 1 month(s)")
    params["gl"]["max_item_age_months"] = 2
    assert classes_of(recon.reconcile(book, Period(2026, 10), params))["accrual"] == ("timing", "GL accountant", "")


def test_cut_off_posted_next_period_is_self_clearing_timing(tmp_path, params):
    journal = [r for r in mini_journal() if r["reference"] != "D4"]
    journal += posting("B-D4", "2026-11", "2026-11-01", "D4", "1100", "4200", "250.50")
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "800.00", "40.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    item = rec.items.iloc[0]
    assert (item["class"], item["owner"], item["expected_clearance"]) == ("timing", "self-clearing", "2026-11-01")
    assert item["clearance_basis"] == "posted to the GL in 2026-11 (B-D4)" and item["exception"] == ""
    assert rec.exceptions.empty and rec.journals.empty
    assert "**US01** reconciled: GL minus subledger is -250.50 USD" in recon.conclusion(
        rec.summary, {"US01": 0}, True, fmt, rec.exceptions
    )


def test_documented_item_needs_an_owner_and_a_clearance_date(tmp_path, params):
    gl = balances("2026-09", "875.25", "0.00") + balances("2026-10", "1060.50", "40.00", "75.25")
    book = book_with(tmp_path, gl=gl)
    item = {"id": "RI-1", "entity": "US01", "amount": "10.00", "explanation": "bank fee accrued in AR"}
    params["gl"]["reconciling_items"] = [item]
    rec = recon.reconcile(book, Period(2026, 10), params)
    assert rec.documented.iloc[0]["class"] == "documented" and rec.documented.iloc[0]["owner"] == "unassigned"
    assert rec.exceptions["exception"].tolist() == ["unassigned: no owner or expected clearance (gl.reconciling_items)"]
    params["gl"]["reconciling_items"] = [dict(item, owner="GL team", expected_clearance="2026-11-15")]
    rec = recon.reconcile(book, Period(2026, 10), params)
    assert rec.exceptions.empty and summary_row(rec)["unexplained"] == 0
    assert "no exception is open" in recon.conclusion(rec.summary, {"US01": 0}, True, fmt, rec.exceptions)


def test_every_item_has_a_class_owner_and_clearance_or_is_an_exception(tmp_path, params):
    journal = [r for r in mini_journal() if r["reference"] not in ("D4", "A1")]
    journal += posting("MJ-9", "2026-10", "2026-10-31", "ACCR-10", "1100", "4200", "12.50", "manual")
    gl = balances("2026-09", "1475.25", "600.00") + balances("2026-10", "1412.50", "640.00", "75.25")
    rec = recon.reconcile(book_with(tmp_path, journal, gl), Period(2026, 10), params)
    for frame in (rec.items, rec.unapplied_items):
        assert set(frame["class"]) <= set(recon.CLASSES) and frame["class"].notna().all()
        unowned = (frame["owner"] == "unassigned") | (frame["expected_clearance"] == "")
        assert (frame.loc[unowned, "exception"] != "").all()
    by_class = recon.items_by_class(rec.items, rec.documented).set_index("class")
    assert by_class.at["timing", "amount"] == 1250 and by_class.at["correction required", "amount"] == -25050 + 60000
