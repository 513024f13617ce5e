"""Execute one notebook with papermill, in a process of its own, and judge the result.

papermill's ``cwd`` is process-wide and a timed-out or dead kernel can leave an output
notebook that looks completed, so the runner never trusts papermill alone: each
notebook runs in a child process (its own process group, so the kernel dies with it),
the child writes a status file, and :func:`inspect_notebook` reads the executed
notebook back to find the first cell that failed or never ran.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat

KERNEL = "python3"


def inspect_notebook(path: Path) -> str | None:
    """``None`` when every code cell ran and none raised; otherwise what went wrong, naming the cell.

    Cell numbers count every cell of the *executed* notebook from 1, papermill's injected
    parameters cell included, so they match what a reviewer opening it sees."""
    if not path.is_file():
        return "no executed notebook was written"
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # a half-written file from a killed process
        return f"executed notebook unreadable: {exc}"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1}: {output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip()
        state = cell.get("metadata", {}).get("papermill", {}).get("status")
        if cell.get("execution_count") is None or (state is not None and state != "completed"):
            return f"cell {index + 1} did not complete (status {state or 'not run'})"
    return None


def render_html(notebook: Path, html_path: Path) -> None:
    """Reviewer HTML with the code hidden (nbconvert ignores papermill's report mode)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_filename(str(notebook))
    html_path.write_text(body, encoding="utf-8")


def _write_json_atomic(path: Path, data: dict) -> None:
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(scratch, path)


def execute_notebook(job: dict) -> dict:
    """Run ``job["input"]`` into ``job["output"]`` with ``job["parameters"]``; never raises."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output = Path(job["output"])
    started = time.monotonic()
    status, error = "succeeded", None
    try:
        papermill.execute_notebook(
            job["input"], str(output), parameters=job["parameters"], kernel_name=KERNEL,
            execution_timeout=job.get("cell_timeout"), progress_bar=False, log_output=False,
            cwd=job.get("cwd"), request_save_on_cell_execute=True)
    except PapermillExecutionError as exc:
        first_line = (exc.source or "").strip().splitlines()[0][:60] if (exc.source or "").strip() else ""
        status, error = "failed", f"cell {exc.cell_index + 1} `{first_line}`: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # timeout, dead kernel, unreadable notebook...
        status, error = "failed", f"{type(exc).__name__}: {exc}".strip()
    seconds = round(time.monotonic() - started, 3)
    found = inspect_notebook(output)
    if found and status == "succeeded":
        status, error = "failed", found
    elif found and error and "cell" not in error:
        error = f"{error} ({found})"
    html = None
    if output.is_file() and job.get("html"):
        try:
            render_html(output, Path(job["html"]))
            html = Path(job["html"]).name
        except Exception as exc:  # the notebook stands without its HTML, but say so
            status, error = "failed", error or f"HTML rendering failed: {type(exc).__name__}: {exc}"
    return {"status": status, "error": error, "seconds": seconds, "html": html}


def child_main(job: dict) -> None:
    """Entry point of the child process: own process group, run, write the status file."""
    try:
        os.setpgrp()
    except OSError:
        pass
    # The kernel's own chatter (transport warnings, shutdown notices) goes to the run's log,
    # not the user's terminal: the kernel inherits these file descriptors.
    log = Path(job["status_file"]).with_suffix(".log")
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    result = execute_notebook(job)
    _write_json_atomic(Path(job["status_file"]), result)
    sys.stdout.flush()
