"""Never over-apply: across all rules together, no receipt or credit memo is applied beyond what
it has, and no document beyond what it owes (applications and proposed adjustments together)."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.areas.cashapp import match
from closelib.areas.cashapp.allocate import Ledger, over_applied
from tests.areas.cashapp.frames import CUSTOMERS, POLICY, document, receipt, sources, targets

AMOUNTS = st.sampled_from([100_00, 150_00, 250_00, 975_00, 1_000_00, 1_000_00 - 25_00, 2_000_00, 5_000_00 - 45_00])


@st.composite
def books(draw):
    n_docs = draw(st.integers(1, 14))
    docs = [
        document(
            f"US01-INV-{i:07d}",
            draw(AMOUNTS),
            customer=draw(st.sampled_from(["C1", "C2", "C3"])),
            day=f"2026-{draw(st.integers(1, 9)):02d}-01",
        )
        for i in range(n_docs)
    ]
    rows = []
    for j in range(draw(st.integers(1, 10))):
        named = draw(st.lists(st.integers(0, n_docs - 1), max_size=3))
        style = draw(st.sampled_from(["exact", "mangled", "none"]))
        text = ", ".join((f"US01-INV-{k:07d}" if style == "exact" else f"INV {k}") for k in named if style != "none")
        amount = draw(st.one_of(AMOUNTS, st.builds(lambda a, b: a + b, AMOUNTS, AMOUNTS)))
        kind = draw(st.sampled_from(["receipt", "receipt", "credit memo"]))
        customer = (
            draw(st.sampled_from(["C1", "C2", "C3", ""])) if kind == "receipt" else draw(st.sampled_from(["C1", "C2"]))
        )
        payer = draw(st.sampled_from(["", "ACME DATA CENTERS", "BOREALIS CLOUD", "SOMEONE ELSE"]))
        rows.append(receipt(f"R{j}", amount, customer=customer, remittance=text, payer=payer, kind=kind))
    return sources(*rows), targets(*docs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_proposals_never_over_apply(book):
    src, tgt = book
    result = match.propose(src, tgt, CUSTOMERS, POLICY)
    lines, adj = result.lines, result.adjustments
    assert (lines["amount"] > 0).all() and (adj["amount"] > 0).all()
    by_source = lines.groupby("src")["amount"].sum().reindex(range(len(src)), fill_value=0).to_numpy()
    by_target = (
        pd.concat([lines[["tgt", "amount"]], adj[["tgt", "amount"]]])
        .groupby("tgt")["amount"]
        .sum()
        .reindex(range(len(tgt)), fill_value=0)
        .to_numpy()
    )
    assert (by_source <= src["available"].to_numpy()).all()
    assert (by_target <= tgt["open_amount"].to_numpy()).all()
    assert (result.sources["remaining"].to_numpy() == src["available"].to_numpy() - by_source).all()
    assert result.problems == []
    # every line joins a source and a document of the same entity and currency
    assert (
        src["currency"].to_numpy()[lines["src"].to_numpy(int)] == tgt["currency"].to_numpy()[lines["tgt"].to_numpy(int)]
    ).all()


def test_the_guard_reports_over_application():
    lines = pd.DataFrame({"src": [0, 0], "tgt": [0, 1], "amount": [60, 50]})
    assert over_applied(lines, np.array([100]), np.array([60, 60])) == [
        "1 source(s) applied beyond their unapplied amount"
    ]
    lines = pd.DataFrame({"src": [0, 1], "tgt": [0, 0], "amount": [40, 40]})
    assert over_applied(lines, np.array([100, 100]), np.array([60])) == [
        "1 document(s) applied beyond their open amount"
    ]
    adjustments = pd.DataFrame({"src": [0], "tgt": [0], "amount": [30], "kind": ["short-pay"]})
    lines = pd.DataFrame({"src": [0], "tgt": [0], "amount": [40]})
    assert over_applied(lines, np.array([100]), np.array([60]), adjustments) == [
        "1 document(s) applied beyond their open amount"
    ]


def test_two_sources_wanting_one_document_the_first_gets_it_the_second_what_is_left():
    ledger = Ledger.start(pd.DataFrame({"available": [80, 80]}), pd.DataFrame({"open_amount": [100]}))
    pairs = pd.DataFrame({"src": [0, 1], "tgt": [0, 0], "rule": "r", "confidence": 1.0, "reason": ""})
    ledger.take_partial(pairs)
    assert ledger.available.tolist() == [0, 60] and ledger.open.tolist() == [0]
