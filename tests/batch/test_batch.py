"""`close batch` for real: a local Dask cluster of 2 workers closes 3 periods of a small demo book
(each restating an earlier close of its period) and one period that fails; the batch's runs have
the figures and checks of 3 sequential `close run`s, and the failure is reported by name without
stopping the others. Also an entity close (parameter entities) against the group's close.

Closes cost about a minute of CPU each whatever the book's size (notebook start-up and rendering),
so every close here runs one credit memo, and the entity close runs one notebook.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path

import pytest

from closelib.audit.binder import render_period
from closelib.batch.manifest import BATCH_FILE
from closelib.cli import main as cli
from closelib.demo import generate_book, write_book
from closelib.files import sha256_file
from closelib.paths import NOTEBOOKS_DIR
from closelib.runner.run import execute_run
from closelib.runner.runfolder import read_manifest
from tests.conftest import MINI, START, write_notebook, write_source

MEMOS = "credit_review.max_memos=1"
PERIODS = ["2026-08", "2026-09", "2026-10"]
# Outside the demo book's GL (2024-01 .. 2026-10): its close fails before any notebook.
FAILING = "2030-01"
REASON = "restated by the batch test: <b>late</b> credit notes"


def cli_output(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(list(argv))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch") / "book"
    write_book(generate_book(scale=0.25), folder)
    return folder


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("batch") / "outputs"


@pytest.fixture(scope="module")
def sequential(book, outputs) -> dict:
    """Three closes one after another, as `close run` makes them."""
    return {p: execute_run(p, source=book, outputs=outputs, overrides=[MEMOS]) for p in PERIODS}


@pytest.fixture(scope="module")
def earlier_failing_period(outputs, tmp_path_factory):
    """A close of 2030-01 that succeeded, from another source that had its trial balance (one
    small notebook): the batch restates it from the demo book, which has none, and so fails."""
    tables = copy.deepcopy(MINI)
    for row in tables["gl_balances"]:
        row["period"] = FAILING
    root = tmp_path_factory.mktemp("earlier")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_count.ipynb", START, "ctx.figure('test.documents', len(ctx.book.documents))")
    result = execute_run(FAILING, source=write_source(root / "mini", tables), outputs=outputs, notebooks_dir=notebooks)
    assert result.succeeded, result.manifest.get("error")
    return result


@pytest.fixture(scope="module")
def batch(book, outputs, sequential, earlier_failing_period):
    code, text = cli_output(
        "batch",
        f"{PERIODS[0]}..{PERIODS[-1]}",
        FAILING,
        "--source",
        str(book),
        "--outputs",
        str(outputs),
        "--workers",
        "2",
        "-p",
        MEMOS,
        "--restate-reason",
        REASON,
    )
    folder = Path(text.strip().splitlines()[-1]).parent
    return code, text, json.loads((folder / BATCH_FILE).read_text(encoding="utf-8")), folder


def _task(batch_json: dict, name: str) -> dict:
    return next(t for t in batch_json["tasks"] if t["task"] == name)


def test_each_close_of_the_batch_has_the_figures_and_checks_of_close_run(batch, sequential, outputs):
    _, _, summary, _ = batch
    for period in PERIODS:
        task = _task(summary, period)
        assert task["status"] == "succeeded", task
        run = read_manifest(outputs / task["run"])
        alone = sequential[period].manifest
        assert alone["status"] == "succeeded"
        assert run["figures"] == alone["figures"], period
        assert run["checks"] == alone["checks"], period
        assert len(run["figures"]) > 50 and any(n.startswith("credit.") for n in run["figures"])
        assert sorted(run["notebooks"]) == sorted(alone["notebooks"])
        # the batch's record is bound to the run's own manifest
        assert task["manifest_sha256"] == sha256_file(outputs / task["run"] / "manifest.json")


def test_each_close_restates_its_periods_latest_run_with_the_reason(batch, sequential, outputs):
    _, _, summary, _ = batch
    for period in PERIODS:
        task = _task(summary, period)
        run = read_manifest(outputs / task["run"])
        assert run["restates"] == task["restates"] == sequential[period].manifest["run_id"]
        assert run["reason"] == REASON


def test_the_failing_period_is_reported_by_name_and_the_others_finish(batch, earlier_failing_period, outputs):
    code, text, summary, _ = batch
    assert code == 1
    failed = _task(summary, FAILING)
    assert failed["status"] == "failed"
    assert failed["restates"] == earlier_failing_period.manifest["run_id"]
    assert failed["error"].startswith(f"gl_balances has no balances for {FAILING}")
    # a failed task is a failed run: its folder is there, read-only, recorded as failed
    run = read_manifest(outputs / failed["run"])
    assert run["status"] == "failed" and run["notebooks"] == {}
    assert summary["status"] == "failed"
    assert [t["status"] for t in summary["tasks"]].count("succeeded") == 3
    # the summary table names the task, its run folder and the reason
    lines = text.splitlines()
    table = lines.index(next(line for line in lines if line.split() == ["task", "status", "run", "folder"]))
    row = next(i for i, line in enumerate(lines) if i > table and line.split()[:2] == [FAILING, "failed"])
    assert failed["run"] in lines[row]
    assert f"reason: gl_balances has no balances for {FAILING}" in lines[row + 1]
    assert "3 of 4 close(s) succeeded, 1 failed or not run" in text


def test_the_batch_manifest_records_the_batch(batch, book):
    _, _, summary, folder = batch
    assert summary["batch_id"] == folder.name
    assert summary["scheduler"] == {"kind": "local", "workers": 2, "workers_seen": 2}
    assert summary["started_at"] <= summary["finished_at"]
    assert summary["command"].startswith(f"close batch {PERIODS[0]}..{PERIODS[-1]} {FAILING} --source ")
    assert summary["source"] == str(book) and summary["overrides"] == [MEMOS]
    assert [t["task"] for t in summary["tasks"]] == [*PERIODS, FAILING]
    for task in summary["tasks"]:
        assert (folder / task["log"]).is_file()
    assert not (folder.stat().st_mode & 0o222)  # read-only once the batch ended


def test_each_periods_binder_shows_the_batch(batch, outputs):
    _, _, summary, _ = batch
    for period in [*PERIODS, FAILING]:
        page = (outputs / period / "index.html").read_text(encoding="utf-8")
        task = _task(summary, period)
        assert f'href="../batches/{summary["batch_id"]}/batch.json"' in page
        assert f'<a href="#{task["run"].split("/")[1]}">' in page
        assert "<script" not in page
    page = (outputs / PERIODS[0] / "index.html").read_text(encoding="utf-8")
    assert "<b>late</b>" not in page and "&lt;b&gt;late&lt;/b&gt;" in page  # the reason, escaped


# ---------------------------------------------------------------- one entity's close


def test_an_entity_close_has_the_groups_figures_for_that_entity(book, sequential, tmp_path):
    group = sequential["2026-10"].manifest["figures"]
    alone = execute_run(
        "2026-10",
        source=book,
        outputs=tmp_path,
        overrides=["entities=[SG01]"],
        notebooks=[("tb_recon", NOTEBOOKS_DIR / "01_tb_recon.ipynb")],
    )
    assert alone.succeeded, alone.manifest.get("error")
    assert alone.manifest["parameters"]["entities"] == ["SG01"]
    figures = alone.manifest["figures"]
    # one entity: plain names (CONTRACT §3), each the group's figure of that entity
    assert figures["tb.subledger_ar"] == group["tb.SG01.subledger_ar"]
    assert figures["tb.gl_ar_control"] == group["tb.SG01.gl_ar_control"]
    assert not any(".US01." in name for name in figures)
    shared = {n: v for n, v in figures.items() if n.replace("tb.", "tb.SG01.", 1) in group}
    assert len(shared) >= 5
    for name, value in shared.items():
        assert value == group[name.replace("tb.", "tb.SG01.", 1)], name
    # shown as SG01's, in SGD: by `close show`, `close list` and the binder's key figures
    code, text = cli_output("show", alone.run_dir.name, "--outputs", str(tmp_path))
    assert code == 0 and "SG01 (SGD)" in text and "all entities" not in text and "US01" not in text, text
    code, text = cli_output("list", "2026-10", "--outputs", str(tmp_path))
    assert code == 0 and re.search(r"tb\.unexplained: -?[\d,]+\.\d\d SGD", text) and "USD" not in text, text
    page = render_period(tmp_path, "2026-10")
    table = page[page.index("<th>key figure</th>") :]
    table = table[: table.index("</table>")]
    assert '<th class="num">SG01 (SGD)</th>' in table and "subledger AR" in table and "all entities" not in table


def test_an_unknown_entity_is_refused_before_any_notebook(book, tmp_path):
    result = execute_run("2026-10", source=book, outputs=tmp_path, overrides=["entities=[SG01, XX01]"])
    assert result.manifest["status"] == "failed" and result.manifest["notebooks"] == {}
    assert result.manifest["problems"] == ["entities: 'XX01' is not an entity of the book (it has SG01, US01)"]


def test_by_entity_runs_one_close_per_entity_named_in_the_summary(book, sequential, tmp_path):
    code, text = cli_output(
        "batch", FAILING, "--source", str(book), "--outputs", str(tmp_path), "--workers", "1", "--by-entity"
    )
    assert code == 1
    summary = json.loads(Path(text.strip().splitlines()[-1]).read_text(encoding="utf-8"))
    assert [(t["task"], t["entities"]) for t in summary["tasks"]] == [
        (f"{FAILING} SG01", ["SG01"]),
        (f"{FAILING} US01", ["US01"]),
    ]
    for task in summary["tasks"]:
        run = read_manifest(tmp_path / task["run"])
        assert run["parameters"]["entities"] == task["entities"]  # the run folder says whose close it is
        assert task["status"] == "failed" and f"{task['task']} " in text
