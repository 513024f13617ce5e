"""Runs that end badly (issue 17, points 5 and 6): interrupted, killed, a full disk, bad outputs,
bad parameters. Every way a run ends records it, a dead run reads as abandoned, and no process
of a run outlives it. The signal tests run a real ``close run`` in a process of its own."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from closelib.audit.binder import render_period
from closelib.cli import main as cli
from closelib.runner.processes import descendants, is_gone, process_record
from closelib.runner.run import execute_run
from closelib.runner.runfolder import all_runs, find_run, read_manifest, run_status
from tests.conftest import START, write_notebook

# The runner, with the notebooks folder of the test, as `close run` (a fresh interpreter) started
# from a terminal's foreground. A shell starts its background jobs with SIGINT ignored, and the
# runner rightly keeps a signal it was started ignoring ignored (as under nohup); the suite run as
# a background job would then test that case instead of a Ctrl-C. So the runner takes Python's
# own Ctrl-C handler first, as a foreground process has.
RUNNER = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import sys
from pathlib import Path
import closelib.runner.run as run
run.NOTEBOOKS_DIR = Path(sys.argv[1])
from closelib.cli.main import main
sys.exit(main(["run", "2026-10", "--source", sys.argv[2], "--outputs", sys.argv[3], "-p", "run.workers=1"]))
"""


