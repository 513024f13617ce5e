"""The demo close the runner tests share: built once per session (a close of the demo book costs
about a minute on two cores; the notebook, pack and HTML tests all read the same run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from closelib.demo import DEFAULT_END, generate_book, write_book
from closelib.runner.run import execute_run


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(scale=1.0), folder)
    return folder


@pytest.fixture(scope="session")
def demo_run(demo_source, tmp_path_factory):
    # two credit memos are enough to prove the queue executes them; all 25 would cost minutes
    return execute_run(
        DEFAULT_END,
        source=demo_source,
        outputs=tmp_path_factory.mktemp("outputs"),
        overrides=["credit_review.max_memos=2"],
    )
