"""The demo close, run once per test session and shared by the tests that read it (the close
itself, its reviewer HTML and binder): a close of the demo book costs about a minute."""

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
