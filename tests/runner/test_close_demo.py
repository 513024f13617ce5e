"""The period notebooks, executed for real by the runner on the demo book."""

from __future__ import annotations

import copy
import shutil
from decimal import Decimal

import nbformat
import pandas as pd

from closelib import money
from closelib.areas import recon
from closelib.book.fx import translation
from closelib.book.load import load_book
from closelib.demo import DEFAULT_END
from closelib.params import load_parameters
from closelib.paths import NOTEBOOKS_DIR, PARAMETERS_DIR
from closelib.periods import Period
from closelib.runner.run import execute_run, period_notebooks
from tests.conftest import MINI, write_source

END = DEFAULT_END
PRIOR = str(pd.Period(END, freq="M") - 1)
EARLIER = str(pd.Period(END, freq="M") - 3)


# demo_source and demo_run (the demo close, two memos) are session fixtures: tests/runner/conftest.py


def _unposted_sg01(book) -> pd.Series:
    """Positions of the SG01 receipt applications of the last day (planted item 4: not posted)."""
    last_day = pd.Timestamp(pd.Period(END, freq="M").end_time.date())
    apps = book.applications
    sg_receipts = book.receipts.loc[book.receipts["entity"] == "SG01", "receipt_id"]
    return (apps["applied_date"] == last_day) & apps["source_id"].isin(sg_receipts)


def test_close_of_the_demo_book_succeeds(demo_source, demo_run):
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
    # SG01: the unposted applications (what they relieve of AR at the invoices' booking rates) and
    # the reclass; the posted FX revaluation is a reconciling item of its own, not an exception.
    book = load_book(demo_source)
    unposted = int(translation(book).app_target[_unposted_sg01(book).to_numpy()].sum())
    assert m["figures"]["tb.SG01.exceptions"] == 6
    assert m["figures"]["tb.SG01.exceptions_total"] == money.format_minor(unposted - 321_000, "SGD")
    # Two currencies: no plain tb.difference (it would add USD to SGD).
    assert "tb.difference" not in m["figures"]
    assert (demo_run.run_dir / "01_tb_recon.html").is_file()


def test_planted_reconciling_items_are_all_found(demo_source, demo_run):
    book = load_book(demo_source)
    params = load_parameters(END, PARAMETERS_DIR)
    figures = demo_run.manifest["figures"]
    rec = recon.reconcile(book, Period.parse(END), params)
    items = rec.items
    revalued = rec.summary.set_index("entity")["revaluation"]
    # (1) the unreversed manual journal to US01 AR control in the last period is the whole US01
    # difference but the period's FX revaluation, posted and a class of its own
    assert Decimal(figures["tb.US01.difference"]) * 100 == 1_250_000 + int(revalued["US01"])
    us = items[items["entity"] == "US01"]
    fx_us = us[us["class"] == "revaluation"]
    assert list(fx_us["reference"]) == [f"FXREV-US01-{END}"] and fx_us["amount"].sum() == revalued["US01"] != 0
    us = us[us["class"] != "revaluation"]
    assert list(us["cause"]) == ["manual journal"] and us.iloc[0]["amount"] == 1_250_000
    # every item has its class: the recent accrual is timing (but unassigned), the rest need correcting
    assert list(us["class"]) == ["timing"] and us.iloc[0]["owner"] == "unassigned"
    sg = items[(items["entity"] == "SG01") & (items["class"] != "revaluation")]
    assert set(sg["class"]) == {"correction required"} and items["class"].notna().all()
    assert set(rec.journals["reference"]) == set(sg.loc[sg["cause"] == "not posted to the GL", "reference"])
    # (2) the SG01 reclass three periods back, carried with its age
    sg_manual = items[(items["entity"] == "SG01") & (items["cause"] == "manual journal")]
    assert sg_manual.iloc[0]["amount"] == -321_000 and sg_manual.iloc[0]["age_months"] == 3
    assert sg_manual.iloc[0]["gl_period"] == EARLIER
    # (4) SG01 applications of the last day, not posted: exactly the receipt applications dated that
    # day, each missing what it relieves of AR at its invoice's booking rate
    apps = book.applications
    mask = _unposted_sg01(book)
    unposted = apps[mask]
    relieved = int(translation(book).app_target[mask.to_numpy()].sum())
    not_posted = items[(items["entity"] == "SG01") & (items["cause"] == "not posted to the GL")]
    assert len(unposted) > 0 and set(not_posted["reference"]) == set(unposted["application_id"])
    assert not_posted["amount"].sum() == relieved
    assert Decimal(figures["tb.SG01.difference"]) * 100 == relieved - 321_000 + int(revalued["SG01"])
    # (3) the US01 invoices of the prior period's last day, posted in the last period: cut-off at PRIOR
    prior = recon.reconcile(book, Period.parse(PRIOR), params)
    cut = prior.items[prior.items["cause"] == "cut-off: posted to the GL in a later period"]
    prior_last = pd.Timestamp(pd.Period(PRIOR, freq="M").end_time.date())
    docs = book.documents
    late = docs[(docs["entity"] == "US01") & (docs["document_date"] == prior_last) & (docs["doc_type"] == "INV")]
    assert len(late) >= 2 and set(cut["reference"]) == set(late["document_id"])
    assert cut["amount"].sum() == -translation(book).doc_amount[late.index.to_numpy()].sum()
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
    total = Decimal(demo_run.manifest["figures"]["tb.SG01.exceptions_total"])  # derived in the first test
    assert f"reconciled with 6 exceptions requiring adjustment, totalling {total:,.2f} SGD" in html
    assert "revaluation" in html and f"FXREV-SG01-{END}" in html  # the posted FX revaluation, a class of its own
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


