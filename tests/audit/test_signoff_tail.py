"""The newest sign-off is tamper-evident too (issue 17, point 4).

The hash chain of ``signoffs.jsonl`` protects a line through the ``prev_sha256`` of the line
after it, so the last line had no protection. Each sign-off is also its own read-only anchor
file ``.signoffs/<sha256 of the line>.json``: editing or deleting the last line, adding one by
hand or editing an anchor is reported by ``close verify`` and ``close status``.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from closelib.audit.signoff import record_signoff
from closelib.audit.signoffs import ANCHORS, LOG, append_entry, line_hash, log_problems
from closelib.audit.verify import verify_run
from closelib.cli import main as cli
from closelib.runner.run import execute_run
from tests.conftest import START, write_notebook

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict:
    """A run of MINI signed by Ana (preparer) and Bo (reviewer)."""
    from tests.conftest import MINI, write_source

    base = tmp_path_factory.mktemp("tail")
    nbs = base / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01_count.ipynb", START, "ctx.figure('test.documents', len(ctx.book.documents))")
    result = execute_run(PERIOD, source=write_source(base / "src", MINI), outputs=base / "out", notebooks_dir=nbs)
    assert result.succeeded, result.messages
    record_signoff(result.run_dir, "preparer", "Ana")
    record_signoff(result.run_dir, "reviewer", "Bo")
    return {"run": result.run_dir, "outputs": base / "out", "period": result.run_dir.parent}


@pytest.fixture
def log(signed):
    """The log, made writable as someone altering it would; restored after each test."""
    path = signed["period"] / LOG
    kept = path.read_bytes()
    os.chmod(path, 0o644)
    yield path
    path.write_bytes(kept)
    os.chmod(path, 0o444)
    assert log_problems(signed["period"]) == []


def reported(signed, capsys) -> tuple[list[str], str, str]:
    """(verify's mismatch files, `close verify` output, `close status` output)."""
    files = [m.file for m in verify_run(signed["run"])]
    assert cli.main(["verify", signed["run"].name, "--outputs", str(signed["outputs"])]) == (1 if files else 0)
    verify_out = capsys.readouterr().out
    assert cli.main(["status", PERIOD, "--outputs", str(signed["outputs"])]) == 0
    return files, verify_out, capsys.readouterr().out


def test_each_signoff_has_a_read_only_anchor_named_by_its_hash(signed, capsys):
    lines = (signed["period"] / LOG).read_text(encoding="utf-8").splitlines()
    anchors = sorted((signed["period"] / ANCHORS).iterdir())
    assert sorted(p.name for p in anchors) == sorted(f"{line_hash(line)}.json" for line in lines)
    for path in anchors:
        assert path.read_text(encoding="utf-8") in lines
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    files, verify_out, status = reported(signed, capsys)
    assert files == [] and "no mismatch" in verify_out
    assert "LOG EDITED" not in status and "reviewer  Bo" in status


def test_editing_the_last_line_is_reported(signed, log, capsys):
    lines = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["name"] == "Bo"
    log.write_text("\n".join([*lines[:-1], lines[-1].replace('"Bo"', '"Eve"')]) + "\n", encoding="utf-8")
    files, verify_out, status = reported(signed, capsys)
    assert any(f"{LOG} line 2" in f and "changed or added by hand" in f for f in files), files
    assert any("sign-off reviewer Bo of run" in f and "deleted or changed" in f for f in files), files
    assert f"MISSING: {LOG}" not in verify_out and f"MISMATCH {LOG} line 2" in verify_out
    assert status.count("LOG EDITED") == 2 and "sign-off reviewer Bo of run" in status


def test_deleting_the_last_line_is_reported(signed, log, capsys):
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text(lines[0] + "\n", encoding="utf-8")
    files, verify_out, status = reported(signed, capsys)
    assert len(files) == 1 and "sign-off reviewer Bo of run" in files[0] and "deleted" in files[0], files
    assert "MISMATCH sign-off reviewer Bo" in verify_out
    assert "reviewer  not signed" in status and "LOG EDITED: sign-off reviewer Bo" in status


def test_deleting_every_line_is_reported(signed, log, capsys):
    log.write_text("", encoding="utf-8")
    files, _, status = reported(signed, capsys)
    assert len(files) == 2 and status.count("LOG EDITED") == 2


def test_a_line_added_by_hand_with_a_valid_chain_is_reported(signed, log, capsys):
    lines = log.read_text(encoding="utf-8").splitlines()
    forged = {**json.loads(lines[-1]), "name": "Cy", "prev_sha256": line_hash(lines[-1])}
    log.write_text("\n".join([*lines, json.dumps(forged)]) + "\n", encoding="utf-8")
    files, _, status = reported(signed, capsys)
    assert len(files) == 1 and f"{LOG} line 3" in files[0], files
    assert "LOG EDITED" in status


def test_an_edited_anchor_is_reported(signed, capsys):
    anchor = sorted((signed["period"] / ANCHORS).iterdir())[0]
    kept = anchor.read_bytes()
    os.chmod(anchor, 0o644)
    assert b'"name": "' in kept
    anchor.write_bytes(kept.replace(b'"name": "', b'"name": "X'))
    try:
        files, _, _ = reported(signed, capsys)
        assert any("a sign-off anchor was edited" in f for f in files), files
    finally:
        anchor.write_bytes(kept)
        os.chmod(anchor, 0o444)
    assert log_problems(signed["period"]) == []


def test_a_deleted_anchor_is_reported(signed, capsys):
    anchor = sorted((signed["period"] / ANCHORS).iterdir())[-1]
    kept = anchor.read_bytes()
    anchor.unlink()
    try:
        files, _, _ = reported(signed, capsys)
        assert len(files) == 1 and "changed or added by hand" in files[0], files
    finally:
        anchor.write_bytes(kept)
        os.chmod(anchor, 0o444)


def test_a_new_signoff_after_tampering_keeps_it_reported(signed, log):
    """Appending on top of a deleted last line (its chain then looks whole) does not hide it."""
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text(lines[0] + "\n", encoding="utf-8")
    problems = log_problems(signed["period"])
    assert len(problems) == 1 and "reviewer Bo" in problems[0].file
    anchors = set((signed["period"] / ANCHORS).iterdir())
    entry = {"run_id": signed["run"].name, "period": PERIOD, "role": "reviewer", "name": "Di", "note": None}
    append_entry(signed["period"], {**entry, "at": "2026-11-02T00:00:00Z", "manifest_sha256": "0" * 64})
    assert [p.file for p in log_problems(signed["period"])] == [problems[0].file]
    os.chmod(log, 0o644)
    for path in set((signed["period"] / ANCHORS).iterdir()) - anchors:  # undone for the next test
        path.unlink()
