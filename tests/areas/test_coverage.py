"""Every entity accounted for: a line for each entity a table has nothing for."""

from __future__ import annotations

import pandas as pd

from closelib.areas import coverage
from closelib.areas.collections.conclusion import conclusion as collections_conclusion
from closelib.areas.writeoff.pack import conclusion as write_off_conclusion


def test_absent_entities_get_a_line_each_in_the_books_order():
    frame = pd.DataFrame({"entity": ["SG01", "SG01"], "amount": [1, 2]})
    entities = ["JP01", "SG01", "US01"]
    assert coverage.absent(frame, entities) == ["JP01", "US01"]
    assert coverage.absent_lines(frame, entities, "no write-off candidates this period") == (
        "JP01: no write-off candidates this period.  \nUS01: no write-off candidates this period."
    )
    assert coverage.absent_lines(frame, entities, {"JP01": "no journal: nothing to true up"}) == (
        "JP01: no journal: nothing to true up.  \nUS01: nothing to report."
    )


def test_an_empty_table_accounts_for_every_entity_and_a_full_one_for_none():
    empty = pd.DataFrame(columns=["entity", "amount"])
    assert coverage.absent(empty, ["SG01", "US01"]) == ["SG01", "US01"]
    assert coverage.absent(pd.DataFrame(), ["US01"]) == ["US01"]  # no entity column at all
    full = pd.DataFrame({"entity": ["SG01", "US01"]})
    assert coverage.say_absent(full, ["SG01", "US01"], "nothing") == ""


def test_write_off_conclusion_names_an_entity_with_no_candidates():
    customers = pd.DataFrame(
        {
            "entity": ["US01"],
            "currency": ["USD"],
            "documents": [2],
            "total": [12000],
            "reserve_held": [5000],
            "pnl_effect": [7000],
            "approver": ["cfo"],
        }
    )
    held = pd.DataFrame({"entity": ["SG01"]})
    text = write_off_conclusion(customers, held, pd.DataFrame(), lambda m, c: f"{m / 100:.2f}", ["SG01", "US01"])
    assert text.startswith("**SG01**: no write-off candidates this period (1 document(s) meeting the criteria")
    assert "**US01**: 2 document(s) of 1 customer(s), 120.00 USD" in text
    assert write_off_conclusion(customers.iloc[0:0], held.iloc[0:0], pd.DataFrame(), str, ["US01"]) == (
        "**US01**: no write-off candidates this period."
    )


def test_collections_conclusion_names_an_entity_with_no_activity():
    now = pd.DataFrame(
        {"dso": [41.0], "cei": [88.0], "past_due_ratio": [0.25]}, index=pd.Index(["US01"], name="entity")
    )
    queue = pd.DataFrame(columns=["entity", "action"])
    cases = pd.DataFrame(columns=["breached"])
    text = collections_conclusion(now, queue, cases, cases, str, ["SG01", "US01"])
    assert text.startswith("**SG01**: no receivables, sales or receipts this period: no KPI and no dunning action.")
    assert "**US01**: DSO 41.0 days" in text
