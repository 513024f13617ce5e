"""``pytest --nbval-lax`` over the committed notebooks, run as a person opens them (issue 22).

pytest collects every notebook under ``notebooks/`` (the period notebooks, the memo template
and the investigation notebook; ``--nbval-lax`` and this folder are in the pytest settings of
``pyproject.toml``) and nbval runs each one top to bottom in a fresh ``python3`` kernel with
its parameters cell left empty, as JupyterLab would: ``nb.start`` then reads the default
source and the book's latest period, and the memo and investigation notebooks pick their
default subject. A notebook that only works under the runner fails here.

The default source is ``$CLOSE_SOURCE`` when set (see ``closelib.paths.default_source``):
here a small demo book (scale 0.5) built once into a temporary folder, never the
repository's ``demo-book/``; what the notebooks write goes to a temporary ``$CLOSE_SCRATCH``
instead of ``outputs/scratch``. Both are set only while nbval starts a notebook's kernel.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SCALE = 0.5
_FOLDERS: dict[str, Path] = {}


def _notebook_env() -> dict[str, str]:
    if not _FOLDERS:
        from closelib.demo import generate_book, write_book

        base = Path(tempfile.mkdtemp(prefix="closelib-nbval-"))
        write_book(generate_book(scale=SCALE), base / "book")
        _FOLDERS.update(base=base, book=base / "book", scratch=base / "scratch")
    return {"CLOSE_SOURCE": str(_FOLDERS["book"]), "CLOSE_SCRATCH": str(_FOLDERS["scratch"])}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Around the setup of a notebook's cell (where nbval starts the notebook's kernel, which
    inherits the environment): the small book and scratch folder as the defaults."""
    if item.path.suffix != ".ipynb":
        yield
        return
    env = _notebook_env()
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "base" in _FOLDERS:
        shutil.rmtree(_FOLDERS["base"], ignore_errors=True)
