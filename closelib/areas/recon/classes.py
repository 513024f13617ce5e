"""Reconciling items by class, with an owner and an expected clearance; exceptions; correcting journals.

Every item is one of three classes:

* **timing**: cut-off (the transaction is posted to the GL in the adjacent period, so the
  difference reverses by itself), or a manual or other journal with no subledger support that
  is at most ``gl.max_item_age_months`` old (an accrual or reclass expected to reverse);
* **correction required**: a transaction never posted to the GL, a posting whose amount
  differs, a GL subledger line with no subledger transaction, or a manual or other journal
  older than ``gl.max_item_age_months``;
* **documented**: an item the preparer documents in ``gl.reconciling_items``;
* **revaluation**: the period's FX revaluation journal as posted, equal to the revaluation of
  the open foreign-currency items at the closing rates (the subledger stays at booking rates);
  it reverses on the first day of the next period. A posted revaluation that differs, or an
  earlier period's left unreversed, requires correction.

Owner and expected clearance come from the parameters (``gl.item_owners`` for items found in
the data, matched by entity and reference or journal id; the item itself for documented
ones). A cut-off item whose clearing posting is in the data is *self-clearing*, cleared by that
posting (or by its subledger date). Anything else is *unassigned*. An item is an open
exception when it requires correction, is unassigned, or its expected clearance has passed.
A correcting journal is proposed for every transaction never posted or posted with a different
amount: the missing effect on the control and unapplied-cash accounts, balanced by the offset
account of its kind (``gl.correction_offsets``; the unapplied-cash account for cash applied,
the allowance account for write-offs and recoveries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.areas.recon.items import REVALUATION_DIFFERS, REVALUATION_STALE, REVALUED
from closelib.areas.recon.sides import GLPolicy
from closelib.periods import Period

TIMING, CORRECTION, DOCUMENTED, REVALUATION = "timing", "correction required", "documented", "revaluation"
CLASSES = (TIMING, CORRECTION, DOCUMENTED, REVALUATION)
UNASSIGNED, SELF_CLEARING = "unassigned", "self-clearing"
LATER = "cut-off: posted to the GL in a later period"
EARLIER = "cut-off: posted to the GL before its subledger date"
NOT_POSTED = "not posted to the GL"
DIFFERS = "posted amount differs from the subledger"
NO_TRANSACTION = "GL subledger line with no subledger transaction"
JOURNALS = ("manual journal", "other journal")
PROPOSED_FOR = (NOT_POSTED, DIFFERS)
CLASS_COLUMNS = ["class", "owner", "expected_clearance", "clearance_basis", "proposed_journal", "exception"]
JOURNAL_COLUMNS = ["entity", "journal_id", "date", "account", "debit", "credit", "currency", "reference", "description"]


@dataclass(frozen=True)
class ItemPolicy:
    """The ``gl`` parameters that classify items and judge the conclusion."""

    max_age_months: int  # a journal with no subledger support older than this requires correction
    owners: dict[tuple[str, str], tuple[str, str]]  # (entity, reference or journal id) -> (owner, clearance)
    severity: str  # of the per-entity check that no exception is open
    offsets: dict[str, str]  # transaction kind -> offset account of a correcting journal

    @classmethod
    def from_params(cls, params: dict) -> ItemPolicy:
        gl = params["gl"]
        owners = {(o["entity"], o["reference"]): (o["owner"], o["expected_clearance"]) for o in gl["item_owners"]}
        return cls(
            int(gl["max_item_age_months"]), owners, str(gl["exception_severity"]), dict(gl["correction_offsets"])
        )


def _day(value) -> str:
    return "" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def offset_account(kind: str, policy: GLPolicy, items: ItemPolicy) -> str:
    """Where the other side of a correcting journal goes, by the kind of transaction."""
    if kind == "cash applied":
        return policy.unapplied_account
    if kind in ("write-offs", "recoveries"):
        return policy.allowance_account
    return items.offsets[kind]


def correcting_journals(
    items: pd.DataFrame,
    unapplied_items: pd.DataFrame,
    policy: GLPolicy,
    item_policy: ItemPolicy,
    period: Period,
    currency_of,
) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """One balanced journal per transaction never posted or posted with a different amount
    (either account), and the journal id proposed for each (entity, reference)."""
    parts = [f[f["cause"].isin(PROPOSED_FOR)].assign(_side=s) for f, s in ((items, "c"), (unapplied_items, "u"))]
    found = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    rows: list[tuple] = []
    proposed: dict[tuple[str, str], str] = {}
    if found is None:
        return pd.DataFrame(rows, columns=JOURNAL_COLUMNS).astype({"debit": "int64", "credit": "int64"}), proposed
    # One journal per (entity, reference), in that order, numbered per entity.
    found["_control"] = found["amount"].where(found["_side"] == "c", 0)  # GL minus subledger, debit side
    found["_unapplied"] = found["amount"].where(found["_side"] == "u", 0)  # GL minus subledger, credit side
    grouped = found.groupby(["entity", "reference"], sort=True)
    per = grouped.agg(control=("_control", "sum"), unapplied=("_unapplied", "sum"))
    # each transaction's first row (the control-account item before the unapplied-cash one)
    firsts = found.drop_duplicates(["entity", "reference"]).set_index(["entity", "reference"]).loc[per.index]
    entity = per.index.get_level_values(0).astype(str).to_numpy(dtype=object)
    reference = per.index.get_level_values(1).astype(str).to_numpy(dtype=object)
    kind = firsts["kind"].astype(str).to_numpy(dtype=object)
    cause = firsts["cause"].astype(str).to_numpy(dtype=object)
    number = pd.Series(entity).groupby(entity, sort=False).cumcount().to_numpy() + 1
    jid = [f"TBC-{e}-{period}-{n:03d}" for e, n in zip(entity, number, strict=True)]
    text = [f"Correct {r} ({k}): {c}" for r, k, c in zip(reference, kind, cause, strict=True)]
    offsets = {k: offset_account(k, policy, item_policy) for k in dict.fromkeys(kind)}
    control = per["control"].to_numpy(dtype="int64")
    unapplied = per["unapplied"].to_numpy(dtype="int64")
    # Bring each account to the subledger: debit-positive changes, then the offset for the rest.
    moves = [
        (np.full(len(per), policy.control_accounts[0], dtype=object), -control),
        (np.full(len(per), policy.unapplied_account, dtype=object), unapplied),
        (np.array([offsets[k] for k in kind], dtype=object), control - unapplied),
    ]
    date = str(period.end.date())
    rows = [
        (
            entity[i],
            jid[i],
            date,
            account[i],
            max(int(value[i]), 0),
            max(-int(value[i]), 0),
            currency_of(entity[i]),
            reference[i],
            text[i],
        )
        for i in range(len(per))
        for account, value in moves
        if value[i]
    ]
    proposed = dict(zip(zip(entity, reference, strict=True), jid, strict=True))
    frame = pd.DataFrame(rows, columns=JOURNAL_COLUMNS).astype({"debit": "int64", "credit": "int64"})
    return frame, proposed


def _assigned(items: pd.DataFrame, policy: ItemPolicy) -> list[tuple[str, str] | None]:
    out = []
    for entity, reference, journal in zip(items["entity"], items["reference"], items["journal_id"], strict=False):
        hit = policy.owners.get((entity, str(reference))) or policy.owners.get((entity, str(journal)))
        out.append(hit)
    return out


def classify(
    items: pd.DataFrame, policy: ItemPolicy, period: Period, proposed: dict[tuple[str, str], str]
) -> pd.DataFrame:
    """Items found in the data with their class, owner, expected clearance (and its basis), the
    correcting journal proposed and the exception, if any (empty text when none)."""
    out = items.copy()
    if out.empty:
        return out.assign(**{c: pd.Series(dtype="object") for c in CLASS_COLUMNS})
    journal = out["cause"].isin(JOURNALS)
    timing = out["cause"].isin([LATER, EARLIER]) | (journal & (out["age_months"] <= policy.max_age_months))
    out["class"] = np.where(out["cause"] == REVALUED, REVALUATION, np.where(timing, TIMING, CORRECTION))
    owners, clearances, bases = [], [], []
    for row, hit in zip(out.to_dict("records"), _assigned(out, policy), strict=False):
        if hit:
            owner, clearance, basis = hit[0], hit[1], "gl.item_owners"
        elif row["cause"] == REVALUED:
            owner, clearance = SELF_CLEARING, _day(period.shift(1).start)
            basis = "the revaluation reverses on the first day of the next period"
        elif row["cause"] == LATER and pd.notna(row["posted_on"]):
            owner, clearance = SELF_CLEARING, _day(row["posted_on"])
            basis = f"posted to the GL in {row['gl_period']} ({row['journal_id']})"
        elif row["cause"] == EARLIER and pd.notna(row["subledger_date"]):
            owner, clearance, basis = SELF_CLEARING, _day(row["subledger_date"]), "its subledger date"
        else:
            owner, clearance, basis = UNASSIGNED, "", ""
        owners.append(owner)
        clearances.append(clearance)
        bases.append(basis)
    out["owner"], out["expected_clearance"], out["clearance_basis"] = owners, clearances, bases
    out["proposed_journal"] = [
        proposed.get((e, str(r)), "") for e, r in zip(out["entity"], out["reference"], strict=False)
    ]
    out["exception"] = [_exception(r, policy, period) for r in out.to_dict("records")]
    return out


def classify_documented(documented: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Items documented in ``gl.reconciling_items``: class documented, owner and clearance as given."""
    out = documented.copy()
    out["class"] = DOCUMENTED
    out["owner"] = [o if str(o).strip() else UNASSIGNED for o in out["owner"]]
    out["clearance_basis"] = "gl.reconciling_items"
    out["proposed_journal"] = ""
    out["exception"] = [_exception(r, None, period) for r in out.to_dict("records")]
    return out


