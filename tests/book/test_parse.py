"""Source validation (CONTRACT §1): every rule, every problem, exact file/row/column/rule."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.book.load import load_book, summary, validate_source
from closelib.book.model import Book
from closelib.book.parse import PROBLEMS_PER_RULE, Collector, _parse_absent, _parse_column
from closelib.book.schema import TABLES
from closelib.errors import SourceError
from tests.conftest import write_source

# MINI row numbers (header = row 1): documents D1..D5 are rows 2..6, receipts R1 row 2,
# R2 row 3, applications A1 row 2, A2 row 3, gl_balances 1000/1100/2150/4000 rows 2..5.


def check(tmp_path: Path, tables: dict) -> list:
    return validate_source(write_source(tmp_path / "src", tables))


def keyed(problems) -> set[tuple]:
    """(file, row, column, rule) of every problem."""
    return {(p.file, p.row, p.column, p.rule) for p in problems}


def doc(tables, document_id):
    return next(d for d in tables["documents"] if d["document_id"] == document_id)


# ---------------------------------------------------------------- the good book


def test_mini_book_meets_the_contract(mini_source):
    assert validate_source(mini_source) == []
    book = load_book(mini_source)
    assert isinstance(book, Book)
    assert book.documents["amount"].tolist() == [100000, 50000, -10000, 25050, 7525]  # cents
    assert book.documents["amount"].dtype == "int64"
    assert book.has("adjustments") and not book.has("disputes")
    assert list(book.disputes.columns)[:2] == ["case_id", "customer_id"] and len(book.disputes) == 0
    assert book.entity_currency == {"US01": "USD"}
    assert book.receipts["customer_id"].tolist() == ["C001", ""]
    assert str(book.documents["document_date"].dtype).startswith("datetime64")
    info = summary(book)
    assert info["rows"]["documents"] == 5 and info["first_date"] == "2026-07-01" and info["last_date"] == "2026-10-20"
    # 1000.00 + 500.00 - 100.00 + 250.50 + 75.25
    assert info["documents_total_by_currency"] == {"USD": "1725.75"}


def test_book_inputs_record_rows_and_hashes(mini_source):
    inputs = load_book(mini_source).inputs()
    assert inputs["documents.csv"]["rows"] == 5
    assert len(inputs["documents.csv"]["sha256"]) == 64


def test_missing_folder_is_one_problem(tmp_path):
    problems = validate_source(tmp_path / "nope")
    assert [p.rule for p in problems] == ["source_folder"]
    with pytest.raises(SourceError) as info:
        load_book(tmp_path / "nope")
    assert info.value.problems[0].rule == "source_folder"


def test_missing_required_table(tmp_path, mini_tables):
    del mini_tables["receipts"]
    problems = check(tmp_path, mini_tables)
    assert ("receipts.csv", None, None, "missing_table") in keyed(problems)


def test_optional_tables_may_be_absent(tmp_path, mini_tables):
    del mini_tables["adjustments"], mini_tables["entities"]
    assert check(tmp_path, mini_tables) == []


# ---------------------------------------------------------------- one test per rule


def test_missing_required_column(tmp_path, mini_tables):
    for row in mini_tables["documents"]:
        row["Due_Date"] = row.pop("due_date")
    problems = check(tmp_path, mini_tables)
    assert ("documents.csv", 1, "due_date", "missing_column") in keyed(problems)
    message = next(p.message for p in problems if p.rule == "missing_column")
    assert "lower-case" in message  # the hint names the near-miss header


def test_duplicate_column(tmp_path, mini_tables):
    src = write_source(tmp_path / "src", mini_tables)
    path = src / "receipts.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",amount"] + [line + ",1.00" for line in lines[1:]]) + "\n")
    assert ("receipts.csv", 1, "amount", "duplicate_column") in keyed(validate_source(src))


def test_duplicate_key(tmp_path, mini_tables):
    mini_tables["documents"].append(dict(doc(mini_tables, "D2"), description="again"))
    problems = check(tmp_path, mini_tables)
    dup = [p for p in problems if p.rule == "unique"]
    assert [(p.file, p.row, p.value) for p in dup] == [("documents.csv", 7, "D2")]
    assert "first seen on row 3" in dup[0].message


def test_bad_date(tmp_path, mini_tables):
    doc(mini_tables, "D2")["due_date"] = "2026-02-30"
    doc(mini_tables, "D4")["document_date"] = "05/10/2026"
    problems = check(tmp_path, mini_tables)
    assert {("documents.csv", 3, "due_date", "date"), ("documents.csv", 5, "document_date", "date")} <= keyed(problems)
    assert {p.value for p in problems if p.rule == "date"} == {"2026-02-30", "05/10/2026"}


def test_bad_enum(tmp_path, mini_tables):
    doc(mini_tables, "D4")["doc_type"] = "inv"
    mini_tables["customers"][1]["status"] = "dormant"
    problems = check(tmp_path, mini_tables)
    assert ("documents.csv", 5, "doc_type", "enum") in keyed(problems)
    assert ("customers.csv", 3, "status", "enum") in keyed(problems)


def test_risk_rating_range_and_integer(tmp_path, mini_tables):
    mini_tables["customers"][0]["risk_rating"] = "11"
    mini_tables["customers"][1]["risk_rating"] = "3.5"
    problems = check(tmp_path, mini_tables)
    assert {("customers.csv", 2, "risk_rating", "range"), ("customers.csv", 3, "risk_rating", "integer")} <= keyed(
        problems
    )


def test_required_cell_empty(tmp_path, mini_tables):
    doc(mini_tables, "D1")["amount"] = ""
    problems = check(tmp_path, mini_tables)
    # one problem for the empty cell, not a cascade of sign/over-application problems
    assert [(p.file, p.row, p.column, p.rule) for p in problems] == [("documents.csv", 2, "amount", "required")]


def test_foreign_key_to_unknown_customer(tmp_path, mini_tables):
    doc(mini_tables, "D4")["customer_id"] = "C999"
    mini_tables["receipts"][0]["customer_id"] = "C404"
    problems = check(tmp_path, mini_tables)
    assert ("documents.csv", 5, "customer_id", "foreign_key") in keyed(problems)
    assert ("receipts.csv", 2, "customer_id", "foreign_key") in keyed(problems)
    # the unidentified receipt R2 (empty customer) is allowed
    assert ("receipts.csv", 3, "customer_id", "foreign_key") not in keyed(problems)


def test_inv_negative_and_cm_positive(tmp_path, mini_tables):
    doc(mini_tables, "D2")["amount"] = "-500.00"
    doc(mini_tables, "D3")["amount"] = "100.00"
    problems = check(tmp_path, mini_tables)
    signs = [(p.row, p.value) for p in problems if p.rule == "sign"]
    # values as written in the file, not in minor units
    assert signs == [(3, "INV -500.00"), (4, "CM 100.00")]


def test_too_many_decimals_usd(tmp_path, mini_tables):
    doc(mini_tables, "D4")["amount"] = "250.505"
    problems = check(tmp_path, mini_tables)
    hit = [p for p in problems if p.rule == "currency_decimals"]
    assert [(p.file, p.row, p.column, p.value) for p in hit] == [("documents.csv", 5, "amount", "250.505")]
    assert "USD" in hit[0].message


def _with_entity(tables, entity, currency):
    tables["entities"].append({"entity": entity, "name": entity, "functional_currency": currency, "country": ""})
    tables["customers"].append(
        dict(tables["customers"][0], customer_id=f"C{entity}", credit_currency=currency, credit_limit="0")
    )


def test_too_many_decimals_jpy(tmp_path, mini_tables):
    _with_entity(mini_tables, "JP01", "JPY")
    mini_tables["documents"].append(
        dict(
            doc(mini_tables, "D2"),
            document_id="DJ1",
            entity="JP01",
            customer_id="CJP01",
            currency="JPY",
            amount="1500.5",
        )
    )
    mini_tables["documents"].append(
        dict(
            doc(mini_tables, "D2"), document_id="DJ2", entity="JP01", customer_id="CJP01", currency="JPY", amount="1500"
        )
    )
    problems = check(tmp_path, mini_tables)
    assert [(p.row, p.column, p.rule) for p in problems] == [(7, "amount", "currency_decimals")]


def test_kwd_three_decimals_accepted(tmp_path, mini_tables):
    _with_entity(mini_tables, "KW01", "KWD")
    mini_tables["documents"].append(
        dict(
            doc(mini_tables, "D2"),
            document_id="DK1",
            entity="KW01",
            customer_id="CKW01",
            currency="KWD",
            amount="1234.567",
        )
    )
    src = write_source(tmp_path / "src", mini_tables)
    assert validate_source(src) == []
    book = load_book(src)
    assert book.documents.set_index("document_id").at["DK1", "amount"] == 1234567  # fils
    assert book.entity_currency == {"US01": "USD", "KW01": "KWD"}
    mini_tables["documents"][-1]["amount"] = "1234.5678"
    assert [p.rule for p in check(tmp_path / "b", mini_tables)] == ["currency_decimals"]


def test_over_applied_receipt(tmp_path, mini_tables):
    # R1 is 600.00; A1 applies 600.00 to D1, a second application of 0.01 to D2 passes it
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-01", "source_id": "R1", "target_id": "D2", "amount": "0.01"}
    )
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) == {("applications.csv", 4, "amount", "over_applied_source")}
    assert "600.01" in problems[0].message and "600.00" in problems[0].message


def test_over_applied_credit_memo(tmp_path, mini_tables):
    # CM D3 is -100.00; A2 already uses 100.00 of it
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-03", "source_id": "D3", "target_id": "D2", "amount": "50.00"}
    )
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) == {("applications.csv", 4, "amount", "over_applied_source")}


def test_over_applied_invoice_target(tmp_path, mini_tables):
    # D2 is 500.00; R2 (40.00, unidentified) cannot push it past zero after 480.00 of R1... use a new receipt
    mini_tables["receipts"].append(dict(mini_tables["receipts"][0], receipt_id="R3", amount="700.00"))
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-03", "source_id": "R3", "target_id": "D2", "amount": "500.01"}
    )
    problems = check(tmp_path, mini_tables)
    assert ("applications.csv", 4, "amount", "over_applied_target") in keyed(problems)


def test_over_cleared_by_adjustment_and_application(tmp_path, mini_tables):
    # D1 1000.00 - applications 700.00 = 300.00 open; a write-off of 300.01 clears beyond it
    mini_tables["adjustments"].append(
        {
            "adjustment_id": "J2",
            "document_id": "D1",
            "adjustment_date": "2026-10-31",
            "type": "write_off",
            "amount": "-300.01",
            "reason_code": "x",
            "approved_by": "cfo",
            "approval_reference": "WO-2",
        }
    )
    problems = check(tmp_path, mini_tables)
    over = [p for p in problems if p.rule == "over_cleared"]
    assert [p.value for p in over] == ["D1"] and "-0.01" in over[0].message


def test_application_source_must_be_receipt_or_cm(tmp_path, mini_tables):
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-03", "source_id": "D2", "target_id": "D1", "amount": "1.00"}
    )
    mini_tables["applications"].append(
        {"application_id": "A4", "applied_date": "2026-10-03", "source_id": "NOPE", "target_id": "D1", "amount": "1.00"}
    )
    problems = check(tmp_path, mini_tables)
    assert {
        ("applications.csv", 4, "source_id", "foreign_key"),
        ("applications.csv", 5, "source_id", "foreign_key"),
    } <= keyed(problems)


def test_application_target_must_be_inv_or_dm(tmp_path, mini_tables):
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-21", "source_id": "R2", "target_id": "D3", "amount": "1.00"}
    )  # D3 is a CM
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) == {("applications.csv", 4, "target_id", "foreign_key")}


def test_application_currency_mismatch(tmp_path, mini_tables):
    mini_tables["entities"][0]["functional_currency"] = "USD"
    mini_tables["receipts"].append(dict(mini_tables["receipts"][0], receipt_id="R3", currency="EUR", amount="10.00"))
    mini_tables["applications"].append(
        {"application_id": "A3", "applied_date": "2026-10-03", "source_id": "R3", "target_id": "D2", "amount": "10.00"}
    )
    problems = check(tmp_path, mini_tables)
    hit = [p for p in problems if p.rule == "same_currency"]
    assert [(p.row, p.value) for p in hit] == [(4, "EUR -> USD")]


def test_applications_only_from_credit_memos(tmp_path, mini_tables):
    # No application comes from a receipt: the receipt look-ups find nothing at all.
    mini_tables["applications"] = [a for a in mini_tables["applications"] if a["source_id"] == "D3"]
    assert check(tmp_path, mini_tables) == []
    mini_tables["applications"][0]["amount"] = "100.01"  # CM D3 is -100.00
    assert [p.rule for p in check(tmp_path / "b", mini_tables)] == ["over_applied_source"]


def test_application_from_unknown_sources_only(tmp_path, mini_tables):
    for app in mini_tables["applications"]:
        app["source_id"] = "NOPE"
    assert [(p.row, p.rule) for p in check(tmp_path, mini_tables)] == [(2, "foreign_key"), (3, "foreign_key")]


def test_application_from_a_document_with_bad_doc_type(tmp_path, mini_tables):
    doc(mini_tables, "D3")["doc_type"] = ""  # found by fuzzing: crashed the source look-ups
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) == {
        ("documents.csv", 4, "doc_type", "required"),
        ("applications.csv", 3, "source_id", "foreign_key"),
    }


def test_application_amount_must_be_positive(tmp_path, mini_tables):
    mini_tables["applications"][0]["amount"] = "-600.00"
    problems = check(tmp_path, mini_tables)
    assert [(p.row, p.rule, p.value) for p in problems if p.rule == "sign"] == [(2, "sign", "-600.00")]


def test_gl_balances_duplicate_entity_period_account(tmp_path, mini_tables):
    mini_tables["gl_balances"].append(dict(mini_tables["gl_balances"][1], debit="1.00"))
    problems = check(tmp_path, mini_tables)
    hit = [p for p in problems if p.rule == "unique"]
    assert [(p.file, p.row, p.column, p.value) for p in hit] == [
        ("gl_balances.csv", 6, "entity+period+account", "US01 / 2026-10 / 1100")
    ]


def test_gl_negative_debit_and_bad_period(tmp_path, mini_tables):
    mini_tables["gl_balances"][0]["debit"] = "-640.00"
    mini_tables["gl_balances"][3]["period"] = "2026-13"
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) == {
        ("gl_balances.csv", 2, "debit", "non_negative"),
        ("gl_balances.csv", 5, "period", "period"),
    }
    assert next(p.value for p in problems if p.rule == "non_negative") == "-640.00"


def test_unknown_currency_is_reported_not_a_crash(tmp_path, mini_tables):
    mini_tables["receipts"][0]["currency"] = "XXX"
    mini_tables["applications"][0]["amount"] = "700.00"
    doc(mini_tables, "D2")["currency"] = "usd"
    problems = check(tmp_path, mini_tables)
    assert {("receipts.csv", 2, "currency", "currency"), ("documents.csv", 3, "currency", "currency")} <= keyed(
        problems
    )


def test_entity_in_two_currencies_without_entities_table(tmp_path, mini_tables):
    del mini_tables["entities"]
    mini_tables["gl_balances"][0]["currency"] = "EUR"
    problems = check(tmp_path, mini_tables)
    assert [p.rule for p in problems] == ["entity_currency"]
    assert "EUR in gl_balances.csv" in problems[0].message


def test_entity_must_exist_when_entities_given(tmp_path, mini_tables):
    doc(mini_tables, "D2")["entity"] = "XX99"
    assert ("documents.csv", 3, "entity", "foreign_key") in keyed(check(tmp_path, mini_tables))


# ---------------------------------------------------------------- every problem, listed


def test_several_problems_in_one_file_all_listed(tmp_path, mini_tables):
    doc(mini_tables, "D1")["document_date"] = "2026-8-1"
    doc(mini_tables, "D2")["doc_type"] = "XX"
    doc(mini_tables, "D4")["amount"] = "250.5O"  # letter O
    doc(mini_tables, "D5")["customer_id"] = "C404"
    mini_tables["receipts"][1]["amount"] = "0.00"
    problems = check(tmp_path, mini_tables)
    assert keyed(problems) >= {
        ("documents.csv", 2, "document_date", "date"),
        ("documents.csv", 3, "doc_type", "enum"),
        ("documents.csv", 5, "amount", "decimal"),
        ("documents.csv", 6, "customer_id", "foreign_key"),
        ("receipts.csv", 3, "amount", "sign"),
    }
    with pytest.raises(SourceError) as info:
        load_book(tmp_path / "src")
    assert len(info.value.problems) == len(problems)
    text = str(info.value)
    assert "documents.csv row 5, column amount" in text and "'250.5O'" in text


def test_many_bad_rows_are_capped_with_a_summary(tmp_path, mini_tables):
    base = mini_tables["customers"][0]
    extra = PROBLEMS_PER_RULE + 5
    mini_tables["customers"] += [dict(base, customer_id=f"X{i}", status="bogus") for i in range(extra)]
    problems = check(tmp_path, mini_tables)
    enum = [p for p in problems if p.rule == "enum"]
    assert len(enum) == PROBLEMS_PER_RULE + 1
    assert enum[-1].row is None and "5 more rows" in enum[-1].message


# ---------------------------------------------------------------- identifiers are text


def test_identifiers_keep_leading_zeros(tmp_path, mini_tables):
    ids = {"C001": "0120", "C002": "0007", "C003": "00"}
    for name in ("customers", "documents", "receipts"):
        for row in mini_tables[name]:
            for key in ("customer_id", "parent_id"):
                if row.get(key) in ids:
                    row[key] = ids[row[key]]
    for row in mini_tables["gl_balances"]:
        row["account"] = "0" + row["account"]
    src = write_source(tmp_path / "src", mini_tables)
    book = load_book(src)
    assert book.customers["customer_id"].tolist() == ["0120", "0007", "00"]
    assert book.customers["parent_id"].tolist() == ["", "0120", ""]
    assert book.documents["customer_id"].tolist()[:1] == ["0120"]
    assert book.gl_balances["account"].tolist() == ["01000", "01100", "02150", "04000"]


# ---------------------------------------------------------------- other formats


def _write_xlsx(folder: Path, tables: dict) -> Path:
    folder.mkdir(parents=True)
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = name
        sheet.append(list(frame.columns))
        for record in frame.itertuples(index=False):
            sheet.append([None if v == "" else v for v in record])
        book.save(folder / f"{name}.xlsx")
    return folder


def _write_parquet(folder: Path, tables: dict) -> Path:
    folder.mkdir(parents=True)
    for name, rows in tables.items():
        frame = pd.DataFrame(rows).astype(str)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / f"{name}.parquet")
    return folder


@pytest.mark.parametrize("writer", [_write_xlsx, _write_parquet])
def test_xlsx_and_parquet_load_like_csv(tmp_path, mini_tables, writer):
    csv_book = load_book(write_source(tmp_path / "csv", mini_tables))
    other = load_book(writer(tmp_path / "other", mini_tables))
    for name in ("customers", "documents", "receipts", "applications", "adjustments", "gl_balances"):
        pd.testing.assert_frame_equal(other.tables[name], csv_book.tables[name], check_dtype=True)


def test_xlsx_problems_use_spreadsheet_rows(tmp_path, mini_tables):
    doc(mini_tables, "D3")["amount"] = "100.00"
    problems = validate_source(_write_xlsx(tmp_path / "x", mini_tables))
    assert ("documents.xlsx", 4, "amount", "sign") in keyed(problems)


def test_mixed_formats_and_ambiguous_table(tmp_path, mini_tables):
    src = write_source(tmp_path / "src", mini_tables)
    (src / "receipts.csv").unlink()
    _write_parquet(tmp_path / "p", {"receipts": mini_tables["receipts"]})
    (tmp_path / "p" / "receipts.parquet").rename(src / "receipts.parquet")
    assert validate_source(src) == []
    write_source(src, {"receipts": mini_tables["receipts"]})  # now both receipts.csv and .parquet
    assert [p.rule for p in validate_source(src)] == ["ambiguous_table"]


# ---------------------------------------------------------------- robustness


NASTY = [
    "",
    " ",
    "abc",
    "-1",
    "0",
    "1e5",
    "0120",
    "2026-02-30",
    "2026-10-31",
    "XXX",
    "USD",
    "JPY",
    "INV",
    "CM",
    "1.2345",
    "-100.00",
    "999999999999999999999",
    "C001",
    "D1",
    "D3",
    "R1",
    "US01",
    "2026-13",
    "NaN",
]


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_corrupted_cell_gives_problems_not_a_crash(tmp_path_factory, data):
    import copy as _copy

    from tests.conftest import MINI

    tables = _copy.deepcopy(MINI)
    for _ in range(data.draw(st.integers(1, 6))):
        name = data.draw(st.sampled_from(sorted(tables)))
        row = data.draw(st.sampled_from(tables[name]))
        column = data.draw(st.sampled_from(sorted(row)))
        row[column] = data.draw(st.sampled_from(NASTY))
    src = write_source(tmp_path_factory.mktemp("fuzz"), tables)
    problems = validate_source(src)  # must not raise
    for p in problems:
        assert p.file.endswith(".csv") and p.rule and p.message
        assert p.row is None or p.row >= 2
    if not problems:
        load_book(src)


# ---------------------------------------------------------------- issue 17: overflow, edge dates, ragged rows


def test_amounts_whose_sum_could_pass_int64_are_a_problem_not_a_wraparound(tmp_path, mini_tables):
    # 100 invoices of 999,999,999,999,999.99: each fits int64, their int64 sum wrapped negative
    base = doc(mini_tables, "D2")
    mini_tables["documents"] += [dict(base, document_id=f"B{i}", amount="999999999999999.99") for i in range(100)]
    problems = check(tmp_path, mini_tables)
    assert [(p.file, p.row, p.column, p.rule) for p in problems] == [("documents.csv", None, "amount", "total_range")]
    assert "1.000e+19" in problems[0].message and "overflow" in problems[0].message
    # large amounts whose total stays within 10**17 minor units are fine
    mini_tables["documents"] = mini_tables["documents"][:5] + [
        dict(base, document_id=f"B{i}", amount="9999999999999.99") for i in range(50)
    ]
    assert check(tmp_path / "fine", mini_tables) == []


@pytest.mark.parametrize("year", ["0001", "1899", "2200", "9999"])
def test_dates_outside_1900_2199_are_a_problem_not_a_traceback(tmp_path, mini_tables, year):
    doc(mini_tables, "D1")["document_date"] = f"{year}-08-01"
    doc(mini_tables, "D2")["due_date"] = f"{year}-10-01"
    mini_tables["gl_balances"][0]["period"] = f"{year}-10"
    problems = check(tmp_path, mini_tables)
    assert {
        ("documents.csv", 2, "document_date", "date_range"),
        ("documents.csv", 3, "due_date", "date_range"),
        ("gl_balances.csv", 2, "period", "period_range"),
    } <= keyed(problems)
    assert f"{year}-08-01" in {p.value for p in problems}
    assert not [p for p in problems if p.rule == "date"]  # one problem per cell, the right one


def test_a_ragged_csv_row_is_named_by_its_row(tmp_path, mini_tables):
    src = write_source(tmp_path / "src", mini_tables)
    with open(src / "documents.csv", "a", encoding="utf-8") as out:
        out.write("D9,C001,US01,INV,2026-10-01\n")  # row 7: 5 fields of 10
        out.write('D10,C001,US01,INV,2026-10-01,2026-10-31,USD,"1.00",,x,extra\n')  # row 8: 11
    problems = validate_source(src)
    assert [(p.file, p.row, p.rule) for p in problems] == [
        ("documents.csv", 7, "columns"),
        ("documents.csv", 8, "columns"),
    ]
    assert problems[0].message == "5 fields where the header has 10"
    assert problems[0].value == "D9,C001,US01,INV,2026-10-01"


def test_a_huge_cell_is_not_echoed_whole(tmp_path, mini_tables):
    doc(mini_tables, "D1")["amount"] = "9" * 1_000_000
    problems = check(tmp_path, mini_tables)
    bad = [p for p in problems if p.column == "amount" and p.row == 2]
    assert bad and len(bad[0].value) < 300 and "1,000,000 characters" in bad[0].value


def test_an_fx_rate_with_a_huge_exponent_is_a_problem_not_infinity(tmp_path, mini_tables):
    rate = {"rate_date": "2026-10-31", "currency": "SGD", "functional_currency": "USD"}
    mini_tables["fx_rates"] = [dict(rate, rate="1e999"), dict(rate, currency="EUR", rate="1.0850")]
    problems = check(tmp_path, mini_tables)
    assert [(p.file, p.row, p.column, p.rule, p.value) for p in problems] == [
        ("fx_rates.csv", 2, "rate", "rate", "1e999")
    ]


@pytest.mark.parametrize(
    "column",
    [c for t in TABLES.values() for c in t.columns if c.kind != "money"],
    ids=lambda c: f"{c.name}:{c.kind}",
)
def test_absent_column_parses_as_its_empty_cells(column):
    """An optional column left out is parsed once, as one empty cell, and spread: the same
    values (and problems) as parsing every empty cell."""
    index = pd.RangeIndex(4)
    ours, theirs = Collector(), Collector()
    spread = _parse_absent(column, index, "t.csv", ours)
    full = _parse_column(column, pd.Series("", index=index, dtype="str"), "t.csv", theirs)
    pd.testing.assert_series_equal(spread, full)
    assert ours.problems == theirs.problems
