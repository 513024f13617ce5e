"""The demo group (``close demo --entities N``): more entities, each a book of its own, one
contract-valid source folder."""

from __future__ import annotations

import pandas as pd
import pytest

from closelib.book.load import load_book
from closelib.demo import generate_book, write_book
from closelib.demo.group import group_entities, write_group
from closelib.errors import CloseError

SEED, SCALE, END = 7, 0.25, "2026-10"


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    folder = tmp_path_factory.mktemp("group3")
    written, rows = write_group(SEED, SCALE, END, 3, folder, "parquet")
    return {"folder": folder, "written": written, "rows": rows, "book": load_book(folder)}


def test_entity_codes_come_in_pairs():
    assert group_entities(1) == ["US01"]
    assert group_entities(2) == ["US01", "SG01"]
    assert group_entities(5) == ["US01", "SG01", "US02", "SG02", "US03"]
    for bad in (0, 19, 2.5, "3"):
        with pytest.raises(CloseError, match="demo entities"):
            group_entities(bad)


def test_group_meets_the_contract_with_the_entities_asked_for(group):
    book = group["book"]  # load_book raises SourceError listing every broken rule
    entities = book.tables["entities"]
    assert list(entities["entity"]) == ["US01", "SG01", "US02"]
    assert entities["name"].is_unique  # each entity a legal entity of its own
    documents = book.tables["documents"]
    assert set(documents["entity"]) == {"US01", "SG01", "US02"}
    assert group["rows"]["documents"] == len(documents)


def test_first_pair_is_the_plain_demo_book(group, tmp_path):
    """Entities US01 and SG01 of a group are the two-entity demo book, row for row."""
    plain = load_book(_plain(tmp_path)).tables["documents"]
    documents = group["book"].tables["documents"]
    first = documents[documents["entity"].isin(["US01", "SG01"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, plain.reset_index(drop=True))


def _plain(folder):
    write_book(generate_book(SEED, SCALE, END), folder, fmt="parquet")
    return folder


def test_later_pairs_have_customers_of_their_own(group):
    book = group["book"]
    documents = book.tables["documents"]
    us02 = set(documents.loc[documents["entity"] == "US02", "customer_id"])
    first = set(documents.loc[documents["entity"].isin(["US01", "SG01"]), "customer_id"])
    assert us02 and not us02 & first
    assert all(c.startswith("C2") and len(c) == 8 for c in us02)
    # the dropped SG02's customers left with it: every customer is billed or is a group parent
    customers = book.tables["customers"]
    parents = set(customers["parent_id"].dropna())
    billed = set(documents["customer_id"])
    assert set(customers["customer_id"]) <= billed | parents


def test_pairs_share_the_group_rates_written_once(group):
    rates = group["book"].tables["fx_rates"]
    assert not rates.duplicated(["rate_date", "currency", "functional_currency"]).any()
    plain_rates = generate_book(SEED, SCALE, END)["fx_rates"]
    assert len(rates) == len(plain_rates)


def test_csv_and_parquet_groups_hold_the_same_book(group, tmp_path):
    write_group(SEED, SCALE, END, 3, tmp_path, "csv")
    from_csv = load_book(tmp_path).tables
    for name, frame in group["book"].tables.items():
        pd.testing.assert_frame_equal(from_csv[name], frame, check_dtype=False, obj=name)
