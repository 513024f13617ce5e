"""Ad-hoc investigation: subject resolution, the timeline by hand, the real notebook run."""

from __future__ import annotations

import json

import pytest

from closelib.areas import investigate
from closelib.book.load import load_book
from closelib.cli import main as cli
from closelib.errors import NotFoundError
from tests.conftest import MINI, write_source  # noqa: F401


@pytest.fixture
def book(mini_source):
    return load_book(mini_source)


def test_unknown_ids_give_close_matches(book):
    with pytest.raises(NotFoundError, match="close matches: C001"):
        investigate.resolve_subject(book, "C1", None, None)
    with pytest.raises(NotFoundError, match="no document 'D9'"):
        investigate.resolve_subject(book, None, "D9", None)
    with pytest.raises(NotFoundError, match="belongs to customer C001"):
        investigate.resolve_subject(book, "C002", "D1", None)
    assert investigate.resolve_subject(book, None, "D4", None) == {
        "customer_id": "C002",
        "document_id": "D4",
        "case_id": "",
    }


def test_document_timeline_by_hand(book):
    events = investigate.timeline(book, "C001", "D1")
    # D1 1000.00 on 08-01; A1 -600.00 on 09-10; A2 (CM D3) -100.00 on 10-02
    assert events["event"].tolist() == ["invoice issued", "applied to document", "applied to document"]
    assert events["balance_after"].tolist() == [100000, 40000, 30000]


def test_customer_timeline_nets_credit_memos_and_shows_cash(book):
    events = investigate.timeline(book, "C001")
    assert "cash received" in set(events["event"]) and "credit memo applied" in set(events["event"])
    # C001 open at the end: D1 300.00 + D2 500.00 (the CM D3 fully applied)
    assert events["balance_after"].iloc[-1] == 80000
    # the receipt R1 of 600.00 is shown in its currency, never as 60000 minor units
    cash = events.loc[events["event"] == "cash received", "detail"].tolist()
    assert cash == ["receipt 600.00 USD, bank ref BNK1"]


def test_approval_gaps(book):
    gaps = investigate.approval_gaps(book, "C003")
    assert gaps.empty  # J1 has approver and reference
    assert investigate.approval_gaps(book, "C001").empty  # D3 references DSP-1


def test_close_investigate_runs_the_notebook_into_adhoc(mini_source, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["investigate", "--document", "D1", "--source", str(mini_source), "--outputs", str(out)]
    assert cli.main(args) == 0
    folder = capsys.readouterr().out.strip().splitlines()[-1]
    assert "/adhoc/" in folder and folder.endswith("-D1")
    manifest = json.loads((tmp_path / "out" / "adhoc" / folder.rsplit("/", 1)[-1] / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["subject"]["customer_id"] == "C001"
    assert manifest["inputs"]["documents.csv"]["sha256"] and manifest["code"]["closelib"]
    assert manifest["checks"]["investigate.timeline_balance_ties_open_items"]["passed"]
    assert cli.main(args) == 0  # a second investigation never reuses the folder
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("-D1-2")
    assert cli.main(["investigate", "--customer", "C9", "--source", str(mini_source), "--outputs", str(out)]) == 1
    assert "no customer 'C9'" in capsys.readouterr().err


def test_opened_by_hand_the_subject_is_the_latest_dispute_case(mini_tables, tmp_path):
    """Issue 22: the investigation notebook opened by hand (no subject) must still run."""
    import pandas as pd

    as_of = pd.Timestamp("2026-10-31")
    # MINI has no disputes: the first customer
    assert investigate.default_subject(load_book(write_source(tmp_path / "a", mini_tables)), as_of) == {
        "customer_id": "C001",
        "document_id": "",
        "case_id": "",
    }
    case = {"closed_date": "", "currency": "USD", "amount": "50.00", "reason_code": "pricing", "resolution": ""}
    mini_tables["disputes"] = [
        {**case, "case_id": "K1", "customer_id": "C001", "document_id": "D1", "opened_date": "2026-09-01"},
        {**case, "case_id": "K2", "customer_id": "C002", "document_id": "D4", "opened_date": "2026-10-06"},
        {**case, "case_id": "K3", "customer_id": "C001", "document_id": "D2", "opened_date": "2026-11-02"},
    ]
    for row in mini_tables["disputes"]:
        row.update(status="open", owner="Ana")
    book = load_book(write_source(tmp_path / "b", mini_tables))
    # K3 opens after the period end: K2 is the latest case at 2026-10-31, and names its customer and document
    assert investigate.default_subject(book, as_of) == {"customer_id": "C002", "document_id": "D4", "case_id": "K2"}
    # a subject given is resolved as given
    assert investigate.subject_or_default(book, as_of, "C001", None, None)["customer_id"] == "C001"
