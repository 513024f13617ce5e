"""Text from data is inert in the notebooks' tables and markdown."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from closelib.nb import context
from closelib.nb.markup import md, md_code
from closelib.nb.record import Recorder
from closelib.periods import Period

PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(1)>"><b> [link](javascript:alert(1)) **bold**\n# head'


def test_md_shows_the_value_and_makes_no_markup():
    from nbconvert.filters.markdown import markdown2html

    rendered = markdown2html(f"Customer **{md(PAYLOAD)}** owes.")
    # exactly the value, HTML-escaped, on one line: no tag, link, emphasis or heading of its own
    assert rendered == f"<p>Customer <strong>{html.escape(PAYLOAD.replace(chr(10), ' '))}</strong> owes.</p>\n"
    assert md("US01") == "US01" and md("a_b") == "a\\_b"
    assert markdown2html(md_code("a`b<i>")) == "<p><code>a'b&lt;i&gt;</code></p>\n"


@pytest.fixture
def shown(monkeypatch) -> list:
    captured: list = []
    # every table goes through Context._table (numbered ids, plain text form): capture its HTML
    # (a Styler, or a function of the table id writing the same HTML: closelib.nb.tables.html_table)
    monkeypatch.setattr(
        context.Context,
        "_table",
        lambda self, styler, plain: captured.append(styler("1") if callable(styler) else styler.to_html()),
    )
    return captured


def _ctx() -> context.Context:
    return context.Context(
        "t",
        Period.parse("2026-10"),
        None,
        None,
        "",
        {},
        None,
        Recorder(None, "t"),  # type: ignore[arg-type]
    )


def test_tables_escape_values_labels_and_caption(shown):
    frame = pd.DataFrame({"name": [PAYLOAD, "Alpha & Co"], PAYLOAD: [1, 2]}, index=[PAYLOAD, "x"])
    _ctx().show(frame, caption=PAYLOAD, index=True)
    page = shown[0]
    for tag in ("<script", "<img", "<b>", "<strong"):
        assert tag not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4  # value, column label, row label, caption
    assert "Alpha &amp; Co" in page


def test_statement_tables_escape_entities_and_lines(shown):
    class Book:
        def currency_of(self, entity):
            return "USD"

    ctx = _ctx()
    ctx.book = Book()  # type: ignore[assignment]
    summary = pd.DataFrame({"gl": [12345]}, index=[PAYLOAD])
    ctx.show_by_entity(summary, {PAYLOAD: "gl"}, caption=PAYLOAD)
    page = shown[0]
    assert "<script" not in page and "<img" not in page and "123.45" in page


def test_entity_figure_names_are_safe():
    rec = Recorder(None, "t")
    ctx = _ctx()
    ctx.recorder = rec

    class Book:
        entities = ("US 01", "SG01")

        def currency_of(self, entity):
            return "USD"

    ctx.book = Book()  # type: ignore[assignment]
    ctx.entity_money_figures("tb", "difference", {"US 01": 100, "SG01": 0})
    assert set(rec.figures) == {f"tb.{context.key('US 01')}.difference", "tb.SG01.difference", "tb.difference"}
    assert context.key("US 01").startswith("US_01-")
