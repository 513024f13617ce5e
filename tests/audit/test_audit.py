"""Audit and restatement (issue 9): verify, re-perform, restate + diff, sign-offs, the binder.

Tiny notebooks on the MINI book keep this fast; one test re-performs the real notebooks.
Finished run folders are read-only, so a tampering test makes a file writable first, as
someone altering evidence would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from closelib.audit.signoff import record_signoff, signoff_lines
from closelib.audit.signoffs import signoffs_for
from closelib.audit.verify import verify_run
from closelib.cli import main as cli
from closelib.errors import RunError
from closelib.runner.run import execute_run
from closelib.runner.runfolder import all_runs, read_manifest
from tests.conftest import START, write_notebook

PERIOD = "2026-10"


def tiny_notebooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(
        folder / "01_totals.ipynb",
        START,
        "docs = ctx.book.documents\nctx.figure('test.documents', len(docs))",
        "total = int(docs['amount'].sum())\nctx.money_figure('test.total', total, 'USD')",
        "ctx.money_figure('test.d1', int(docs.loc[docs['document_id'] == 'D1', 'amount'].sum()), 'USD')",
        "ctx.money_figure('test.receipts', int(ctx.book.receipts['amount'].sum()), 'USD')",
        "ctx.check('test.total_as_booked', total == 172575, f'total {total}')",
        "import pandas as pd\npd.DataFrame({'document_id': docs['document_id']}).to_excel("
        "run_dir + '/01_pack.xlsx', index=False)",
    )
    return folder


def writable(path: Path) -> None:
    for p in [path, *path.parents][:3]:
        os.chmod(p, p.stat().st_mode | stat.S_IWUSR)


def flip_byte(path: Path, offset: int = 0) -> bytes:
    original = path.read_bytes()
    writable(path)
    data = bytearray(original)
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return original


def restore(path: Path, original: bytes) -> None:
    path.write_bytes(original)


def run_tiny(nbs: Path, source: Path, outputs: Path, **kw):
    result = execute_run(PERIOD, source=source, outputs=outputs, notebooks_dir=nbs, **kw)
    return result


@pytest.fixture(scope="module")
def nbs(tmp_path_factory) -> Path:
    return tiny_notebooks(tmp_path_factory.mktemp("nbs"))


@pytest.fixture(scope="module")
def restated(nbs, tmp_path_factory):
    """A run of MINI, then a restatement after one document amount changed (D1 1000.00 -> 1010.00)."""
    import copy

    from tests.conftest import MINI, write_source

    base = tmp_path_factory.mktemp("restate")
    tables = copy.deepcopy(MINI)
    source = write_source(base / "src", tables)
    outputs = base / "out"
    first = run_tiny(nbs, source, outputs)
    assert first.succeeded, first.manifest
    original_bytes = (first.run_dir / "manifest.json").read_bytes()
    tables["documents"][0]["amount"] = "1010.00"
    write_source(source, tables)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("closelib.runner.run.NOTEBOOKS_DIR", nbs)
        code = cli.main(
            [
                "run",
                PERIOD,
                "--source",
                str(source),
                "--outputs",
                str(outputs),
                "--restate",
                first.run_dir.name,
                "--reason",
                "D1 billed 10.00 short",
            ]
        )
    assert code == 1  # test.total_as_booked fails on the restated book
    second = all_runs(outputs, PERIOD)[-1]
    return {"outputs": outputs, "a": first.run_dir, "b": second, "a_bytes": original_bytes}


def test_verify_catches_one_byte_in_an_input_a_notebook_and_an_excel_pack(nbs, mini_source, tmp_path, capsys):
    result = run_tiny(nbs, mini_source, tmp_path / "out")
    run_dir = result.run_dir
    assert result.succeeded and "01_pack.xlsx" in result.manifest["outputs"]
    assert verify_run(run_dir) == []
    assert cli.main(["verify", str(run_dir)]) == 0
    assert "verified" in capsys.readouterr().out

    for rel in ("inputs/documents.csv", "01_totals.ipynb", "01_pack.xlsx", "01_totals.html"):
        path = run_dir / rel
        original = flip_byte(path, offset=len(path.read_bytes()) // 2)
        found = verify_run(run_dir)
        assert found and all(rel in m.file or (rel.startswith("inputs/") and ".store" in m.file) for m in found), found
        assert any(m.file.startswith(rel) and len(m.expected) == 64 and len(m.found) == 64 for m in found)
        assert cli.main(["verify", run_dir.name, "--outputs", str(tmp_path / "out")]) == 1
        printed = capsys.readouterr().out
        assert f"MISMATCH {rel}" in printed and "expected" in printed
        restore(path, original)
    assert verify_run(run_dir) == []

    # a missing file and a file the manifest does not list
    pack = run_dir / "01_pack.xlsx"
    kept = pack.read_bytes()
    pack.unlink()
    (run_dir / "extra.txt").write_text("planted\n")
    found = {m.file: m for m in verify_run(run_dir)}
    assert found["01_pack.xlsx"].found == "missing" and "not listed" in found["extra.txt"].expected
    pack.write_bytes(kept)
    (run_dir / "extra.txt").unlink()
    assert verify_run(run_dir) == []

    # a sign-off is bound to the manifest: change the manifest and it is void in verify and status
    record_signoff(run_dir, "preparer", "Ana")
    record_signoff(run_dir, "reviewer", "Bo")
    manifest = run_dir / "manifest.json"
    writable(manifest)
    data = json.loads(manifest.read_text())
    data["figures"]["test.total"] = "1.00"
    manifest.write_text(json.dumps(data, indent=2))
    assert [s["void"] for s in signoffs_for(run_dir)] == [True, True]
    assert sum("VOID" in m.file for m in verify_run(run_dir)) == 2
    assert cli.main(["status", PERIOD, "--outputs", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.count("VOID") == 2
    with pytest.raises(RunError, match="does not verify"):
        record_signoff(run_dir, "preparer", "Cy")

    # editing an earlier line of the append-only log breaks its hash chain
    log = run_dir.parent / "signoffs.jsonl"
    writable(log)
    log.write_text(log.read_text().replace('"Ana"', '"Eve"'))
    assert any("signoffs.jsonl line 2" in m.file for m in verify_run(run_dir))
    assert any("LOG EDITED" in line for line in signoff_lines(run_dir))


def test_reperform_the_real_notebook_after_the_source_is_deleted(mini_source, tmp_path, capsys, monkeypatch):
    from closelib.paths import NOTEBOOKS_DIR

    # the real trial-balance notebook (alone: other period notebooks are still being written)
    folder = tmp_path / "nbs"
    folder.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "01_tb_recon.ipynb", folder)
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", folder)
    outputs = tmp_path / "out"
    original = execute_run(PERIOD, source=mini_source, outputs=outputs)
    assert original.succeeded, original.manifest
    before = (original.run_dir / "manifest.json").read_bytes()
    shutil.rmtree(mini_source)
    code = cli.main(["reperform", original.run_dir.name, "--outputs", str(outputs)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "identical" in printed and "0 different" in printed
    new_dir = Path(printed.strip().splitlines()[-1])
    m = read_manifest(new_dir)
    assert m["reperforms"] == original.manifest["run_id"] and m["restates"] is None
    assert m["figures"] == original.manifest["figures"] and m["figures"]["tb.unexplained"] == "0.00"
    assert {k: v["sha256"] for k, v in m["inputs"].items()} == {
        k: v["sha256"] for k, v in original.manifest["inputs"].items()
    }
    assert m["parameters"] == original.manifest["parameters"]
    assert (original.run_dir / "manifest.json").read_bytes() == before
    assert verify_run(new_dir) == []


def test_reperform_reports_a_difference(restated):
    from closelib.audit.reperform import compare_runs

    original = read_manifest(restated["a"])
    changed = json.loads(json.dumps(original))
    changed["figures"]["test.total"] = "1725.76"
    changed["checks"]["test.total_as_booked"]["passed"] = False
    changed["code"]["git_commit"] = "0" * 40
    comparison = compare_runs(original, changed)
    assert not comparison.identical
    assert comparison.figures == {"test.total": ("1725.75", "1725.76")}
    assert list(comparison.checks) == ["test.total_as_booked"]
    assert any("git commit differs" in w for w in comparison.code_warnings)
    assert any("NOT identical" in line for line in comparison.lines())


def test_restatement_diff_names_the_row_and_the_figures_it_moved(restated, capsys):
    a, b = restated["a"], restated["b"]
    assert (a / "manifest.json").read_bytes() == restated["a_bytes"]  # the original is untouched
    mb = read_manifest(b)
    assert mb["restates"] == a.name and mb["reason"] == "D1 billed 10.00 short"

    assert cli.main(["diff", a.name, b.name, "--outputs", str(restated["outputs"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["figures"]["changed"] == {
        "test.total": {"old": "1725.75", "new": "1735.75", "change": "+10.00"},
        "test.d1": {"old": "1000.00", "new": "1010.00", "change": "+10.00"},
    }
    assert not result["figures"]["added"] and not result["figures"]["removed"]
    assert list(result["checks"]["changed"]) == ["test.total_as_booked"]
    assert result["checks"]["changed"]["test.total_as_booked"]["new"]["passed"] is False
    assert result["parameters"] == {"changed": {}, "added": {}, "removed": {}}
    assert list(result["input_files"]["changed"]) == ["documents.csv"]
    [table] = result["tables"]
    assert table["table"] == "documents" and table["key"] == ["document_id"]
    assert (table["added_count"], table["removed_count"], table["changed_count"]) == (0, 0, 1)
    assert table["changed"] == [
        {"key": {"document_id": "D1"}, "columns": {"amount": {"old": "1000.00", "new": "1010.00"}}}
    ]

    assert cli.main(["diff", a.name, b.name, "--outputs", str(restated["outputs"])]) == 0
    text = capsys.readouterr().out
    assert "changed document_id=D1: amount 1000.00 -> 1010.00" in text
    assert "test.total: 1,725.75 -> 1,735.75  change +10.00" in text
    assert "checks whose outcome changed: 1" in text and "test.total_as_booked: PASS -> FAIL" in text
    assert f"restates {a.name}" in text


def test_diff_of_rows_added_removed_and_a_keyless_table(tmp_path):
    """diff_table on typed books: by key, vectorised, and whole rows for gl_journal."""
    import copy

    from closelib.audit.diff import diff_table
    from closelib.book.load import load_book
    from tests.conftest import MINI, write_source

    tables = copy.deepcopy(MINI)
    line = {
        "entity": "US01",
        "journal_id": "J1",
        "period": "2026-10",
        "posting_date": "2026-10-31",
        "account": "1100",
        "debit": "1050.50",
        "credit": "0.00",
        "source": "ar_subledger",
        "reference": "",
        "description": "",
    }
    tables["gl_journal"] = [line, {**line, "account": "4000", "debit": "0.00", "credit": "1050.50"}]
    a = load_book(write_source(tmp_path / "a", tables))
    tables["customers"][1]["risk_rating"] = "7"
    tables["customers"][1]["collector"] = "Ben"
    tables["receipts"].append(
        {
            "receipt_id": "R3",
            "entity": "US01",
            "customer_id": "C002",
            "receipt_date": "2026-10-25",
            "currency": "USD",
            "amount": "5.00",
            "bank_reference": "",
        }
    )
    tables["gl_journal"][0]["debit"] = "1055.50"
    tables["gl_journal"][1]["credit"] = "1055.50"
    b = load_book(write_source(tmp_path / "b", tables))
    customers = diff_table(a, b, "customers")
    assert customers["changed_count"] == 1 and customers["added_count"] == 0
    receipts = diff_table(a, b, "receipts")
    assert (receipts["added_count"], receipts["removed_count"], receipts["changed_count"]) == (1, 0, 0)
    journal = diff_table(a, b, "gl_journal")
    assert (journal["added_count"], journal["removed_count"], journal["changed_count"]) == (2, 2, 0)
    from closelib.audit.diff import _changed_rows

    [row] = _changed_rows(customers, None)
    assert row["key"] == {"customer_id": "C002"}
    assert row["columns"] == {"risk_rating": {"old": 6, "new": 7}, "collector": {"old": "Ana", "new": "Ben"}}


def test_signoff_rules(restated, capsys):
    a, b, outputs = restated["a"], restated["b"], str(restated["outputs"])
    # reviewer before any preparer
    assert cli.main(["signoff", a.name, "--role", "reviewer", "--name", "Bo", "--outputs", outputs]) == 1
    assert "preparer signs first" in capsys.readouterr().err
    assert cli.main(["signoff", a.name, "--role", "preparer", "--name", "Ana", "--outputs", outputs]) == 0
    assert "signed" in capsys.readouterr().out
    # the reviewer must differ from the preparer (same person, other spelling)
    assert cli.main(["signoff", a.name, "--role", "reviewer", "--name", " ana ", "--outputs", outputs]) == 1
    err = capsys.readouterr().err
    assert "close: error: the reviewer must differ from the preparer" in err and "Traceback" not in err
    assert (
        cli.main(
            ["signoff", a.name, "--role", "reviewer", "--name", "Bo", "--note", "agreed to GL", "--outputs", outputs]
        )
        == 0
    )
    capsys.readouterr()
    # the restated run has none of the original's sign-offs; it failed a check, so it needs a note
    assert signoffs_for(b) == []
    assert cli.main(["signoff", b.name, "--role", "preparer", "--name", "Ana", "--outputs", outputs]) == 1
    assert "--note" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "signoff",
                b.name,
                "--role",
                "preparer",
                "--name",
                "Ana",
                "--outputs",
                outputs,
                "--note",
                "difference booked in November",
            ]
        )
        == 0
    )
    entries = [json.loads(line) for line in (a.parent / "signoffs.jsonl").read_text().splitlines()]
    assert [(e["run_id"], e["role"], e["name"]) for e in entries] == [
        (a.name, "preparer", "Ana"),
        (a.name, "reviewer", "Bo"),
        (b.name, "preparer", "Ana"),
    ]
    sha_a = __import__("hashlib").sha256((a / "manifest.json").read_bytes()).hexdigest()
    assert entries[0]["manifest_sha256"] == sha_a and entries[0]["at"].endswith("Z")
    assert entries[0]["prev_sha256"] is None and entries[1]["prev_sha256"]
    assert all(not s["void"] for s in signoffs_for(a))
    capsys.readouterr()
    assert cli.main(["status", PERIOD, "--outputs", outputs]) == 0
    status = capsys.readouterr().out
    assert f"restates {a.name}" in status and "reviewer  not signed" in status and "Bo" in status
    page = (a.parent / "index.html").read_text()  # the binder was rewritten after each sign-off
    assert "Bo" in page and "agreed to GL" in page and "difference booked in November" in page


def test_binder_lists_runs_links_and_signoffs_offline(restated):
    from closelib.audit.binder import write_period_index

    index = write_period_index(restated["outputs"], PERIOD)
    page = index.read_text()
    a, b = restated["a"], restated["b"]
    runs = page[page.index("<h2>Runs</h2>") :]
    assert runs.index(b.name) < runs.index(a.name)  # the run table: newest first
    assert not re.search(r"https?://", page) and "<script" not in page and "<link" not in page
    links = re.findall(r'href="([^"#]+)"', page)
    for run_dir in (a, b):
        assert f"{run_dir.name}/01_totals.html" in links and f"{run_dir.name}/01_pack.xlsx" in links
    for link in links:
        assert (index.parent / link).is_file(), link
    assert f'href="#{a.name}"' in page and "D1 billed 10.00 short" in page
    assert "test.total_as_booked" in page and 'class="fail"' in page
    assert not (index.parent / ".index.html.tmp").exists()
