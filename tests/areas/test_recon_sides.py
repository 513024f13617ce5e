"""The coded sides of the reconciliation (recon/sides.py), the items aggregated on integer keys
and the correcting journals, pinned on hand-checkable cases (MINI's postings, see test_recon)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas import recon
from closelib.areas.recon.classes import ItemPolicy, correcting_journals
from closelib.areas.recon.items import reconciling_items
from closelib.areas.recon.sides import KINDS, ledger_sides
from closelib.periods import Period
from tests.areas.test_recon import book_with, mini_journal, params, posting  # noqa: F401 (fixture)


def test_sides_hold_codes_and_read_back_the_text(tmp_path, params):  # noqa: F811
    book = book_with(tmp_path)
    policy = recon.GLPolicy.from_params(params)
    sides = ledger_sides(book, policy)
    effects = sides.effects
    # no text column in the millions-of-rows frames: codes, a category, dates and money
    assert list(effects.columns) == ["_ent", "_ref", "kind", "date", "control", "unapplied"]
    assert effects["kind"].dtype == "category" and list(effects["kind"].cat.categories) == list(KINDS)
    assert sides.lines is not None and "reference" not in sides.lines.columns
    read = sides.effect_frame(np.ones(len(effects), dtype=bool))
    # D1 invoice 1,000.00; R1 receipt 600 (unapplied +600, control 0: unapplied cash is its own account)
    d1 = read[read["reference"] == "D1"].iloc[0]
    assert (d1["entity"], d1["kind"], d1["control"], d1["unapplied"]) == ("US01", "invoices and debit memos", 100000, 0)
    r1 = read[read["reference"] == "R1"].iloc[0]
    assert (r1["kind"], r1["control"], r1["unapplied"]) == ("cash received", 0, 60000)
    a1 = read[read["reference"] == "A1"].iloc[0]
    assert (a1["kind"], a1["control"], a1["unapplied"]) == ("cash applied", -60000, -60000)
    # a GL line and the effect with the same reference share its code
    lines = sides.line_frame(np.ones(len(sides.lines), dtype=bool))
    d4_line = lines[(lines["reference"] == "D4") & (lines["account"] == "1100")].iloc[0]
    d4_effect = effects["_ref"].to_numpy()[(read["reference"] == "D4").to_numpy()][0]
    assert d4_line["_ref"] == d4_effect and KINDS[sides.first_kind[d4_effect]] == "invoices and debit memos"
    assert d4_line["control"] == 25050 and d4_line["unapplied"] == 0
    # period masks read the GL's YYYY-MM text: 2026-10 and earlier, and 2026-10 alone
    periods = book.gl_journal["period"].to_numpy()[sides.lines["_row"].to_numpy()]
    assert (sides.upto(Period(2026, 9)) == (periods <= "2026-09")).all()
    assert (sides.in_period(Period(2026, 10)) == (periods == "2026-10")).all()
    assert sides.entity_code("US01") >= 0 and sides.entity_code("nobody") == -2


def test_a_split_posting_is_summed_by_reference_with_its_first_journal_and_period(tmp_path, params):  # noqa: F811
    # A1 (600.00 applied in September) posted as two halves: one in September, one in November.
    journal = [r for r in mini_journal() if r["reference"] != "A1"]
    journal += posting("B-A1a", "2026-09", "2026-09-10", "A1", "2150", "1100", "300.00")
    journal += posting("B-A1b", "2026-11", "2026-11-02", "A1", "2150", "1100", "300.00")
    book = book_with(tmp_path, journal)
    policy = recon.GLPolicy.from_params(params)
    items = reconciling_items(book, Period(2026, 10), policy, recon.CONTROL, ledger_sides(book, policy))
    assert len(items) == 1
    item = items.iloc[0]
    # to October the GL relieved 300.00 of the 600.00: GL minus subledger is +300.00
    assert item["cause"] == "posted amount differs from the subledger" and item["amount"] == 30000
    assert (item["journal_id"], item["gl_period"], item["kind"]) == ("B-A1a", "2026-09", "cash applied")
    assert item["posted_on"] == pd.Timestamp("2026-09-10") and item["subledger_date"] == pd.Timestamp("2026-09-10")


def test_correcting_journals_one_per_transaction_numbered_per_entity(params):  # noqa: F811
    policy = recon.GLPolicy.from_params(params)
    item_policy = ItemPolicy.from_params(params)
    columns = ["entity", "reference", "cause", "kind", "amount"]
    items = pd.DataFrame(
        [
            ("US01", "D9", "not posted to the GL", "invoices and debit memos", -25000),
            ("US01", "A1", "not posted to the GL", "cash applied", 60000),
            ("GB01", "D2", "posted amount differs from the subledger", "invoices and debit memos", 1000),
            ("US01", "MJ", "manual journal", "", 500),  # not proposed for: no journal
        ],
        columns=columns,
    )
    unapplied = pd.DataFrame([("US01", "A1", "not posted to the GL", "cash applied", 60000)], columns=columns)
    frame, proposed = correcting_journals(items, unapplied, policy, item_policy, Period(2026, 10), lambda e: "USD")
    # (entity, reference) order: GB01 D2; US01 A1, D9 (numbered per entity)
    assert proposed == {
        ("GB01", "D2"): "TBC-GB01-2026-10-001",
        ("US01", "A1"): "TBC-US01-2026-10-001",
        ("US01", "D9"): "TBC-US01-2026-10-002",
    }
    got = [(r.journal_id, r.account, r.debit, r.credit) for r in frame.itertuples()]
    assert got == [
        # GB01 D2: the GL has 10.00 more than the invoice: credit AR, debit revenue
        ("TBC-GB01-2026-10-001", "1100", 0, 1000),
        ("TBC-GB01-2026-10-001", "4000", 1000, 0),
        # A1 never posted: AR credited and unapplied cash debited 600.00; nothing to offset
        ("TBC-US01-2026-10-001", "1100", 0, 60000),
        ("TBC-US01-2026-10-001", "2150", 60000, 0),
        # D9 never posted: AR debited 250.00 against revenue
        ("TBC-US01-2026-10-002", "1100", 25000, 0),
        ("TBC-US01-2026-10-002", "4000", 0, 25000),
    ]
    assert (
        frame["description"].iloc[0]
        == "Correct D2 (invoices and debit memos): posted amount differs from the subledger"
    )
    assert (frame.groupby("journal_id")["debit"].sum() == frame.groupby("journal_id")["credit"].sum()).all()


def test_batch_postings_that_net_by_entity_and_day_are_dropped_on_codes():
    from closelib.areas.recon.items import _batch_explained

    not_posted, no_tx = "not posted to the GL", "GL subledger line with no subledger transaction"
    day1, day2, nat = np.datetime64("2026-10-05"), np.datetime64("2026-10-06"), np.datetime64("NaT")
    at = np.datetime64("2026-10-05T17:30")  # a batch posted late in the day nets with that day's transactions
    cause = np.array([not_posted, not_posted, no_tx, not_posted, no_tx, no_tx, not_posted, "manual journal"])
    entity = np.array([0, 0, 0, 0, 0, 1, 0, 0])
    subledger = np.array([day1, day1, nat, day2, nat, nat, nat, day1], dtype="datetime64[ns]")
    posted = np.array([nat, nat, at, nat, day2, at, nat, at], dtype="datetime64[ns]")
    amount = np.array([-10000, -5000, 15000, -3000, 2000, 15000, -700, 400])
    dropped = _batch_explained(entity, cause, subledger, posted, amount)
    # day 1, entity 0: 100.00 + 50.00 not posted, one 150.00 batch line: explained; day 2 nets to
    # -10.00 and stays in full; entity 1's batch line has no transactions; an undated row and a
    # manual journal are never batch-explained
    assert dropped.tolist() == [True, True, True, False, False, False, False, False]
