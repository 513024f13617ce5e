"""closelib's own table HTML (:func:`closelib.nb.tables.html_table`) is the HTML pandas' Styler
writes for the same table, byte for byte: a reader sees the same tables, only faster drawn."""

from __future__ import annotations

import html

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.nb import context, tables
from closelib.nb.record import Recorder
from closelib.periods import Period

PAYLOAD = "<script>alert('x')</script> & \"q\""


def _styler_show(frame: pd.DataFrame, shown: pd.DataFrame, also: list, caption: str | None, uid: str) -> str:
    """What Context.show drew with the Styler before html_table (kept as its fallback)."""
    styler = context._escaped(shown.style).format_index(tables.heading, escape="html", axis=1)
    wrap = tables.wrap_columns(shown)
    if wrap:
        styler = styler.set_properties(subset=wrap, **{"white-space": "normal", "min-width": "24em"})
    styler = tables.align_numbers(styler.hide(axis="index"), frame, also)
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler.set_uuid(uid).to_html()


def _own_show(frame: pd.DataFrame, shown: pd.DataFrame, also: list, caption: str | None, uid: str) -> str:
    right = tables.number_positions(frame, also)
    wrap = [shown.columns.get_loc(c) for c in tables.wrap_columns(shown)]
    styles = [(wrap, [("white-space", "normal"), ("min-width", "24em")]), (right, [("text-align", "right")])]
    return tables.html_table(
        shown, uid, html.escape(caption) if caption else None, False, tables.heading, styles, right_headings=right
    )


def test_a_hand_made_table_matches_the_styler():
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", PAYLOAD],
            "credit_limit": ["1,000.00", "2.00"],
            "days": [12, 3],
            "note": ["a long note that has to wrap in the reviewer html page", "b"],
            PAYLOAD: [1.5, 2.25],
        }
    )
    shown = tables.tidy(frame)
    ours = _own_show(frame, shown, ["credit_limit"], PAYLOAD, "7")
    assert ours == _styler_show(frame, shown, ["credit_limit"], PAYLOAD, "7")
    assert "<script" not in ours and ours.count("&lt;script&gt;") == 3  # a value, a label, the caption
    assert "#T_7 th.col_heading.col1 {\n  text-align: right;\n}" in ours  # the amount's heading
    assert "white-space: normal" in ours and 'id="T_7_row1_col2"' in ours


def test_a_statement_with_row_labels_matches_the_styler():
    table = pd.DataFrame({"US01 (USD)": ["1.00", "n/a"], "DE01 (EUR)": ["2.00", "3.00"]}, index=["Line a", PAYLOAD])
    styler = context._escaped(table.style).set_properties(subset=None, **{"text-align": "right"})
    every = list(range(len(table.columns)))
    ours = tables.html_table(table, "3", "c &amp; d", True, None, [(every, [("text-align", "right")])])
    assert ours == styler.set_caption("c &amp; d").set_uuid("3").to_html()
    assert tables.plain_table_layout(table, index=True)


def test_other_layouts_are_left_to_the_styler():
    multi = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    assert not tables.plain_table_layout(multi, index=False)
    assert not tables.plain_table_layout(pd.DataFrame([[1, 2]], columns=["a", "a"]), index=False)
    named = pd.DataFrame({"a": [1]}, index=pd.Index(["r"], name="row"))
    assert tables.plain_table_layout(named, index=False) and not tables.plain_table_layout(named, index=True)


cells = st.one_of(
    st.text(max_size=50),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=6),
    st.lists(st.text(min_size=1, max_size=12), min_size=3, max_size=3, unique=True),
    st.lists(st.integers(0, 2), max_size=3, unique=True),
    st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_table_show_draws_matches_the_styler(rows, columns, also, caption):
    frame = pd.DataFrame(rows, columns=columns)
    shown = tables.tidy(frame)
    named = [columns[i] for i in also]
    assert _own_show(frame, shown, named, caption, "1") == _styler_show(frame, shown, named, caption, "1")


def test_show_draws_its_tables_without_a_styler(monkeypatch):
    def no_styler(self):
        raise AssertionError("a Styler was built")

    monkeypatch.setattr(pd.DataFrame, "style", property(no_styler))
    drawn: list[str] = []
    monkeypatch.setattr(context.Context, "_table", lambda self, styler, plain: drawn.append(styler("1")))
    ctx = context.Context("t", Period.parse("2026-10"), None, None, "", {}, None, Recorder(None, "t"))  # type: ignore[arg-type]
    ctx.show(pd.DataFrame({"amount": [105050], "currency": ["USD"]}), money_columns=["amount"], caption="Paid")
    assert len(drawn) == 1 and ">1,050.50</td>" in drawn[0] and "<caption>Paid</caption>" in drawn[0]