def _exception(row: dict, policy: ItemPolicy | None, period: Period) -> str:
    reasons = []
    if row["class"] == CORRECTION:
        if row["proposed_journal"]:
            reasons.append(f"correction required: proposed journal {row['proposed_journal']}")
        elif row["cause"] == REVALUATION_DIFFERS:
            reasons.append("correction required: post the proposed revaluation journal's difference (FX revaluation)")
        elif row["cause"] == REVALUATION_STALE:
            reasons.append("correction required: reverse this earlier period's FX revaluation")
        elif row["cause"] in JOURNALS and policy is not None:
            reasons.append(
                f"correction required: a journal with no subledger support older than {policy.max_age_months} "
                "month(s) (gl.max_item_age_months): reverse it or support it in the subledger"
            )
        else:
            reasons.append("correction required: a GL line with no subledger transaction; reverse or re-reference it")
    missing = [
        w
        for w, v in (("owner", row["owner"] == UNASSIGNED), ("expected clearance", not row["expected_clearance"]))
        if v
    ]
    if missing:
        where = "gl.reconciling_items" if row["class"] == DOCUMENTED else "gl.item_owners"
        reasons.append(f"unassigned: no {' or '.join(missing)} ({where})")
    elif str(row["expected_clearance"]) < str(period.end.date()):
        reasons.append(f"overdue: expected to clear by {row['expected_clearance']}")
    return "; ".join(reasons)


