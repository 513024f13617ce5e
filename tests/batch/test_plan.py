"""Planning a batch, its summary manifest and table, and what the binder shows of it: no cluster,
run folders written by hand (a manifest is all these read)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from closelib.audit.binder import current_run, render_period
from closelib.batch.cluster import INSTALL_HINT
from closelib.batch.manifest import (
    BATCH_FILE,
    TaskOutcome,
    batches_for_period,
    failure_reason,
    finish_batch,
    record_task,
    start_batch,
)
from closelib.batch.plan import Task, group_entities, plan_tasks, run_entities, with_restatements
from closelib.cli import main as cli
from closelib.cli.batch import summary_lines
from closelib.errors import ParameterError, RunError
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import write_source


def fake_run(outputs: Path, period: str, run_id: str, status: str = "succeeded", **extra) -> Path:
    folder = outputs / period / run_id
    folder.mkdir(parents=True)
    manifest = {"period": period, "run_id": run_id, "status": status, "parameters": {}, **extra}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


RUN_A = "20261101T000000000000Z-aaaaaa"
RUN_B = "20261102T000000000000Z-bbbbbb"
RUN_C = "20261103T000000000000Z-cccccc"


# ---------------------------------------------------------------- tasks


def test_a_task_per_period_or_per_period_and_entity():
    periods = [Period(2026, 1), Period(2026, 2)]
    assert plan_tasks(periods, None) == [Task("2026-01"), Task("2026-02")]
    assert [t.name for t in plan_tasks(periods, ["SG01", "US01"])] == [
        "2026-01 SG01",
        "2026-01 US01",
        "2026-02 SG01",
        "2026-02 US01",
    ]


def test_an_entity_task_is_a_close_with_the_entities_parameter():
    assert Task("2026-01").overrides() == []
    task = Task("2026-01", ("US 01",))
    assert task.overrides() == ['entities=["US 01"]']
    # what -p gives the close: the very id, read back by the parameters' YAML
    assert load_parameters("2026-01", PARAMETERS_DIR, None, task.overrides())["entities"] == ["US 01"]
    assert "/" not in Task("2026-01", ("../x",)).file_stem


def test_restating_takes_each_periods_latest_run_that_succeeded_with_the_same_entities(tmp_path):
    fake_run(tmp_path, "2026-01", RUN_A)
    fake_run(tmp_path, "2026-01", RUN_B)
    fake_run(tmp_path, "2026-01", RUN_C, status="failed")  # the newest failed: nothing to restate there
    fake_run(tmp_path, "2026-02", RUN_A)
    fake_run(tmp_path, "2026-02", RUN_B, parameters={"entities": ["US01"]})  # an entity close
    planned = with_restatements([Task("2026-01"), Task("2026-02"), Task("2026-02", ("US01",))], tmp_path)
    assert [t.restates for t in planned] == [RUN_B, RUN_A, RUN_B]


def test_restating_a_period_without_a_run_that_succeeded_refuses_the_batch_naming_each(tmp_path):
    fake_run(tmp_path, "2026-01", RUN_A)
    fake_run(tmp_path, "2026-03", RUN_A, status="failed")
    with pytest.raises(RunError) as caught:
        with_restatements([Task("2026-01"), Task("2026-02"), Task("2026-03"), Task("2026-01", ("SG01",))], tmp_path)
    message = str(caught.value)
    assert message.startswith("cannot restate:")
    assert "2026-02: no run for 2026-02 succeeded" in message
    assert "2026-03: no run for 2026-03 succeeded" in message
    assert "2026-01 SG01: no run of SG01 for 2026-01 succeeded" in message
    assert "\n  - 2026-01:" not in message


def test_the_groups_entities_come_from_the_entities_table_else_the_gl(tmp_path):
    entities = [{"entity": e, "name": e, "functional_currency": "USD", "country": ""} for e in ("US01", "DE01")]
    assert group_entities(write_source(tmp_path / "a", {"entities": entities})) == ["DE01", "US01"]
    gl = [{"entity": "SG01", "period": "2026-01"}, {"entity": "SG01", "period": "2026-02"}]
    assert group_entities(write_source(tmp_path / "b", {"gl_balances": gl})) == ["SG01"]
    with pytest.raises(RunError, match="cannot tell the entities of the group"):
        group_entities(write_source(tmp_path / "c", {"customers": [{"customer_id": "C1"}]}))


def test_run_entities_reads_the_recorded_parameter():
    assert run_entities({"parameters": {"entities": ["US01"]}}) == ("US01",)
    assert run_entities({"parameters": {}}) is None
    assert run_entities({"parameters": None}) is None


# ---------------------------------------------------------------- the entities parameter


def test_the_entities_parameter_is_a_list_of_ids():
    assert "entities" not in load_parameters("2026-10", PARAMETERS_DIR)  # absent: every entity, nothing recorded
    assert load_parameters("2026-10", PARAMETERS_DIR, None, ["entities=[US01]"])["entities"] == ["US01"]
    assert load_parameters("2026-10", PARAMETERS_DIR, None, ["entities=null"])["entities"] is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[]", "entities: name at least one entity, or leave the parameter out to close every entity"),
        ("[US01, SG01, US01]", "entities: 'US01' is named more than once"),
        ("US01", "entities: expected a list, got 'US01'"),
        ("['']", "entities[0]: empty"),
    ],
)
def test_a_bad_entities_parameter_is_named(value, problem):
    with pytest.raises(ParameterError) as caught:
        load_parameters("2026-10", PARAMETERS_DIR, None, [f"entities={value}"])
    assert problem in caught.value.problems


# ---------------------------------------------------------------- the summary manifest


def test_failure_reason_says_why_on_one_line():
    assert failure_reason({"status": "succeeded"}) is None
    assert failure_reason({"status": "failed", "error": "invalid parameters:\n  - a", "problems": ["a", "b"]}) == (
        "invalid parameters: a; b"
    )
    notebooks = {"tb_recon": {"status": "succeeded"}, "reserve": {"status": "failed", "error": "cell 4: KeyError"}}
    assert failure_reason({"status": "failed", "notebooks": notebooks}) == "notebook reserve: cell 4: KeyError"
    checks = {"tb.x": {"passed": False, "severity": "error"}, "tb.y": {"passed": False, "severity": "warning"}}
    assert failure_reason({"status": "failed", "notebooks": {}, "checks": checks}) == "checks failed: tb.x"


def _batch(outputs: Path, tasks: list[Task]) -> tuple[Path, dict]:
    return start_batch(outputs, tasks, {"command": "close batch ...", "scheduler": {"kind": "local", "workers": 2}})


def test_a_batch_is_pending_then_each_task_ends_then_the_batch(tmp_path):
    folder, batch = _batch(tmp_path, [Task("2026-01"), Task("2026-02", ("US01",))])
    written = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
    assert written["status"] == "running" and [t["status"] for t in written["tasks"]] == ["pending", "pending"]
    record_task(folder, batch, 1, TaskOutcome("failed", f"2026-02/{RUN_A}", "why", "ab" * 32))
    assert json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))["tasks"][1]["error"] == "why"
    record_task(folder, batch, 0, TaskOutcome("succeeded", f"2026-01/{RUN_B}", None, "cd" * 32))
    finish_batch(folder, batch)
    written = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
    assert written["status"] == "failed" and written["finished_at"]
    assert written["tasks"][1]["entities"] == ["US01"]
    assert not ((folder / BATCH_FILE).stat().st_mode & 0o222)


def test_a_batch_succeeds_only_when_every_task_did(tmp_path):
    folder, batch = _batch(tmp_path, [Task("2026-01")])
    record_task(folder, batch, 0, TaskOutcome("succeeded", f"2026-01/{RUN_A}", None, "ab" * 32))
    finish_batch(folder, batch)
    assert batch["status"] == "succeeded"
    folder, batch = _batch(tmp_path, [Task("2026-01")])
    finish_batch(folder, batch, "interrupted")  # a task never ended
    assert batch["status"] == "failed" and batch["tasks"][0]["status"] == "pending"


def test_the_summary_table_names_each_failure_with_its_reason():
    batch = {
        "batch_id": RUN_A,
        "status": "failed",
        "tasks": [
            {"task": "2026-01", "status": "succeeded", "run": f"2026-01/{RUN_B}", "error": None},
            {"task": "2026-02 US01", "status": "failed", "run": f"2026-02/{RUN_C}", "error": "no GL"},
            {"task": "2026-03", "status": "pending", "run": None, "error": None},
        ],
    }
    assert summary_lines(batch) == [
        f"batch {RUN_A} failed: 1 of 3 close(s) succeeded, 2 failed or not run",
        "  task          status     run folder",
        f"  2026-01       succeeded  2026-01/{RUN_B}",
        f"  2026-02 US01  failed     2026-02/{RUN_C}",
        "                reason: no GL",
        "  2026-03       pending    -",
        "                reason: it never ran to an end",
    ]


# ---------------------------------------------------------------- the binder


def test_the_binder_lists_the_batches_of_its_period_escaped(tmp_path):
    fake_run(tmp_path, "2026-01", RUN_A)
    hostile = Task("2026-01", ("<script>alert(1)</script>",))
    folder, batch = _batch(tmp_path, [Task("2026-01"), hostile, Task("2026-02")])
    record_task(folder, batch, 0, TaskOutcome("succeeded", f"2026-01/{RUN_A}", None, "ab" * 32))
    record_task(folder, batch, 1, TaskOutcome("failed", None, "<img src=x onerror=alert(1)>", None))
    (tmp_path / "batches" / "not-a-batch").mkdir()
    garbage = tmp_path / "batches" / RUN_C
    garbage.mkdir()
    (garbage / BATCH_FILE).write_text("{not json", encoding="utf-8")
    found = batches_for_period(tmp_path, "2026-01")
    assert [(b.batch_id, len(b.tasks), b.tasks_total, b.tasks_not_succeeded) for b in found] == [(folder.name, 2, 3, 2)]
    page = render_period(tmp_path, "2026-01")
    assert "2 of 3 close(s) not succeeded" in page  # one failed here, one (2026-02) never ran
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert f'<a href="../batches/{folder.name}/batch.json">{folder.name}</a>' in page
    assert f'<a href="#{RUN_A}">{RUN_A}</a> <span class="st-succeeded">succeeded</span>' in page
    assert "<h2>Batches</h2>" not in render_period(tmp_path, "2026-03")


def test_an_entity_close_is_not_the_periods_current_run_while_a_close_of_the_group_is(tmp_path):
    group = {"run_id": RUN_A, "status": "succeeded", "parameters": {}}
    entity = {"run_id": RUN_B, "status": "succeeded", "parameters": {"entities": ["US01"]}}
    assert current_run([(tmp_path, entity), (tmp_path, group)]) == RUN_A
    assert current_run([(tmp_path, entity)]) == RUN_B  # only entity closes: the newest stands
    fake_run(tmp_path, "2026-01", RUN_A)
    fake_run(tmp_path, "2026-01", RUN_B, parameters={"entities": ["US01"]})
    page = render_period(tmp_path, "2026-01")
    assert "entities US01 only" in page and f'href="#{RUN_A}">{RUN_A}</a> (current)' in page


# ---------------------------------------------------------------- the command line


def test_without_dask_the_command_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    assert cli.main(["batch", "2026-01"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"close: error: {INSTALL_HINT}"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["2026-05..2026-01"], "the range ends before it starts"),
        (["2026-01", "--workers", "0"], "--workers must be at least 1"),
        (["2026-01", "--restate-reason", " "], "--restate-reason needs the reason"),
        (["2026-01", "-p", "credit_review.max_memo=1"], "unknown key (did you mean 'max_memos'?)"),
        (["2026-01", "--restate-reason", "why"], "cannot restate:"),
    ],
)
def test_a_batch_that_cannot_run_is_refused_before_any_close(argv, message, tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
        code = cli.main(["batch", *argv, "--outputs", str(tmp_path)])
    assert code == 1 and message in out.getvalue()
    assert not (tmp_path / "batches").exists()


def test_workers_and_scheduler_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.main(["batch", "2026-01", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert "not allowed with argument" in capsys.readouterr().err
