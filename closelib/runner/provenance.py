"""What made a run: closelib's version, the git commit, Python and package versions."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata

from closelib import __version__
from closelib.paths import REPO_ROOT

KEY_PACKAGES = (
    "pandas",
    "numpy",
    "pyarrow",
    "papermill",
    "nbclient",
    "nbformat",
    "nbconvert",
    "ipykernel",
    "jupyter_client",
    "openpyxl",
    "matplotlib",
    "PyYAML",
)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_info() -> dict:
    """Versions of everything that computes a figure. ``git_dirty`` says whether tracked files
    differed from the commit, in which case the commit alone does not reproduce the run."""
    commit = _git("rev-parse", "HEAD")
    dirty = None
    if commit is not None:
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status) if status is not None else None
    packages: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "closelib": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
    }


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