def exceptions(items: pd.DataFrame, unapplied_items: pd.DataFrame, documented: pd.DataFrame) -> pd.DataFrame:
    """Open exceptions, one row per transaction: the control-account items and documented items,
    then unapplied-cash items whose transaction is not already listed (a transaction missing
    from both accounts is one exception, corrected by one journal)."""
    columns = ["entity", "account", "class", "cause", "reference", "amount", "owner", "expected_clearance"]
    columns += ["proposed_journal", "exception"]
    parts = [
        items[items["exception"] != ""].assign(account="AR control"),
        documented[documented["exception"] != ""].assign(account="AR control (documented)"),
    ]
    listed = {(e, r) for p in parts for e, r in zip(p["entity"], p["reference"], strict=False)}
    extra = unapplied_items[unapplied_items["exception"] != ""]
    keep = [(e, r) not in listed for e, r in zip(extra["entity"], extra["reference"], strict=False)]
    parts.append(extra[keep].assign(account="unapplied cash"))
    frame = pd.concat([p[columns] for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if frame is None:
        return pd.DataFrame(columns=columns).astype({"amount": "int64"})
    frame["amount"] = frame["amount"].astype("int64")
    return frame.sort_values(["entity", "account", "class", "reference"], ignore_index=True)


def items_by_class(items: pd.DataFrame, documented: pd.DataFrame) -> pd.DataFrame:
    """Per entity and class: count, amount (as it explains GL minus subledger) and open exceptions."""
    columns = ["entity", "class", "count", "amount", "exceptions"]
    frames = [f[["entity", "class", "amount", "exception"]] for f in (items, documented) if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    both = pd.concat(frames, ignore_index=True)
    grouped = both.groupby(["entity", "class"], as_index=False).agg(
        count=("amount", "size"), amount=("amount", "sum"), exceptions=("exception", lambda s: int((s != "").sum()))
    )
    grouped["amount"] = grouped["amount"].astype("int64")
    return grouped[columns]
