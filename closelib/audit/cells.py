"""Cell-level re-performance: every output of a run's notebooks compared, cell by cell, with nbval.

``close reperform RUN --cells`` re-executes the run from its stored inputs (see
:mod:`closelib.audit.reperform`), then, for every notebook the original run wrote (the period
notebooks and each credit memo, as listed in its manifest's ``outputs``), compares each code
cell's outputs with the re-performed notebook's cell using nbval's own comparison
(``IPyNbCell.compare_outputs``: outputs flattened by MIME type, streams coalesced, nbval's
default fields skipped) after nbval's sanitizing (regex replacements, applied to both sides).

The sanitizers are :data:`SANITIZERS` plus the two runs' own folders (:func:`run_sanitizers`);
everything else a reviewer reads must come out identical. nbval does not compare ``metadata``,
``execution_count`` or images (``image/png``, ``image/jpeg``: a chart's pixels depend on the
machine's fonts and libraries; its numbers are in the tables beside it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat

from closelib.runner.runfolder import MANIFEST, RUN_INFO, read_manifest


@dataclass(frozen=True)
class Sanitizer:
    """One nbval sanitizer: ``pattern`` (a regex) replaced by ``replace`` in both outputs."""

    name: str
    pattern: str
    replace: str
    why: str


# What legitimately differs between a run and its re-performance, besides the runs' folders
# (:func:`run_sanitizers`, applied first); nothing else may. Both are in the notebook header.
SANITIZERS: tuple[Sanitizer, ...] = (
    Sanitizer(
        "run id",
        r"\b\d{8}T\d{12}Z-[0-9a-f]{6}\b",
        "<run-id>",
        "every run has its own id (its start time and random hex)",
    ),
    Sanitizer(
        "code version",
        r"(<th>closelib</th><td>)[^<]*(</td>)",
        r"\1<code-version>\2",
        "closelib's version and git commit: a different one is reported as a warning beside the figures",
    ),
)

RUN_FOLDER, SOURCE = "<run-folder>", "<source>"


def run_sanitizers(*run_dirs: Path) -> list[Sanitizer]:
    """The runs' own folders, as their notebooks show them: the run folder, its ``inputs/`` (the
    ``source`` the notebooks were given) and the source folder it copied them from (``run.json``,
    the manifest). A re-performance reads the original's ``inputs/`` into a new folder, so these
    differ by design. Longest first, so that a folder inside another is replaced whole."""
    found: dict[str, str] = {}
    for run_dir in map(Path, run_dirs):
        found[str(run_dir)] = RUN_FOLDER
        found[str(run_dir / "inputs")] = SOURCE
        for recorded in (
            _read_json(run_dir / RUN_INFO).get("source_original"),
            _read_json(run_dir / MANIFEST).get("source"),
        ):
            if recorded:
                found[str(recorded)] = SOURCE
    return [
        Sanitizer("path", re.escape(path), found[path], "the runs' own folders and the folder their inputs came from")
        for path in sorted(found, key=len, reverse=True)
    ]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------ nbval's comparison, from Python


# nbval's own list (``IPyNbFile.skip_compare`` without ``--nbdime``): fields never compared. Images
# are among them: a chart's pixels depend on the machine's fonts and libraries.
NBVAL_SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


def _nbval_comparer(sanitizers: list[Sanitizer]) -> Any:
    """An object with nbval's ``compare_outputs`` and ``sanitize`` bound to the given sanitizers:
    the few attributes of an ``IPyNbCell`` (and its parent ``IPyNbFile``) they read, without a
    pytest session."""
    from nbval.plugin import IPyNbCell, nocolors

    class Comparer:
        compare_outputs = IPyNbCell.compare_outputs
        sanitize = IPyNbCell.sanitize
        format_output_compare = IPyNbCell.format_output_compare

        def __init__(self) -> None:
            self.parent = SimpleNamespace(
                skip_compare=NBVAL_SKIP_COMPARE,
                sanitize_patterns={s.pattern: s.replace for s in sanitizers},
            )
            self.colors = nocolors
            self.ihook = SimpleNamespace(pytest_assertrepr_compare=lambda **kwargs: [])
            self.config = None  # read only to pass on to the (replaced) pytest hook
            self.comparison_traceback: list[str] = []

    return Comparer()


def _flatten(outputs: list, sanitize: Callable[[Any], Any]) -> dict[str, list]:
    """nbval's view of a cell's outputs: each field (MIME types flattened) -> its sanitized values."""
    from nbval.plugin import transform_streams_for_comparison

    flat: dict[str, list] = {}
    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in NBVAL_SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in NBVAL_SKIP_COMPARE:
                        flat.setdefault(mime, []).append(sanitize(data))
            else:
                flat.setdefault(key, []).append(sanitize(value))
    return flat


def _text(value: Any) -> str:
    if isinstance(value, list):  # nbformat keeps multi-line text as a list of lines
        value = "".join(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _first_difference(original: dict[str, list], new: dict[str, list]) -> tuple[str, str, str]:
    """(field, original, re-performed) for the first output that differs, each shortened to the
    first line where they part (with its line number)."""
    keys = list(original) + [k for k in new if k not in original]
    # what a reviewer reads first: the rendered table or sentence, then the rest, plain text last
    keys.sort(key=lambda k: (k not in ("text/html", "text/markdown"), k == "text/plain"))
    for key in keys:
        a, b = original.get(key), new.get(key)
        if a == b:
            continue
        if a is None or b is None:
            return key, "(absent)" if a is None else _short(a), "(absent)" if b is None else _short(b)
        for index in range(max(len(a), len(b))):
            x = _text(a[index]) if index < len(a) else None
            y = _text(b[index]) if index < len(b) else None
            if x != y:
                if x is None or y is None:
                    return key, "(absent)" if x is None else _clip(x), "(absent)" if y is None else _clip(y)
                return (key, *_parting_line(x, y))
    return "", "", ""


def _short(values: Any) -> str:
    return _clip(_text(values[0] if isinstance(values, list) and values else values))


def _clip(text: str, limit: int = 240) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _parting_line(a: str, b: str) -> tuple[str, str]:
    """Where two texts first differ: the line (numbered), from a little before the first
    differing character, in each."""
    la, lb = a.splitlines(), b.splitlines()
    for number in range(max(len(la), len(lb))):
        x = la[number] if number < len(la) else "(end)"
        y = lb[number] if number < len(lb) else "(end)"
        if x != y:
            at = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
            start = max(0, at - 60)
            lead = "..." if start else ""
            return f"line {number + 1}: {lead}{_clip(x[start:])}", f"line {number + 1}: {lead}{_clip(y[start:])}"
    return _clip(a), _clip(b)


# ------------------------------------------------------------------ notebooks and runs


@dataclass
class CellResult:
    number: int  # counts every cell of the executed notebook from 1 (as `close run` names a failing cell)
    code: str  # the cell's first line
    status: str  # identical, differs, not run (in the original), missing (from the re-performance)
    field: str = ""  # the first output field that differs (a MIME type, ``stdout``, ``ename``...)
    original: str = ""
    new: str = ""


@dataclass
class NotebookCells:
    file: str  # relative to the run folder
    cells: list[CellResult] = field(default_factory=list)
    problem: str | None = None  # the notebook is missing from the re-performance, or its code changed

    @property
    def identical(self) -> bool:
        return self.problem is None and all(c.status in ("identical", "not run") for c in self.cells)

    @property
    def different(self) -> list[CellResult]:
        return [c for c in self.cells if c.status not in ("identical", "not run")]


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    line = (lines[0] if lines else source.strip().splitlines()[0] if source.strip() else "").strip()
    return line if len(line) <= 70 else line[:67] + "..."


def compare_notebooks(original: Path, new: Path, sanitizers: list[Sanitizer], name: str = "") -> NotebookCells:
    """Every code cell of ``original`` against the same cell of ``new``, with nbval."""
    from nbval.plugin import coalesce_streams

    result = NotebookCells(name or original.name)
    if not new.is_file():
        result.problem = "not written by the re-performance"
        return result
    a = nbformat.read(str(original), as_version=4)
    b = nbformat.read(str(new), as_version=4)
    comparer = _nbval_comparer(sanitizers)
    if [c.cell_type for c in a.cells] != [c.cell_type for c in b.cells]:
        result.problem = f"the notebook's cells changed ({len(a.cells)} cells, re-performed {len(b.cells)})"
    for number, (ca, cb) in enumerate(zip(a.cells, b.cells, strict=False), start=1):
        if ca.cell_type != "code" or cb.cell_type != "code":
            continue
        cell = CellResult(number, _first_line(ca.source), "identical")
        if ca.get("execution_count") is None:
            cell.status = "not run"  # nbval does not compare a reference cell that never ran
        elif cb.get("execution_count") is None:
            cell.status, cell.field = "differs", "execution"
            cell.original, cell.new = "ran", "did not run"
        else:
            ref, test = coalesce_streams(list(ca.outputs)), coalesce_streams(list(cb.outputs))
            if not comparer.compare_outputs(test, ref):
                cell.status = "differs"
                cell.field, cell.original, cell.new = _first_difference(
                    _flatten(ref, comparer.sanitize), _flatten(test, comparer.sanitize)
                )
        result.cells.append(cell)
    return result


def run_notebooks(run_dir: Path) -> list[str]:
    """The notebooks a run executed and kept (relative paths, from its manifest's ``outputs``)."""
    outputs = read_manifest(run_dir).get("outputs") or {}
    return sorted(name for name in outputs if name.endswith(".ipynb"))


@dataclass
class CellsComparison:
    original: Path
    new: Path
    sanitizers: list[Sanitizer]
    notebooks: list[NotebookCells]

    @property
    def identical(self) -> bool:
        return bool(self.notebooks) and all(n.identical for n in self.notebooks)

    def lines(self) -> list[str]:
        cells = sum(len(n.cells) for n in self.notebooks)
        differing = [c for n in self.notebooks for c in n.different]
        out = [
            f"cells: {len(self.notebooks)} notebooks, {cells} code cells compared with nbval, "
            f"{len(differing)} different (sanitized: {', '.join(sorted({s.name for s in self.sanitizers}))})"
        ]
        seen: dict[tuple[str, str, str], str] = {}  # a difference already shown -> where
        for nb in self.notebooks:
            same = [c.number for c in nb.cells if c.status == "identical"]
            head = f"  {nb.file}: {len(same)} of {len(nb.cells)} code cells identical"
            if nb.problem:
                head += f"; {nb.problem}"
            out.append(head + (f" (cells {_ranges(same)})" if same and nb.different else ""))
            for cell in nb.cells:
                if cell.status == "not run":
                    out.append(f"    cell {cell.number} `{cell.code}`: not run in the original")
                elif cell.status != "identical":
                    key = (cell.field, cell.original, cell.new)
                    if key in seen:  # the header's input hashes, in every notebook: shown once
                        out.append(f"    DIFF cell {cell.number} `{cell.code}`: {cell.field}, as {seen[key]}")
                        continue
                    seen[key] = f"{nb.file} cell {cell.number}"
                    out.append(f"    DIFF cell {cell.number} `{cell.code}`: {cell.field}")
                    out.append(f"      original:     {cell.original}")
                    out.append(f"      re-performed: {cell.new}")
        out.append(
            "cells identical: every output of every cell re-performed exactly (after sanitizing)"
            if self.identical
            else "cells NOT identical: the differing cells are listed above"
        )
        return out


def _ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    return ", ".join(parts)


def compare_run_cells(original: Path, new: Path, sanitizers: list[Sanitizer] | None = None) -> CellsComparison:
    """Every notebook the ``original`` run kept against the same file of the ``new`` run."""
    original, new = Path(original), Path(new)
    used = run_sanitizers(original, new) + list(SANITIZERS) if sanitizers is None else list(sanitizers)
    kept = run_notebooks(original)
    notebooks = [compare_notebooks(original / name, new / name, used, name) for name in kept]
    notebooks += [
        NotebookCells(name, problem="written only by the re-performance")
        for name in run_notebooks(new)
        if name not in kept
    ]
    return CellsComparison(original, new, used, notebooks)
