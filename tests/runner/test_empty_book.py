"""The period notebooks on a book with nothing to report (issue 17, point 8): a header-only
``documents`` file, and a period before the book's first document. Each notebook says so
and the run succeeds (before: ``KeyError: 'month'`` in the collections notebook)."""

from __future__ import annotations

import copy

import pytest

from closelib.runner.run import execute_run, period_notebooks
from tests.conftest import MINI, write_source


def _zero_gl(period: str, unapplied: str) -> list[dict]:
    """A GL that agrees with a subledger without open items: AR 0, ``unapplied`` cash."""
    rows = []
    for row in MINI["gl_balances"]:
        debit = credit = "0.00"
        if row["account"] == "1000":
            debit = unapplied
        elif row["account"] == "2150":
            credit = unapplied
        rows.append(dict(row, period=period, debit=debit, credit=credit))
    return rows


@pytest.mark.parametrize("case", ["header_only_documents", "period_before_the_book"])
def test_a_book_with_nothing_to_report_runs_and_says_so(tmp_path, case):
    tables = copy.deepcopy(MINI)
    if case == "header_only_documents":
        period = "2026-10"
        tables.update(documents=[], applications=[], adjustments=[], gl_balances=_zero_gl(period, "640.00"))
    else:  # the first document is dated 2026-07-01
        period = "2020-01"
        tables["gl_balances"] = MINI["gl_balances"] + _zero_gl(period, "0.00")
    source = write_source(tmp_path / "book", tables)
    result = execute_run(period, source=source, outputs=tmp_path / "out", overrides=["credit_review.max_memos=1"])
    m = result.manifest
    assert m["status"] == "succeeded", (m["error"], {k: v["error"] for k, v in m["notebooks"].items()})
    assert len(m["notebooks"]) == len(period_notebooks())
    assert all(e["status"] == "succeeded" for e in m["notebooks"].values())
    collections = (result.run_dir / "05_collections.html").read_text(encoding="utf-8")
    assert "no KPIs to report" in collections
    assert "No artists with labels" not in collections  # no warning leaks into the reviewer page
    cash = (result.run_dir / "06_cash_application.html").read_text(encoding="utf-8")
    assert "No artists with labels" not in cash
