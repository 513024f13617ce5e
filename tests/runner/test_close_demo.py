"""The period notebooks, executed for real by the runner on the demo book."""

from __future__ import annotations

import copy
import shutil
from decimal import Decimal

import nbformat
import pandas as pd

from closelib.areas import recon
from closelib.book.load import load_book
from closelib.demo import DEFAULT_END
from closelib.params import load_parameters
from closelib.paths import NOTEBOOKS_DIR, PARAMETERS_DIR
from closelib.periods import Period
from closelib.runner.run import execute_run
from tests.conftest import MINI, write_source

END = DEFAULT_END
PRIOR = str(pd.Period(END, freq="M") - 1)
EARLIER = str(pd.Period(END, freq="M") - 3)


# demo_source and demo_run (the demo close, two memos) are session fixtures: tests/runner/conftest.py


def test_close_of_the_demo_book_succeeds(demo_run):
    m = demo_run.manifest
    assert m["status"] == "succeeded", (
        m["error"],
        {k: v["error"] for k, v in m["notebooks"].items()},
        [k for k, c in m["checks"].items() if not c["passed"]],
    )
    # Every check passes but the two warnings the planted items must raise: SG01's unposted
    # applications and its three-month-old reclass require correction, US01's accrual has no owner.
    failed = {k: c["severity"] for k, c in m["checks"].items() if not c["passed"]}
    assert failed == {"tb.SG01.no_open_exceptions": "warning", "tb.US01.no_open_exceptions": "warning"}
    for entity in ("US01", "SG01"):
        assert m["figures"][f"tb.{entity}.unexplained"] == "0.00"
    assert (m["figures"]["tb.US01.exceptions"], m["figures"]["tb.US01.exceptions_total"]) == (1, "12500.00")
    assert (m["figures"]["tb.SG01.exceptions"], m["figures"]["tb.SG01.exceptions_total"]) == (6, "80290.96")
    # Two currencies: no plain tb.difference (it would add USD to SGD).
    assert "tb.difference" not in m["figures"]
    assert (demo_run.run_dir / "01_tb_recon.html").is_file()


def test_planted_reconciling_items_are_all_found(demo_source, demo_run):
    book = load_book(demo_source)
    params = load_parameters(END, PARAMETERS_DIR)
    figures = demo_run.manifest["figures"]
    # (1) the unreversed manual journal to US01 AR control in the last period is the whole US01 difference
    assert figures["tb.US01.difference"] == "12500.00"
    rec = recon.reconcile(book, Period.parse(END), params)
    items = rec.items
    us = items[items["entity"] == "US01"]
    assert list(us["cause"]) == ["manual journal"] and us.iloc[0]["amount"] == 1_250_000
    # every item has its class: the recent accrual is timing (but unassigned), the rest need correcting
    assert list(us["class"]) == ["timing"] and us.iloc[0]["owner"] == "unassigned"
    sg = items[items["entity"] == "SG01"]
    assert set(sg["class"]) == {"correction required"} and items["class"].notna().all()
    assert set(rec.journals["reference"]) == set(sg.loc[sg["cause"] == "not posted to the GL", "reference"])
    # (2) the SG01 reclass three periods back, carried with its age
    sg_manual = items[(items["entity"] == "SG01") & (items["cause"] == "manual journal")]
    assert sg_manual.iloc[0]["amount"] == -321_000 and sg_manual.iloc[0]["age_months"] == 3
    assert sg_manual.iloc[0]["gl_period"] == EARLIER
    # (4) SG01 applications of the last day, not posted: exactly the receipt applications dated that day
    last_day = pd.Timestamp(pd.Period(END, freq="M").end_time.date())
    apps = book.applications
    sg_receipts = book.receipts.loc[book.receipts["entity"] == "SG01", "receipt_id"]
    unposted = apps[(apps["applied_date"] == last_day) & apps["source_id"].isin(sg_receipts)]
    not_posted = items[(items["entity"] == "SG01") & (items["cause"] == "not posted to the GL")]
    assert len(unposted) > 0 and set(not_posted["reference"]) == set(unposted["application_id"])
    assert not_posted["amount"].sum() == unposted["amount"].sum()
    assert Decimal(figures["tb.SG01.difference"]) * 100 == int(unposted["amount"].sum()) - 321_000
    # (3) the US01 invoices of the prior period's last day, posted in the last period: cut-off at PRIOR
    prior = recon.reconcile(book, Period.parse(PRIOR), params)
    cut = prior.items[prior.items["cause"] == "cut-off: posted to the GL in a later period"]
    prior_last = pd.Timestamp(pd.Period(PRIOR, freq="M").end_time.date())
    docs = book.documents
    late = docs[(docs["entity"] == "US01") & (docs["document_date"] == prior_last) & (docs["doc_type"] == "INV")]
    assert len(late) >= 2 and set(cut["reference"]) == set(late["document_id"])
    assert cut["amount"].sum() == -late["amount"].sum()
    assert (prior.summary["unexplained"] == 0).all()


