"""``close validate SOURCE [--json]`` (CONTRACT §4)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from closelib.cli.main import main
from closelib.paths import REPO_ROOT
from tests.conftest import MINI, write_source

REPO = REPO_ROOT


@pytest.fixture
def bad_source(tmp_path, mini_tables) -> Path:
    docs = mini_tables["documents"]
    docs[1]["amount"] = "-500.00"  # documents row 3: INV must be > 0
    docs[3]["due_date"] = "2026-11-31"  # documents row 5: no such day
    mini_tables["receipts"][0]["currency"] = "XXX"  # receipts row 2
    mini_tables["gl_balances"].append(dict(mini_tables["gl_balances"][0]))  # gl_balances row 6: duplicate
    return write_source(tmp_path / "bad", mini_tables)


EXPECTED = {
    ("documents.csv", 3, "amount", "sign"),
    ("documents.csv", 5, "due_date", "date"),
    ("receipts.csv", 2, "currency", "currency"),
    ("gl_balances.csv", 6, "entity+period+account", "unique"),
}


def test_good_folder_exit_0_with_summary(mini_source, capsys):
    assert main(["validate", str(mini_source)]) == 0
    out = capsys.readouterr().out
    assert "meets the contract" in out
    assert "documents" in out and " 5 rows" in out
    assert "2026-07-01 .. 2026-10-20" in out  # first and last document/receipt dates
    assert "US01 (USD)" in out


def test_bad_folder_exit_1_lists_every_problem(bad_source, capsys):
    assert main(["validate", str(bad_source)]) == 1
    out = capsys.readouterr().out
    assert "4 problem(s)" in out
    assert "documents.csv row 3, column amount: [sign]" in out and "'INV -500.00'" in out
    assert "documents.csv row 5, column due_date: [date]" in out and "'2026-11-31'" in out
    assert "receipts.csv row 2, column currency: [currency]" in out and "'XXX'" in out
    assert "gl_balances.csv row 6, column entity+period+account: [unique]" in out


def test_json_output_parses(bad_source, tmp_path, capsys):
    good = write_source(tmp_path / "good", copy.deepcopy(MINI))  # bad_source altered mini_tables
    assert main(["validate", str(bad_source), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert {(p["file"], p["row"], p["column"], p["rule"]) for p in result["problems"]} == EXPECTED
    assert main(["validate", str(good), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["problems"] == []
    assert result["summary"]["rows"]["documents"] == 5
    assert result["summary"]["documents_total_by_currency"] == {"USD": "1725.75"}


def test_missing_folder_is_a_problem_not_a_traceback(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "source folder does not exist" in capsys.readouterr().out


def test_subprocess_bad_folder_has_no_traceback(bad_source):
    close = Path(sys.executable).parent / "close"
    command = [str(close)] if close.exists() else [sys.executable, "-m", "closelib"]
    done = subprocess.run(
        [*command, "validate", str(bad_source)], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "documents.csv row 3" in done.stdout