@pytest.fixture
def sleepy(tmp_path: Path) -> Path:
    """A notebook that runs a memo the way the credit review does (a memo worker process with a
    kernel of its own) whose memo sleeps, and one notebook that never gets to start (one worker)."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    template = write_notebook(tmp_path / "sleepy_memo.ipynb", "import time\ntime.sleep(600)")
    write_notebook(
        folder / "01_sleepy.ipynb",
        START,
        "from pathlib import Path\nfrom closelib.areas.credit.memos import execute_memos\n"
        f"execute_memos(ctx, ['C001'], template=Path({str(template)!r}), workers=1)",
    )
    write_notebook(folder / "02_later.ipynb", START, "x = 1")
    return folder


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _start_and_wait_for_kernels(sleepy: Path, source: Path, outputs: Path) -> tuple[subprocess.Popen, list[int]]:
    """``close run`` in a session of its own (as a terminal would run it), once its notebook and
    both kernels are up; returns the process and every process below it."""
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(sleepy), str(source), str(outputs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tree = descendants(runner.pid)
        if sum("ipykernel" in _cmdline(pid) for pid in tree) >= 2:
            time.sleep(1)  # the notebook is in its sleeping cell
            return runner, descendants(runner.pid)
        if runner.poll() is not None:
            break
        time.sleep(0.2)
    runner.kill()
    raise AssertionError(f"the notebook and its two kernels never came up: {runner.communicate()}")


def _survivors(pids: list[int], within: float = 15.0) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.1)
    left = [pid for pid in pids if _running(pid)]
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    return [f"{pid}: {_cmdline(pid)}" for pid in left]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the process tree")
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_an_interrupted_run_stops_its_whole_tree_and_is_recorded_failed(sleepy, mini_source, tmp_path, how):
    outputs = tmp_path / "out"
    runner, tree = _start_and_wait_for_kernels(sleepy, mini_source, outputs)
    assert len(tree) >= 4  # the notebook process, its kernel, the memo worker and its kernel
    if how == "SIGTERM":
        runner.send_signal(signal.SIGTERM)
    else:  # a terminal sends SIGINT to the whole foreground process group
        os.killpg(runner.pid, signal.SIGINT)
    _, err = runner.communicate(timeout=60)
    name = "SIGTERM" if how == "SIGTERM" else "SIGINT"
    assert runner.returncode == 128 + signal.Signals[name].value, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [err.strip()] and err.startswith(f"close: error: interrupted by {name}")
    assert _survivors(tree) == []
    (run_dir,) = all_runs(outputs)
    m = read_manifest(run_dir)
    assert m["status"] == "failed" and m["error"] == f"interrupted by {name}"
    assert m["notebooks"]["sleepy"]["status"] == "failed"
    assert m["notebooks"]["sleepy"]["error"] == f"stopped: the run was interrupted by {name}"
    assert m["notebooks"]["later"]["error"] == f"not started: the run was interrupted by {name}"
    assert not any("Traceback" in p.read_text(errors="replace") for p in (run_dir / "logs").glob("*.log"))
    assert "FAILED" in render_period(outputs, "2026-10").upper()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the process tree")
def test_a_killed_runner_takes_its_children_along_and_its_run_reads_abandoned(sleepy, mini_source, tmp_path, capsys):
    outputs = tmp_path / "out"
    runner, tree = _start_and_wait_for_kernels(sleepy, mini_source, outputs)
    (run_dir,) = all_runs(outputs)
    assert run_status(read_manifest(run_dir)) == "running"
    runner.kill()  # SIGKILL: no chance to clean up; the children must die with their parent
    runner.communicate(timeout=30)
    assert _survivors(tree) == []
    m = read_manifest(run_dir)
    assert m["status"] == "running" and m["process"]["pid"] == runner.pid
    assert run_status(m) == "abandoned"
    assert cli.main(["list", "--outputs", str(outputs)]) == 0
    assert "abandoned" in capsys.readouterr().out
    assert cli.main(["status", "2026-10", "--outputs", str(outputs)]) == 0
    assert f"latest {run_dir.name} abandoned" in capsys.readouterr().out
    assert 'class="run abandoned"' in render_period(outputs, "2026-10")


def test_a_run_is_abandoned_only_when_its_process_is_certainly_gone():
    me = process_record()
    assert me["host"] == socket.gethostname() and not is_gone(me)
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert is_gone({"pid": dead.pid, "host": socket.gethostname(), "started": None})
    assert not is_gone({"pid": dead.pid, "host": "another-host", "started": None})  # cannot tell: running
    assert not is_gone(None) and not is_gone({"pid": "x"})
    if me["started"] is not None:  # a reused pid: the same number, another start time
        assert is_gone({**me, "started": str(int(me["started"]) + 1)})
    assert run_status({"status": "running", "process": {"pid": dead.pid, "host": socket.gethostname()}}) == (
        "abandoned"
    )
    assert run_status({"status": "failed", "process": {"pid": dead.pid, "host": socket.gethostname()}}) == "failed"


def _notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "nbs"
    folder.mkdir(exist_ok=True)
    write_notebook(folder / "01_count.ipynb", START, "ctx.figure('test.documents', len(ctx.book.documents))")
    return folder


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]) if args else None)


def test_a_full_disk_is_one_line_and_the_run_is_recorded_failed(tmp_path, mini_source, monkeypatch, capsys):
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", _notebooks(tmp_path))
    monkeypatch.setattr("closelib.runner.run.link_inputs", _enospc)  # the disk fills while storing inputs
    out = tmp_path / "out"
    assert cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("close: error: could not write the run: No space left on device")
    (run_dir,) = all_runs(out)
    m = read_manifest(run_dir)
    assert m["status"] == "failed" and "No space left on device" in m["error"] and m["finished_at"]


def test_a_full_disk_that_stops_even_the_manifest_leaves_it_running_not_finished(
    tmp_path, mini_source, monkeypatch, capsys
):
    from closelib.files import write_json_atomic

    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", _notebooks(tmp_path))
    calls = []

    def first_only(path, data, **kwargs):  # the first manifest is written, then the disk is full
        calls.append(path)
        if len(calls) > 1:
            _enospc(path)
        write_json_atomic(path, data, **kwargs)

    monkeypatch.setattr("closelib.runner.run.write_json_atomic", first_only)
    out = tmp_path / "out"
    assert cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "could not record its end" in err and "abandoned" in err
    (run_dir,) = all_runs(out)
    m = read_manifest(run_dir)
    assert m["status"] == "running"  # never claimed as finished; abandoned once this process ends
    assert m["process"] == process_record() and run_status(m) == "running"


def test_outputs_that_are_a_file_or_unwritable_are_one_line(tmp_path, mini_source, monkeypatch, capsys):
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", _notebooks(tmp_path))
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(afile)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"close: error: outputs {afile} is not a folder"

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "ro" / "2026-10"))

    monkeypatch.setattr("closelib.runner.run.new_run_dir", refused)
    assert cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(tmp_path / "ro")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"close: error: cannot create a run folder under {tmp_path / 'ro'}: Permission denied")


def test_a_binary_params_file_fails_the_run_with_the_reason(tmp_path, mini_source, monkeypatch, capsys):
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", _notebooks(tmp_path))
    binary = tmp_path / "params.yaml"
    binary.write_bytes(bytes(range(256)))
    out = tmp_path / "out"
    code = cli.main(["run", "2026-10", "--source", str(mini_source), "--outputs", str(out), "--params", str(binary)])
    assert code == 1 and "Traceback" not in capsys.readouterr().err
    m = read_manifest(find_run(all_runs(out)[0]))
    assert m["status"] == "failed" and "not UTF-8 text" in m["error"]


@pytest.mark.parametrize("period", ["0001-01", "1899-12", "2200-01", "9999-12"])
def test_an_out_of_range_period_is_refused_before_any_folder(tmp_path, period, capsys):
    assert cli.main(["run", period, "--outputs", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.startswith("close: error: invalid parameters:")
    assert not (tmp_path / "out").exists()


def test_a_bug_is_recorded_before_its_traceback(tmp_path, mini_source, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("closelib.runner.run.load_parameters", broken)
    with pytest.raises(ZeroDivisionError):
        execute_run("2026-10", source=mini_source, outputs=tmp_path / "out", notebooks_dir=_notebooks(tmp_path))
    (run_dir,) = all_runs(tmp_path / "out")
    m = read_manifest(run_dir)
    assert m["status"] == "failed" and m["error"] == "ZeroDivisionError: division by zero"
    assert json.loads((run_dir / "manifest.json").read_text())["finished_at"]


def test_an_empty_run_id_is_an_error_not_every_run(tmp_path, capsys):
    (tmp_path / "2026-10" / "20260101T000000000000Z-abcdef").mkdir(parents=True)
    (tmp_path / "2026-10" / "20260101T000000000000Z-abcdef" / "manifest.json").write_text("{}")
    for empty in ("", " "):
        assert cli.main(["verify", empty, "--outputs", str(tmp_path)]) == 1
        assert capsys.readouterr().err.startswith("close: error: no run given")


# interrupts_raise in a process started with SIGINT ignored (a shell's background job), then with
# the default handler: it prints the SIGINT handler inside the block, and whether SIGTERM raised.
IGNORED_STAYS_IGNORED = """
import os, signal
from closelib.runner.processes import interrupts_raise
with interrupts_raise():
    print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        print("no interruption")
    except KeyboardInterrupt as exc:
        print(exc)
"""


@pytest.mark.parametrize("started_ignoring", [True, False])
def test_a_run_started_ignoring_ctrl_c_keeps_ignoring_it_and_still_stops_on_sigterm(started_ignoring):
    def before_exec() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN if started_ignoring else signal.SIG_DFL)

    done = subprocess.run(
        [sys.executable, "-c", IGNORED_STAYS_IGNORED],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=before_exec,
    )
    assert done.stdout.split() == [str(started_ignoring), "SIGTERM"], done.stderr
