"""Where the repository keeps its notebooks, parameters and scratch outputs: one source each."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMETERS_DIR = REPO_ROOT / "parameters"
MEMO_TEMPLATE = NOTEBOOKS_DIR / "templates" / "credit_memo.ipynb"
INVESTIGATION_NOTEBOOK = NOTEBOOKS_DIR / "adhoc" / "investigate.ipynb"
# Where a notebook opened by hand (no run folder) writes what it makes.
SCRATCH_OUTPUTS = REPO_ROOT / "outputs" / "scratch"

# A period notebook is ``NN_name.ipynb`` (run in that order); its name in figures, records and
# the manifest is ``name``. The runner injects that name as the notebook's ``notebook`` parameter.
PERIOD_NOTEBOOK = re.compile(r"^(\d\d)_([a-z0-9_]+)\.ipynb$")


def period_notebook_name(file_name: str) -> str | None:
    """``01_tb_recon.ipynb`` -> ``tb_recon``; None for a file that is not a period notebook."""
    match = PERIOD_NOTEBOOK.match(file_name)
    return match.group(2) if match else None
