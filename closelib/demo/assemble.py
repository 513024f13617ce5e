"""Run the generator parts in order and assemble the thirteen contract tables and the customer_history extension.

Order: customers -> billing -> disputes (and their credit memos) -> payment events ->
write-offs, recoveries, small balances -> receipts and applications -> dunning ->
customer status -> GL. Each part draws from its own named random stream. Internal
frames use integer codes and day numbers; ids and text are built in Arrow, here and in
:mod:`closelib.demo.tables` (one function per contract table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.book.fx import translate_book
from closelib.demo import billing, cash, collections, disputes, extras, history, ledger, remittance, schedules
from closelib.demo import fx as demo_fx
from closelib.demo._common import (
    CURRENCY,
    ENTITIES,
    Calendar,
    cat,
    dates,
    day_text,
    iso,
    make_ids,
    sequence_in_groups,
    streams,
    take,
    text,
    zpad,
)
from closelib.demo.customers import draw_customers
from closelib.demo.tables import (
    TYPE_TEXT,
    activities_table,
    adjustments_table,
    customers_table,
    disputes_table,
    documents_table,
    gl_balances_table,
    gl_journal_table,
)
from closelib.errors import CloseError

DOC_TYPE_CODE = np.array([0, 0, 0, 1, 1, 2])  # by billing category: INV INV INV DM DM CM


def generate(seed: int, scale: float, end: str, fx_seed: int | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables and planted notes of one entity pair; ``fx_seed`` (a group's later pairs) draws
    the exchange rates and who is billed in a foreign currency from another seed's streams, so
    every pair of a group books at the same rates (:mod:`closelib.demo.group`)."""
    if not (isinstance(scale, (int, float)) and 0 < scale <= 5000):
        raise CloseError(f"demo scale must be a number in (0, 5000], got {scale!r}")
    rng = streams(seed)
    if fx_seed is not None:
        shared = streams(fx_seed)
        rng["fx"], rng["fx_book"] = shared["fx"], shared["fx_book"]
    cal = Calendar.ending(end)
    cust = draw_customers(rng["customers"], cal, scale)
    billed_in = demo_fx.customer_currency(rng["fx_book"], cust.entity)  # billing currency per customer
    docs = billing.bill(rng["billing"], cust, cal)
    disp = disputes.draw_disputes(rng["disputes"], cust, cal, docs)
    events, residual = cash.payment_events(rng["cash"], cust, cal, docs, disp)
    adj, rec_events, cm_apps = collections.write_offs(rng["adjustments"], cust, cal, docs, events, disp, residual)
    all_events = pd.concat([events, rec_events], ignore_index=True)
    receipts, rapps, paid = cash.receipts_and_applications(rng["cash"], cust, cal, docs, all_events)
    receipts, cash_cases = remittance.plant(rng["remittance"], receipts, rapps, paid)
    acts = collections.activities(rng["collections"], cust, cal, docs, events)
    status = collections.customer_status(cust, cal, docs, all_events, adj, cm_apps)

    # ---- documents: INV/DM then CMs, ordered by date, numbered per entity and type
    n_doc = len(docs)
    alld = pd.concat([docs.drop(columns=[]), disp.credits.drop(columns=["case"])], ignore_index=True)
    case_of = np.concatenate([np.full(n_doc, -1), disp.credits["case"].to_numpy()])
    ent = cust.entity[alld["cust"].to_numpy()]
    dtype = DOC_TYPE_CODE[alld["cat"].to_numpy()]
    order = np.lexsort(
        (np.arange(len(alld)), alld["cat"].to_numpy(), alld["cust"].to_numpy(), dtype, ent, alld["date"].to_numpy())
    )
    pos = np.empty(len(alld), dtype="int64")
    pos[order] = np.arange(len(alld))
    alld, case_of, ent, dtype = alld.iloc[order].reset_index(drop=True), case_of[order], ent[order], dtype[order]
    grp = ent * 3 + dtype
    seq = np.zeros(len(alld), dtype="int64")
    o2 = np.argsort(grp, kind="stable")
    seq[o2] = sequence_in_groups(grp[o2])
    doc_ids = cat(take(np.array(ENTITIES), ent), "-", take(TYPE_TEXT, dtype), "-", zpad(seq, 7))
    cm_pos = pos[n_doc + np.arange(len(disp.credits))]  # CM row -> final position

    # ---- disputes: case numbers by opening date
    cases = disp.cases
    c_order = np.lexsort((cases["target"].to_numpy(), cases["opened"].to_numpy()))
    case_no = np.empty(len(cases), dtype="int64")
    case_no[c_order] = np.arange(1, len(cases) + 1)
    case_ids = make_ids("DSP-", case_no, 6)

    ids = cust.ids
    ccy = np.array([CURRENCY[e] for e in ENTITIES])
    month_label = cal.labels[np.clip(alld["month"].to_numpy(), 0, cal.n - 1)]
    documents = documents_table(alld, ent, dtype, doc_ids, case_of, case_ids, month_label, cust, ccy)
    documents["currency"] = text(billed_in[alld["cust"].to_numpy()].astype(str))
    payment_schedules = schedules.draw(rng["schedules"], documents, alld["cat"].to_numpy())

    # ---- receipts: by date and entity, numbered per entity
    r_order = np.lexsort(
        (
            np.arange(len(receipts)),
            receipts["cust"].to_numpy(),
            receipts["entity"].to_numpy(),
            receipts["date"].to_numpy(),
        )
    )
    r_pos = np.empty(len(receipts), dtype="int64")
    r_pos[r_order] = np.arange(len(receipts))
    rec = receipts.iloc[r_order].reset_index(drop=True)
    r_ent = rec["entity"].to_numpy()
    r_seq = np.zeros(len(rec), dtype="int64")
    o3 = np.argsort(r_ent, kind="stable")
    r_seq[o3] = sequence_in_groups(r_ent[o3])
    rec_ids = cat(take(np.array(ENTITIES), r_ent), "-RCP-", zpad(r_seq, 7))
    bank_no = rng["cash"].integers(0, 10**8, len(rec))
    bank_ref = cat(
        pc.if_else(pa.array(rec["cust"].to_numpy() < 0), "UNREF-", "FT"),
        day_text(rec["date"].to_numpy(), compact=True),
        zpad(bank_no, 8),
    )
    known = rec["identified"].to_numpy() & (rec["cust"].to_numpy() >= 0)
    advice, payer = remittance.advices(
        rng["remittance"],
        rec["cust"].to_numpy(),
        known,
        r_pos[paid["receipt"].to_numpy()],
        take(doc_ids, pos[paid["target"].to_numpy()]),
        cust.name,
        rec["style"].to_numpy(),
        rec["mangle"].to_numpy(),
    )
    receipts_t = pd.DataFrame(
        {
            "receipt_id": text(rec_ids),
            "entity": text(take(np.array(ENTITIES), r_ent)),
            "customer_id": text(pc.if_else(pa.array(known), take(ids, np.maximum(rec["cust"].to_numpy(), 0)), "")),
            "receipt_date": dates(rec["date"].to_numpy()),
            "currency": text(
                np.where(
                    rec["cust"].to_numpy() >= 0, billed_in[np.maximum(rec["cust"].to_numpy(), 0)], ccy[r_ent]
                ).astype(str)
            ),
            "amount": rec["amount"].to_numpy(),
            "bank_reference": text(bank_ref),
            "remittance": text(advice),
            "payer_name": text(payer),
        }
    )

    # ---- applications: receipts and credit memos, by date, numbered per entity
    rp = r_pos[rapps["receipt"].to_numpy()]
    cp = cm_pos[cm_apps["cm"].to_numpy()]
    app = pd.DataFrame(
        {
            "date": np.concatenate([rapps["date"].to_numpy(), cm_apps["date"].to_numpy()]),
            "kind": np.concatenate([np.zeros(len(rapps), "int64"), np.ones(len(cm_apps), "int64")]),
            "src": np.concatenate([rp, cp]),
            "tgt": pos[np.concatenate([rapps["target"].to_numpy(), cm_apps["target"].to_numpy()])],
            "amount": np.concatenate([rapps["amount"].to_numpy(), cm_apps["amount"].to_numpy()]),
        }
    )
    app["entity"] = ent[app["tgt"].to_numpy()]
    app = app.sort_values(["date", "entity", "kind", "src", "tgt"], kind="stable", ignore_index=True)
    a_ent = app["entity"].to_numpy()
    a_seq = np.zeros(len(app), dtype="int64")
    o4 = np.argsort(a_ent, kind="stable")
    a_seq[o4] = sequence_in_groups(a_ent[o4])
    app_ids = cat(take(np.array(ENTITIES), a_ent), "-APP-", zpad(a_seq, 7))
    is_cm_app = app["kind"].to_numpy() == 1
    src_ids = pc.if_else(
        pa.array(is_cm_app),
        take(doc_ids, np.where(is_cm_app, app["src"], 0)),
        take(rec_ids, np.where(is_cm_app, 0, app["src"])),
    )
    applications = pd.DataFrame(
        {
            "application_id": text(app_ids),
            "applied_date": dates(app["date"].to_numpy()),
            "source_id": text(src_ids),
            "target_id": text(take(doc_ids, app["tgt"].to_numpy())),
            "amount": app["amount"].to_numpy(),
        }
    )

    # ---- adjustments
    adj = adj.assign(doc=pos[adj["doc"].to_numpy()])
    adj = adj.sort_values(["date", "doc", "type"], kind="stable", ignore_index=True)
    adjustments, adj_ids = adjustments_table(adj, alld, doc_ids, cust)

    # ---- GL: every line at its booking rate (the rules the reconciliation reads it with)
    fx_rates = demo_fx.rates(extras.fx_rates(rng["fx"], cal), rng["fx_book"], cal)
    booked = translate_book(documents, receipts_t, applications, adjustments, fx_rates, CURRENCY)
    d_day = alld["date"].to_numpy()
    sub = {
        "documents": {
            "entity": ent,
            "day": d_day,
            "doc_type": dtype,
            "amount": booked.doc_amount,
            "due": alld["due"].to_numpy(),
            "id": doc_ids,
            "account": np.array([ledger._ACC[a] for a in billing.REVENUE_ACCOUNT])[alld["cat"].to_numpy()],
        },
        "receipts": {"entity": r_ent, "day": rec["date"].to_numpy(), "amount": booked.rec_amount, "id": rec_ids},
        "applications": {
            "entity": a_ent[~is_cm_app],
            "day": app["date"].to_numpy()[~is_cm_app],
            "amount": booked.app_target[~is_cm_app],
            "id": pc.filter(app_ids, pa.array(~is_cm_app)),
        },
        "adjustments": {
            "entity": ent[adj["doc"].to_numpy()],
            "day": adj["date"].to_numpy(),
            "type": adj["type"].to_numpy(),
            "amount": booked.adj_amount,
            "id": adj_ids,
        },
        "clearing": {
            "doc": np.concatenate([app["tgt"].to_numpy(), adj["doc"].to_numpy()]),
            "day": np.concatenate([app["date"].to_numpy(), adj["date"].to_numpy()]),
            "amount": np.concatenate([booked.app_target, -booked.adj_amount]),
        },
    }
    subledger = {
        "documents": documents,
        "receipts": receipts_t,
        "applications": applications,
        "adjustments": adjustments,
        "fx_rates": fx_rates,
        "payment_schedules": payment_schedules,
    }
    app_day = app["date"].to_numpy()
    journal, planted = ledger.build(
        cal,
        scale,
        sub,
        lambda lines: demo_fx.post(
            lines,
            cal,
            subledger,
            booked,
            ~is_cm_app,
            a_ent,
            app_day,
            ~((a_ent == 1) & (app_day == cal.end_date)),  # the planted unposted SG01 applications
        ),
    )
    gl_journal = gl_journal_table(journal, cal, ccy)
    gl_balances = gl_balances_table(ledger.balances(cal, journal), cal, ccy)

    # ---- customers, disputes, activities, reference tables
    monthly = np.zeros(cust.n, dtype="int64")
    inv = dtype == 0
    last_m = alld["month"].to_numpy() == cust.last_m[alld["cust"].to_numpy()]
    np.add.at(monthly, alld["cust"].to_numpy()[inv & last_m], alld["amount"].to_numpy()[inv & last_m])
    customers_t = customers_table(cust, status, ccy)
    disputes_t = disputes_table(cases, case_ids, pos, doc_ids, cust, ccy, disp, cm_pos, c_order)
    in_currency = pd.Series(billed_in.astype(str), index=pd.Index(np.asarray(cust.ids).astype(str)))
    disputes_t["currency"] = text(disputes_t["customer_id"].map(in_currency).to_numpy(dtype=object).astype(str))
    activities_t = activities_table(acts, pos, doc_ids, cust)
    tables = {
        "customers": customers_t,
        "documents": documents,
        "receipts": receipts_t,
        "applications": applications,
        "gl_balances": gl_balances,
        "entities": extras.entities(),
        "adjustments": adjustments,
        "disputes": disputes_t,
        "activities": activities_t,
        "financials": extras.financials(rng["financials"], cust, cal, monthly),
        "fx_rates": fx_rates,
        "payment_schedules": payment_schedules,
        "gl_journal": gl_journal,
        "customer_history": history.customer_history(rng["history"], cust, cal, status, acts, ccy),
    }
    planted["cutoff"]["document_date"] = iso(np.array([planted["cutoff"]["document_date"]]))[0]
    planted["unposted_applications"]["applied_date"] = iso(np.array([cal.end_date]))[0]
    # Unapplied cash planted for the last month end's cash application: the rule that should
    # match each receipt and the documents it pays.
    pays = paid.assign(row=r_pos[paid["receipt"].to_numpy()], doc=pos[paid["target"].to_numpy()])
    planted["cash_application"] = [
        {
            "receipt_id": rec_ids[int(r_pos[row])].as_py(),
            "rule": rule,
            "detail": detail,
            "documents": sorted(doc_ids[int(d)].as_py() for d in pays.loc[pays["row"] == r_pos[row], "doc"]),
        }
        for row, rule, detail in zip(
            cash_cases["row"].to_numpy(dtype="int64"), cash_cases["rule"], cash_cases["detail"], strict=True
        )
    ]
    return tables, planted
