"""The runner, for real: papermill, spawned processes, manifests, failures, concurrency."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import nbformat
import pytest

from closelib.cli import main as cli
from closelib.nb.execute import NotebookJob
from closelib.nb.record import read_records
from closelib.runner.run import execute_run, period_notebooks
from closelib.runner.runfolder import RUN_ID, all_runs, find_run, read_manifest
from tests.conftest import START, write_notebook


def figure_notebook(folder: Path, name: str = "01_count") -> Path:
    return write_notebook(
        folder / f"{name}.ipynb",
        START,
        "docs = ctx.book.documents\nctx.figure('test.documents', len(docs))",
        "ctx.money_figure('test.total', int(docs['amount'].sum()), 'USD')",
        "ctx.check('test.period_parsed', str(ctx.period) == period and ctx.params['run']['workers'] >= 1, period)",
        "ctx.figure('test.timeout', ctx.params['run']['timeout_seconds'])",
    )


def run(folder: Path, source: Path, outputs: Path, *overrides: str, period: str = "2026-10"):
    lines: list[str] = []
    result = execute_run(
        period, source=source, outputs=outputs, notebooks_dir=folder, overrides=list(overrides), progress=lines.append
    )
    return result, lines


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "nbs"
    folder.mkdir()
    return folder


def test_period_notebooks_are_numbered(notebooks: Path):
    write_notebook(notebooks / "02_b.ipynb")
    write_notebook(notebooks / "01_a.ipynb")
    write_notebook(notebooks / "memo_template.ipynb")  # not a period notebook
    assert [name for name, _ in period_notebooks(notebooks)] == ["a", "b"]


def test_successful_run_leaves_a_complete_manifest(notebooks, mini_source, tmp_path):
    figure_notebook(notebooks)
    write_notebook(notebooks / "02_second.ipynb", START, "ctx.check('test.second', True, 'ok', severity='warning')")
    result, lines = run(notebooks, mini_source, tmp_path / "out", "run.timeout_seconds=77")
    m = result.manifest
    assert m["status"] == "succeeded", (m.get("error"), m["notebooks"])
    assert RUN_ID.match(m["run_id"]) and result.run_dir.parent.name == "2026-10"
    # MINI has 5 documents summing to 1000 + 500 - 100 + 250.50 + 75.25 = 1,725.75 (see conftest).
    docs = _mini_docs()
    assert m["figures"]["test.documents"] == len(docs)
    assert m["figures"]["test.total"] == _mini_total() == "1725.75"
    assert m["figures"]["test.timeout"] == 77  # the -p override reached the notebook, typed
    assert m["checks"]["test.period_parsed"]["passed"] is True
    assert set(m["notebooks"]) == {"count", "second"}
    for entry in m["notebooks"].values():
        assert entry["status"] == "succeeded" and len(entry["sha256"]) == 64 and entry["html"]
    # provenance
    assert m["parameters"]["run"]["timeout_seconds"] == 77
    assert set(m["inputs"]) == {p.name for p in mini_source.iterdir()}
    assert m["inputs"]["documents.csv"]["rows"] == len(docs)
    assert m["code"]["closelib"] and m["code"]["python"] and m["code"]["packages"]["papermill"]
    assert m["started_at"] <= m["finished_at"]
    # stored inputs are byte copies of the source, kept in the content-addressed store
    stored = result.run_dir / "inputs" / "documents.csv"
    assert stored.read_bytes() == (mini_source / "documents.csv").read_bytes()
    assert (
        tmp_path
        / "out"
        / ".store"
        / "sha256"
        / m["inputs"]["documents.csv"]["sha256"][:2]
        / m["inputs"]["documents.csv"]["sha256"]
    ).is_file()
    # one progress line per notebook, HTML without code
    assert sum("succeeded" in line for line in lines) == 2
    html = (result.run_dir / "01_count.html").read_text()
    assert "ctx.figure(" not in html and "2026-10" in html
    # finished runs are read-only
    assert not os.access(result.run_dir / "manifest.json", os.W_OK) or os.geteuid() == 0
    assert not (result.run_dir.stat().st_mode & stat.S_IWUSR)


def _mini_docs():

    from tests.conftest import MINI

    return MINI["documents"]


def _mini_total() -> str:
    from decimal import Decimal

    return f"{sum(Decimal(str(r['amount'])) for r in _mini_docs()):.2f}"


def test_cell_error_fails_the_run_and_names_the_cell(notebooks, mini_source, tmp_path):
    figure_notebook(notebooks)
    write_notebook(notebooks / "02_broken.ipynb", START, "x = 1", "raise ValueError('planted failure')", "y = 2")
    result, lines = run(notebooks, mini_source, tmp_path / "out")
    m = result.manifest
    assert m["status"] == "failed"
    assert m["notebooks"]["count"]["status"] == "succeeded"
    broken = m["notebooks"]["broken"]
    assert (
        broken["status"] == "failed"
        and "cell 5 `raise ValueError" in broken["error"]
        and "planted failure" in broken["error"]
    )
    assert (result.run_dir / "02_broken.ipynb").is_file()  # the partial notebook is kept
    assert any("notebook broken failed" in line for line in lines)


def test_failed_check_fails_the_run(notebooks, mini_source, tmp_path):
    write_notebook(notebooks / "01_check.ipynb", START, "ctx.check('test.tie', 1 == 2, 'one is not two')")
    result, _ = run(notebooks, mini_source, tmp_path / "out")
    assert result.manifest["notebooks"]["check"]["status"] == "succeeded"
    assert result.manifest["status"] == "failed"
    assert result.manifest["checks"]["test.tie"] == {
        "passed": False,
        "detail": "one is not two",
        "severity": "error",
        "notebook": "check",
    }


def test_timeout_is_recorded_as_failure(notebooks, mini_source, tmp_path):
    write_notebook(notebooks / "01_slow.ipynb", START, "import time\ntime.sleep(60)", "ctx.figure('test.late', 1)")
    result, _ = run(notebooks, mini_source, tmp_path / "out", "run.timeout_seconds=3")
    entry = result.manifest["notebooks"]["slow"]
    assert result.manifest["status"] == "failed" and entry["status"] == "failed"
    assert "cell 3" in entry["error"] or "timed out" in entry["error"].lower() or "Timeout" in entry["error"]
    assert "test.late" not in result.manifest["figures"]
    assert entry["seconds"] < 30


def test_dead_kernel_is_recorded_as_failure(notebooks, mini_source, tmp_path):
    write_notebook(notebooks / "01_dies.ipynb", START, "import os\nos._exit(1)", "ctx.figure('test.after', 1)")
    result, _ = run(notebooks, mini_source, tmp_path / "out")
    entry = result.manifest["notebooks"]["dies"]
    assert entry["status"] == "failed" and entry["error"]
    assert "test.after" not in result.manifest["figures"]


def test_bad_source_fails_with_every_problem_and_keeps_the_folder(notebooks, tmp_path, mini_tables):
    from tests.conftest import write_source

    figure_notebook(notebooks)
    tables = dict(mini_tables)
    tables["documents"] = [dict(r) for r in mini_tables["documents"]]
    tables["documents"][0]["amount"] = "12.345"
    tables["documents"][1]["customer_id"] = "NOPE"
    source = write_source(tmp_path / "bad", tables)
    (source / "receipts.csv").unlink()
    result, _ = run(notebooks, source, tmp_path / "out")
    m = result.manifest
    assert m["status"] == "failed" and not m["notebooks"]
    text = "\n".join(m["problems"])
    assert "documents.csv" in text and "receipts" in text and "NOPE" in text and "12.345" in text
    assert (result.run_dir / "errors.txt").is_file()


def test_two_concurrent_runs_get_their_own_folders(notebooks, mini_source, tmp_path):
    figure_notebook(notebooks)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(run(notebooks, mini_source, tmp_path / "out")[0]))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0].run_dir != results[1].run_dir
    assert all(r.manifest["status"] == "succeeded" for r in results)
    assert results[0].manifest["figures"] == results[1].manifest["figures"]
    assert [p.name for p in all_runs(tmp_path / "out", "2026-10")] == sorted(r.run_dir.name for r in results)


def test_cli_run_list_show_status(notebooks, mini_source, tmp_path, capsys, monkeypatch):
    figure_notebook(notebooks)
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", notebooks)
    out = tmp_path / "out"
    code = cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(out), "-p", "run.workers=1"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    run_dir = Path(printed[-1])
    assert run_dir.parent.parent == out and read_manifest(run_dir)["status"] == "succeeded"
    assert any(line.strip().startswith("count") and "succeeded" in line for line in printed)
    assert cli.main(["list", "--outputs", str(out)]) == 0
    assert run_dir.name in capsys.readouterr().out
    assert cli.main(["show", run_dir.name[:20], "--outputs", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "\n  test\n" in shown and "documents" in shown and "PASS test.period_parsed" in shown
    assert cli.main(["status", "2026-10", "--outputs", str(out)]) == 0
    assert "[x] count" in capsys.readouterr().out
    assert find_run(str(run_dir)) == run_dir


def test_cli_user_errors_have_no_traceback(tmp_path, capsys):
    assert cli.main(["run", "2026-13", "--outputs", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "YYYY-MM" in err and "Traceback" not in err
    assert cli.main(["show", "nope", "--outputs", str(tmp_path)]) == 1
    assert "no run" in capsys.readouterr().err


def test_records_conflict_between_notebooks_is_a_failed_check(tmp_path):
    from closelib.nb.record import Recorder

    Recorder(tmp_path, "a").figure("x.y", "1.00")
    Recorder(tmp_path, "b").figure("x.y", "2.00")
    _, _, conflicts = read_records(tmp_path)
    assert conflicts and "x.y" in conflicts[0]
    assert json.loads((tmp_path / "records" / "a.jsonl").read_text().splitlines()[0])["value"] == "1.00"


def test_cross_notebook_ties_are_checked_per_entity_and_total():
    from closelib.runner.ties import cross_tie_checks

    figures = {
        "tb.US01.subledger_ar": "100.00",
        "reserve.US01.aging_total": "100.00",
        "tb.SG01.subledger_ar": "50.00",
        "reserve.SG01.aging_total": "49.99",
        "tb.subledger_ar": "150.00",
    }  # no plain reserve figure: no plain tie
    checks = cross_tie_checks(figures)
    assert set(checks) == {"run.tie.reserve_vs_tb.US01", "run.tie.reserve_vs_tb.SG01"}
    assert checks["run.tie.reserve_vs_tb.US01"]["passed"] and not checks["run.tie.reserve_vs_tb.SG01"]["passed"]
    assert "difference -0.01" in checks["run.tie.reserve_vs_tb.SG01"]["detail"]


def test_a_second_run_of_the_same_inputs_reuses_their_validation(tmp_path: Path, notebooks: Path, mini_source: Path):
    figure_notebook(notebooks)
    outputs = tmp_path / "out"
    first, _ = run(notebooks, mini_source, outputs)
    second, lines = run(notebooks, mini_source, outputs)
    assert first.succeeded and second.succeeded, (first.messages, second.messages)
    assert first.manifest["book_cache"]["reused"] is False
    cache = first.manifest["book_cache"]
    assert second.manifest["book_cache"] == {**cache, "reused": True}  # same folder, writer and file hashes
    assert cache["written_by"] == f"2026-10/{first.manifest['run_id']}" and cache["rebuilt_because"] is None
    assert cache["folder"] == f".store/books/{cache['key']}" and "documents.arrow" in cache["files"]
    assert any("reusing the typed book cache" in line for line in lines)
    assert second.manifest["inputs"] == first.manifest["inputs"]  # rows recorded as when validated
    assert second.manifest["figures"] == first.manifest["figures"]


def test_changed_inputs_or_a_reperformance_are_validated_again(tmp_path: Path, notebooks: Path, mini_source: Path):
    figure_notebook(notebooks)
    outputs = tmp_path / "out"
    first, _ = run(notebooks, mini_source, outputs)
    customers = mini_source / "customers.csv"
    customers.write_text(customers.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # same rows, new bytes
    changed, _ = run(notebooks, mini_source, outputs)
    assert changed.manifest["book_cache"]["reused"] is False
    assert changed.manifest["book_cache"]["key"] != first.manifest["book_cache"]["key"]
    again = execute_run(
        "2026-10", source=mini_source, outputs=outputs, notebooks_dir=notebooks, reperforms=changed.manifest["run_id"]
    )
    assert again.succeeded and again.manifest["book_cache"]["reused"] is False


def test_notebooks_start_longest_first(tmp_path: Path, notebooks: Path):
    from closelib.runner.run import longest_first

    jobs = [
        NotebookJob(name, str(write_notebook(notebooks / f"{i:02d}_{name}.ipynb")), str(tmp_path / f"{name}.ipynb"))
        for i, name in enumerate(["quick", "slow", "middle"], start=1)
    ]
    # no earlier run: the notebooks' relative_cost hints, file order among equals
    hinted = nbformat.read(jobs[1].input, as_version=4)
    hinted.metadata["closelib"] = {"relative_cost": 3}
    nbformat.write(hinted, jobs[1].input)
    assert [j.name for j in longest_first(jobs, tmp_path / "none")] == ["slow", "quick", "middle"]
    # an earlier run's seconds win over the hints
    earlier = tmp_path / "out" / "2026-09" / "20261001T000000000000Z-abcdef"
    earlier.mkdir(parents=True)
    (earlier / "manifest.json").write_text(
        json.dumps({"notebooks": {"quick": {"seconds": 1.0}, "slow": {"seconds": 5.0}, "middle": {"seconds": 9.0}}}),
        encoding="utf-8",
    )
    assert [j.name for j in longest_first(jobs, tmp_path / "out")] == ["middle", "slow", "quick"]


def test_odd_earlier_manifests_never_stop_the_ordering(tmp_path: Path, notebooks: Path):
    from closelib.runner.run import longest_first

    jobs = [
        NotebookJob(name, str(write_notebook(notebooks / f"{i:02d}_{name}.ipynb")), str(tmp_path / f"{name}.ipynb"))
        for i, name in enumerate(["a", "b"], start=1)
    ]
    hinted = nbformat.read(jobs[1].input, as_version=4)
    hinted.metadata["closelib"] = {"relative_cost": None}
    nbformat.write(hinted, jobs[1].input)
    for i, body in enumerate([[1, 2], {"notebooks": [1]}, {"notebooks": {"a": {"seconds": "slow"}}}, "not json"]):
        folder = tmp_path / "out" / "2026-09" / f"2026100{i}T000000000000Z-abcdef"
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    assert [j.name for j in longest_first(jobs, tmp_path / "out")] == ["a", "b"]
