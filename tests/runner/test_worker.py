"""A notebook worker (closelib.runner.worker) imports papermill without its remote-store readers,
reads and validates notebooks without building jsonschema's iri grammar (closelib.nb.lazyimports),
and hands the kernels MALLOC_MMAP_THRESHOLD_.

The probes run in a process started as the runner starts a notebook worker (multiprocessing's
spawn, which gives the child its parent's ``sys.argv`` back before importing anything of the
target's): a probe that only fakes the ``--multiprocessing-fork`` argument does not see what a run
sees."""

from __future__ import annotations

import json
import multiprocessing
import runpy
import subprocess
import sys

NOTEBOOK_PROCESS = """
import json, os, sys
import closelib.runner.worker as worker  # first, as a notebook worker imports it to find its target
seen = {}
def serve(conn, cwd):
    import papermill
    import papermill.iorw
    import nbformat
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))
    seen["pyarrow"] = sys.modules.get("pyarrow") is not None
    seen["numpy"] = "numpy" in sys.modules
    # the Lark grammar is built by this submodule's import (and lark loaded with it)
    seen["iri grammar"] = "rfc3987_syntax.syntax_helpers" in sys.modules or "lark" in sys.modules
    seen["malloc"] = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    seen["job"] = conn
    with open(OUT, "w") as out:
        json.dump(seen, out)
worker.serve = serve
worker.worker_main("the job", LOG, "unused")
"""

RUNNER_PROCESS = """
import json, sys
import closelib.runner.jobs  # the runner's machinery (it imports the worker), not a notebook target
from closelib.runner.worker import NOT_NEEDED
with open(OUT, "w") as out:
    json.dump({"marked absent": [n for n in NOT_NEEDED if n in sys.modules and sys.modules[n] is None]}, out)
"""


def spawned(script: str, tmp_path) -> dict:
    """Run ``script`` in a spawned child process; what it wrote to ``OUT``."""
    path, out = tmp_path / "probe.py", tmp_path / "seen.json"
    script = script.replace("OUT", repr(str(out))).replace("LOG", repr(str(tmp_path / "worker.log")))
    path.write_text(script, encoding="utf-8")
    process = multiprocessing.get_context("spawn").Process(target=runpy.run_path, args=(str(path),))
    process.start()
    process.join(120)
    assert process.exitcode == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_notebook_process_skips_what_a_run_never_uses(tmp_path, monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    seen = spawned(NOTEBOOK_PROCESS, tmp_path)
    assert seen == {"pyarrow": False, "numpy": False, "iri grammar": False, "malloc": "131072", "job": "the job"}


def test_a_threshold_already_set_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert spawned(NOTEBOOK_PROCESS, tmp_path)["malloc"] == "65536"


def test_a_spawned_process_running_the_runner_keeps_its_imports(tmp_path):
    assert spawned(RUNNER_PROCESS, tmp_path) == {"marked absent": []}


def test_importing_the_module_elsewhere_changes_nothing():
    probe = (
        "import sys\nimport closelib.runner.worker\nimport pyarrow, numpy\nprint(sys.modules['pyarrow'] is not None)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
