"""The general ledger: subledger batches, manual and other journals, the trial balance.

Chart of accounts (one per entity, in its functional currency): see :data:`ACCOUNTS`.

The AR subledger posts one batch per (entity, date, transaction type), journal id
``ARB-<entity>-<yyyymmdd>-<type>``, with one line per transaction on the AR-side account
(1100 AR control, 2150 unapplied receipts or 1190 allowance; reference = the document,
receipt, application or adjustment id) and the offsets summarised per account:

=========  ===================================  ==========================
type       AR-side line                         offset (summarised)
=========  ===================================  ==========================
INV, DM    Dr 1100                              Cr revenue 4000-4300
CM         Cr 1100                              Dr 4900 customer credits
RCP        Cr 2150 (receipt)                    Dr 1000 cash
APP        Cr 1100 (receipt application)        Dr 2150
WO         Cr 1100 (write-off)                  Dr 1190
REC        Dr 1100 (recovery)                   Cr 1190
ADJ        Cr 1100 (or Dr if positive)          Dr 4900 (or Cr)
=========  ===================================  ==========================

Credit memo applications move nothing in the GL (unless the memo and the invoice were booked
at different rates: :mod:`closelib.demo.fx` posts the difference, the realised FX on receipt
applications and the monthly FX revaluation through ``build``'s ``extra``). A monthly manual journal tops up the
allowance to the expected losses (Dr 6500 / Cr 1190); share capital, fixed assets,
operating expenses and supplier payments (source ``other``) make the trial balance a
company's. The planted reconciling items are described in :func:`planted_items`.

``gl_balances`` is the cumulative closing trial balance per entity and period, every
account every period, shown net on its side; revenue and expense accounts are
year-to-date, the previous years' result being closed to 3100 retained earnings on
1 January.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.demo._common import (
    ENTITIES,
    Calendar,
    div_half_up,
    round_to,
    yyyymmdd,
)
from closelib.demo.journal import Lines, subledger_batch

ACCOUNTS = (  # account, name, type
    ("1000", "Cash at bank", "asset"),
    ("1100", "Accounts receivable control", "asset"),
    ("1190", "Allowance for doubtful accounts", "asset"),
    ("1500", "Property, plant and equipment", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2150", "Unapplied receipts", "liability"),
    ("3000", "Share capital", "equity"),
    ("3100", "Retained earnings", "equity"),
    ("4000", "Colocation revenue", "revenue"),
    ("4100", "Interconnection revenue", "revenue"),
    ("4200", "Installation revenue", "revenue"),
    ("4300", "Power and other revenue", "revenue"),
    ("4900", "Customer credits", "revenue"),
    ("6000", "Operating expenses", "expense"),
    ("6500", "Bad debt expense", "expense"),
    ("7100", "Realised foreign exchange (gain) / loss", "expense"),
    ("7200", "Unrealised foreign exchange (gain) / loss", "expense"),
)
ACCOUNT_CODES = np.array([a[0] for a in ACCOUNTS])
_ACC = {code: i for i, code in enumerate(ACCOUNT_CODES)}
PNL = np.array([a[2] in ("revenue", "expense") for a in ACCOUNTS])

# Planted reconciling items (amounts in minor units), relative to the end period E.
ACCRUAL_AMOUNT = 1_250_000  # (1) US01, E: Dr 1100 / Cr 4200, unreversed
RECLASS_AMOUNT = 321_000  # (2) SG01, E-3: Dr 2150 / Cr 1100, never reversed
ACCRUAL_TEXT = "Accrued install revenue — to be invoiced"
RECLASS_TEXT = "Reclass unapplied receipt to AR — pending application"


def allowance_targets(
    cal: Calendar,
    entity: np.ndarray,
    amount: np.ndarray,
    doc_day: np.ndarray,
    due: np.ndarray,
    clear_doc: np.ndarray,
    clear_day: np.ndarray,
    clear_amt: np.ndarray,
) -> np.ndarray:
    """Expected-loss allowance per entity and month end (minor units), from a provision
    matrix on months past due: 0.5% not due, 1%/3%/10% for 1-3 months, 35% to 6, 75% beyond.

    ``clear_*``: everything that lowers a document's open amount (applications, and
    adjustments with the sign flipped), by document row.
    """
    n_m = cal.n
    dm = np.clip(cal.month_of(due), 0, n_m + 12)
    grid = np.zeros((2, n_m, n_m + 13), dtype="int64")  # entity, month index, due month
    np.add.at(grid, (entity, np.clip(cal.month_of(doc_day), 0, n_m - 1), dm), amount)
    np.add.at(grid, (entity[clear_doc], np.clip(cal.month_of(clear_day), 0, n_m - 1), dm[clear_doc]), -clear_amt)
    open_ = np.cumsum(grid, axis=1)  # open at each month end by due month
    months = np.arange(n_m)
    age = months[:, None] - np.arange(n_m + 13)[None, :]  # months past due
    rate_bp = np.select([age < 0, age == 0, age == 1, age == 2, age <= 5], [50, 100, 300, 1000, 3500], 7500)
    target = div_half_up((np.maximum(open_, 0) * rate_bp[None]).sum(axis=2), 10_000)
    return round_to(target, 10_000)


def build(cal: Calendar, scale: float, sub: dict, extra=None) -> tuple[pd.DataFrame, dict]:
    """``sub`` holds the subledger as arrays (see assemble), amounts in the functional currency;
    returns the journal lines (internal columns) and a description of the planted reconciling
    items. ``extra(lines)`` adds journals of its own (the FX postings) before the frame is made."""
    end = cal.end_date
    last = cal.n - 1
    lines = Lines()
    d = sub["documents"]
    is_cm = d["doc_type"] == 2
    for t, btype in ((0, "INV"), (1, "DM"), (2, "CM")):
        sel = d["doc_type"] == t
        text = {0: "Invoice", 1: "Debit memo", 2: "Credit memo"}[t]
        subledger_batch(
            lines,
            btype,
            d["entity"][sel],
            d["day"][sel],
            _ACC["1100"],
            np.where(is_cm[sel], _ACC["4900"], d["account"][sel]),
            d["amount"][sel],
            pc.filter(d["id"], pa.array(sel)),
            text,
            f"{text} batch — revenue",
        )
    r = sub["receipts"]
    subledger_batch(
        lines,
        "RCP",
        r["entity"],
        r["day"],
        _ACC["2150"],
        _ACC["1000"],
        -r["amount"],
        r["id"],
        "Receipt",
        "Receipts batch — bank",
    )
    a = sub["applications"]  # receipt applications only
    # Planted item (4): SG01 cash applications of the last day are not posted.
    post = ~((a["entity"] == 1) & (a["day"] == end))
    subledger_batch(
        lines,
        "APP",
        a["entity"][post],
        a["day"][post],
        _ACC["1100"],
        _ACC["2150"],
        -a["amount"][post],
        pc.filter(a["id"], pa.array(post)),
        "Cash application",
        "Cash application batch — unapplied receipts",
    )
    j = sub["adjustments"]
    for t, btype, off, text in (
        (0, "WO", "1190", "Write-off"),
        (1, "REC", "1190", "Recovery"),
        (2, "ADJ", "4900", "Adjustment"),
    ):
        sel = j["type"] == t
        subledger_batch(
            lines,
            btype,
            j["entity"][sel],
            j["day"][sel],
            _ACC["1100"],
            _ACC[off],
            j["amount"][sel],
            pc.filter(j["id"], pa.array(sel)),
            text,
            f"{text} batch — offset",
        )

    # Planted item (3): the US01 invoice batch of the last day of E-1 reaches the GL in E.
    cut_day = int(cal.month_end[last - 1])
    n_manual = np.zeros((2, cal.n), dtype="int64")

    def manual_id(e: int, m: int) -> str:
        n_manual[e, m] += 1
        return f"MJ-{ENTITIES[e]}-{cal.periods[m]}-{n_manual[e, m]:03d}"

    planted = {}
    jid = manual_id(0, last)
    lines.add(
        0,
        jid,
        end,
        [_ACC["1100"], _ACC["4200"]],
        [ACCRUAL_AMOUNT, -ACCRUAL_AMOUNT],
        1,
        f"ACCR-{cal.periods[last]}",
        ACCRUAL_TEXT,
    )
    planted["accrual"] = {"entity": "US01", "journal_id": jid, "period": cal.periods[last], "amount": ACCRUAL_AMOUNT}
    m3 = last - 3
    jid = manual_id(1, m3)
    lines.add(
        1,
        jid,
        int(cal.month_end[m3]),
        [_ACC["2150"], _ACC["1100"]],
        [RECLASS_AMOUNT, -RECLASS_AMOUNT],
        1,
        f"RCL-{cal.periods[m3]}",
        RECLASS_TEXT,
    )
    planted["reclass"] = {"entity": "SG01", "journal_id": jid, "period": cal.periods[m3], "amount": RECLASS_AMOUNT}

    # Other activity: capital and equipment at the start, monthly expenses and supplier payments.
    first = cal.first_date
    for e in (0, 1):
        cap = round_to(np.array([int(30_000_000_00 * max(scale, 0.05) * (1 if e == 0 else 0.6))]), 1_000_000)[0]
        lines.add(
            e,
            f"OTH-{ENTITIES[e]}-{cal.periods[0]}-CAP",
            first,
            [_ACC["1000"], _ACC["3000"]],
            [cap, -cap],
            2,
            "Share capital",
            "Share capital paid in",
        )
        ppe = cap * 3 // 5
        lines.add(
            e,
            f"OTH-{ENTITIES[e]}-{cal.periods[0]}-PPE",
            first + 1,
            [_ACC["1500"], _ACC["1000"]],
            [ppe, -ppe],
            2,
            "Fixed assets",
            "Data centre fit-out",
        )
    inv = ~is_cm
    billed = np.zeros((2, cal.n), dtype="int64")
    np.add.at(billed, (d["entity"][inv], np.clip(cal.month_of(d["day"][inv]), 0, last)), d["amount"][inv])
    opex = round_to(billed * 58 // 100, 100)
    for e in (0, 1):
        for m in range(cal.n):
            if opex[e, m] <= 0:
                continue
            me = int(cal.month_end[m])
            lines.add(
                e,
                f"OTH-{ENTITIES[e]}-{cal.periods[m]}-OPX",
                me,
                [_ACC["6000"], _ACC["2000"]],
                [opex[e, m], -opex[e, m]],
                2,
                "Supplier invoices",
                "Operating expenses (power, staff, rent)",
            )
            if m < last:
                pay = int(cal.month_start[m + 1]) + 19
                lines.add(
                    e,
                    f"OTH-{ENTITIES[e]}-{cal.periods[m + 1]}-APP",
                    pay,
                    [_ACC["2000"], _ACC["1000"]],
                    [opex[e, m], -opex[e, m]],
                    2,
                    "Supplier payments",
                    "Payment run",
                )

    # Allowance: a monthly manual provision journal to the expected-loss target.
    cl = sub["clearing"]
    target = allowance_targets(
        cal, d["entity"], np.where(is_cm, 0, d["amount"]), d["day"], d["due"], cl["doc"], cl["day"], cl["amount"]
    )
    wo_move = np.zeros((2, cal.n), dtype="int64")  # movement on 1190 (debit positive) from write-offs/recoveries
    sel = j["type"] <= 1  # write-offs (Dr 1190) and recoveries (Cr 1190)
    np.add.at(wo_move, (j["entity"][sel], cal.month_of(j["day"][sel])), -j["amount"][sel])
    balance = np.zeros(2, dtype="int64")  # credit balance of 1190
    for m in range(cal.n):
        for e in (0, 1):
            balance[e] -= wo_move[e, m]
            charge = int(target[e, m] - balance[e])
            if charge == 0:
                continue
            balance[e] += charge
            lines.add(
                e,
                manual_id(e, m),
                int(cal.month_end[m]),
                [_ACC["6500"], _ACC["1190"]],
                [charge, -charge],
                1,
                f"PROV-{cal.periods[m]}",
                "Allowance for doubtful accounts — monthly provision",
            )

    if extra is not None:
        extra(lines)
    journal = _journal_frame(lines, cal, cut_day)
    planted["cutoff"] = {
        "entity": "US01",
        "journal_id": f"ARB-US01-{yyyymmdd(np.array([cut_day]))[0]}-INV",
        "document_date": cut_day,
        "period": cal.periods[last],
        "amount": int(d["amount"][(d["entity"] == 0) & (d["doc_type"] == 0) & (d["day"] == cut_day)].sum()),
    }
    planted["unposted_applications"] = {
        "entity": "SG01",
        "applied_date": end,
        "amount": int(a["amount"][~post].sum()),
        "count": int((~post).sum()),
    }
    return journal, planted


def _journal_frame(lines: Lines, cal: Calendar, cut_day: int) -> pd.DataFrame:
    cols = lines.columns()
    post = cols["post"]
    journal_text = cols["journal"]
    cut = pc.equal(journal_text, f"ARB-US01-{yyyymmdd(np.array([cut_day]))[0]}-INV").to_numpy(zero_copy_only=False)
    post = np.where(cut, cut_day + 1, post)
    frame = pd.DataFrame(
        {
            "entity": cols["entity"],
            "post": post,
            "order": cols["order"],
            "row": np.arange(len(post)),
            "account": cols["account"],
            "amount": cols["amount"],
            "jkey": cols["jkey"],
            "source": cols["source"],
        }
    )
    frame["journal"] = pd.Series(pd.array(journal_text, dtype=pd.ArrowDtype(pa.string())))
    frame["reference"] = pd.Series(pd.array(cols["reference"], dtype=pd.ArrowDtype(pa.string())))
    frame["description"] = pd.Series(pd.array(cols["description"], dtype=pd.ArrowDtype(pa.string())))
    frame["period"] = np.clip(cal.month_of(post), 0, cal.n - 1)
    # Journals by posting date, entity and journal (lines of one journal share a key).
    order = np.lexsort(
        (
            frame["row"].to_numpy(),
            frame["order"].to_numpy(),
            frame["jkey"].to_numpy(),
            frame["entity"].to_numpy(),
            frame["post"].to_numpy(),
        )
    )
    return frame.iloc[order].reset_index(drop=True)


def balances(cal: Calendar, journal: pd.DataFrame) -> np.ndarray:
    """Closing balances (debit positive) [entity, period, account], P&L year-to-date with
    earlier years closed to 3100."""
    n_a = len(ACCOUNTS)
    move = np.zeros((2, cal.n, n_a), dtype="int64")
    np.add.at(
        move,
        (journal["entity"].to_numpy(), journal["period"].to_numpy(), journal["account"].to_numpy()),
        journal["amount"].to_numpy(),
    )
    cum = np.cumsum(move, axis=1)
    years = cal.years
    out = cum.copy()
    re = _ACC["3100"]
    for k, year in enumerate(years):
        in_year = (years == year) & (np.arange(cal.n) <= k)
        ytd = move[:, in_year, :].sum(axis=1)
        before = move[:, years < year, :].sum(axis=1)
        out[:, k, PNL] = ytd[:, PNL]
        out[:, k, re] = cum[:, k, re] + before[:, PNL].sum(axis=1)
    return out
