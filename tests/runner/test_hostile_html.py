"""A book whose every text column carries markup: the close runs, and no reviewer HTML carries a
live tag from the data (the escaped text is shown instead)."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from closelib.book.schema import TABLES
from closelib.demo import DEFAULT_END, generate_book, write_book
from closelib.runner.adhoc import run_investigation
from closelib.runner.run import execute_run, period_notebooks

# Script, an event handler, a tag that breaks out of an attribute, and TeX for matplotlib/MathJax.
PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(1)>"><b> $\\foo$'
# Account ids are matched by the parameters (gl.ar_control_accounts); every other id and text
# column, entities and customer ids included, carries the payload.
UNTOUCHED = {("gl_balances", "account"), ("gl_journal", "account"), ("customer_history", "value")}
# customer_history's value is read by its field's rules: only the text fields carry the payload.
HISTORY_TEXT_FIELDS = ("name", "segment", "country", "collector", "parent_id")


def hostile(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Append the payload to every non-empty id and text value (consistently, so the links
    between tables hold)."""
    out = {}
    for name, frame in tables.items():
        kinds = {c.name: c.kind for c in TABLES[name].columns}
        frame = frame.copy()
        for column in frame.columns:
            if kinds.get(column) in ("id", "text") and (name, column) not in UNTOUCHED:
                text = frame[column].astype("string")
                frame[column] = text.where(text.isna() | (text == ""), text + PAYLOAD)
        if name == "customer_history":
            text_field = frame["field"].isin(HISTORY_TEXT_FIELDS) & (frame["value"] != "")
            frame.loc[text_field, "value"] = frame.loc[text_field, "value"] + PAYLOAD
        out[name] = frame
    return out


class LiveTags(HTMLParser):
    """Elements that would act in a browser and come from the payload: any ``on*`` attribute, an
    ``<img src=x>``, a script holding ``alert(1)``, a bare ``<b>`` (closelib's own carry a style)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.text: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if any(k.lower().startswith("on") for k in named):
            self.live.append(f"<{tag} {attrs}>")
        if tag == "img" and named.get("src") == "x":
            self.live.append(f"<img {attrs}>")
        if tag == "b" and not attrs:
            self.live.append("<b>")
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script and "alert(1)" in data:
            self.live.append(f"<script>{data[:40]}")
        self.text.append(data)


def scan(path: Path) -> LiveTags:
    parser = LiveTags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def hostile_close(tmp_path_factory):
    from closelib.audit.binder import refresh_binder

    root = tmp_path_factory.mktemp("hostile")
    source = root / "book"
    write_book(hostile(generate_book(scale=0.25)), source)
    outputs = root / "out"
    run = execute_run(DEFAULT_END, source=source, outputs=outputs, overrides=["credit_review.max_memos=2"])
    refresh_binder(run.run_dir, run.manifest["period"])
    customer = pd.read_csv(source / "customers.csv", dtype=str)["customer_id"].iloc[0]
    investigation = run_investigation(customer, None, None, source=source, outputs=outputs)
    return run, investigation


@pytest.mark.skipif(sys.platform == "win32", reason="papermill kernels")
def test_no_live_tag_from_the_data_in_any_reviewer_html(hostile_close):
    run, investigation = hostile_close
    for result in (run, investigation):
        m = result.manifest
        assert m["status"] == "succeeded", (
            {k: v["error"] for k, v in m["notebooks"].items()},
            {k: c["detail"] for k, c in m["checks"].items() if not c["passed"]},
        )
    pages = sorted(run.run_dir.rglob("*.html")) + sorted(investigation.run_dir.glob("*.html"))
    assert len(pages) == len(period_notebooks()) + 2 + 1  # the period notebooks, two memos, the investigation
    binder = run.run_dir.parent / "index.html"
    for page in [*pages, binder]:
        found = scan(page)
        assert found.live == [], (page.name, found.live[:3])
        if page != binder:  # the data is there, as text
            assert any("<script>alert(1)</script>" in t for t in found.text), page.name
