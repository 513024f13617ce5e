"""Cell-level re-performance (issue 22): every cell's output compared with nbval's comparison.

The comparison itself on hand-made notebooks, then ``close reperform RUN --cells`` on the real
trial-balance and reserve notebooks of the MINI book after one stored input amount changed
(D2 500.00 -> 510.00: the subledger grows by 10.00 while the GL does not).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import nbformat
import pytest

from closelib.audit.cells import SANITIZERS, compare_notebooks, compare_run_cells, run_sanitizers
from closelib.cli import main as cli
from closelib.paths import NOTEBOOKS_DIR
from closelib.runner.run import execute_run
from closelib.runner.runfolder import read_manifest

PERIOD = "2026-10"
RUN_A = "20261101T090000000001Z-aaaaaa"
RUN_B = "20261102T100000000002Z-bbbbbb"


def executed(path: Path, *cells: list[dict]) -> Path:
    """An executed notebook: one code cell per list of outputs."""
    nb = nbformat.v4.new_notebook()
    for number, outputs in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(f"cell_{number}()", execution_count=number)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def html(text: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": text, "text/plain": "<table>"}, "metadata": {}}


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_only_what_the_sanitizers_name_may_differ(tmp_path):
    a = executed(
        tmp_path / "a.ipynb",
        [html(f"<td>run</td><td>{RUN_A}</td><td>/data/out/2026-10/{RUN_A}</td>")],
        [stream("total 1,050.50\n"), stream("done\n")],  # nbval coalesces a cell's streams
        [html("<th>closelib</th><td>0.1.0 commit 1111</td>")],
    )
    b = executed(
        tmp_path / "b.ipynb",
        [html(f"<td>run</td><td>{RUN_B}</td><td>/elsewhere/2026-10/{RUN_B}</td>")],
        [stream("total 1,050.50\ndone\n")],
        [html("<th>closelib</th><td>0.2.0 commit 2222</td>")],
    )
    paths = run_sanitizers(Path("/data/out/2026-10") / RUN_A, Path("/elsewhere/2026-10") / RUN_B)
    same = compare_notebooks(a, b, paths + list(SANITIZERS))
    assert same.identical and [c.status for c in same.cells] == ["identical"] * 3
    # without sanitizers the run id, the folder and the code version are differences
    raw = compare_notebooks(a, b, [])
    assert [c.number for c in raw.different] == [1, 3]


def test_a_changed_output_is_named_with_both_versions(tmp_path):
    a = executed(tmp_path / "a.ipynb", [html("<tr>\n<td>D1</td>\n<td>1,050.50</td>\n</tr>")], [stream("ok\n")])
    b = executed(tmp_path / "b.ipynb", [html("<tr>\n<td>D1</td>\n<td>1,060.50</td>\n</tr>")], [stream("ok\n")])
    result = compare_notebooks(a, b, list(SANITIZERS))
    (cell,) = result.different
    assert (cell.number, cell.code, cell.field) == (1, "cell_1()", "text/html")
    assert cell.original == "line 3: <td>1,050.50</td>" and cell.new == "line 3: <td>1,060.50</td>"
    assert [c.status for c in result.cells] == ["differs", "identical"]
    # a notebook the re-performance did not write is named too
    assert compare_notebooks(a, tmp_path / "missing.ipynb", []).problem == "not written by the re-performance"


def test_notebooks_missing_on_either_side_are_named(tmp_path):
    from closelib.files import write_json_atomic

    runs = {}
    for label, memos in (("a", ["C1", "C2"]), ("b", ["C2", "C3"])):
        folder = tmp_path / label
        (folder / "credit_memos").mkdir(parents=True)
        outputs = {}
        for memo in memos:
            executed(folder / "credit_memos" / f"{memo}.ipynb", [stream(f"{memo}\n")])
            outputs[f"credit_memos/{memo}.ipynb"] = "sha"
        write_json_atomic(folder / "manifest.json", {"outputs": outputs})
        runs[label] = folder
    result = compare_run_cells(runs["a"], runs["b"])
    assert {n.file: n.problem for n in result.notebooks} == {
        "credit_memos/C1.ipynb": "not written by the re-performance",
        "credit_memos/C2.ipynb": None,
        "credit_memos/C3.ipynb": "written only by the re-performance",
    }
    assert not result.identical
    assert "  credit_memos/C3.ipynb: 0 of 0 code cells identical; written only by the re-performance" in result.lines()


def writable(path: Path) -> None:
    for p in [path, *path.parents][:3]:
        os.chmod(p, p.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """A run of MINI on the real 01 and 02 notebooks whose stored documents.csv then had D2's
    amount changed from 500.00 to 510.00 (the store copy is the same file: a hard link)."""
    from tests.conftest import MINI, write_source

    base = tmp_path_factory.mktemp("cells")
    notebooks = base / "nbs"
    notebooks.mkdir()
    for name in ("01_tb_recon.ipynb", "02_reserve.ipynb"):
        shutil.copy(NOTEBOOKS_DIR / name, notebooks)
    outputs = base / "out"
    run = execute_run(PERIOD, source=write_source(base / "src", MINI), outputs=outputs, notebooks_dir=notebooks)
    assert run.succeeded, run.manifest
    documents = run.run_dir / "inputs" / "documents.csv"
    writable(documents)
    text = documents.read_text(encoding="utf-8")
    assert text.count(",500.00,") == 1  # D2
    documents.write_text(text.replace(",500.00,", ",510.00,"), encoding="utf-8")
    return {"run": run.run_dir, "outputs": outputs, "notebooks": notebooks}


def test_reperform_cells_names_the_cells_a_changed_input_moved(tampered, capsys, monkeypatch):
    monkeypatch.setattr("closelib.runner.run.NOTEBOOKS_DIR", tampered["notebooks"])
    code = cli.main(["reperform", tampered["run"].name, "--outputs", str(tampered["outputs"]), "--cells"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "cells: 2 notebooks" in printed and "cells NOT identical" in printed
    new_dir = Path(printed.strip().splitlines()[-1])
    assert re.search(r"01_tb_recon\.ipynb: \d+ of \d+ code cells identical", printed)
    result = compare_run_cells(tampered["run"], new_dir)
    by_file = {nb.file: nb for nb in result.notebooks}
    assert set(by_file) == {"01_tb_recon.ipynb", "02_reserve.ipynb"}

    def cell(file: str, seen: str):
        """The cell of ``file`` whose original output shows ``seen``."""
        nb = nbformat.read(str(tampered["run"] / file), as_version=4)
        number = next(i for i, c in enumerate(nb.cells, 1) if c.cell_type == "code" and seen in str(c.outputs))
        return next(c for c in by_file[file].cells if c.number == number)

    # the header lists the inputs' sha256: documents.csv's changed
    runs = {"a": tampered["run"], "b": new_dir}
    sha = {k: read_manifest(d)["inputs"]["documents.csv"]["sha256"] for k, d in runs.items()}
    header = cell("01_tb_recon.ipynb", "<th>run folder</th>")
    assert header.status == "differs" and sha["a"] in header.original and sha["b"] in header.new
    # the GL did not move: the trial balance and its check are the same
    assert cell("01_tb_recon.ipynb", "tb.US01.trial_balance_balances").status == "identical"
    # the subledger did: 1,050.50 -> 1,060.50, and the unexplained difference fails the check
    position = cell("01_tb_recon.ipynb", "Position at")
    assert position.status == "differs" and "1,050.50" in position.original and "1,060.50" in position.new
    tolerance = cell("01_tb_recon.ipynb", "tb.US01.unexplained_within_tolerance")
    assert "PASS" in tolerance.original and "FAIL" in tolerance.new and "unexplained -10.00 USD" in tolerance.new
    # the reserve ages D2 (1-30 days past due at 2026-10-31) at 510.00 instead of 500.00
    aging = cell("02_reserve.ipynb", "aging_ties_subledger")
    assert aging.status == "differs" and "1,060.50 vs 1,060.50" in aging.new
    # each named cell is printed with both versions; the same header difference once
    assert f"DIFF cell {tolerance.number} " in printed and "unexplained -10.00 USD" in printed
    assert f": text/html, as 01_tb_recon.ipynb cell {header.number}" in printed
