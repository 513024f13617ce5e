"""The TB reconciliation of a foreign-currency book (issue 19), by hand: the subledger at booking
rates, the posted FX revaluation as a class of its own, the GL against the subledger at closing
rates, and what a revaluation that differs or was never reversed becomes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from closelib.areas import recon
from closelib.book.load import load_book
from closelib.params import load_parameters
from closelib.periods import Period
from tests.asof.test_fx import fx_tables
from tests.conftest import write_source

APRIL = Period.parse("2026-04")


def line(journal, day, account, debit, credit, reference, source="ar_subledger"):
    return {
        "entity": "SG01",
        "journal_id": journal,
        "period": day[:7],
        "posting_date": day,
        "account": account,
        "debit": debit,
        "credit": credit,
        "source": source,
        "reference": reference,
        "description": "",
    }


def journal(april_revaluation: str = "10.00", reverse_march: bool = True) -> list[dict]:
    """X1 (USD 1,000.00 at 1.30) and X2 (USD 500.00 at 1.30) posted in March; R1 (USD 1,000.00 at
    1.32) received and applied to X1 on 2026-04-10 with 20.00 of realised FX; March's revaluation
    (+75.00) reversed on 1 April; April's revaluation of X2 (-10.00) posted at the month end."""
    rows = [
        line("B-INV", "2026-03-02", "1100", "1300.00", "0.00", "X1"),
        line("B-INV", "2026-03-02", "4000", "0.00", "1300.00", "B-INV"),
        line("B-INV2", "2026-03-05", "1100", "650.00", "0.00", "X2"),
        line("B-INV2", "2026-03-05", "4000", "0.00", "650.00", "B-INV2"),
        line("B-RCP", "2026-04-10", "2150", "0.00", "1320.00", "R1"),
        line("B-RCP", "2026-04-10", "1000", "1320.00", "0.00", "B-RCP"),
        line("B-APP", "2026-04-10", "1100", "0.00", "1300.00", "A1"),
        line("B-APP", "2026-04-10", "2150", "1300.00", "0.00", "B-APP"),
        line("B-FXR", "2026-04-10", "2150", "20.00", "0.00", "B-FXR"),
        line("B-FXR", "2026-04-10", "7100", "0.00", "20.00", "B-FXR"),
        line("FXREV-SG01-2026-03", "2026-03-31", "1100", "75.00", "0.00", "FXREV-SG01-2026-03", "other"),
        line("FXREV-SG01-2026-03", "2026-03-31", "7200", "0.00", "75.00", "FXREV-SG01-2026-03", "other"),
    ]
    if reverse_march:
        rows += [
            line("FXREV-SG01-2026-03-R", "2026-04-01", "1100", "0.00", "75.00", "FXREV-SG01-2026-03", "other"),
            line("FXREV-SG01-2026-03-R", "2026-04-01", "7200", "75.00", "0.00", "FXREV-SG01-2026-03", "other"),
        ]
    rows += [
        line("FXREV-SG01-2026-04", "2026-04-30", "1100", "0.00", april_revaluation, "FXREV-SG01-2026-04", "other"),
        line("FXREV-SG01-2026-04", "2026-04-30", "7200", april_revaluation, "0.00", "FXREV-SG01-2026-04", "other"),
    ]
    return rows


def reconciled(tmp_path: Path, rows: list[dict]):
    tables = fx_tables()
    tables["gl_journal"] = rows
    control = sum((Decimal(r["debit"]) - Decimal(r["credit"]) for r in rows if r["account"] == "1100"), Decimal(0))
    unapplied = sum((Decimal(r["credit"]) - Decimal(r["debit"]) for r in rows if r["account"] == "2150"), Decimal(0))
    tables["gl_balances"] = [
        dict(tables["gl_balances"][0], debit=f"{max(control, 0):.2f}", credit=f"{max(-control, 0):.2f}"),
        dict(
            tables["gl_balances"][0],
            account="2150",
            account_type="liability",
            debit=f"{max(-unapplied, 0):.2f}",
            credit=f"{max(unapplied, 0):.2f}",
        ),
    ]
    book = load_book(write_source(tmp_path / "fx", tables))
    return recon.reconcile(book, APRIL, load_parameters(APRIL))


def test_revaluation_is_its_own_class_and_closing_rates_agree(tmp_path: Path):
    rec = reconciled(tmp_path, journal())
    row = rec.summary.set_index("entity").loc["SG01"]
    # GL 1,300 + 650 - 1,300 + 75 - 75 - 10 = 640.00; the subledger at booking rates: X2 650.00
    assert (row["gl_ar_control"], row["subledger_ar"], row["difference"]) == (64000, 65000, -1000)
    # X2 at the closing 1.28 is 640.00: a revaluation of -10.00, posted as such
    assert row["revaluation"] == -1000 and row["items_revaluation"] == -1000
    assert row["difference_closing"] == 0 and row["unexplained"] == 0
    items = rec.items.set_index("reference")
    assert items.loc["FXREV-SG01-2026-04", "class"] == recon.CLASSES[3] == "revaluation"
    assert items.loc["FXREV-SG01-2026-04", "exception"] == ""
    assert "FXREV-SG01-2026-03" not in items.index  # March's revaluation and its reversal net to zero
    # the realised FX posted in a batch nets against the application's unapplied-cash effect
    assert rec.unapplied_items.empty and row["unapplied_unexplained"] == 0
    assert rec.exceptions.empty


def test_a_revaluation_that_differs_requires_correction(tmp_path: Path):
    rec = reconciled(tmp_path, journal(april_revaluation="12.00"))
    item = rec.items.set_index("reference").loc["FXREV-SG01-2026-04"]
    assert item["class"] == "correction required" and item["amount"] == -1200
    assert "revaluation" in item["cause"] and item["exception"].startswith("correction required")
    row = rec.summary.set_index("entity").loc["SG01"]
    assert row["difference_closing"] == -200  # the 2.00 posted beyond the closing-rate revaluation


def test_an_unreversed_revaluation_requires_correction(tmp_path: Path):
    rec = reconciled(tmp_path, journal(reverse_march=False))
    item = rec.items.set_index("reference").loc["FXREV-SG01-2026-03"]
    assert item["cause"] == "FX revaluation of an earlier period not reversed"
    assert item["class"] == "correction required" and item["amount"] == 7500


def test_roll_forward_shows_the_revaluation_on_the_gl_side(tmp_path: Path):
    rec = reconciled(tmp_path, journal())
    roll = rec.roll_forward["SG01"].set_index("line")
    fx_line = [line for line in roll.index if line.startswith("FX revaluation")]
    # April: March's reversal (-75.00) and April's revaluation (-10.00)
    assert roll.loc[fx_line[0], "gl"] == -8500 and roll.loc[fx_line[0], "subledger"] == 0
    assert roll.loc["cash applied", "subledger"] == -130000  # X1 relieved at its booking rate
