"""The run's notebook workers (closelib.runner.pool): at most run.workers of them, each running its
notebooks one after another in one kernel, every notebook from an empty namespace; a notebook
over its wall-clock limit takes its worker down with it, and a new worker runs the rest."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from closelib.runner.pool import NotebookWorkers
from closelib.runner.processes import wait_gone
from tests.conftest import START, write_notebook
from tests.runner.test_run import run

# Each notebook: the kernel's pid, whether a name of an earlier notebook is still defined, a
# warning (shown in every notebook, as in a kernel of its own), a spawned process started from
# the kernel (the credit review starts its memo workers so), then a name of its own.
PROBE = (
    "import os, warnings, multiprocessing\n"
    "print('pid', os.getpid())\n"
    "print('leaked', 'earlier' in globals())\n"
    "warnings.warn('shown in every notebook')\n"
    "child = multiprocessing.get_context('spawn').Process(target=print)\n"
    "child.start(); child.join()\n"
    "ctx.figure(f'test.{notebook}.child_exit', child.exitcode)\n"
    "earlier = notebook"
)


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "nbs"
    folder.mkdir()
    return folder


def _printed(run_dir: Path, stem: str) -> dict[str, str]:
    nb = nbformat.read(run_dir / f"{stem}.ipynb", as_version=4)
    outputs = nb.cells[-1].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    found = dict(line.split(" ", 1) for line in text.splitlines() if line)
    found["warned"] = str(any("shown in every notebook" in o.get("text", "") for o in outputs))
    return found


def test_one_worker_runs_every_notebook_in_one_kernel_from_an_empty_namespace(notebooks, mini_source, tmp_path):
    for stem in ("01_a", "02_b", "03_c"):
        write_notebook(notebooks / f"{stem}.ipynb", START, PROBE)
    result, _ = run(notebooks, mini_source, tmp_path / "out", "run.workers=1")
    assert result.succeeded, result.manifest["notebooks"]
    seen = [_printed(result.run_dir, stem) for stem in ("01_a", "02_b", "03_c")]
    assert len({s["pid"] for s in seen}) == 1  # one kernel ran all three
    assert [s["leaked"] for s in seen] == ["False"] * 3
    assert [s["warned"] for s in seen] == ["True"] * 3
    assert {result.manifest["figures"][f"test.{n}.child_exit"] for n in ("a", "b", "c")} == {0}
    assert sorted(p.name for p in (result.run_dir / "logs").glob("worker-*.log")) == ["worker-1.log"]


def test_never_more_workers_than_run_workers_or_notebooks(notebooks, mini_source, tmp_path):
    for stem in ("01_a", "02_b", "03_c"):
        write_notebook(notebooks / f"{stem}.ipynb", START, "ctx.figure(f'test.{notebook}', 1)")
    result, _ = run(notebooks, mini_source, tmp_path / "two", "run.workers=2")
    assert result.succeeded
    assert len(list((result.run_dir / "logs").glob("worker-*.log"))) == 2
    only = tmp_path / "nbs_one"
    only.mkdir()
    write_notebook(only / "01_a.ipynb", START, "ctx.figure('test.a', 1)")
    result, _ = run(only, mini_source, tmp_path / "one", "run.workers=4")
    assert result.succeeded
    assert len(list((result.run_dir / "logs").glob("worker-*.log"))) == 1


def test_a_notebook_over_its_wall_limit_takes_its_worker_and_a_new_one_runs_the_rest(notebooks, mini_source, tmp_path):
    # every cell within the 2 s cell limit, the notebook over its 3 x 2 s wall-clock limit
    naps = ["import time\ntime.sleep(1.5)"] * 6
    # (no book read: nothing but the limits is timed)
    write_notebook(notebooks / "01_slow.ipynb", "import os\nprint(os.getpid())", *naps)
    write_notebook(notebooks / "02_after.ipynb", "print('after')")
    result, _ = run(notebooks, mini_source, tmp_path / "out", "run.workers=1", "run.timeout_seconds=2")
    entries = result.manifest["notebooks"]
    assert entries["slow"]["status"] == "failed"
    assert entries["slow"]["error"].startswith("timed out after 6 s and was stopped (cell ")
    assert entries["after"]["status"] == "succeeded", entries["after"]
    logs = sorted(p.name for p in (result.run_dir / "logs").glob("worker-*.log"))
    assert logs == ["worker-1.log", "worker-2.log"]
    slow = nbformat.read(result.run_dir / "01_slow.ipynb", as_version=4)
    kernel = int(slow.cells[2].outputs[0]["text"])
    assert wait_gone([kernel], timeout=5) == []  # the first worker's kernel went with it


def test_workers_left_without_notebooks_are_stopped(tmp_path):
    with NotebookWorkers(tmp_path, 2) as pool:
        pool.start()
        processes = [worker.process for worker in pool.workers]
        assert len(processes) == 2
    assert all(not process.is_alive() for process in processes) and not pool.workers


def test_a_worker_that_dies_takes_only_its_notebook_and_leaves_no_kernel(notebooks, mini_source, tmp_path):
    # the kernel kills its worker (its parent) and carries on: the runner stops the kernel itself
    write_notebook(
        notebooks / "01_orphan.ipynb",
        "import os, signal, time\nprint(os.getpid())",
        "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(60)",
    )
    write_notebook(notebooks / "02_after.ipynb", "print('after')")
    result, _ = run(notebooks, mini_source, tmp_path / "out", "run.workers=1")
    entries = result.manifest["notebooks"]
    assert entries["orphan"]["status"] == "failed"
    assert entries["orphan"]["error"].startswith("the notebook's process died (exit code -9) before reporting")
    assert entries["after"]["status"] == "succeeded", entries["after"]
    orphan = nbformat.read(result.run_dir / "01_orphan.ipynb", as_version=4)
    kernel = int(orphan.cells[2].outputs[0]["text"])
    assert wait_gone([kernel], timeout=0) == []  # stopped by the runner, not left to run on
