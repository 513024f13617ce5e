"""The typed book cache is checked before use (issue 17, point 2).

MINI's D4 is due 2026-11-04, the latest due date, and is not overdue at 2026-10-31; D1, D2, D3
and D5 are due before (4 overdue). Someone who changes D4's due date in the cache's
``documents.arrow`` to 2026-09-01 would make it 5 overdue and the latest due date 2026-10-01: a run, ``close verify``
and ``close reperform`` must not take that for the validated book.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from closelib.audit.reperform import reperform_run
from closelib.audit.verify import verify_run
from closelib.book.cache import HASHES, check_book_cache, read_book_cache
from closelib.cli import main as cli
from closelib.errors import CacheError
from closelib.files import sha256_file
from closelib.nb import bookload
from closelib.runner.run import execute_run
from tests.conftest import START, write_notebook

PERIOD = "2026-10"
TRUE_FIGURES = {"test.overdue": 4, "test.latest_due": "2026-11-04", "test.documents": 5}


def due_notebook(folder: Path, *before: str) -> Path:
    """Figures that depend on due dates; ``before`` runs ahead of ``nb.start``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(
        folder / "01_due.ipynb",
        *before,
        START,
        "docs = ctx.book.documents\nctx.figure('test.documents', len(docs))",
        "ctx.figure('test.overdue', int((docs['due_date'] < ctx.as_of).sum()))",
        "ctx.figure('test.latest_due', str(docs['due_date'].max().date()))",
    )
    return folder


def run(nbs: Path, source: Path, outputs: Path):
    lines: list[str] = []
    result = execute_run(PERIOD, source=source, outputs=outputs, notebooks_dir=nbs, progress=lines.append)
    return result, lines


def cache_dir(outputs: Path, result) -> Path:
    return outputs / result.manifest["book_cache"]["folder"]


def tamper_due_date(folder: Path, rehash: bool = False) -> None:
    """D4 due 2026-09-01 in the cache, made writable first as someone altering it would; with
    ``rehash`` the cache's ``hashes.json`` is rewritten to match, as a more careful one would."""
    path = folder / "documents.arrow"
    os.chmod(folder, 0o755)
    os.chmod(path, 0o644)
    frame = pd.read_feather(path)
    assert frame.loc[frame["document_id"] == "D4", "due_date"].iloc[0] == pd.Timestamp("2026-11-04")
    frame.loc[frame["document_id"] == "D4", "due_date"] = pd.Timestamp("2026-09-01")
    frame.to_feather(path, compression="uncompressed")
    if rehash:
        hashes = folder / HASHES
        os.chmod(hashes, 0o644)
        recorded = json.loads(hashes.read_text())
        recorded["files"]["documents.arrow"] = sha256_file(path)
        hashes.write_text(json.dumps(recorded))
        assert check_book_cache(folder)[1] is None  # the cache alone no longer shows the change


@pytest.fixture
def nbs(tmp_path: Path) -> Path:
    return due_notebook(tmp_path / "nbs")


