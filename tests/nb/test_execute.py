"""Several notebooks in one shared kernel (the credit memos): isolation, prompts, failures."""

from __future__ import annotations

import dataclasses
import pickle

import nbformat
import pytest

from closelib.nb import bookload
from closelib.nb.execute import NotebookJob, SharedKernel, execute_in_one_kernel


def _notebook(path, *sources: str):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell('label = ""', metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


def _job(tmp_path, template, name):
    return NotebookJob(
        name=name,
        input=str(template),
        output=str(tmp_path / f"{name}.ipynb"),
        html=str(tmp_path / f"{name}.html"),
        cell_timeout=60,
        cwd=str(tmp_path),
        parameters={"label": name},
    )


def test_a_job_is_a_frozen_record_that_pickles_for_a_spawned_process(tmp_path):
    job = _job(tmp_path, tmp_path / "t.ipynb", "one")
    assert pickle.loads(pickle.dumps(job)) == job
    assert job.save_each_cell and job.status_file is None and job.wall_timeout is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.name = "two"  # type: ignore[misc]


def test_notebooks_share_a_kernel_but_not_a_namespace(tmp_path):
    template = _notebook(
        tmp_path / "t.ipynb",
        "import os\nassert 'leaked' not in globals(), 'a variable leaked from the previous notebook'",
        "leaked = label\nprint(os.getpid())",
    )
    results = execute_in_one_kernel([_job(tmp_path, template, "first"), _job(tmp_path, template, "second")])
    assert [r["status"] for r in results] == ["succeeded", "succeeded"], results
    pids, counts = [], []
    for name in ("first", "second"):
        nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        counts.append([c.execution_count for c in code])
        pids.append(code[-1].outputs[0]["text"].strip())
        assert (tmp_path / f"{name}.html").is_file()
    assert pids[0] == pids[1]  # one kernel process ran both
    assert counts[0] == counts[1] == [1, 2, 3, 4]  # prompts from 1 in each, as in a kernel of its own


def test_a_failed_notebook_gets_its_kernel_replaced(tmp_path):
    template = _notebook(
        tmp_path / "t.ipynb",
        "import os\nif label == 'bad':\n    raise ValueError('bad notebook')",
        "print(os.getpid())",
    )
    results = execute_in_one_kernel(
        [_job(tmp_path, template, "good"), _job(tmp_path, template, "bad"), _job(tmp_path, template, "after")]
    )
    assert [r["status"] for r in results] == ["succeeded", "failed", "succeeded"], results
    assert "ValueError: bad notebook" in results[1]["error"]
    pid = {
        name: nbformat.read(tmp_path / f"{name}.ipynb", as_version=4).cells[-1].outputs[0]["text"].strip()
        for name in ("good", "after")
    }
    assert pid["good"] != pid["after"]


def test_a_dead_kernel_fails_only_its_notebook(tmp_path):
    template = _notebook(tmp_path / "t.ipynb", "import os\nif label == 'dies':\n    os._exit(1)", "print('ok')")
    results = execute_in_one_kernel([_job(tmp_path, template, "dies"), _job(tmp_path, template, "lives")])
    assert results[0]["status"] == "failed" and results[0]["error"]
    assert results[1]["status"] == "succeeded", results[1]


def test_shared_kernel_reports_alive_and_stops(tmp_path):
    kernel = SharedKernel(str(tmp_path))
    assert kernel.alive()
    kernel.close()
    assert not kernel.alive()


def test_release_book_only_in_a_run(tmp_path, mini_source):
    from closelib.nb import context as nb

    ctx = nb.start("release", "2026-10", str(mini_source), show_header=False)
    book = ctx.book
    ctx.release_book()  # opened by hand: earlier cells may be re-run, so the book stays
    assert ctx.book is book
    bookload.LAST_CACHED[("cache", str(mini_source))] = book
    ctx.run_dir = tmp_path
    ctx.release_book()
    assert ctx.book is None and not bookload.LAST_CACHED


def test_a_notebook_gets_its_own_working_folder_in_a_shared_kernel(tmp_path):
    template = _notebook(tmp_path / "t.ipynb", "import os\nprint(os.getcwd())\nos.chdir('/')")
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    jobs = [
        dataclasses.replace(_job(tmp_path, template, "one"), cwd=str(first)),
        dataclasses.replace(_job(tmp_path, template, "two"), cwd=str(second)),
    ]
    results = execute_in_one_kernel(jobs)
    assert [r["status"] for r in results] == ["succeeded", "succeeded"], results
    printed = [
        nbformat.read(tmp_path / f"{n}.ipynb", as_version=4).cells[-1].outputs[0]["text"].strip()
        for n in ("one", "two")
    ]
    assert printed == [str(first), str(second)]  # the first notebook's chdir did not carry over


def test_a_timed_out_notebook_without_per_cell_saves_still_shows_how_far_it_got(tmp_path):
    template = _notebook(tmp_path / "t.ipynb", "print('reached')", "import time\ntime.sleep(30)")
    job = dataclasses.replace(_job(tmp_path, template, "slow"), cell_timeout=3, save_each_cell=False)
    result = execute_in_one_kernel([job])[0]
    assert result["status"] == "failed" and result["error"]
    nb = nbformat.read(tmp_path / "slow.ipynb", as_version=4)
    assert nb.cells[-2].outputs[0]["text"].strip() == "reached"
    assert (tmp_path / "slow.html").is_file()