def test_two_closes_of_the_same_book_differ_only_where_sanitized(demo_run, tmp_path):
    """Issue 22: a run's notebooks are stable enough to compare. A re-performance of the demo close
    compares equal with nbval, cell by cell, once the sanitizers have replaced the run id, the
    run folder and the code version; without them only the header cell of each notebook differs
    (no random table ids, memory addresses, durations or clock times anywhere else). Issue 18:
    its Excel packs are the same bytes (no clock time, no run-specific path, no timing)."""
    from closelib.audit.cells import compare_run_cells
    from closelib.audit.reperform import compare_runs

    # what `close reperform` does (its stored inputs, its recorded parameters, `reperforms`), into
    # outputs of its own: the demo close's period keeps one run for the other tests that read it
    m = demo_run.manifest
    second = execute_run(
        m["period"],
        source=demo_run.run_dir / "inputs",
        parameters=m["parameters"],
        reperforms=m["run_id"],
        outputs=tmp_path,
    )
    comparison = compare_runs(m, second.manifest)
    assert second.succeeded and comparison.identical, comparison.lines()
    packs = sorted(p.name for p in demo_run.run_dir.glob("*.xlsx"))
    expected = {"collections_pack.xlsx", "credit_review_summary.xlsx", "reserve_pack.xlsx", "write_off_pack.xlsx"}
    assert expected <= set(packs), packs
    for name in packs:
        assert (second.run_dir / name).read_bytes() == (demo_run.run_dir / name).read_bytes(), name
    compared = compare_run_cells(demo_run.run_dir, second.run_dir)
    assert len(compared.notebooks) == len(period_notebooks()) + 2  # the period notebooks and both memos
    assert compared.identical, "\n".join(compared.lines())
    raw = compare_run_cells(demo_run.run_dir, second.run_dir, sanitizers=[])
    for notebook in raw.notebooks:
        executed = nbformat.read(str(demo_run.run_dir / notebook.file), as_version=4)
        header = [i for i, c in enumerate(executed.cells, 1) if "<th>run folder</th>" in str(c.get("outputs"))]
        assert [c.number for c in notebook.different] == header, (notebook.file, "\n".join(raw.lines()))


def test_workpapers_sharing_one_kernel_give_the_figures_of_two_workers(demo_run, tmp_path):
    """A run's notebooks share their worker's kernel, its book and the values derived from it
    (closelib.runner.pool, nb.bookload). All seven in one kernel, each after the others, give the
    figures and checks of the run on two workers: a cached value that depended on which notebook
    ran before would show here."""
    from closelib.audit.reperform import compare_runs

    m = demo_run.manifest
    parameters = copy.deepcopy(m["parameters"])
    parameters["run"]["workers"] = 1
    one = execute_run(m["period"], source=demo_run.run_dir / "inputs", parameters=parameters, outputs=tmp_path)
    assert one.succeeded, one.messages
    assert [p.name for p in (one.run_dir / "logs").glob("worker-*.log")] == ["worker-1.log"]
    assert len(demo_run.manifest["figures"]) > 100
    comparison = compare_runs(m, one.manifest)
    assert comparison.identical, comparison.lines()


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
    for name in ("01_tb_recon", "02_reserve", "03_write_off", "05_collections", "06_cash_application"):
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
        "06_cash_application": [
            "SG01: no unapplied cash and no open credit memo.",
            "SG01: no open invoice or debit memo.",
            "SG01: no application proposed.",
            "SG01: nothing left unmatched.",
            "no unapplied cash and no open credit memo at the period end: nothing to apply.",
        ],
    }
    for name, lines in expected.items():
        html = (result.run_dir / f"{name}.html").read_text(encoding="utf-8")
        missing = [line for line in lines if line not in html]
        assert not missing, (name, missing)
    collections = (result.run_dir / "05_collections.html").read_text(encoding="utf-8")
    assert "<strong>SG01</strong>: no receivables, sales or receipts this period" in collections
