"""Issue 18: the Excel packs and reviewer HTML of the demo close, read as a reviewer would.

Every pack and every reviewer HTML of the (shared, session-wide) demo close goes through
:mod:`tests.packcheck`: no amount in minor units or unformatted, totals that are ``SUM``
formulas caching the exact totals, dates as dates, columns wide enough, the print setup and a
cover sheet. The detector itself is shown to catch each fault on a small pack made to have it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from closelib.nb.excel import Cover, Sheet, write_workbook
from tests.packcheck import html_problems, pack_problems

PACKS = ("collections_pack.xlsx", "credit_review_summary.xlsx", "reserve_pack.xlsx", "write_off_pack.xlsx")


def _reviewer_html(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("*.html")) + sorted((run_dir / "credit_memos").glob("*.html"))


def test_every_pack_of_the_demo_close_shows_money_formatted_and_traceable(demo_run):
    run_dir, run_id = demo_run.run_dir, demo_run.manifest["run_id"]
    packs = sorted(run_dir.glob("*.xlsx"))
    assert set(PACKS) <= {p.name for p in packs}
    problems = [problem for pack in packs for problem in pack_problems(pack, run_id)]
    assert not problems, "\n".join(problems[:40])


def test_every_reviewer_html_of_the_demo_close_shows_money_formatted(demo_run):
    pages = _reviewer_html(demo_run.run_dir)
    assert len(pages) >= 5 + 2
    problems = [problem for page in pages for problem in html_problems(page)]
    assert not problems, "\n".join(problems[:40])


def test_packs_are_as_readable_as_the_html_beside_them(demo_run):
    html_mode = stat.S_IMODE((demo_run.run_dir / "02_reserve.html").stat().st_mode)
    for name in PACKS:
        assert stat.S_IMODE((demo_run.run_dir / name).stat().st_mode) == html_mode, name


def test_the_cover_names_the_run_and_every_input_hash(demo_run):
    m = demo_run.manifest
    for name in PACKS:
        cover = load_workbook(demo_run.run_dir / name)["Cover"]
        text = " ".join(str(c.value) for row in cover.iter_rows() for c in row if c.value is not None)
        assert (
            m["run_id"] in text and m["period"] in text and json.loads(json.dumps(m["parameters"]))["company"] in text
        )
        for entry in m["inputs"].values():
            assert entry["sha256"] in text, name


def test_totals_cache_the_exact_totals_of_the_close(demo_run):
    """The reserve pack's true-up journal totals are SUM formulas caching the manifest's figures."""
    m = demo_run.manifest
    formulas = load_workbook(demo_run.run_dir / "reserve_pack.xlsx")["True-up journals"]
    cached = load_workbook(demo_run.run_dir / "reserve_pack.xlsx", data_only=True)["True-up journals"]
    totals = {}
    for row in formulas.iter_rows():
        if isinstance(row[0].value, str) and row[0].value.startswith("Total "):
            debit = next(c for c in row if isinstance(c.value, str) and c.value.startswith("=SUMIF("))
            totals[row[0].value.removeprefix("Total ")] = cached[debit.coordinate].value
    for entity, ccy in (("US01", "USD"), ("SG01", "SGD")):
        true_up = abs(float(m["figures"][f"reserve.{entity}.true_up"]))
        assert totals[ccy] == pytest.approx(true_up, abs=0.001)


def test_the_credit_summary_links_each_customer_to_its_memo(demo_run):
    ws = load_workbook(demo_run.run_dir / "credit_review_summary.xlsx")["Summary"]
    links = {c.value: c.hyperlink.target for row in ws.iter_rows() for c in row if c.hyperlink is not None}
    assert len(links) == 2
    for customer, target in links.items():
        assert not os.path.isabs(target) and (demo_run.run_dir / target.replace("\\", "/")).is_file(), target
        assert str(customer) in target


def _pack(tmp_path: Path, frame: pd.DataFrame, **sheet) -> Path:
    cover = Cover(
        "Acme & Co",
        "AR-9 Test",
        "2026-10",
        pd.Timestamp("2026-10-31").date(),
        "RUN1",
        {"a.csv": {"sha256": "ab", "rows": 1}},
    )
    return write_workbook(tmp_path / "p.xlsx", [Sheet("Data", frame, **sheet)], cover=cover)


def test_a_clean_pack_passes(tmp_path):
    frame = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "currency": ["USD", "JPY"], "amount": [151709, 1500], "days": [3, 4]}
    )
    path = _pack(tmp_path, frame, money_columns=["amount"], currency_column="currency", total=True)
    assert pack_problems(path, "RUN1") == []


@pytest.mark.parametrize(
    ("frame", "sheet", "expected"),
    [
        # promised amounts left in minor units (the write-off pack's evidence sheet, before)
        (pd.DataFrame({"currency": ["SGD"], "promised_amount": [151709]}), {}, "not as money"),
        # a date kept as text
        (pd.DataFrame({"date": ["2026-10-31"], "x": ["a"]}).astype({"date": "string"}), {}, "written as text"),
        # money formatted with the wrong currency's decimals
        (
            pd.DataFrame({"currency": ["JPY"], "amount": [1500]}),
            {"money_columns": ["amount"], "currency": "USD"},
            "decimals",
        ),
    ],
)
def test_the_detector_catches_each_fault(tmp_path, frame, sheet, expected, monkeypatch):
    if expected == "written as text":  # switch the pack writer's date typing off to make the fault
        monkeypatch.setattr("closelib.nb.excel.dates_as_dates", lambda f: f)
    path = _pack(tmp_path, frame, **sheet)
    assert any(expected in p for p in pack_problems(path, "RUN1")), pack_problems(path, "RUN1")


def test_the_detector_catches_a_total_that_is_not_the_sum(tmp_path):
    from openpyxl import load_workbook as load

    frame = pd.DataFrame({"currency": ["USD", "USD"], "amount": [100, 250]})
    path = _pack(tmp_path, frame, money_columns=["amount"], currency_column="currency", total=True)
    assert pack_problems(path, "RUN1") == []
    # the total as a plain number (what the packs held before): no formula to trace
    wb = load(path)
    wb["Data"]["B4"] = 3.5
    wb.save(path)
    assert any("not a SUM formula" in p for p in pack_problems(path, "RUN1"))


def test_the_detector_catches_minor_units_in_html(tmp_path):
    page = tmp_path / "x.html"
    page.write_text(
        "<table><thead><tr><th>customer</th><th>open_amount</th></tr></thead>"
        "<tbody><tr><td>C1</td><td>151709</td></tr></tbody></table>"
        "<p>Bad-debt reserve true-up: required 33131.26</p><p>receipt 3294000 minor units</p>",
        encoding="utf-8",
    )
    found = " ".join(html_problems(page))
    assert "not a formatted amount" in found and "without thousands separators" in found and "minor units" in found
    page.write_text(
        "<table><thead><tr><th>customer</th><th>open_amount</th></tr></thead>"
        "<tbody><tr><td>C1</td><td>1,517.09</td></tr></tbody></table><p>required 33,131.26 SGD</p>",
        encoding="utf-8",
    )
    assert html_problems(page) == []
