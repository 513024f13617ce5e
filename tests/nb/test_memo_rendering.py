"""The credit memos' cheaper rendering shows the same thing: the chart drawn once and cropped as
the inline backend's tight box, the reviewer HTML without nbconvert's BeautifulSoup pass, the
shared kernel's reset without a full garbage collection (no timing here: benchmarks time)."""

from __future__ import annotations

import base64
import io

import nbformat
from bs4 import BeautifulSoup
from PIL import Image

from closelib.nb import charts, htmlexport

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()  # an image output (its bytes are not read)


def _executed_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("# Title\n\nSome *text*.")
    code = nbformat.v4.new_code_cell("x", execution_count=1)
    code.outputs = [
        nbformat.v4.new_output("display_data", {"text/html": '<table id="T_1"><tr><td>1</td></tr></table>'}),
        nbformat.v4.new_output("display_data", {"image/png": PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", {"text/markdown": "**bold**"}),
        nbformat.v4.new_output("execute_result", {"text/plain": "True"}, execution_count=1),
    ]
    nb.cells = [md, code]
    return nb


def test_reviewer_html_is_the_page_nbconvert_writes_with_its_soup_pass():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = _executed_notebook()
    stock = HTMLExporter(
        extra_loaders=[DictLoader({htmlexport.TEMPLATE_NAME: htmlexport.TEMPLATE})],
        template_file=htmlexport.TEMPLATE_NAME,
    )
    stock.exclude_input = stock.exclude_input_prompt = stock.exclude_output_prompt = True
    theirs, _ = stock.from_notebook_node(htmlexport.without_noise(nb), resources={"metadata": {"name": "n"}})
    ours, _ = htmlexport.reviewer_exporter().from_notebook_node(
        htmlexport.without_noise(nb), resources={"metadata": {"name": "n"}}
    )
    # the same document: nbconvert's page is BeautifulSoup's rewrite of what we write
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    assert f'alt="{htmlexport.MISSING_ALT}"' in ours and ours.count('tabindex="0"') == theirs.count('tabindex="0"') > 0


def test_accessible_adds_alt_and_tabindex_once():
    page = (
        '<img src="a.png"><img alt="x" src="b.png">'
        '<div class="jp-OutputArea-output foo"><div class="jp-Cell-inputWrapper" tabindex="0">'
    )
    done = htmlexport.accessible(page)
    assert done.count("alt=") == 2 and f'<img alt="{htmlexport.MISSING_ALT}" src="a.png">' in done
    assert done.count('tabindex="0"') == 2 and htmlexport.accessible(done) == done
    assert htmlexport.accessible('<div class="jp-OutputArea-output-x">') == '<div class="jp-OutputArea-output-x">'


def test_without_noise_leaves_the_executed_notebook_as_it_is():
    nb = _executed_notebook()
    before = nbformat.writes(nb)
    clean = htmlexport.without_noise(nb)
    clean.metadata["title"] = "t"
    assert [o["output_type"] for o in clean.cells[1].outputs] == ["display_data"] * 3  # the bare True is noise
    assert nbformat.writes(nb) == before


def test_a_chart_is_cropped_to_its_ink_with_the_tight_pad():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2))
    ax = fig.add_axes((0.4, 0.4, 0.2, 0.2))  # a small axes in the middle of a white figure
    ax.plot([0, 1], [0, 1])
    ax.set_xticks([])
    ax.set_yticks([])
    image = Image.open(io.BytesIO(charts.chart_png(fig)))
    # the axes frame spans 80 x 40 px at 100 dpi; the white around it is cut to a 10 px pad
    assert (
        abs(image.width - (80 + 2 * charts.TIGHT_PAD_PX)) <= 4
        and abs(image.height - (40 + 2 * charts.TIGHT_PAD_PX)) <= 4
    )
    pixels = image.convert("RGB")
    assert pixels.getpixel((0, 0)) == (255, 255, 255)  # the pad is white
    assert pixels.getpixel((charts.TIGHT_PAD_PX, image.height // 2)) != (255, 255, 255)  # the frame is kept


def test_show_chart_displays_a_png_and_the_figures_text(monkeypatch):
    import IPython.display
    from matplotlib.figure import Figure

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw=False: shown.append((data, raw)))
    fig = Figure(figsize=(9, 3.4))
    fig.subplots().twinx()
    charts.show_chart(fig)
    ((data, raw),) = shown
    assert raw and data["text/plain"] == "<Figure size 900x340 with 2 Axes>"  # as the inline backend writes it
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
