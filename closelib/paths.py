"""Where the repository keeps its notebooks, parameters and scratch outputs: one source each."""

from __future__ import annotations

import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMETERS_DIR = REPO_ROOT / "parameters"
MEMO_TEMPLATE = NOTEBOOKS_DIR / "templates" / "credit_memo.ipynb"
INVESTIGATION_NOTEBOOK = NOTEBOOKS_DIR / "adhoc" / "investigate.ipynb"
# Where a notebook opened by hand (no run folder) writes what it makes, unless $CLOSE_SCRATCH says otherwise.
SCRATCH_OUTPUTS = REPO_ROOT / "outputs" / "scratch"

# A period notebook is ``NN_name.ipynb`` (run in that order); its name in figures, records and
# the manifest is ``name``. The runner injects that name as the notebook's ``notebook`` parameter.
PERIOD_NOTEBOOK = re.compile(r"^(\d\d)_([a-z0-9_]+)\.ipynb$")


def period_notebook_name(file_name: str) -> str | None:
    """``01_tb_recon.ipynb`` -> ``tb_recon``; None for a file that is not a period notebook."""
    match = PERIOD_NOTEBOOK.match(file_name)
    return match.group(2) if match else None


def default_source(configured: str | Path) -> Path:
    """The source folder when none is given (no ``--source``, a notebook opened by hand):
    ``$CLOSE_SOURCE`` when set (relative to the working folder), else the parameters'
    ``source:`` (relative to the repository)."""
    env = os.environ.get("CLOSE_SOURCE", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    path = Path(configured).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def scratch_outputs() -> Path:
    """Where a notebook opened by hand writes its Excel packs and memos: ``$CLOSE_SCRATCH``
    when set, else ``outputs/scratch`` of the repository."""
    env = os.environ.get("CLOSE_SCRATCH", "").strip()
    return Path(env).expanduser().resolve() if env else SCRATCH_OUTPUTS
