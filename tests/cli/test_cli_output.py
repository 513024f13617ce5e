"""Issue 18 point 7: what the CLI tells a person, on a terminal, piped, and through a closed pipe."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from closelib.cli import main as cli
from closelib.cli.figures import figure_text, group_figures, key_figure_lines
from closelib.cli.progress import BROKEN_PIPE_EXIT, Progress
from closelib.paths import REPO_ROOT
from closelib.runner.run import execute_run
from tests.conftest import write_notebook


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_progress_is_plain_lines_with_the_memo_counter():
    out = io.StringIO()
    progress = Progress(out)
    progress.line("  reserve                started")
    progress.status({"credit_review": 3.0}, (0, 25))
    progress.status({"credit_review": 3.5}, (0, 25))  # no change: no new line
    progress.status({"credit_review": 9.0}, (7, 25))
    progress.line("  credit_review          succeeded      40.0 s")
    text = out.getvalue()
    assert "\r" not in text and "\033" not in text
    assert text.splitlines() == [
        "  reserve                started",
        "  credit memo 0/25",
        "  credit memo 7/25",
        "  credit_review          succeeded      40.0 s",
    ]


def test_on_a_terminal_the_status_line_is_rewritten_and_lines_stay():
    out = _Tty()
    progress = Progress(out)
    progress.status({"tb_recon": 2.0, "credit_review": 12.0}, (7, 25))
    progress.line("  tb_recon               succeeded       2.1 s")
    progress.done()
    text = out.getvalue()
    assert "running: tb_recon 2 s, credit_review 12 s | credit memo 7/25" in text
    assert "\r\033[K  tb_recon               succeeded       2.1 s\n" in text
    assert text.endswith("\r\033[K")  # the status line is gone at the end


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_a_command_quietly(mini_source, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli.main(["validate", str(mini_source), "--json"]) == BROKEN_PIPE_EXIT
    assert capsys.readouterr().err == ""


def test_a_run_whose_reader_has_gone_goes_on_quietly():
    progress = Progress(_ClosedPipe(), tty=False)
    progress.line("  tb_recon               started")  # the pipe is closed: no error, the run goes on
    progress.status({"credit_review": 1.0}, (1, 25))
    assert progress.gone


def test_close_validate_json_into_head_exits_quietly(mini_source):
    """The real thing: a reader that stops after one line; no traceback, no 'Exception ignored'."""
    script = (
        "import sys\n"
        "from closelib.cli.main import main\n"
        f"sys.argv = ['close', 'validate', {str(mini_source)!r}, '--json']\n"
        "for _ in range(3000):  # far more than a pipe buffer holds\n"
        "    code = main(sys.argv[1:])\n"
        "    if code:\n"
        "        sys.exit(code)\n"
    )
    reader = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(
        [sys.executable, "-c", script], stdout=reader.stdin, stderr=subprocess.PIPE, cwd=REPO_ROOT, timeout=120
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait()
    assert writer.stderr.decode() == "" and writer.returncode == BROKEN_PIPE_EXIT


def test_figures_are_grouped_by_area_and_entity_in_their_currency():
    figures = {
        "tb.US01.unexplained": "0.00",
        "tb.SG01.unexplained": "-1250.50",
        "kpi.US01.past_due_ratio": 0.1667,
        "kpi.US01.dso": 30.05,
        "kpi.US01.cei": 84.24,
        "kpi.disputes_open": 6,
        "credit.C1.recommended_limit": "32000.00",
    }
    grouped = group_figures(figures, {"US01": "USD", "SG01": "SGD"}, {"C1": "EUR"})
    assert list(grouped) == ["tb", "credit", "kpi"]  # workpaper order
    assert grouped["tb"] == {
        "SG01 (SGD)": [("unexplained", "-1,250.50 SGD")],
        "US01 (USD)": [("unexplained", "0.00 USD")],
    }
    assert grouped["credit"] == {"C1 (EUR)": [("recommended_limit", "32,000.00 EUR")]}
    assert grouped["kpi"]["US01 (USD)"] == [("cei", "84.24%"), ("dso", "30.05 days"), ("past_due_ratio", "16.67%")]
    assert grouped["kpi"]["all entities"] == [("disputes_open", "6")]
    assert figure_text("x.score", 65.581, None) == "65.58"  # ratios and scores to 2 decimals


def test_key_figures_name_each_entity_and_a_total_only_in_a_shared_currency():
    figures = {"reserve.US01.true_up": "-5936.95", "reserve.CA01.true_up": "100.00", "reserve.true_up": "-5836.95"}
    lines = key_figure_lines(figures, {"US01": "USD", "CA01": "USD"}, ["reserve.true_up"])
    assert lines == ["reserve.true_up: CA01 100.00 USD · US01 -5,936.95 USD · total -5,836.95 USD"]
    two = key_figure_lines(
        {"reserve.US01.true_up": "1.00", "reserve.SG01.true_up": "2.00"},
        {"US01": "USD", "SG01": "SGD"},
        ["reserve.true_up"],
    )
    assert two == ["reserve.true_up: SG01 2.00 SGD · US01 1.00 USD"]


def _checks_notebook(folder):
    folder.mkdir()
    return write_notebook(
        folder / "01_checks.ipynb",
        "from closelib.nb import context as nb\nctx = nb.start(notebook, period, source, run_dir, run_id, params_json)",
        "ctx.check('z.last', True, 'ok')\nctx.check('a.first', False, 'looked', severity='warning')\n"
        "ctx.check('m.middle', True, 'ok')\nctx.money_figure('test.total', 123456789, 'USD')",
    )


def test_status_and_show_count_and_order_checks_the_same_way_every_time(mini_source, tmp_path, capsys, monkeypatch):
    notebooks = tmp_path / "nbs"
    _checks_notebook(notebooks)
    result = execute_run("2026-10", source=mini_source, outputs=tmp_path / "out", notebooks_dir=notebooks)
    assert result.succeeded, result.manifest
    capsys.readouterr()
    assert cli.main(["status", "2026-10", "--outputs", str(tmp_path / "out")]) == 0
    status = capsys.readouterr().out
    assert "checks 2 passed, 1 warning(s), 0 failed (3 checks)" in status and "warnings: a.first" in status
    assert cli.main(["show", result.manifest["run_id"], "--outputs", str(tmp_path / "out")]) == 0
    shown = capsys.readouterr().out
    listed = [line.split()[1] for line in shown.splitlines() if line.startswith(("  PASS ", "  WARN ", "  FAIL "))]
    assert listed == ["a.first:", "m.middle:", "z.last:"]  # warnings first, then by name
    assert "1,234,567.89 USD" in shown  # money in its currency, with separators


def test_a_period_without_gl_balances_is_refused_before_any_notebook(mini_source, tmp_path, capsys):
    code = cli.main(["run", "2026-11", "--source", str(mini_source), "--outputs", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "gl_balances has no balances for 2026-11" in err and "no notebook was run" in err
    assert "the run folder is kept" in err
    [manifest] = list((tmp_path / "out" / "2026-11").glob("*/manifest.json"))
    m = json.loads(manifest.read_text())
    assert m["status"] == "failed" and m["notebooks"] == {}


def test_a_mistyped_parameter_is_refused_before_any_notebook(mini_source, tmp_path, capsys):
    code = cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(tmp_path), "-p", "run.worker=1"])
    err = capsys.readouterr().err
    assert code == 1 and "run.worker: unknown key (did you mean 'workers'?)" in err and "no notebook was run" in err


@pytest.mark.parametrize("make_args", [["-n", "lab", "LAB_ARGS=--port 8899"]])
def test_make_lab_passes_extra_options(make_args):
    # under `make test` the outer make's flags would print "Entering directory" lines: not inherited
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    command = ["make", "--no-print-directory", *make_args]
    shown = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True, env=env).stdout
    [lab] = [line for line in shown.splitlines() if "jupyter lab" in line]
    assert lab.rstrip().endswith("--port 8899")
