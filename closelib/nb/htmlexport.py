"""The reviewer HTML of an executed notebook: code hidden, offline, titled, without noise.

nbconvert's ``lab`` template loads require.js and MathJax (and, when a page has a diagram,
mermaid) from a CDN: an auditor's offline copy would render differently and the page would call
out to the network. The reviewer template extends ``lab`` and drops every one of those blocks,
so the page holds its CSS inline and loads nothing. It adds the reviewer's table layout (ids,
dates and amounts on one line, wide tables scroll sideways inside the page instead of being cut
off) and the tab title ``<company> - <workpaper> - <period>``.

Outputs that are noise to a reader of the workpaper are left out of the HTML (the executed
``.ipynb`` keeps them): the bare value of a cell's last expression when it is plain text (a
``True`` from a check, a number from a figure) and anything written to stderr (library
warnings).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat

from closelib.nb.header import memo_number
from closelib.nb.workpapers import Workpaper, title, workpaper_of

TEMPLATE_NAME = "closelib_reviewer.html.j2"

# Reviewer layout on top of JupyterLab's CSS: tables never wrap ids, dates or amounts (a long
# text column wraps: closelib.nb.context marks it), and an output wider than the page scrolls.
REVIEWER_CSS = """
.jp-OutputArea-output { overflow-x: auto; }
.jp-OutputArea-output.jp-RenderedHTMLCommon table { table-layout: auto; margin-bottom: .8em; }
.jp-OutputArea-output.jp-RenderedHTMLCommon td, .jp-OutputArea-output.jp-RenderedHTMLCommon th {
  white-space: nowrap; text-align: left; vertical-align: top; padding: .3em .6em; }
.jp-OutputArea-output.jp-RenderedHTMLCommon caption {
  caption-side: top; text-align: left; font-weight: bold; white-space: normal; padding: .2em 0; }
