"""The demo book: contract-valid, deterministic, full of the messes a real AR book has,
and a GL that ties to the subledger except for the documented planted items."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from closelib import money
from closelib.asof.fx import revaluation_items
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.fx import translation
from closelib.book.load import load_book
from closelib.book.schema import LOAD_ORDER, TABLES
from closelib.demo import (
    DEFAULT_END,
    DEFAULT_SEED,
    generate_book,
    generate_book_with_notes,
    write_book,
)
from closelib.demo.writer import money_text
from closelib.periods import Period

END = DEFAULT_END
ACCRUAL = 1_250_000  # documented planted amounts, minor units
RECLASS = 321_000


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    tables, planted = generate_book_with_notes(DEFAULT_SEED, 1.0, END)
    folder = tmp_path_factory.mktemp("demo") / "book"
    files = write_book(tables, folder)
    return {"tables": tables, "planted": planted, "folder": folder, "files": files, "book": load_book(folder)}


def _hashes(files: dict[str, Path]) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}


# ------------------------------------------------------------------ shape and contract


def test_every_table_written_with_contract_columns(demo):
    assert set(demo["files"]) == set(LOAD_ORDER)
    for name, path in demo["files"].items():
        assert path.name == f"{name}.csv"
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        # the demo writes the optional columns it uses (remittance, payer_name), not fx_rate: fx_rates serve
        written = [c.name for c in TABLES[name].columns if not c.optional or c.name in ("remittance", "payer_name")]
        assert header == written, name
        assert list(demo["tables"][name].columns) == written


def test_book_meets_the_contract(demo):
    book = demo["book"]  # load_book raises SourceError listing every broken rule
    assert book.entities == ["SG01", "US01"]
    assert book.entity_currency == {"US01": "USD", "SG01": "SGD"}
    assert all(len(book.tables[n]) > 0 for n in LOAD_ORDER)


def test_frames_use_minor_units_and_datetimes(demo):
    docs = demo["tables"]["documents"]
    assert docs["amount"].dtype == np.int64
    assert str(docs["document_date"].dtype) == "datetime64[ns]"
    text = demo["files"]["documents"].read_text(encoding="utf-8").splitlines()[1]
    assert text.split(",")[7].count(".") == 1 and len(text.split(",")[7].split(".")[1]) == 2


def test_history_and_size(demo):
    book = demo["book"]
    periods = sorted(book.gl_balances["period"].unique())
    assert len(periods) >= 24 and periods[-1] == END
    assert 60 <= len(book.customers) <= 100
    assert 3_000 <= len(book.documents) <= 8_000
    months = book.documents["document_date"].dt.to_period("M").nunique()
    assert months >= 24
    ids = book.documents["document_id"]
    assert ids.str.match(r"^(US01|SG01)-(INV|DM|CM)-\d{7}$").all()
    assert book.receipts["receipt_id"].str.match(r"^(US01|SG01)-RCP-\d{7}$").all()
    assert book.applications["application_id"].str.match(r"^(US01|SG01)-APP-\d{7}$").all()
    assert book.customers["customer_id"].str.match(r"^C\d{6}$").all()
    assert book.disputes["case_id"].str.match(r"^DSP-\d{6}$").all()


def test_money_text_matches_closelib_money():
    values = np.array([0, 1, -1, 99, 100, 123450, -7525, 10**15])
    for ccy in ("USD", "JPY", "KWD"):
        expected = money.format_minor_array(values, ccy).tolist()
        assert money_text(values, money.minor_digits(ccy)).to_pylist() == expected


# ------------------------------------------------------------------ the messes


def test_payment_patterns(demo):
    book = demo["book"]
    app, rec, docs = book.applications, book.receipts, book.documents
    from_rec = app[app["source_id"].isin(rec["receipt_id"])]
    # batch: one receipt paying several invoices
    assert (from_rec.groupby("source_id")["target_id"].nunique() >= 2).sum() > 10
    # partial: an invoice paid by two or more receipts
    assert (from_rec.groupby("target_id")["source_id"].nunique() >= 2).sum() > 5
    # late payments: applied well after the due date
    merged = from_rec.merge(docs, left_on="target_id", right_on="document_id")
    late = (merged["applied_date"] - merged["due_date"]).dt.days > 30
    assert late.sum() > 50 and (~late).sum() > late.sum()
    # short payments leave small residuals, cleared by small-balance adjustments
    small = book.adjustments[book.adjustments["reason_code"] == "small_balance"]
    assert len(small) > 3 and (small["amount"] < 0).all() and (small["amount"] > -10_000).all()


def test_unapplied_and_unidentified_cash(demo):
    book = demo["book"]
    end = Period.parse(END).end
    un = unapplied_cash(book, end)
    assert un["identified"].any() and (~un["identified"]).any()
    unidentified = book.receipts[book.receipts["customer_id"] == ""]
    applied_later = book.applications[book.applications["source_id"].isin(unidentified["receipt_id"])]
    assert len(applied_later) > 5
    # identified cash applied in a later month than received
    app = book.applications.merge(book.receipts, left_on="source_id", right_on="receipt_id")
    crossed = app["applied_date"].dt.to_period("M") > app["receipt_date"].dt.to_period("M")
    assert (crossed & (app["customer_id"] != "")).sum() > 5


def test_credit_memos_and_disputes(demo):
    book = demo["book"]
    cms = book.documents[book.documents["doc_type"] == "CM"]
    assert len(cms) > 10
    applied = book.applications["source_id"].isin(cms["document_id"])
    assert applied.sum() > 5
    open_cm = open_items(book, Period.parse(END).end, ("CM",))
    assert len(open_cm) >= 1
    dis = book.disputes
    for reason in ("sla_credit", "install_date", "pricing", "duplicate_billing"):
        assert (dis["reason_code"] == reason).any(), reason
    assert set(dis["status"]) == {"open", "resolved", "rejected"}
    assert dis.loc[dis["status"] == "open", "closed_date"].isna().all()
    assert (dis["owner"] != "").all()
    resolved = dis[dis["status"] == "resolved"]
    assert resolved["case_id"].isin(cms["reference"]).all()


def test_customer_statuses_and_write_offs(demo):
    book = demo["book"]
    statuses = set(book.customers["status"])
    assert {"active", "suspended", "bankrupt", "in_collections", "closed"} <= statuses
    adj = book.adjustments
    wo = adj[adj["type"] == "write_off"]
    rec = adj[adj["type"] == "recovery"]
    assert len(wo) and (wo["amount"] < 0).all() and (wo["approved_by"] != "").all()
    assert (wo["approval_reference"] != "").all()
    assert len(rec) and (rec["amount"] > 0).all()
    first_wo = wo.groupby("document_id")["adjustment_date"].min()
    assert (rec["adjustment_date"].to_numpy() > rec["document_id"].map(first_wo).to_numpy()).all()
    # each recovery is paid by a receipt applied to the same document that day
    paid = book.applications.merge(
        rec, left_on=["target_id", "applied_date"], right_on=["document_id", "adjustment_date"]
    )
    assert len(paid) == len(rec)
    bankrupt = book.customers.loc[book.customers["status"] == "bankrupt", "customer_id"]
    written = book.documents.loc[book.documents["document_id"].isin(wo["document_id"]), "customer_id"]
    assert set(written) <= set(bankrupt)


def test_dunning_timeline_and_promises(demo):
    book = demo["book"]
    act = book.activities.merge(book.documents[["document_id", "due_date"]], on="document_id", how="left")
    for kind, days in (
        ("reminder", 1),
        ("call", 15),
        ("suspension_warning", 30),
        ("suspension", 45),
        ("agency_referral", 90),
        ("legal", 180),
    ):
        rows = act[act["type"] == kind]
        assert len(rows), kind
        assert ((rows["activity_date"] - rows["due_date"]).dt.days == days).all(), kind
    ptp = act[act["type"] == "promise_to_pay"]
    assert ptp["promised_date"].notna().all() and ptp["promised_amount"].notna().all()
    # kept vs broken: was the document paid by the promised date (+3 days grace)?
    app = book.applications
    first_pay = app.groupby("target_id")["applied_date"].min()
    paid_by = ptp["document_id"].map(first_pay)
    kept = paid_by <= ptp["promised_date"] + pd.Timedelta(days=3)
    assert kept.sum() >= 3 and (~kept).sum() >= 3
    assert (book.activities["type"] == "payment_plan").any()


def test_financials_are_coherent(demo):
    fin = demo["book"].financials
    assert fin["customer_id"].nunique() >= 25
    assert (fin["book_equity"] == fin["total_assets"] - fin["total_liabilities"]).all()
    assert (fin["current_assets"] <= fin["total_assets"]).all()
    assert fin["market_equity"].isna().any() and fin["market_equity"].notna().any()
    fx = demo["book"].fx_rates
    assert set(fx["currency"]) == {"SGD", "USD", "EUR"} and (fx["rate"] > 0).all()


# ------------------------------------------------------------------ the GL


def test_gl_balances_balance_and_cover_every_account(demo):
    gl = demo["book"].gl_balances
    sums = gl.groupby(["entity", "period"])[["debit", "credit"]].sum()
    assert (sums["debit"] == sums["credit"]).all()
    counts = gl.groupby(["entity", "period"])["account"].nunique()
    assert counts.nunique() == 1 and counts.iloc[0] == 17
    assert ((gl["debit"] == 0) | (gl["credit"] == 0)).all()


def test_gl_balances_equal_the_journal(demo):
    book = demo["book"]
    jr, gl = book.gl_journal, book.gl_balances
    jr = jr.assign(net=jr["debit"] - jr["credit"], year=jr["period"].str[:4])
    pnl_accounts = set(gl.loc[gl["account_type"].isin(["revenue", "expense"]), "account"])
    for (entity, period), rows in gl.groupby(["entity", "period"]):
        upto = jr[(jr["entity"] == entity) & (jr["period"] <= period)]
        bs = upto[~upto["account"].isin(pnl_accounts)].groupby("account")["net"].sum()
        ytd = upto[upto["account"].isin(pnl_accounts) & (upto["year"] == period[:4])].groupby("account")["net"].sum()
        closed = upto[upto["account"].isin(pnl_accounts) & (upto["year"] < period[:4])]["net"].sum()
        expected = pd.concat([bs, ytd]).add(pd.Series({"3100": closed}), fill_value=0)
        shown = (rows["debit"] - rows["credit"]).set_axis(rows["account"])
        diff = shown.sub(expected, fill_value=0)
        assert (diff == 0).all(), (entity, period, diff[diff != 0])


def _tie_out(book, end: str) -> None:
    """GL 1100 / 2150 against the subledger for every period and entity, planted items aside."""
    gl, docs, apps, rec = book.gl_balances, book.documents, book.applications, book.receipts
    last = Period.parse(end)
    e1, e3 = str(last.shift(-1)), str(last.shift(-3))  # compared with the GL's YYYY-MM text
    cut_day = last.shift(-1).end
    cutoff = docs[(docs["entity"] == "US01") & (docs["doc_type"] == "INV") & (docs["document_date"] == cut_day)]
    assert len(cutoff) >= 2
    sg_last = apps[
        apps["source_id"].isin(rec.loc[rec["entity"] == "SG01", "receipt_id"]) & (apps["applied_date"] == last.end)
    ]
    assert len(sg_last) >= 1
    fx = translation(book)
    sg_rows = np.flatnonzero(apps["application_id"].isin(sg_last["application_id"]).to_numpy())
    for period in sorted(gl["period"].unique()):
        day = Period.parse(period).end
        items = open_items(book, day)
        cash = unapplied_cash(book, day)
        # the GL carries each month's revaluation at its end (reversed on the 1st of the next)
        reval = revaluation_items(book, day)
        on_cash = (reval["kind"] == "unapplied cash").to_numpy()
        for entity in ("US01", "SG01"):
            rows = gl[(gl["entity"] == entity) & (gl["period"] == period)].set_index("account")
            gl_ar = int(rows.at["1100", "debit"] - rows.at["1100", "credit"])
            gl_un = int(rows.at["2150", "credit"] - rows.at["2150", "debit"])
            sub_ar = int(items.loc[items["entity"] == entity, "open_functional"].sum())
            sub_un = int(cash.loc[cash["entity"] == entity, "unapplied_functional"].sum())
            mine = (reval["entity"] == entity).to_numpy()
            exp_ar = int(reval.loc[mine & ~on_cash, "unrealised"].sum())
            exp_un = -int(reval.loc[mine & on_cash, "unrealised"].sum())
            if entity == "US01" and period == end:
                exp_ar += ACCRUAL
            if entity == "US01" and period == e1:
                exp_ar -= int(fx.doc_amount[cutoff.index.to_numpy()].sum())
            if entity == "SG01" and period >= e3:
                exp_ar -= RECLASS
                exp_un -= RECLASS
            if entity == "SG01" and period == end:
                exp_ar += int(fx.app_target[sg_rows].sum())
                exp_un += int(fx.app_source[sg_rows].sum())
            assert gl_ar - sub_ar == exp_ar, (entity, period)
            assert gl_un - sub_un == exp_un, (entity, period)


def test_subledger_ties_to_gl_except_planted_items(demo):
    _tie_out(demo["book"], END)


def test_clearing_never_precedes_the_document(demo):
    book = demo["book"]
    adj = book.adjustments.merge(book.documents[["document_id", "document_date"]], on="document_id")
    assert (adj["adjustment_date"] >= adj["document_date"]).all()


def test_planted_journals(demo):
    jr = demo["book"].gl_journal
    acc = jr[jr["journal_id"] == f"MJ-US01-{END}-001"]
    assert acc["source"].eq("manual").all() and acc["period"].eq(END).all()
    assert acc.loc[acc["account"] == "1100", "debit"].sum() == ACCRUAL
    assert acc.loc[acc["account"] == "4200", "credit"].sum() == ACCRUAL
    e3 = Period.parse(END).shift(-3)
    rcl = jr[jr["journal_id"] == f"MJ-SG01-{e3}-001"]
    assert rcl.loc[rcl["account"] == "1100", "credit"].sum() == RECLASS
    assert rcl.loc[rcl["account"] == "2150", "debit"].sum() == RECLASS
    own = ~jr["journal_id"].str.startswith("FXREV-")  # FX revaluations reverse by design
    assert not jr.loc[own, "description"].str.contains("revers", case=False).any()
    cut = Period.parse(END).shift(-1).end
    batch = jr[jr["journal_id"] == f"ARB-US01-{cut:%Y%m%d}-INV"]
    assert len(batch) >= 3 and batch["period"].eq(END).all()
    assert (batch["posting_date"] == cut + pd.Timedelta(days=1)).all()
    planted = demo["planted"]
    assert planted["accrual"]["journal_id"] == f"MJ-US01-{END}-001"
    assert planted["unposted_applications"]["count"] >= 1


def test_journals_balance_and_have_sources(demo):
    jr = demo["book"].gl_journal
    net = (jr["debit"] - jr["credit"]).groupby(jr["journal_id"]).sum()
    assert (net == 0).all()
    assert set(jr["source"]) == {"ar_subledger", "manual", "other"}
    assert (jr["period"] == jr["posting_date"].dt.strftime("%Y-%m")).mean() > 0.99


# ------------------------------------------------------------------ determinism, scale, other ends


def test_same_seed_same_bytes_different_seed_different_book(demo, tmp_path):
    again = write_book(generate_book(DEFAULT_SEED, 1.0, END), tmp_path / "again")
    assert _hashes(again) == _hashes(demo["files"])
    other = write_book(generate_book(DEFAULT_SEED + 1, 1.0, END), tmp_path / "other")
    assert _hashes(other)["documents"] != _hashes(demo["files"])["documents"]


def test_scale_multiplies_the_book(demo):
    big = generate_book(DEFAULT_SEED, 3.0, END)
    ratio = len(big["documents"]) / len(demo["tables"]["documents"])
    assert 2.3 < ratio < 3.7
    assert 2.0 < len(big["receipts"]) / len(demo["tables"]["receipts"]) < 4.0


def test_other_end_and_parquet(tmp_path):
    tables = generate_book(7, 2.0, "2025-06")
    files = write_book(tables, tmp_path / "pq", fmt="parquet")
    assert all(p.suffix == ".parquet" for p in files.values())
    book = load_book(tmp_path / "pq")
    assert sorted(book.gl_balances["period"].unique())[-1] == "2025-06"
    assert book.documents["document_date"].max() <= Period(2025, 6).end
    _tie_out(book, "2025-06")
    again = write_book(generate_book(7, 2.0, "2025-06"), tmp_path / "pq2", fmt="parquet")
    assert _hashes(again) == _hashes(files)
    # rewriting as CSV replaces the Parquet files (a table is never there twice)
    write_book(tables, tmp_path / "pq", fmt="csv")
    assert not list((tmp_path / "pq").glob("*.parquet"))
    load_book(tmp_path / "pq")


# ------------------------------------------------------------------ foreign currency and instalments


def test_foreign_currency_customers_and_their_gl(demo):
    book = demo["book"]
    docs = book.documents
    pairs = set(zip(docs["entity"], docs["currency"], strict=True))
    assert {("SG01", "USD"), ("SG01", "SGD"), ("US01", "EUR"), ("US01", "USD")} <= pairs
    # a customer is billed in one currency, and its receipts are in it too
    assert (docs.groupby("customer_id")["currency"].nunique() == 1).all()
    jr = book.gl_journal
    end = Period.parse(END)
    for entity in ("SG01", "US01"):
        main = jr[jr["journal_id"] == f"FXREV-{entity}-{end.shift(-1)}"]
        back = jr[jr["journal_id"] == f"FXREV-{entity}-{end.shift(-1)}-R"]
        assert len(main) and len(back)
        assert (back["posting_date"] == end.start).all()  # reversed on the first day of the next period
        assert main["debit"].sum() == back["credit"].sum()
    assert jr["journal_id"].str.endswith("-FXR").any()  # realised FX on cash applications


def test_payment_schedules_add_up(demo):
    book = demo["book"]
    sched = book.payment_schedules
    assert sched["document_id"].nunique() >= 10
    totals = sched.groupby("document_id")["amount"].sum()
    amounts = book.documents.set_index("document_id")["amount"]
    assert (totals == amounts.loc[totals.index]).all()
    assert (sched.groupby("document_id")["instalment"].max() == 3).all()
