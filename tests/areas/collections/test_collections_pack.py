"""The collections pack and the KPI workings as a reader sees them (issue 18), on MINI (conftest).

At 2026-10-31: end AR 1,050.50, prior AR 875.25, sales 250.50, not yet due 250.50, past due 800.00.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from openpyxl import load_workbook

from closelib.areas.collections import dunning
from closelib.areas.collections import kpis as coll
from closelib.areas.collections import pack as collections_pack
from closelib.areas.collections.ageddebt import aged_debt
from closelib.asof.aging import AgingPolicy
from closelib.book.load import load_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source
from tests.packcheck import pack_problems

END = Period(2026, 10)


@pytest.fixture
def book(tmp_path):
    return load_book(write_source(tmp_path / "b", copy.deepcopy(MINI)))


@pytest.fixture
def params():
    return load_parameters("2026-10", PARAMETERS_DIR)


def test_kpi_workings_show_inputs_in_the_currency_and_kpis_with_their_units(book):
    row = coll.kpi_table(book, END, months=2).set_index("month").loc["2026-10"].to_dict()
    work = coll.kpi_workings(row | {"month": "2026-10"}, "USD").set_index("kpi")
    assert list(work.columns) == ["value", "formula", "inputs (USD)"]
    assert work.at["dso_simple", "inputs (USD)"] == "1,050.50 / 250.50 x 31 days"
    assert work.at["cei", "inputs (USD)"] == "(875.25 + 250.50 - 1,050.50) / (875.25 + 250.50 - 250.50) x 100"
    assert work.at["dso_simple", "value"] == "130.0 days"
    assert work.at["past_due_ratio", "value"] == f"{800 / 1050.50:.2%}"
    assert work.at["cei", "value"] == f"{75.25 / 875.25 * 100:.1f}%"
    assert "105050" not in work.to_string()  # never the minor units


def test_the_collections_pack_takes_the_queue_as_it_is(book, params, tmp_path):
    stages = dunning.document_stages(book, END, params)
    due, _ = dunning.action_queue(stages)
    queue = dunning.customer_queue(due, params)
    # a column the dunning step may add later (#16): an amount by its name, formatted as money
    queue = queue.assign(handover_amount=queue["past_due"])
    now = coll.kpi_table(book, END, months=1).set_index("entity")
    labels = AgingPolicy.from_params(params).labels
    aged = aged_debt(book, END, params)
    path = collections_pack.write_pack(
        tmp_path / "collections_pack.xlsx", END, params, queue, due, now, aged, labels, book.currency_of
    )
    wb = load_workbook(path)
    assert wb.sheetnames == ["Dunning queue", "Documents due", "KPIs", "KPI workings", "Aged debt by collector"]
    assert [p for p in pack_problems(path) if "cover" not in p.lower()] == []
    ws = wb["Dunning queue"]
    header = next(r for r in ws.iter_rows() if r[0].value == "entity")
    names = [c.value for c in header]
    assert "next_action" in names and "handover_amount" in names
    first = ws.cell(header[0].row + 1, names.index("handover_amount") + 1)
    assert first.number_format.startswith("#,##0.00") and first.value == pytest.approx(800.00)
    kpis = pd.DataFrame(wb["KPIs"].values)
    assert "end_ar" in kpis.values and 1050.5 in kpis.values  # the input, in major units