def test_an_altered_gl_balance_fails_the_close_by_exactly_that_amount(demo_source, tmp_path):
    source = tmp_path / "altered"
    shutil.copytree(demo_source, source)
    gl = pd.read_csv(source / "gl_balances.csv", dtype=str, keep_default_na=False)
    mine = (gl["entity"] == "US01") & (gl["period"] == END)
    # +10.00 on AR control, balanced by +10.00 credit on retained earnings: the TB still balances.
    ar = mine & (gl["account"] == "1100")
    re_ = mine & (gl["account"] == "3100")
    gl.loc[ar, "debit"] = [f"{Decimal(v) + Decimal('10.00'):.2f}" for v in gl.loc[ar, "debit"]]
    gl.loc[re_, "credit"] = [f"{Decimal(v) + Decimal('10.00'):.2f}" for v in gl.loc[re_, "credit"]]
    gl.to_csv(source / "gl_balances.csv", index=False, lineterminator="\n")
    only_recon = tmp_path / "nbs"  # only the notebook under test, to keep the suite fast
    only_recon.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "01_tb_recon.ipynb", only_recon)
    result = execute_run(END, source=source, outputs=tmp_path / "out", notebooks_dir=only_recon)
    m = result.manifest
    assert m["status"] == "failed"
    assert m["notebooks"]["tb_recon"]["status"] == "succeeded"  # the notebook ran; its check failed
    assert m["figures"]["tb.US01.unexplained"] == "10.00"
    assert m["checks"]["tb.US01.unexplained_within_tolerance"]["passed"] is False
    assert m["checks"]["tb.US01.trial_balance_balances"]["passed"] is True
    assert m["checks"]["tb.SG01.unexplained_within_tolerance"]["passed"] is True


def test_the_tb_recon_shows_every_item_class_and_open_exceptions_can_fail_the_close(demo_source, demo_run, tmp_path):
    html = (demo_run.run_dir / "01_tb_recon.html").read_text(encoding="utf-8")
    for text in ("Items by class", "correction required", "timing", "open exception(s)", "TBC-SG01-"):
        assert text in html
    assert "reconciled with 6 exceptions requiring adjustment, totalling 80,290.96 SGD" in html
    assert "reconciled with 1 exception, totalling 12,500.00 USD (1 with no owner or expected clearance)" in html
    # gl.exception_severity: error makes the open exceptions fail the run (the notebook itself succeeds)
    only_recon = tmp_path / "nbs"
    only_recon.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "01_tb_recon.ipynb", only_recon)
    result = execute_run(
        END,
        source=demo_source,
        outputs=tmp_path / "out",
        notebooks_dir=only_recon,
        overrides=["gl.exception_severity=error"],
    )
    m = result.manifest
    assert m["status"] == "failed" and m["notebooks"]["tb_recon"]["status"] == "succeeded"
    assert m["checks"]["tb.SG01.no_open_exceptions"]["severity"] == "error"
    assert m["checks"]["tb.SG01.unexplained_within_tolerance"]["passed"] is True


def test_notebooks_run_on_a_small_contract_source_without_optional_tables(mini_source, tmp_path):
    # MINI has no gl_journal, disputes, activities or financials: every notebook must still run.
    result = execute_run(
        "2026-10", source=mini_source, outputs=tmp_path / "out", overrides=["credit_review.max_memos=1"]
    )
    m = result.manifest
    failed = {k: v["error"] for k, v in m["notebooks"].items() if v["status"] != "succeeded"}
    assert not failed, failed
    assert m["figures"]["tb.unexplained"] == "0.00" and m["figures"]["tb.subledger_ar"] == "1050.50"
    assert m["status"] == "succeeded", [k for k, c in m["checks"].items() if not c["passed"]]


