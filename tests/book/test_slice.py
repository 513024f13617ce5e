"""An entity's share of a book (parameter ``entities``): hand-checked rows, and properties."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.book.model import Book
from closelib.book.slice import entity_problems, entity_slice
from closelib.errors import ParameterError

# Two entities. D1 (US01) is paid by R1 and has an instalment schedule; D2 (SG01) is paid by R2,
# credited by CM D3 (SG01) and adjusted; X1 disputes D1, X2 disputes D2, X3 names no document;
# activity T1 is about D2, T2 about no document.
TABLES = {
    "entities": [("US01", "USD"), ("SG01", "SGD")],
    "customers": ["C1", "C2"],
    "documents": [("D1", "C1", "US01"), ("D2", "C2", "SG01"), ("D3", "C2", "SG01")],
    "receipts": [("R1", "C1", "US01"), ("R2", "C2", "SG01")],
    "applications": [("A1", "R1", "D1"), ("A2", "R2", "D2"), ("A3", "D3", "D2")],
    "adjustments": [("J1", "D2")],
    "payment_schedules": [("D1", 1), ("D1", 2)],
    "disputes": [("X1", "C1", "D1"), ("X2", "C2", "D2"), ("X3", "C1", "")],
    "activities": [("T1", "C2", "D2"), ("T2", "C1", "")],
    "gl_balances": [("US01", "1100"), ("SG01", "1100"), ("SG01", "2150")],
    "gl_journal": [("US01", "G1"), ("SG01", "G2")],
    "financials": ["C1"],
}


def two_entity_book() -> Book:
    t = TABLES
    frames = {
        "entities": pd.DataFrame(t["entities"], columns=["entity", "functional_currency"]),
        "customers": pd.DataFrame({"customer_id": t["customers"]}),
        "documents": pd.DataFrame(t["documents"], columns=["document_id", "customer_id", "entity"]),
        "receipts": pd.DataFrame(t["receipts"], columns=["receipt_id", "customer_id", "entity"]),
        "applications": pd.DataFrame(t["applications"], columns=["application_id", "source_id", "target_id"]),
        "adjustments": pd.DataFrame(t["adjustments"], columns=["adjustment_id", "document_id"]),
        "payment_schedules": pd.DataFrame(t["payment_schedules"], columns=["document_id", "instalment"]),
        "disputes": pd.DataFrame(t["disputes"], columns=["case_id", "customer_id", "document_id"]),
        "activities": pd.DataFrame(t["activities"], columns=["activity_id", "customer_id", "document_id"]),
        "gl_balances": pd.DataFrame(t["gl_balances"], columns=["entity", "account"]),
        "gl_journal": pd.DataFrame(t["gl_journal"], columns=["entity", "journal_id"]),
        "financials": pd.DataFrame({"customer_id": t["financials"]}),
    }
    return Book(Path("book"), frames, {}, frozenset(frames), {"US01": "USD", "SG01": "SGD"})


def ids(book: Book, table: str) -> list:
    return book.tables[table].iloc[:, 0].tolist()


def test_us01_sees_its_rows_and_the_groups_tables_whole():
    us = entity_slice(two_entity_book(), ["US01"])
    assert us.entities == ["US01"] and us.entity_currency == {"US01": "USD"}
    assert ids(us, "entities") == ["US01"]
    assert ids(us, "documents") == ["D1"]
    assert ids(us, "receipts") == ["R1"]
    assert ids(us, "applications") == ["A1"]
    assert ids(us, "adjustments") == []
    assert us.payment_schedules["instalment"].tolist() == [1, 2]
    assert ids(us, "disputes") == ["X1", "X3"]  # X3 names no document: the customer's, kept
    assert ids(us, "activities") == ["T2"]
    assert us.gl_balances["account"].tolist() == ["1100"]
    assert ids(us, "gl_journal") == ["US01"]
    assert ids(us, "customers") == ["C1", "C2"]  # a customer may trade with every entity
    assert ids(us, "financials") == ["C1"]


def test_sg01_keeps_the_credit_memo_applied_within_it():
    sg = entity_slice(two_entity_book(), ["SG01"])
    assert ids(sg, "documents") == ["D2", "D3"]
    assert ids(sg, "applications") == ["A2", "A3"]
    assert ids(sg, "adjustments") == ["J1"]
    assert ids(sg, "payment_schedules") == []
    assert ids(sg, "disputes") == ["X2", "X3"]
    assert ids(sg, "activities") == ["T1", "T2"]
    assert sg.gl_balances["account"].tolist() == ["1100", "2150"]


def test_sliced_tables_are_numbered_from_zero_like_a_read_table():
    sg = entity_slice(two_entity_book(), ["SG01"])
    assert sg.documents.index.tolist() == [0, 1]


def test_no_entities_parameter_is_the_book_itself():
    book = two_entity_book()
    assert entity_slice(book, None) is book


def test_both_entities_are_the_whole_book_and_the_original_is_untouched():
    book = two_entity_book()
    both = entity_slice(book, ["SG01", "US01"])
    for name, frame in book.tables.items():
        pd.testing.assert_frame_equal(both.tables[name], frame)
    assert both is not book and len(book.documents) == 3


def test_an_unknown_entity_is_named_with_the_books_entities():
    with pytest.raises(ParameterError) as caught:
        entity_slice(two_entity_book(), ["US01", "DE01", "XX"])
    assert caught.value.problems == [
        "entities: 'DE01' is not an entity of the book (it has SG01, US01)",
        "entities: 'XX' is not an entity of the book (it has SG01, US01)",
    ]


def test_an_empty_list_is_refused():
    assert entity_problems([], ["US01"]) == [
        "entities: name at least one entity, or leave the parameter out to close every entity"
    ]
    with pytest.raises(ParameterError):
        entity_slice(two_entity_book(), [])


# A random group: documents and receipts spread over entities, applications within an entity
# (as the rule same_entity guarantees in a validated book), adjustments on random documents.
ENTITIES = ["E1", "E2", "E3"]


@st.composite
def group_books(draw) -> Book:
    doc_entities = draw(st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=12))
    rec_entities = draw(st.lists(st.sampled_from(ENTITIES), max_size=8))
    documents = pd.DataFrame(
        {"document_id": [f"D{i}" for i in range(len(doc_entities))], "entity": doc_entities, "customer_id": "C"}
    )
    receipts = pd.DataFrame(
        {"receipt_id": [f"R{i}" for i in range(len(rec_entities))], "entity": rec_entities, "customer_id": "C"}
    )
    apps = []
    for i, (rid, entity) in enumerate(zip(receipts["receipt_id"], rec_entities, strict=True)):
        targets = documents.loc[documents["entity"] == entity, "document_id"].tolist()
        if targets:
            apps.append((f"A{i}", rid, draw(st.sampled_from(targets))))
    adjustments = [
        (f"J{i}", draw(st.sampled_from(documents["document_id"].tolist()))) for i in range(draw(st.integers(0, 5)))
    ]
    disputes = [
        (f"X{i}", "C", draw(st.sampled_from(["", *documents["document_id"]]))) for i in range(draw(st.integers(0, 5)))
    ]
    frames = {
        "entities": pd.DataFrame({"entity": ENTITIES, "functional_currency": "USD"}),
        "customers": pd.DataFrame({"customer_id": ["C"]}),
        "documents": documents,
        "receipts": receipts,
        "applications": pd.DataFrame(apps, columns=["application_id", "source_id", "target_id"]),
        "adjustments": pd.DataFrame(adjustments, columns=["adjustment_id", "document_id"]),
        "disputes": pd.DataFrame(disputes, columns=["case_id", "customer_id", "document_id"]),
        "gl_balances": pd.DataFrame({"entity": ENTITIES, "account": "1100"}),
    }
    return Book(Path("book"), frames, {}, frozenset(frames), dict.fromkeys(ENTITIES, "USD"))


@settings(max_examples=60, deadline=None)
@given(group_books())
def test_the_entities_slices_share_out_every_entity_row_exactly_once(book):
    slices = [entity_slice(book, [e]) for e in ENTITIES]
    for table, key in (
        ("documents", "document_id"),
        ("receipts", "receipt_id"),
        ("applications", "application_id"),
        ("adjustments", "adjustment_id"),
        ("gl_balances", "entity"),
    ):
        shared = sorted(x for s in slices for x in s.tables[table][key])
        assert shared == sorted(book.tables[table][key]), table
    # a dispute naming a document goes with it; one naming none is in every slice
    for s in slices:
        named = s.disputes[s.disputes["document_id"] != ""]
        assert set(named["document_id"]) <= set(s.documents["document_id"])
        assert (s.disputes["document_id"] == "").sum() == (book.disputes["document_id"] == "").sum()
    # every application kept has its source (receipt) in the same slice
    for s in slices:
        assert set(s.applications["source_id"]) <= set(s.receipts["receipt_id"])


@settings(max_examples=40, deadline=None)
@given(group_books(), st.sets(st.sampled_from(ENTITIES), min_size=1))
def test_slicing_a_slice_is_slicing_the_book(book, chosen):
    first = sorted(chosen)[0]
    twice = entity_slice(entity_slice(book, sorted(chosen)), [first])
    once = entity_slice(book, [first])
    for name in book.tables:
        pd.testing.assert_frame_equal(twice.tables[name], once.tables[name])
