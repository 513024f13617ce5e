"""Issue 18 points 2-4 on the demo close: every reviewer HTML (period notebooks, memos, the
investigation) reads as a workpaper: no noise, nothing fetched from the network, titled, with its
header and its links to the workpapers it ties to."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from closelib.audit.binder import refresh_binder
from closelib.nb.workpapers import BY_NAME
from closelib.runner.adhoc import run_investigation
from closelib.runner.run import period_notebooks

# A value no reader should see: Python's and pandas' missing values and flags, an infinity, a
# raw dict or list. Whole words only (``None`` in "Nonetheless" is prose).
NOISE = re.compile(r"(?<![\w.\-])(nan|NaN|None|NaT|inf|-inf|True|False|<NA>)(?![\w\-])|\{'|\['")
REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:)?//", re.IGNORECASE)


class Page(HTMLParser):
    """A page as a browser reads it: visible text (no style or script), every src/href, the
    title, every table with its number of data cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.scripts = 0
        self.title = ""
        self.tables: list[int] = []
        self._open: list[int] = []
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        self.scripts += tag == "script"
        self._in_title = tag == "title"
        if tag == "table":
            self._open.append(len(self.tables))
            self.tables.append(0)
        if tag == "td" and self._open:
            self.tables[self._open[-1]] += 1
        self.refs += [(tag, k, v or "") for k, v in attrs if k in ("src", "href")]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1
        if tag == "title":
            self._in_title = False
        if tag == "table" and self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self.text.append(data)


def read(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def investigation(demo_source, demo_run):
    customer = pd.read_csv(demo_source / "customers.csv", dtype=str)["customer_id"].iloc[0]
    return run_investigation(customer, None, None, source=demo_source, outputs=demo_run.run_dir.parents[1])


@pytest.fixture(scope="module")
def pages(demo_run, investigation) -> list[Path]:
    assert demo_run.succeeded and investigation.succeeded
    refresh_binder(demo_run.run_dir, demo_run.manifest["period"])
    found = sorted(demo_run.run_dir.rglob("*.html")) + sorted(investigation.run_dir.glob("*.html"))
    assert len(found) == len(period_notebooks()) + 2 + 1  # the period notebooks, the two memos, the investigation
    return [*found, demo_run.run_dir.parent / "index.html"]


def test_no_noise_in_any_reviewer_html(pages):
    for path in pages:
        page = read(path)
        noise = sorted({t.strip()[:60] for t in page.text if NOISE.search(t)})
        assert not noise, (path.name, noise[:5])
        # an empty table is a sentence, never headings over nothing
        assert all(cells > 0 for cells in page.tables), (path.name, page.tables)


def test_wide_tables_keep_ids_on_one_line_and_scroll(pages):
    for path in pages[:-1]:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"\.jp-OutputArea-output\s*\{\s*overflow-x:\s*auto", text), path.name
        assert re.search(r"\.jp-RenderedHTMLCommon td[^{]*\{\s*white-space:\s*nowrap", text), path.name


def test_reviewer_html_is_offline_and_titled(demo_run, investigation, pages):
    company = demo_run.manifest["parameters"]["company"]
    period = demo_run.manifest["period"]
    for path in pages:
        page = read(path)
        assert page.scripts == 0, path.name  # nothing to run, nothing to fetch
        remote = [ref for ref in page.refs if REMOTE.match(ref[2])]
        assert not remote, (path.name, remote[:3])
        text = path.read_text(encoding="utf-8")
        # nor by the CSS: every url() is inline data, nothing is imported
        assert "@import" not in text, path.name
        assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", text)), path.name
    for name, entry in demo_run.manifest["notebooks"].items():
        assert read(demo_run.run_dir / entry["html"]).title == f"{company} - {BY_NAME[name].label} - {period}"
    memo_titles = sorted(read(p).title for p in (demo_run.run_dir / "credit_memos").glob("*.html"))
    assert [t.split(" - ")[1].split(" ")[0] for t in memo_titles] == ["AR-4.1", "AR-4.2"]
    (page,) = investigation.run_dir.glob("*.html")
    assert read(page).title == f"{company} - AR-INV Dispute investigation - {investigation.manifest['period']}"


def test_every_workpaper_opens_with_its_header(demo_run, investigation, pages):
    inputs = demo_run.manifest["inputs"]
    for path in pages[:-1]:
        text = "".join(read(path).text)
        run = investigation if path.parent == investigation.run_dir else demo_run
        for expected in (run.manifest["parameters"]["company"], run.manifest["run_id"], "SG01", "US01"):
            assert expected in text, (path.name, expected)
        signoff = f"close signoff {run.manifest['run_id']}" if run is demo_run else "close signoff outputs/adhoc/"
        assert "Prepared by / Reviewed by:" in text and signoff in text, path.name
        for name, entry in inputs.items():
            assert name in text and entry["sha256"] in text, (path.name, name)
    binder = {p.parent.name: p for p in pages[:-1]}
    up = {demo_run.run_dir.name: "../index.html", "credit_memos": "../../index.html"}
    for folder, link in up.items():
        assert f'href="{link}"' in binder[folder].read_text(encoding="utf-8")
    assert (demo_run.run_dir / up["credit_memos"]).resolve() != (demo_run.run_dir / "index.html").resolve()


def test_a_tie_to_another_workpaper_names_and_links_it(demo_run):
    reserve = (demo_run.run_dir / "02_reserve.html").read_text(encoding="utf-8")
    for entity in ("SG01", "US01"):
        figure = f"right side: figure <code>tb.{entity}.subledger_ar</code>"
        assert f'{figure} of <a href="01_tb_recon.html">AR-1 TB reconciliation</a>' in reserve
    assert (demo_run.run_dir / "01_tb_recon.html").is_file()
    write_off = (demo_run.run_dir / "03_write_off.html").read_text(encoding="utf-8")
    assert 'see <a href="02_reserve.html">AR-2 Bad-debt reserve</a>' in write_off
