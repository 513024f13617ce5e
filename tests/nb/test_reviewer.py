"""Issue 18: what a reviewer reads, cell by cell and output by output (hand-checkable cases)."""

from __future__ import annotations

import math

import nbformat
import pandas as pd

from closelib.nb import tables
from closelib.nb.htmlexport import TEMPLATE, is_noise, page_title, without_noise
from closelib.nb.workpapers import PERIOD_WORKPAPERS, notebook_order, of_figure, title, workpaper_of


def test_cells_read_as_text_never_as_python():
    assert [tables.cell_text(v) for v in (None, math.nan, pd.NaT, pd.NA, math.inf, True, False)] == [
        "",
        "",
        "",
        "",
        "n/a",
        "yes",
        "no",
    ]
    assert tables.cell_text(["a", "b"]) == "a; b" and tables.cell_text({"k": 1}) == "k: 1"
    assert tables.cell_text("C001") == "C001" and tables.cell_text(3) == 3
    assert tables.cell_text(1.758) == "1.758" and tables.cell_text(2.0) == "2"


def test_tidy_leaves_complete_numbers_and_fills_gaps():
    frame = pd.DataFrame(
        {
            "amount": [100, 200],
            "ratio": [0.5, math.inf],
            "owner": ["Ana", None],
            "flag": [True, False],
            "when": pd.to_datetime(["2026-10-31", None]),
            "count": pd.array([1, None], dtype="Int64"),
        }
    )
    tidy = tables.tidy(frame)
    assert tidy["amount"].tolist() == [100, 200]
    assert tidy["ratio"].tolist() == ["0.5", "n/a"]
    assert tidy["owner"].tolist() == ["Ana", ""] and tidy["flag"].tolist() == ["yes", "no"]
    assert tidy["when"].tolist() == ["2026-10-31", ""] and tidy["count"].tolist() == [1, ""]
    assert tables.rate_text(math.inf) == "n/a" and tables.rate_text(0.1667) == "16.67%"
    assert tables.plain_number(math.inf) == "n/a" and tables.plain_number(1234.5) == "1,234.5"


def test_an_empty_table_is_a_sentence_and_long_text_wraps():
    assert tables.empty_sentence("0 open exception(s)") == "*No open exception\\(s\\).*"
    assert tables.empty_sentence("Recoveries in the period") == "*Recoveries in the period: none this period.*"
    frame = pd.DataFrame({"id": ["SG01-APP-0001152"], "note": ["x" * (tables.WRAP_AFTER + 1)]})
    assert tables.wrap_columns(frame) == ["note"]


def test_noise_outputs_are_left_out_of_the_html():
    outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "True"}),
        nbformat.v4.new_output("stream", name="stderr", text="FutureWarning"),
        nbformat.v4.new_output("stream", name="stdout", text="said"),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>kept</p>", "text/plain": "kept"}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": "**kept**", "text/plain": "kept"}),
    ]
    assert [is_noise(o) for o in outputs] == [True, True, False, False, False]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = outputs
    nb.cells = [cell]
    assert [o.output_type for o in without_noise(nb).cells[0].outputs] == ["stream", "display_data", "execute_result"]
    assert len(nb.cells[0].outputs) == 5  # the executed notebook keeps them


def test_the_template_fetches_nothing():
    for block in ("html_head_js", "html_head_js_mathjax", "html_head_js_mermaidjs", "jupyter_widgets"):
        assert f"block {block} %}}{{% endblock {block}" in TEMPLATE.replace("{%-", "{%").replace("-%}", "%}")
    assert "http" not in TEMPLATE


def test_workpaper_references_titles_and_order():
    assert [w.reference for w in PERIOD_WORKPAPERS] == ["AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6", "AR-7"]
    assert workpaper_of("credit_memo_C000007", 3).label == "AR-4.3 Credit memo C000007"
    assert of_figure("tb.US01.subledger_ar").reference == "AR-1" and of_figure("zz.x") is None
    assert sorted(["collections", "tb_recon", "credit_review", "reserve"], key=notebook_order) == [
        "tb_recon",
        "reserve",
        "credit_review",
        "collections",
    ]
    assert title("Acme", workpaper_of("reserve"), "2026-10") == "Acme - AR-2 Bad-debt reserve - 2026-10"
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {
        "parameters": {"notebook": "write_off", "period": "2026-10", "params_json": '{"company": "Acme"}'}
    }
    assert page_title(nb) == "Acme - AR-3 Write-off - 2026-10"


def test_tidy_and_wrap_read_text_columns_with_and_without_gaps_alike():
    long = "x" * (tables.WRAP_AFTER + 1)
    frame = pd.DataFrame(
        {
            "whole": pd.Series(["a", long], dtype="str"),  # nothing to tidy: kept as it is
            "gaps": pd.Series(["b", None], dtype="str"),
            "arrow": pd.Series(["c", "d"], dtype="string[pyarrow]"),
            "short": pd.Series(["e", "f"], dtype="str"),
        }
    )
    tidy = tables.tidy(frame)
    assert tidy["whole"].tolist() == ["a", long] and tidy["whole"].dtype == frame["whole"].dtype
    assert tidy["gaps"].tolist() == ["b", ""] and tidy["arrow"].tolist() == ["c", "d"]
    assert tables.wrap_columns(frame) == ["whole"] and tables.wrap_columns(tidy) == ["whole"]
    assert tables.wrap_columns(frame.assign(gaps=pd.Series([long, None], dtype="str"))) == ["whole", "gaps"]


def test_accessible_edits_the_body_as_a_search_of_the_whole_page_would():
    from closelib.nb import htmlexport

    page = (
        "<html><head><style>.jp-OutputArea-output { overflow-x: auto; }</style></head><body>"
        '<div class="jp-Cell-inputWrapper"><img src="a.png"></div>'
        '<div class="x jp-OutputArea-output" tabindex="0"><img alt="chart" src="b.png"></div></body></html>'
    )
    whole = htmlexport._IMG_WITHOUT_ALT.sub(f'<img alt="{htmlexport.MISSING_ALT}"', page)
    whole = htmlexport._FOCUSABLE.sub(lambda m: m.group(0) + ' tabindex="0"', whole)
    assert htmlexport.accessible(page) == whole
    assert whole.count('tabindex="0"') == 2 and whole.count(htmlexport.MISSING_ALT) == 1
    assert htmlexport.accessible(page.replace("</head>", "")) == whole.replace("</head>", "")  # no head


def test_markdown_is_rendered_once_per_exporter_and_reads_the_same():
    from unittest import mock

    import pytest
    from nbconvert import HTMLExporter

    from closelib.nb.htmlexport import reviewer_exporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## A *heading*"), nbformat.v4.new_markdown_cell("Some `code`.")]
    exporter = reviewer_exporter()
    first, _ = exporter.from_notebook_node(nb)
    with mock.patch.object(HTMLExporter, "markdown2html", side_effect=AssertionError("rendered again")):
        again, _ = exporter.from_notebook_node(nb)
    assert again == first
    fresh = reviewer_exporter()
    with (  # a new exporter has nothing kept
        mock.patch.object(HTMLExporter, "markdown2html", side_effect=RuntimeError("rendered again")),
        pytest.raises(RuntimeError, match="rendered again"),
    ):
        fresh.from_notebook_node(nb)
    nb.cells.append(
        nbformat.v4.new_markdown_cell("![x](attachment:x.png)", attachments={"x.png": {"image/png": "iVBORw0KGgo="}})
    )
    assert "data:image/png;base64,iVBORw0KGgo=" in exporter.from_notebook_node(nb)[0]  # attachments: rendered as ever