def test_a_cache_is_sealed_and_read_only(nbs, mini_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = run(nbs, mini_source, outputs)
    assert first.succeeded, first.messages
    assert {k: first.manifest["figures"][k] for k in TRUE_FIGURES} == TRUE_FIGURES
    folder = cache_dir(outputs, first)
    files, problem = check_book_cache(folder)
    assert problem is None and files == first.manifest["book_cache"]["files"]
    assert set(files) == {p.name for p in folder.iterdir()} - {HASHES}
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    assert not folder.stat().st_mode & writable
    assert all(not p.stat().st_mode & writable for p in folder.iterdir())
    info = json.loads((first.run_dir / "run.json").read_text())
    assert info["book_cache"] == str(folder) and info["book_cache_files"] == files


def test_a_changed_cache_file_is_discarded_rebuilt_and_reported(nbs, mini_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = run(nbs, mini_source, outputs)
    folder = cache_dir(outputs, first)
    tamper_due_date(folder)
    with pytest.raises(CacheError, match=r"documents\.arrow changed"):
        read_book_cache(folder, mini_source)  # a notebook never reads it either

    second, lines = run(nbs, mini_source, outputs)
    assert second.succeeded, second.messages
    cache = second.manifest["book_cache"]
    assert cache["reused"] is False and cache["written_by"] == f"{PERIOD}/{second.manifest['run_id']}"
    assert cache["rebuilt_because"].startswith("documents.arrow changed (sha256 ")
    assert any("discarded (documents.arrow changed" in line and "rebuilding it" in line for line in lines)
    assert second.manifest["figures"] == first.manifest["figures"]  # not 5 overdue, not 2026-10-01
    # swapped, not edited in place: the same bytes as first written, sealed again, nothing left over
    assert check_book_cache(folder) == (first.manifest["book_cache"]["files"], None)
    assert not folder.stat().st_mode & stat.S_IWUSR
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_verify_reports_a_changed_cache_file_a_run_read(nbs, mini_source, tmp_path, capsys):
    outputs = tmp_path / "out"
    first, _ = run(nbs, mini_source, outputs)
    second, _ = run(nbs, mini_source, outputs)
    assert second.manifest["book_cache"]["reused"] is True
    assert verify_run(second.run_dir) == [] and verify_run(first.run_dir) == []
    folder = cache_dir(outputs, second)
    tamper_due_date(folder)
    rel = f"{second.manifest['book_cache']['folder']}/documents.arrow (typed book cache this run read)"
    for result in (first, second):
        found = verify_run(result.run_dir)
        assert [m.file for m in found] == [rel]
        assert found[0].expected == result.manifest["book_cache"]["files"]["documents.arrow"]
    assert cli.main(["verify", second.run_dir.name, "--outputs", str(outputs)]) == 1
    assert "documents.arrow (typed book cache this run read)" in capsys.readouterr().out
    # the next run rebuilds the same bytes: what the earlier runs read is there again
    third, _ = run(nbs, mini_source, outputs)
    assert third.manifest["book_cache"]["rebuilt_because"]
    assert verify_run(second.run_dir) == [] and verify_run(third.run_dir) == []


def test_a_cache_rewritten_with_its_hashes_is_not_reused(nbs, mini_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = run(nbs, mini_source, outputs)
    tamper_due_date(cache_dir(outputs, first), rehash=True)
    assert any("documents.arrow" in m.file for m in verify_run(first.run_dir))  # the writer's record
    second, lines = run(nbs, mini_source, outputs)
    assert second.succeeded, second.messages
    assert "not the ones the run that wrote it" in second.manifest["book_cache"]["rebuilt_because"]
    assert any("discarded" in line for line in lines)
    assert second.manifest["figures"] == first.manifest["figures"]
    assert verify_run(first.run_dir) == []


def test_reperform_reads_its_own_cache_not_an_earlier_one(nbs, mini_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = run(nbs, mini_source, outputs)
    shared = cache_dir(outputs, first)
    tamper_due_date(shared, rehash=True)
    result, comparison = reperform_run(first.run_dir, notebooks_dir=nbs)
    assert comparison.identical, comparison.lines()
    cache = result.manifest["book_cache"]
    new_id = result.manifest["run_id"]
    assert cache["reused"] is False and cache["written_by"] == f"{PERIOD}/{new_id}"
    assert cache["folder"] == f"{first.manifest['book_cache']['folder']}.{new_id}"
    assert json.loads((result.run_dir / "run.json").read_text())["book_cache"] == str(outputs / cache["folder"])
    assert {k: result.manifest["figures"][k] for k in TRUE_FIGURES} == TRUE_FIGURES
    assert verify_run(result.run_dir) == []


def test_a_notebook_refuses_a_cache_changed_after_the_runner_checked_it(tmp_path, mini_source):
    # the first cell changes the cache (run.json names it) before the notebook reads it
    tamper = (
        "import json, pathlib, pandas as pd\n"
        "if run_dir:\n"
        "    p = pathlib.Path(json.loads((pathlib.Path(run_dir) / 'run.json').read_text())['book_cache'])\n"
        "    p = p / 'documents.arrow'\n"
        "    p.chmod(0o644)\n"
        "    f = pd.read_feather(p)\n"
        "    f.loc[f['document_id'] == 'D4', 'due_date'] = pd.Timestamp('2026-09-01')\n"
        "    f.to_feather(p, compression='uncompressed')"
    )
    result, _ = run(due_notebook(tmp_path / "nbs", tamper), mini_source, tmp_path / "out")
    assert not result.succeeded
    error = result.manifest["notebooks"]["due"]["error"]
    assert "CacheError" in error and "documents.arrow changed" in error, error
    assert "test.overdue" not in result.manifest["figures"]


def test_the_notebook_context_checks_the_hashes_run_json_gives_it(nbs, mini_source, tmp_path):
    first, _ = run(nbs, mini_source, tmp_path / "out")
    info = json.loads((first.run_dir / "run.json").read_text())
    bookload.LAST_CACHED.clear()
    book = bookload.run_book(first.run_dir / "inputs", info)
    assert len(book.documents) == 5
    bookload.LAST_CACHED.clear()
    wrong = {**info, "book_cache_files": {**info["book_cache_files"], "links.ipc": "0" * 64}}
    with pytest.raises(CacheError, match=r"links\.ipc changed"):
        bookload.run_book(first.run_dir / "inputs", wrong)


def test_a_cache_changed_while_the_notebooks_ran_fails_the_run(tmp_path, mini_source):
    """The notebooks map the cache's tables, hashing them as they map them: a file changed after
    that (here by the notebook itself, once its book is read) is found by the runner's check
    when the notebooks have ended, and the run fails naming the file."""
    tamper = (
        "import json, pathlib, pandas as pd\n"
        "p = pathlib.Path(json.loads((pathlib.Path(run_dir) / 'run.json').read_text())['book_cache'])\n"
        "p = p / 'documents.arrow'\n"
        "p.chmod(0o644)\n"
        "f = pd.read_feather(p)\n"
        "f.loc[f['document_id'] == 'D4', 'due_date'] = pd.Timestamp('2026-09-01')\n"
        "f.to_feather(p, compression='uncompressed')"
    )
    folder = tmp_path / "nbs"
    folder.mkdir()
    write_notebook(folder / "01_due.ipynb", START, "ctx.figure('test.documents', len(ctx.book.documents))", tamper)
    result, lines = run(folder, mini_source, tmp_path / "out")
    assert result.manifest["notebooks"]["due"]["status"] == "succeeded"  # the notebook itself ran
    assert not result.succeeded
    assert "changed while the notebooks read it: documents.arrow changed (sha256 " in result.manifest["error"]
    assert any("changed while the notebooks read it" in line for line in lines)
