"""Default source and scratch folders (issue 22): the environment can point a notebook opened by
hand, and a run without --source, at another book without editing the parameters."""

from __future__ import annotations

from pathlib import Path

from closelib.paths import REPO_ROOT, SCRATCH_OUTPUTS, default_source, scratch_outputs
from closelib.runner.run import resolve_source


def test_default_source_is_the_parameters_source_unless_close_source_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_SOURCE", raising=False)
    assert default_source("demo-book") == REPO_ROOT / "demo-book"
    assert default_source(tmp_path / "abs") == tmp_path / "abs"
    monkeypatch.setenv("CLOSE_SOURCE", str(tmp_path / "small"))
    assert default_source("demo-book") == tmp_path / "small"
    assert resolve_source(None, {"source": "demo-book"}) == tmp_path / "small"
    # --source still wins over the environment
    assert resolve_source(tmp_path / "given", {"source": "demo-book"}) == tmp_path / "given"
    # relative to the working folder, like --source
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOSE_SOURCE", "rel")
    assert default_source("demo-book") == (tmp_path / "rel").resolve()


def test_scratch_outputs_follow_close_scratch(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSE_SCRATCH", raising=False)
    assert scratch_outputs() == SCRATCH_OUTPUTS == REPO_ROOT / "outputs" / "scratch"
    monkeypatch.setenv("CLOSE_SCRATCH", str(tmp_path))
    assert scratch_outputs() == Path(tmp_path)
