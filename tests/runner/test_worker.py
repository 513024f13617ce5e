"""A notebook process (closelib.runner.worker) imports papermill without its remote-store readers,
reads and validates notebooks without building jsonschema's iri grammar (closelib.nb.lazyimports),
and hands the kernels MALLOC_MMAP_THRESHOLD_."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, os, sys
sys.argv[1:] = ["--multiprocessing-fork"]  # as multiprocessing starts a notebook process
import closelib.runner.worker as worker
seen = {}
def child_main(job):
    import papermill
    import papermill.iorw
    import nbformat
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))
    seen["pyarrow"] = sys.modules.get("pyarrow") is not None
    seen["numpy"] = "numpy" in sys.modules
    # the Lark grammar is built by this submodule's import (and lark loaded with it)
    seen["iri grammar"] = "rfc3987_syntax.syntax_helpers" in sys.modules or "lark" in sys.modules
    seen["malloc"] = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    seen["job"] = job
worker.child_main = child_main
worker.notebook_main("the job")
print(json.dumps(seen))
"""


def test_a_notebook_process_skips_what_a_run_never_uses():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert seen == {"pyarrow": False, "numpy": False, "iri grammar": False, "malloc": "131072", "job": "the job"}


def test_a_threshold_already_set_is_kept():
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["malloc"] == "65536"


def test_importing_the_module_elsewhere_changes_nothing():
    probe = (
        "import sys\nimport closelib.runner.worker\nimport pyarrow, numpy\nprint(sys.modules['pyarrow'] is not None)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
