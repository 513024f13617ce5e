"""The executed notebook is saved at code cells' starts only (and papermill's final write), and
a run killed outright leaves a notebook that says it is incomplete."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import nbformat

from closelib.nb.engine import CodeCellSaves
from closelib.nb.execute import NotebookJob, execute_notebook, inspect_notebook


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell('marker = ""', metadata={"tags": ["parameters"]})]
    nb.cells += [
        nbformat.v4.new_markdown_cell(src[3:]) if src.startswith("md:") else nbformat.v4.new_code_cell(src)
        for src in cells
    ]
    nbformat.write(nb, path)
    return path


class _Counting(CodeCellSaves):
    def __init__(self, nb):
        super().__init__(nb, output_path="unused", progress_bar=False)
        self.saves = 0

    def save(self, **kwargs):
        if not self._skip_save:
            self.saves += 1


def test_only_code_cells_save_and_only_at_their_start():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# title"),
            nbformat.v4.new_code_cell("1"),
            nbformat.v4.new_markdown_cell("text"),
            nbformat.v4.new_code_cell("2"),
        ]
    )
    nb.metadata.papermill = {}  # papermill puts it there before executing
    manager = _Counting(nb)
    manager.notebook_start()
    for index, cell in enumerate(nb.cells):
        manager.cell_start(cell, index)
        manager.cell_complete(cell, index)
    manager.notebook_complete()
    assert manager.saves == 1 + 2 + 1  # start, two code cells' starts, end
    # the markdown cells' metadata is still kept up to date (written with the next save)
    assert [c.metadata.papermill["status"] for c in nb.cells] == ["completed"] * 4


def test_a_notebook_runs_and_its_saved_copy_is_complete(tmp_path):
    template = _notebook(tmp_path / "t.ipynb", "md:# Title", "x = 1 + 1", "md:text", "print(x)")
    job = NotebookJob(name="ok", input=str(template), output=str(tmp_path / "ok.ipynb"), cell_timeout=60)
    result = execute_notebook(job)
    assert result["status"] == "succeeded", result
    assert inspect_notebook(tmp_path / "ok.ipynb") is None
    nb = nbformat.read(tmp_path / "ok.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "2\n"
    # the finished notebook is papermill's final write, nbformat's own format (texts split in lines)
    text = (tmp_path / "ok.ipynb").read_text(encoding="utf-8")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4))


def test_a_save_mid_run_shows_the_running_cell_and_the_finished_ones(tmp_path):
    """What a killed run leaves: the save at a code cell's start has every earlier code cell
    completed, with its outputs, and that cell running, so inspect_notebook names it."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("1", outputs=[]),
            nbformat.v4.new_markdown_cell("text"),
            nbformat.v4.new_code_cell("2"),
            nbformat.v4.new_code_cell("3"),
        ]
    )
    nb.metadata.papermill = {}
    output = tmp_path / "mid.ipynb"
    manager = CodeCellSaves(nb, output_path=str(output), progress_bar=False)
    manager.notebook_start()
    for index in (0, 1):
        manager.cell_start(nb.cells[index], index)
        if index == 0:
            nb.cells[0].execution_count = 1
        manager.cell_complete(nb.cells[index], index)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="one\n")]
    manager.cell_start(nb.cells[2], 2)  # the last save before the "kill"
    manager.cell_complete(nb.cells[2], 2)  # not written: the next start (or the final write) writes it
    saved = nbformat.read(output, as_version=4)
    nbformat.validate(saved)
    assert [c.metadata.papermill["status"] for c in saved.cells] == ["completed", "completed", "running", "pending"]
    assert saved.cells[0].outputs[0]["text"] == "one\n"
    assert inspect_notebook(output) == "cell 3 did not complete (status running)"


def test_a_save_is_the_notebooks_json_and_encodes_a_finished_cell_once(tmp_path, monkeypatch):
    """Every save is ``json.dumps(nb, sort_keys=True, ensure_ascii=False)`` byte for byte, the
    running cell's new outputs included; a finished cell's text is made once and reused."""
    import json

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("a"),
            nbformat.v4.new_markdown_cell("Ünïcode <b>&</b>"),
            nbformat.v4.new_code_cell("b"),
            nbformat.v4.new_code_cell("c"),
        ]
    )
    nb.metadata.papermill = {}
    output = tmp_path / "saved.ipynb"
    manager = CodeCellSaves(nb, output_path=str(output), progress_bar=False)
    encoded = []
    real_dumps = json.dumps
    monkeypatch.setattr(
        "closelib.nb.engine.json.dumps",
        lambda value, **kw: (
            encoded.append(value.get("source") if isinstance(value, dict) else None) or real_dumps(value, **kw)
        ),
    )
    manager.notebook_start()
    for index, cell in enumerate(nb.cells):
        manager.cell_start(cell, index)
        if cell.cell_type == "code":
            assert output.read_text(encoding="utf-8") == real_dumps(nb, sort_keys=True, ensure_ascii=False) + "\n"
            cell.outputs.append(nbformat.v4.new_output("stream", text=f"{cell.source} éà\n" * 3))
            cell.execution_count = index + 1
            manager.autosave_cell()  # papermill's periodic save mid-cell
        manager.cell_complete(cell, index)
    manager.save()
    assert output.read_text(encoding="utf-8") == real_dumps(nb, sort_keys=True, ensure_ascii=False) + "\n"
    # a cell is encoded at every save while pending or running and once finished, never again:
    # "a" at the notebook's start, its own start and b's (finished); "c" at every save
    assert encoded.count("a") == 3 and encoded.count("c") == 5


def _run(job: NotebookJob) -> None:
    os.setpgrp()  # the kernel follows this process into its group: both are killed together
    execute_notebook(job)


def test_a_killed_run_leaves_a_notebook_recognisably_incomplete(tmp_path):
    marker = tmp_path / "reached"
    template = _notebook(
        tmp_path / "t.ipynb",
        "md:# Title",
        "print('first')",
        "md:The next cell is killed half-way",
        "import pathlib, time\npathlib.Path(marker).write_text('x')\ntime.sleep(120)",
        "print('never')",
    )
    output = tmp_path / "killed.ipynb"
    job = NotebookJob(
        name="killed", input=str(template), output=str(output), cell_timeout=300, parameters={"marker": str(marker)}
    )
    process = multiprocessing.get_context("spawn").Process(target=_run, args=(job,))
    process.start()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert time.monotonic() < deadline and process.is_alive(), "the notebook never reached its slow cell"
            time.sleep(0.1)
        time.sleep(0.5)  # the cell is running: its start was saved before it ran
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.join(30)
    # cells: parameters, injected parameters, markdown, print, markdown, slow (6th), never
    assert inspect_notebook(output) == "cell 6 did not complete (status running)"
    nb = nbformat.read(output, as_version=4)
    nbformat.validate(nb)  # the plain-JSON save mid-run is a valid notebook
    assert nb.cells[3].outputs[0]["text"] == "first\n"
    assert nb.cells[6].metadata.papermill["status"] == "pending" and nb.cells[6].execution_count is None