def test_two_closes_of_the_same_book_differ_only_where_sanitized(demo_source, demo_run, tmp_path):
    """Issue 22: a run's notebooks are stable enough to compare. A second close of the same book
    compares equal with nbval, cell by cell, once the sanitizers have replaced the run id, the
    run folder and the code version; without them only the header cell of each notebook differs
    (no random table ids, memory addresses, durations or clock times anywhere else)."""
    from closelib.audit.cells import compare_run_cells

    second = execute_run(END, source=demo_source, outputs=tmp_path, overrides=["credit_review.max_memos=2"])
    assert second.succeeded
    compared = compare_run_cells(demo_run.run_dir, second.run_dir)
    assert len(compared.notebooks) == 5 + 2  # the period notebooks and both memos
    assert compared.identical, "\n".join(compared.lines())
    raw = compare_run_cells(demo_run.run_dir, second.run_dir, sanitizers=[])
    for notebook in raw.notebooks:
        executed = nbformat.read(str(demo_run.run_dir / notebook.file), as_version=4)
        header = [i for i, c in enumerate(executed.cells, 1) if "<th>run folder</th>" in str(c.get("outputs"))]
        assert [c.number for c in notebook.different] == header, (notebook.file, "\n".join(raw.lines()))


def test_every_entity_is_accounted_for_in_every_workpaper(tmp_path):
    # MINI plus SG01, an entity with a trial balance and nothing else: every workpaper says so
    # for SG01 (and for US01 where it has nothing either), never silence.
    tables = copy.deepcopy(MINI)
    tables["entities"] = tables["entities"] + [
        {"entity": "SG01", "name": "Quiet Pte", "functional_currency": "SGD", "country": "SG"}
    ]
    tables["gl_balances"] = tables["gl_balances"] + [
        {
            "entity": "SG01",
            "period": "2026-10",
            "account": account,
            "account_name": account,
            "account_type": kind,
            "currency": "SGD",
            "debit": debit,
            "credit": credit,
        }
        for account, kind, debit, credit in (("1000", "asset", "10.00", "0.00"), ("3000", "equity", "0.00", "10.00"))
    ]
    source = write_source(tmp_path / "quiet", tables)
    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    for name in ("01_tb_recon", "02_reserve", "03_write_off", "05_collections"):
        shutil.copy(NOTEBOOKS_DIR / f"{name}.ipynb", notebooks)
    result = execute_run("2026-10", source=source, outputs=tmp_path / "out", notebooks_dir=notebooks)
    assert all(v["status"] == "succeeded" for v in result.manifest["notebooks"].values())
    expected = {
        "01_tb_recon": [
            "SG01: no reconciling items, found in the data or documented.",
            "SG01: no open exceptions.",
            "SG01: no unapplied receipts at the period end.",
        ],
        "02_reserve": [
            "SG01: no customer has open items at the period end.",
            "SG01: no open invoices, debit memos or credit memos at the period end.",
            "SG01: no specific reserves.",
            "SG01: no open invoices or debit memos in the collective pool.",
        ],
        "03_write_off": [
            "SG01: no write-off candidates this period.",
            "US01: no write-off candidates this period.",
            "SG01: nothing held back.",
            "SG01: no recoveries booked in the period.",
        ],
        "05_collections": [
            "SG01: no receivables, sales or receipts this period: no KPI.",
            "SG01: no open items, this month or last.",
            "SG01: no customer due a dunning action.",
            "SG01: no unapplied credit memos.",
        ],
    }
    for name, lines in expected.items():
        html = (result.run_dir / f"{name}.html").read_text(encoding="utf-8")
        missing = [line for line in lines if line not in html]
        assert not missing, (name, missing)
    collections = (result.run_dir / "05_collections.html").read_text(encoding="utf-8")
    assert "<strong>SG01</strong>: no receivables, sales or receipts this period" in collections