.wp-header h3 { margin-top: .2em; }
.wp-signoff { border: 1px solid #bbb; padding: .4em .8em; margin: .6em 0; background: #fafafa; }
.wp-tie { margin: .2em 0 .6em 0; }
@media print { .jp-OutputArea-output { overflow-x: visible; } }
"""

# Every block of the lab template that fetches a script; nothing else is changed.
TEMPLATE = (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{%- block html_head_js -%}{%- endblock html_head_js -%}\n"
    "{% block jupyter_widgets %}{% endblock jupyter_widgets %}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}\n"
    "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    # after JupyterLab's CSS, so that the reviewer layout wins
    '{%- block html_head_css -%}<style type="text/css">' + REVIEWER_CSS + "</style>{%- endblock html_head_css -%}\n"
)


# What nbconvert's HTMLExporter adds after rendering, by parsing and re-writing the whole page
# with BeautifulSoup (0.1 to 0.2 s a credit memo): an alternative text on images without one,
# and tabindex="0" on each cell's input and output area so that a keyboard reaches it.
MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)(?=[\s>/])")
_FOCUSABLE = re.compile(
    r'<div class="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?"(?![^>]*\btabindex=)'
)


def accessible(page: str) -> str:
    """``page`` with the attributes nbconvert's HTMLExporter adds (see above), by text edits of
    the tags the reviewer template writes instead of a parse of the page.

    Only the body is searched: the head is JupyterLab's CSS (most of a memo's page), which holds
    no tag, so searching it found nothing and cost half the time."""
    start = page.find("</head>")
    head, body = (page[:start], page[start:]) if start >= 0 else ("", page)
    body = _IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', body)
    return head + _FOCUSABLE.sub(lambda m: m.group(0) + ' tabindex="0"', body)


def reviewer_exporter() -> Any:
    """nbconvert's HTML exporter on the reviewer template, code and prompts hidden. Building one
    loads its templates; reuse it for a batch of notebooks.

    Two of nbconvert's steps are replaced, since they cost more than the rendering itself: the
    schema validation after every preprocessor (the notebook comes straight from nbclient) and the
    BeautifulSoup pass over the page (:func:`accessible` makes the same additions)."""
    from jinja2 import DictLoader, pass_context
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReviewerExporter(HTMLExporter):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            # markdown text and the page's path -> its HTML, kept for the life of the exporter
            self._markdown_html: dict[tuple[str, str], str] = {}

        def _validate_preprocessor(self, nbc: Any, preprocessor: Any) -> None:
            return None

        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            """nbconvert's filter, each text rendered once per exporter: a batch of memos repeats
            the same markdown cells (a third of a memo's export went to rendering them again).
            The HTML of a text without attachments depends on nothing else than the text, the
            page's path and the exporter's settings; a cell with attachments is rendered as ever."""
            cell = context.get("cell", {})
            if cell.get("attachments"):
                return super().markdown2html(context, source)
            path = str(context.get("resources", {}).get("metadata", {}).get("path", ""))
            cache = self._markdown_html
            found = cache.get((source, path))
            if found is None:
                found = super().markdown2html(context, source)
                if len(cache) >= MARKDOWN_CACHE_SIZE:  # a long batch of varying texts: start again
                    cache.clear()
                cache[(source, path)] = found
            return found

        def from_notebook_node(self, nb: Any, resources: dict | None = None, **kw: Any) -> tuple[Any, dict]:
            # HTMLExporter.from_notebook_node (nbconvert 7) without its BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(page), resources

    exporter = ReviewerExporter(extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})], template_file=TEMPLATE_NAME)
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


MARKDOWN_CACHE_SIZE = 2048  # texts kept by an exporter (a memo has about 40)

_RICH = ("text/html", "text/markdown", "image/png", "image/svg+xml", "image/jpeg", "application/pdf")


def is_noise(output: dict) -> bool:
    """An output a reader of the workpaper should not see: a cell's last value shown as plain text
    only (``True``, ``0.1667``, ``None``) or a stream to stderr."""
    kind = output.get("output_type")
    if kind == "execute_result":
        return not any(mime in output.get("data", {}) for mime in _RICH)
    return kind == "stream" and output.get("name") == "stderr"


def without_noise(nb: Any) -> Any:
    """A copy of ``nb`` without its noise outputs (:func:`is_noise`); ``nb`` is left as it is.

    Only the containers that change are copied (the notebook, its metadata, its cells): outputs
    are shared, never modified (a deep copy of a memo with its chart cost more than its HTML)."""
    clean = nbformat.NotebookNode(nb)
    clean.metadata = nbformat.NotebookNode(nb.metadata)
    cells = []
    for cell in nb.cells:
        cell = nbformat.NotebookNode(cell)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not is_noise(o)]
        cells.append(cell)
    clean.cells = cells
    return clean


def _parameters(nb: Any) -> dict[str, Any]:
    return dict(nb.metadata.get("papermill", {}).get("parameters", {}) or {})


def page_title(nb: Any, memo_number: int | None = None) -> str | None:
    """``<company> - <workpaper> - <period>`` from the parameters papermill recorded in the
    notebook; ``None`` when it was not executed by papermill."""
    given = _parameters(nb)
    if not given.get("notebook"):
        return None
    try:
        company = str(json.loads(given.get("params_json") or "{}").get("company") or "")
    except ValueError:
        company = ""
    workpaper: Workpaper = workpaper_of(str(given["notebook"]), memo_number)
    return title(company, workpaper, str(given.get("period") or ""))


def render_reviewer_html(notebook: Path, html_path: Path, exporter: Any = None, nb: Any = None) -> None:
    """Write the reviewer HTML of the executed ``notebook`` to ``html_path``; ``nb``: the notebook
    already in memory (as just written), so that it is not read and validated again."""
    if nb is None:
        nb = nbformat.read(str(notebook), as_version=4)
    shown = without_noise(nb)
    given = _parameters(nb)
    name = page_title(nb, memo_number(given.get("run_dir"), str(given.get("notebook") or "")))
    if name:
        shown.metadata["title"] = name
    resources = {"metadata": {"name": notebook.stem}}
    body, _ = (exporter or reviewer_exporter()).from_notebook_node(shown, resources=resources)
    html_path.write_text(body, encoding="utf-8")
