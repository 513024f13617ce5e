"""Where the repository keeps its notebooks, parameters and scratch outputs: one source each."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMETERS_DIR = REPO_ROOT / "parameters"
MEMO_TEMPLATE = NOTEBOOKS_DIR / "templates" / "credit_memo.ipynb"
INVESTIGATION_NOTEBOOK = NOTEBOOKS_DIR / "adhoc" / "investigate.ipynb"
# Where a notebook opened by hand (no run folder) writes what it makes.
SCRATCH_OUTPUTS = REPO_ROOT / "outputs" / "scratch"
