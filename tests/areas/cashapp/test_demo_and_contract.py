"""The demo close's planted unapplied cash is matched by the rule that should match it, and the
optional receipts columns (``remittance``, ``payer_name``) are optional."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from closelib.areas.cashapp import candidates, match, report
from closelib.book.load import load_book
from closelib.demo import DEFAULT_END, DEFAULT_SEED, generate_book_with_notes, write_book
from closelib.nb.excel import read_cells
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tables, planted = generate_book_with_notes(DEFAULT_SEED, 1.0, DEFAULT_END)
    folder = tmp_path_factory.mktemp("cashapp") / "book"
    write_book(tables, folder)
    book = load_book(folder)
    period = Period.parse(DEFAULT_END)
    policy = candidates.Policy.from_params(load_parameters(period, PARAMETERS_DIR))
    src, tgt = candidates.sources(book, period), candidates.targets(book, period)
    result = match.propose(src, tgt, book.customers, policy)
    return {"tables": tables, "planted": planted, "folder": folder, "book": book, "result": result, "period": period}


def test_every_rule_is_planted(demo):
    assert {case["rule"] for case in demo["planted"]["cash_application"]} == set(match.RULES)


def test_planted_unapplied_cash_is_matched_by_the_rule_that_should_match_it(demo):
    result = demo["result"]
    proposals = report.proposal_table(result, demo["period"])
    docs = demo["book"].documents.set_index("document_id")
    for case in demo["planted"]["cash_application"]:
        mine = proposals[proposals["source_id"] == case["receipt_id"]]
        assert set(mine["rule"]) == {case["rule"]}, case
        if sorted(mine["target_id"]) != case["documents"] and case["rule"] in ("exact_amount", "combination"):
            # recurring bills make equal amounts common: an amount rule takes the oldest documents
            # that fit, which may be other (older) documents of the same customer for the same sums
            chosen, planted = (docs.loc[sorted(ids)] for ids in (mine["target_id"], case["documents"]))
            assert sorted(chosen["amount"]) == sorted(planted["amount"]), case
            assert set(chosen["customer_id"]) == set(planted["customer_id"]), case
            assert chosen["document_date"].max() <= planted["document_date"].max(), case
            continue
        assert sorted(mine["target_id"]) == case["documents"], case
    adjustments = report.adjustment_table(result)
    kinds = {c["receipt_id"]: c["detail"] for c in demo["planted"]["cash_application"] if c["rule"] == "tolerance"}
    assert dict(zip(adjustments["source_id"], adjustments["kind"], strict=True)) == kinds


def test_demo_receipts_carry_remittance_clean_mangled_and_absent(demo):
    receipts = demo["book"].receipts
    text = receipts["remittance"]
    assert (text == "").any() and text.str.contains(r"\b[A-Z]{2}\d{2}-INV-\d{7}\b").any()
    assert text.str.contains(r"(?:^|[ ,])INV-\d{7}").any()  # prefix left out
    assert (receipts["payer_name"] != "").all()


def test_receipts_without_the_optional_columns_still_load(demo, tmp_path):
    for path in demo["folder"].iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    receipts = pd.read_csv(tmp_path / "receipts.csv", dtype=str, keep_default_na=False)
    receipts.drop(columns=["remittance", "payer_name"]).to_csv(tmp_path / "receipts.csv", index=False)
    book = load_book(tmp_path)
    assert (book.receipts["remittance"] == "").all() and (book.receipts["payer_name"] == "").all()


def test_upload_is_the_applications_layout_and_the_pack_is_formula_safe(demo, tmp_path):
    result = demo["result"]
    proposals = report.proposal_table(result, demo["period"])
    path = report.write_upload(tmp_path / "cash_application.csv", proposals)
    upload = pd.read_csv(path, dtype=str)
    assert list(upload.columns) == ["application_id", "applied_date", "source_id", "target_id", "amount"]
    assert upload["application_id"].is_unique and (upload["applied_date"] == "2026-10-31").all()
    assert upload["amount"].str.fullmatch(r"\d+\.\d{2}").all()  # exact decimal text, USD and SGD
    work = report.worklist(result)
    work.loc[work.index[0], "payer_name"] = '=HYPERLINK("http://x")'
    pack = report.write_pack(
        tmp_path / "cash_application.xlsx",
        report.by_rule(result, proposals),
        proposals,
        report.adjustment_table(result),
        work,
        demo["period"],
    )
    sheet = load_workbook(pack)["Worklist"]
    found = [c for row in sheet.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")']
    assert found and all(c.data_type == "s" and c.quotePrefix for c in found)  # text, never a formula
    assert "Proposals" in read_cells(pack)


def test_figures_tie_and_count(demo):
    result = demo["result"]
    proposals = report.proposal_table(result, demo["period"])
    figures = report.entity_figures(result, proposals, demo["book"].entity_currency)
    for entity, f in figures.items():
        assert f["unapplied_before"] + f["credit_memos_before"] == f["proposed_amount"] + f["unmatched_amount"]
        assert f["proposed_count"] == int((proposals["entity"] == entity).sum())  # every currency
        assert 0 < f["match_rate"] <= 1
