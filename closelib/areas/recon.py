"""Trial-balance reconciliation: AR control accounts against the subledger (CONTRACT ``tb.*``).

The method, per entity and in its functional currency:

* every subledger transaction has an *effect* on the AR control accounts (an invoice or
  debit memo raises it, a credit memo, a receipt application and a write-off lower it, a
  recovery raises it; a credit memo applied to an invoice nets to zero) and on the
  unapplied-cash account (a receipt raises it, its application lowers it). Summed to D the
  effects *are* the subledger balances, which a check proves against the as-of open items;
* the GL detail (``gl_journal``) is matched to those effects by reference. What differs is
  a reconciling item with its cause: a manual journal, a transaction posted in another
  period (cut-off), one never posted, a posting that differs;
* what remains, the GL balance that the journal detail does not support less the items the
  preparer documents in the parameters, is ``tb.unexplained``.

Everything is integer minor units; no sum crosses currencies.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from closelib import money
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.links import links
from closelib.book.model import Book
from closelib.nb.markup import md
from closelib.periods import Period

CONTROL, UNAPPLIED = "control", "unapplied"


@dataclass(frozen=True)
class GLPolicy:
    control_accounts: tuple[str, ...]
    unapplied_account: str
    unapplied_in_control: bool
    allowance_account: str

    @classmethod
    def from_params(cls, params: dict) -> GLPolicy:
        gl = params["gl"]
        control = tuple(str(a) for a in gl["ar_control_accounts"])
        in_control = bool(gl.get("unapplied_cash_in_control")) or gl["unapplied_cash_account"] in control
        return cls(control, str(gl["unapplied_cash_account"]), in_control, str(gl["allowance_account"]))


def subledger_effects(book: Book, policy: GLPolicy) -> pd.DataFrame:
    """One row per subledger transaction: entity, reference, kind, date, effect on the control
    accounts (debit positive) and on unapplied cash (credit positive), int64 minor units."""
    docs = book.documents
    receipts = book.receipts
    receipt_ids = receipts["receipt_id"]
    apps = book.applications
    link = links(book)  # row positions of each application's receipt and adjustment's document
    rec_row = link.app_source_rec
    from_receipt = rec_row >= 0
    cash_apps = apps[from_receipt]
    cash_entity = _at(receipts["entity"], rec_row[from_receipt], cash_apps.index)
    adj = book.adjustments
    adj_entity = _at(docs["entity"], link.adj_doc, adj.index)
    in_control = policy.unapplied_in_control
    parts = [
        pd.DataFrame(
            {
                "entity": docs["entity"],
                "reference": docs["document_id"],
                "kind": np.where(docs["doc_type"] == "CM", "credit memos", "invoices and debit memos"),
                "date": docs["document_date"],
                "control": docs["amount"],
                "unapplied": 0,
            }
        ),
        pd.DataFrame(
            {
                "entity": cash_entity,
                "reference": cash_apps["application_id"],
                "kind": "cash applied",
                "date": cash_apps["applied_date"],
                "control": 0 if in_control else -cash_apps["amount"],
                "unapplied": -cash_apps["amount"],
            }
        ),
        pd.DataFrame(
            {
                "entity": receipts["entity"],
                "reference": receipt_ids,
                "kind": "cash received",
                "date": receipts["receipt_date"],
                "control": -receipts["amount"] if in_control else 0,
                "unapplied": receipts["amount"],
            }
        ),
        pd.DataFrame(
            {
                "entity": adj_entity,
                "reference": adj["adjustment_id"],
                "kind": adj["type"].map(
                    {"write_off": "write-offs", "recovery": "recoveries", "adjustment": "adjustments"}
                ),
                "date": adj["adjustment_date"],
                "control": adj["amount"],
                "unapplied": 0,
            }
        ),
    ]
    effects = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=["entity", "reference", "kind", "date", "control", "unapplied"])
    )
    for column in ("control", "unapplied"):
        effects[column] = effects[column].astype("int64")
    return effects


def _at(values: pd.Series, rows: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """``values`` at row positions, missing (NaN) where a position is -1, as ``map`` gives."""
    taken = values.array.take(rows, allow_fill=True)
    return pd.Series(taken, dtype=values.dtype, index=index)


def _codes(*columns: pd.Series) -> list[np.ndarray]:
    """Shared integer codes for the values of several text columns (-1 for missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays: list = []  # pyarrow arrays, one per column
    for column in columns:
        array = (
            pa.array(column.array)
            if column.dtype == "str"
            else pa.array(column.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
        )
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        arrays.extend(chunk.cast(pa.large_string()) for chunk in chunks)
    if not arrays:
        return [np.zeros(0, dtype="int64") for _ in columns]
    encoded = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.large_string()).combine_chunks())
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype="int64")
    out, start = [], 0
    for column in columns:
        out.append(codes[start : start + len(column)])
        start += len(column)
    return out


def keyed(effects: pd.DataFrame, lines: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``effects`` and GL ``lines`` with shared integer codes of their entity (``_ent``) and
    reference (``_ref``): text hashed once per reconciliation, not again by every item search
    and roll-forward (each pass over a few million references costs about a second)."""
    frames = [effects] + ([lines] if lines is not None else [])
    ent = _codes(*(f["entity"] for f in frames))
    ref = _codes(*(f["reference"] for f in frames))
    coded = [f.assign(_ent=e, _ref=r) for f, e, r in zip(frames, ent, ref, strict=False)]
    return coded[0], (coded[1] if lines is not None else None)


def _differing_rows(
    lines: pd.DataFrame, posted: np.ndarray, effects: pd.DataFrame, expected: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``lines`` and of ``effects`` whose (entity, reference) key sums differently
    over the ``posted`` lines and the ``expected`` effects: the only keys that can become
    reconciling items. Masks over the whole frames, so no frame is copied to find them."""
    if all("_ent" in f and "_ref" in f for f in (lines, effects)):  # coded once by :func:`keyed`
        ent = [f["_ent"].to_numpy() for f in (lines, effects)]
        ref = [f["_ref"].to_numpy() for f in (lines, effects)]
    else:
        ent = _codes(lines["entity"], effects["entity"])
        ref = _codes(lines["reference"], effects["reference"])
    n_ent = max([int(c.max()) + 1 for c in ent if len(c)] or [1])
    keys = [np.where((e >= 0) & (r >= 0), r * n_ent + e, -1) for e, r in zip(ent, ref, strict=False)]
    size = max([int(k.max()) + 1 for k in keys if len(k)] or [0])
    net = np.zeros(size + 1, dtype="int64")
    for k, frame, rows, sign in ((keys[0], lines, posted, 1), (keys[1], effects, expected, -1)):
        take = rows & (k >= 0)
        np.add.at(net, k[take], sign * frame[side].to_numpy(dtype="int64")[take])
    return tuple((k >= 0) & (net[np.where(k >= 0, k, size)] != 0) for k in keys)


def gl_lines(book: Book, policy: GLPolicy) -> pd.DataFrame:
    """Journal lines on the control and unapplied accounts, signed like the effects."""
    journal = book.gl_journal
    on_control = journal["account"].isin(policy.control_accounts)
    on_unapplied = journal["account"] == policy.unapplied_account
    lines = journal[on_control | on_unapplied].copy()
    net = (lines["debit"] - lines["credit"]).astype("int64")
    lines["control"] = np.where(lines["account"].isin(policy.control_accounts), net, 0).astype("int64")
    lines["unapplied"] = np.where(
        (lines["account"] == policy.unapplied_account) & ~lines["account"].isin(policy.control_accounts), -net, 0
    ).astype("int64")
    return lines


def gl_balance(
    book: Book, entity: str, period: Period, accounts: tuple[str, ...], credit_positive: bool = False
) -> int | None:
    """Closing balance (debit minus credit, or the reverse) of accounts; None when the GL has no such period."""
    gl = book.gl_balances
    mine = gl[(gl["entity"] == entity) & (gl["period"] == str(period))]
    if mine.empty:
        return None
    rows = mine[mine["account"].isin(accounts)]
    value = int((rows["debit"] - rows["credit"]).sum())
    return -value if credit_positive else value


def trial_balance_totals(book: Book, period: Period) -> pd.DataFrame:
    """Per entity: total debits, total credits, accounts, and whether they balance."""
    gl = book.gl_balances
    mine = gl[gl["period"] == str(period)]
    totals = mine.groupby("entity").agg(accounts=("account", "size"), debit=("debit", "sum"), credit=("credit", "sum"))
    totals = totals.reindex(pd.Index(book.entities, name="entity")).fillna(0).astype("int64")
    totals["difference"] = totals["debit"] - totals["credit"]
    totals.insert(0, "currency", [book.currency_of(e) for e in totals.index])
    return totals.reset_index()


def subledger_position(book: Book, period: Period) -> pd.DataFrame:
    """Per entity at the period end: open INV/DM, open CM, subledger AR, unapplied cash split."""
    day = period.end
    items = open_items(book, day)
    cash = unapplied_cash(book, day)
    frame = pd.DataFrame(index=pd.Index(book.entities, name="entity"))
    is_cm = items["doc_type"] == "CM"
    frame["open_invoices"] = items[~is_cm].groupby("entity")["open_amount"].sum()
    frame["open_credit_memos"] = items[is_cm].groupby("entity")["open_amount"].sum()
    frame["unapplied_identified"] = cash[cash["identified"]].groupby("entity")["unapplied"].sum()
    frame["unapplied_unidentified"] = cash[~cash["identified"]].groupby("entity")["unapplied"].sum()
    frame = frame.fillna(0).astype("int64")
    frame["subledger_ar"] = frame["open_invoices"] + frame["open_credit_memos"]
    frame["unapplied_cash"] = frame["unapplied_identified"] + frame["unapplied_unidentified"]
    return frame.reset_index()


def _months_between(first: pd.Series, last: Period) -> pd.Series:
    """Whole months from each ``YYYY-MM`` in ``first`` (GL text, vectorised) to ``last``."""
    text = first.astype(str)
    index = text.str[:4].astype("int64") * 12 + text.str[5:7].astype("int64")
    return (last.year * 12 + last.month - index).astype("int64")


def reconciling_items(
    book: Book,
    period: Period,
    policy: GLPolicy,
    side: str = CONTROL,
    effects: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Items found in the data that explain GL minus subledger on one side (control or unapplied).

    Columns: entity, cause, reference, journal_id, subledger_date, gl_period, amount (signed as
    it explains GL minus subledger), age_months, description.
    """
    columns = [
        "entity",
        "cause",
        "reference",
        "journal_id",
        "subledger_date",
        "gl_period",
        "amount",
        "age_months",
        "description",
    ]
    if not book.has("gl_journal"):
        return pd.DataFrame(columns=columns)
    day = period.end
    effects = subledger_effects(book, policy) if effects is None else effects
    lines = gl_lines(book, policy) if lines is None else lines
    # Masks over the whole frames (millions of rows at scale); only the few rows that can be
    # items are ever copied out.
    nonzero = (lines[side] != 0).to_numpy()
    upto = (lines["period"] <= str(period)).to_numpy()  # YYYY-MM text sorts as the months do
    from_subledger = (lines["source"] == "ar_subledger").to_numpy()
    manual = lines[nonzero & upto & ~from_subledger]
    manual_items = manual.groupby(["entity", "journal_id"], as_index=False).agg(
        amount=(side, "sum"),
        gl_period=("period", "min"),
        description=("description", "first"),
        reference=("reference", "first"),
    )
    manual_items = manual_items[manual_items["amount"] != 0]
    manual_items["cause"] = np.where(
        manual.groupby(["entity", "journal_id"])["source"]
        .first()
        .reindex(pd.MultiIndex.from_frame(manual_items[["entity", "journal_id"]]))
        .to_numpy()
        == "manual",
        "manual journal",
        "other journal",
    )
    manual_items["subledger_date"] = pd.NaT

    sub_lines = nonzero & from_subledger
    sub_posted = sub_lines & upto
    mine = (effects[side] != 0).to_numpy()
    mine_upto = mine & (effects["date"] <= day).to_numpy()
    # Only keys whose posted and expected sums differ can be items: find them with integer
    # codes, then aggregate just their rows (same sums, firsts and minima as on all rows).
    line_differs, effect_differs = _differing_rows(lines, sub_posted, effects, mine_upto, side)
    posted = lines[sub_posted & line_differs].groupby(["entity", "reference"])[side].sum()
    first_post = (
        lines[sub_lines & line_differs]
        .groupby(["entity", "reference"])
        .agg(journal_id=("journal_id", "first"), gl_period=("period", "min"), posting_date=("posting_date", "min"))
    )
    expected = effects[mine_upto & effect_differs].groupby(["entity", "reference"])[side].sum()
    known = (
        effects[mine & effect_differs]
        .groupby(["entity", "reference"])
        .agg(date=("date", "min"), kind=("kind", "first"))
    )
    both = pd.concat([posted.rename("posted"), expected.rename("expected")], axis=1).fillna(0).astype("int64")
    both = both[both["posted"] != both["expected"]]
    both = both.join(first_post).join(known)
    gl_later = both["gl_period"].notna() & (both["gl_period"] > str(period))
    cause = np.select(
        [
            (both["posted"] == 0) & gl_later,
            (both["posted"] == 0),
            (both["expected"] == 0) & both["date"].notna(),
            (both["expected"] == 0),
        ],
        [
            "cut-off: posted to the GL in a later period",
            "not posted to the GL",
            "cut-off: posted to the GL before its subledger date",
            "GL subledger line with no subledger transaction",
        ],
        "posted amount differs from the subledger",
    )
    timing = pd.DataFrame(
        {
            "entity": both.index.get_level_values(0),
            "reference": both.index.get_level_values(1),
            "cause": cause,
            "journal_id": both["journal_id"].to_numpy(),
            "subledger_date": both["date"].to_numpy(),
            "gl_period": both["gl_period"].to_numpy(),
            "amount": (both["posted"] - both["expected"]).to_numpy(),
            "description": both["kind"].fillna("").to_numpy(),
        }
    )
    timing = _net_batches(timing, both["posting_date"].to_numpy())
    items = (
        pd.concat([manual_items, timing], ignore_index=True)
        if len(manual_items) or len(timing)
        else pd.DataFrame(columns=columns)
    )
    items["amount"] = items["amount"].astype("int64")
    items["subledger_date"] = pd.to_datetime(items["subledger_date"])
    origin = items["gl_period"].where(
        items["cause"].str.contains("manual|other"), items["subledger_date"].dt.strftime("%Y-%m")
    )
    origin = origin.fillna(str(period)).astype(str)
    items["age_months"] = _months_between(origin, period).clip(lower=0)
    return items[columns].sort_values(["entity", "cause", "reference"], ignore_index=True)


def _net_batches(timing: pd.DataFrame, posting_date: np.ndarray) -> pd.DataFrame:
    """Drop what a summarised batch posting explains.

    An ERP often posts a day's transactions as one GL line whose reference is the batch, not
    each transaction. By reference those look like "not posted" transactions plus a GL line
    "with no subledger transaction"; when they net to zero for an entity and date (the
    transactions' date, the batch's posting date) the batch posted them, and they are not
    reconciling items. What does not net stays listed in full.
    """
    unmatched = timing["cause"].isin(["not posted to the GL", "GL subledger line with no subledger transaction"])
    day = cast(
        "pd.Series[pd.Timestamp]",  # datetime64 either way: pandas-stubs cannot follow np.where
        pd.Series(
            np.where(
                timing["cause"] == "not posted to the GL",
                timing["subledger_date"].to_numpy(),
                pd.to_datetime(posting_date),
            ),
            index=timing.index,
        ),
    )
    key = [timing["entity"], day.dt.normalize()]
    net = timing["amount"].where(unmatched, 0).groupby(key).transform("sum")
    return timing[~(unmatched & (net == 0))].reset_index(drop=True)


def parameter_items(params: dict, entities: list[str], currency_of) -> tuple[pd.DataFrame, list[str]]:
    """Items the preparer documented in ``gl.reconciling_items``; also problems (unknown entity)."""

    rows, problems = [], []
    for item in params["gl"]["reconciling_items"]:
        if item["entity"] not in entities:
            problems.append(f"gl.reconciling_items {item['id']}: unknown entity {item['entity']!r}")
            continue
        rows.append(
            {
                "entity": item["entity"],
                "cause": "documented in parameters",
                "reference": item["id"],
                "amount": money.to_minor(item["amount"], currency_of(item["entity"])),
                "description": item["explanation"],
                "owner": item.get("owner", ""),
                "expected_clearance": item.get("expected_clearance", ""),
                "opened": item.get("opened", ""),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["entity", "cause", "reference", "amount", "description", "owner", "expected_clearance", "opened"]
    )
    frame["amount"] = frame["amount"].astype("int64")
    return frame, problems


ROLL_LINES = (
    "invoices and debit memos",
    "credit memos",
    "cash applied",
    "cash received",
    "write-offs",
    "recoveries",
    "adjustments",
    "manual and other journals",
    "GL lines with no subledger transaction",
)


UNAPPLIED_ROLL_LINES = (
    "cash received",
    "cash applied",
    "manual and other journals",
    "GL lines with no subledger transaction",
)


def roll_forward(
    book: Book,
    period: Period,
    policy: GLPolicy,
    entity: str,
    effects: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
    side: str = CONTROL,
) -> pd.DataFrame:
    """Opening to closing of the AR control (or unapplied cash) balance, subledger and GL side by side.

    Subledger movements are the effects dated in the period; GL movements are the journal
    lines posted in the period, classified by the transaction their reference names (a batch
    line, whose reference is its batch, takes the kind of the transactions its journal
    carries). A GL column that does not close (opening + lines != closing) shows the balance
    the journal detail does not support on its own line.
    """

    accounts = policy.control_accounts if side == CONTROL else (policy.unapplied_account,)
    credit = side == UNAPPLIED
    start, end = period.shift(-1).end, period.end
    effects = subledger_effects(book, policy) if effects is None else effects
    mine = effects[effects["entity"] == entity]
    opening_sl = int(mine.loc[mine["date"] <= start, side].sum())
    moved = mine[(mine["date"] > start) & (mine["date"] <= end)]
    sl = moved.groupby("kind")[side].sum()
    rows = {"opening balance": (opening_sl, gl_balance(book, entity, period.shift(-1), accounts, credit))}
    gl_moves = pd.Series(dtype="int64")
    if book.has("gl_journal"):
        lines = gl_lines(book, policy) if lines is None else lines
        in_period = lines[(lines["entity"] == entity) & (lines["period"] == str(period))]
        if "_ref" in effects and "_ref" in in_period:  # coded once by :func:`keyed`
            ref_codes, line_codes = effects["_ref"].to_numpy(), in_period["_ref"].to_numpy()
        else:
            ref_codes, line_codes = _codes(effects["reference"], in_period["reference"])
        first_row = np.full(int(max(ref_codes.max(initial=-1), line_codes.max(initial=-1))) + 2, -1, dtype="int64")
        # First effect row of each reference (drop_duplicates keeps the first).
        order = np.flatnonzero(ref_codes >= 0)[::-1]
        first_row[ref_codes[order]] = order
        rows_ = np.where(line_codes >= 0, first_row[line_codes], -1)
        kind = pd.Series(
            effects["kind"].array.take(rows_, allow_fill=True), index=in_period.index, dtype=effects["kind"].dtype
        )
        journal_kind = kind.groupby(in_period["journal_id"]).first()
        kind = kind.fillna(in_period["journal_id"].map(journal_kind))
        kinds = np.where(
            in_period["source"] != "ar_subledger",
            "manual and other journals",
            kind.fillna("GL lines with no subledger transaction"),
        )
        gl_moves = in_period.groupby(kinds)[side].sum()
    for line in ROLL_LINES if side == CONTROL else UNAPPLIED_ROLL_LINES:
        rows[line] = (int(sl.get(line, 0)), int(gl_moves.get(line, 0)) if book.has("gl_journal") else None)
    closing_gl = gl_balance(book, entity, period, accounts, credit)
    if book.has("gl_journal") and closing_gl is not None:
        opening_gl = rows["opening balance"][1] or 0
        unsupported = closing_gl - opening_gl - int(gl_moves.sum())
        rows["GL balance not supported by journal detail"] = (0, unsupported)
    elif closing_gl is not None:
        opening = rows["opening balance"][1]
        rows["GL movement (no journal detail given)"] = (0, None if opening is None else closing_gl - opening)
    closing_sl = opening_sl + int(moved[side].sum())
    rows["closing balance"] = (closing_sl, closing_gl)
    frame = pd.DataFrame([(k, a, b) for k, (a, b) in rows.items()], columns=["line", "subledger", "gl"])
    frame["subledger"] = frame["subledger"].astype("int64")
    frame["gl"] = frame["gl"].astype("Int64")
    frame["difference"] = (frame["gl"] - frame["subledger"]).astype("Int64")
    return frame


@dataclass(frozen=True)
class Reconciliation:
    """One period's reconciliation, everything the notebook shows, read by name (int minor units)."""

    policy: GLPolicy  # the GL accounts reconciled, and whether unapplied cash sits in the control accounts
    summary: pd.DataFrame  # one row per entity: GL, subledger, difference, items, unexplained
    items: pd.DataFrame  # reconciling items found in the data on the control accounts
    unapplied_items: pd.DataFrame  # the same on the unapplied-cash account (empty when it is in control)
    documented: pd.DataFrame  # items the preparer documented in ``gl.reconciling_items``
    problems: list[str]  # documented items that name an unknown entity
    tb: pd.DataFrame  # trial-balance totals per entity: debits, credits, difference
    roll_forward: dict[str, pd.DataFrame]  # per entity: opening to closing of the control accounts
    unapplied_roll_forward: dict[str, pd.DataFrame]  # per entity, unapplied cash (empty when in control)


def reconcile(book: Book, period: Period, params: dict) -> Reconciliation:
    """Everything the notebook shows: summary per entity, items, roll-forwards, TB totals."""
    policy = GLPolicy.from_params(params)
    effects = subledger_effects(book, policy)
    lines = gl_lines(book, policy) if book.has("gl_journal") else None
    effects, lines = keyed(effects, lines)
    position = subledger_position(book, period).set_index("entity")
    items = reconciling_items(book, period, policy, CONTROL, effects, lines)
    unapplied_items = (
        reconciling_items(book, period, policy, UNAPPLIED, effects, lines)
        if not policy.unapplied_in_control
        else items.iloc[0:0]
    )
    documented, problems = parameter_items(params, book.entities, book.currency_of)
    day = period.end
    rows = []
    for entity in book.entities:
        # one entity's position (entities are unique in the index: one row)
        pos: dict[str, int] = {str(k): int(v) for k, v in cast(pd.Series, position.loc[entity]).items()}
        gl_control = gl_balance(book, entity, period, policy.control_accounts)
        gl_unapplied = gl_balance(book, entity, period, (policy.unapplied_account,), credit_positive=True)
        allowance = gl_balance(book, entity, period, (policy.allowance_account,), credit_positive=True)
        expected = int(pos["subledger_ar"]) - (int(pos["unapplied_cash"]) if policy.unapplied_in_control else 0)
        found = int(items.loc[items["entity"] == entity, "amount"].sum())
        noted = int(documented.loc[documented["entity"] == entity, "amount"].sum())
        difference = None if gl_control is None else gl_control - expected
        effects_total = int(effects.loc[(effects["entity"] == entity) & (effects["date"] <= day), "control"].sum())
        row = {
            "entity": entity,
            "currency": book.currency_of(entity),
            "gl_present": gl_control is not None,
            "gl_ar_control": gl_control,
            "subledger_ar": int(pos["subledger_ar"]),
            "open_invoices": int(pos["open_invoices"]),
            "open_credit_memos": int(pos["open_credit_memos"]),
            "unapplied_cash": int(pos["unapplied_cash"]),
            "unapplied_identified": int(pos["unapplied_identified"]),
            "unapplied_unidentified": int(pos["unapplied_unidentified"]),
            "expected_gl": expected,
            "difference": difference,
            "items_found": found,
            "items_documented": noted,
            "unexplained": None if difference is None else difference - found - noted,
            "effects_total": effects_total,
            "gl_unapplied": gl_unapplied,
            "allowance": allowance,
        }
        if not policy.unapplied_in_control:
            u_found = int(unapplied_items.loc[unapplied_items["entity"] == entity, "amount"].sum())
            u_diff = None if gl_unapplied is None else gl_unapplied - int(pos["unapplied_cash"])
            row.update(
                unapplied_difference=u_diff,
                unapplied_items=u_found,
                unapplied_unexplained=None if u_diff is None else u_diff - u_found,
            )
        rows.append(row)
    return Reconciliation(
        policy=policy,
        summary=pd.DataFrame(rows),
        items=items,
        unapplied_items=unapplied_items,
        documented=documented,
        problems=problems,
        tb=trial_balance_totals(book, period),
        roll_forward={e: roll_forward(book, period, policy, e, effects, lines) for e in book.entities},
        unapplied_roll_forward={}
        if policy.unapplied_in_control
        else {e: roll_forward(book, period, policy, e, effects, lines, UNAPPLIED) for e in book.entities},
    )


def items_by_cause(items: pd.DataFrame) -> pd.DataFrame:
    """Items summarised per entity and cause: count, amount, oldest age."""
    if items.empty:
        return pd.DataFrame(columns=["entity", "cause", "count", "amount", "oldest_months"])
    grouped = items.groupby(["entity", "cause"], as_index=False).agg(
        count=("amount", "size"), amount=("amount", "sum"), oldest_months=("age_months", "max")
    )
    grouped["amount"] = grouped["amount"].astype("int64")
    return grouped


def first_to_investigate(row: dict, has_journal: bool) -> str:
    """Where a preparer should look first when an entity does not reconcile."""
    if not row["gl_present"]:
        return f"the GL has no balances for {md(row['entity'])} in this period: extract gl_balances for it."
    if not has_journal:
        return (
            "without gl_journal the difference cannot be split into causes: extract the GL detail of the "
            "control accounts (manual journals and subledger postings by reference) through the period end."
        )
    return (
        "the GL balance is not supported by its own journal detail: compare gl_balances with the sum of "
        "gl_journal for the control accounts (a balance edited, or journal lines missing from the extract), "
        "then check documented items in gl.reconciling_items."
    )


def conclusion(summary: pd.DataFrame, tolerance: dict[str, int], has_journal: bool, fmt) -> str:
    """The closing paragraph, written from the numbers (``fmt(minor, currency)`` formats money)."""
    parts = []
    for row in summary.to_dict("records"):
        e, ccy = row["entity"], row["currency"]
        if not row["gl_present"]:
            parts.append(f"**{md(e)}**: not reconciled. {first_to_investigate(row, has_journal)}")
            continue
        diff, unexplained = row["difference"], row["unexplained"]
        explained = row["items_found"] + row["items_documented"]
        if abs(unexplained) <= tolerance[e]:
            if diff == 0 and explained == 0:
                text = "the GL control balance agrees with the subledger exactly"
            else:
                text = (
                    f"GL minus subledger is {fmt(diff, ccy)} {ccy}, fully explained by reconciling items of "
                    f"{fmt(explained, ccy)} {ccy}"
                )
            parts.append(
                f"**{md(e)}** reconciles: {text}; unexplained {fmt(unexplained, ccy)} {ccy} is within the "
                f"tolerance of {fmt(tolerance[e], ccy)}."
            )
        else:
            parts.append(
                f"**{md(e)}** does NOT reconcile: {fmt(unexplained, ccy)} {ccy} of the {fmt(diff, ccy)} {ccy} "
                f"difference is unexplained. Investigate first: {first_to_investigate(row, has_journal)}"
            )
    return "\n\n".join(parts)


SUMMARY_LINES = {
    "GL balance of the AR control accounts": "gl_ar_control",
    "Subledger: open invoices and debit memos": "open_invoices",
    "Subledger: open credit memos": "open_credit_memos",
    "Subledger AR (tb.subledger_ar)": "subledger_ar",
    "Unapplied cash, identified": "unapplied_identified",
    "Unapplied cash, unidentified": "unapplied_unidentified",
    "What the GL should show": "expected_gl",
    "Difference, GL minus expected (tb.difference)": "difference",
    "Reconciling items found in the data": "items_found",
    "Reconciling items documented in parameters": "items_documented",
    "Unexplained (tb.unexplained)": "unexplained",
    "GL unapplied cash account (credit balance)": "gl_unapplied",
    "GL allowance account (credit balance)": "allowance",
}

UNAPPLIED_LINES = {
    "GL unapplied cash account (credit balance)": "gl_unapplied",
    "Subledger unapplied cash": "unapplied_cash",
    "Difference": "unapplied_difference",
    "Reconciling items found in the data": "unapplied_items",
    "Unexplained": "unapplied_unexplained",
}


def bridge(rec: Reconciliation) -> pd.DataFrame:
    """Per entity, the difference split into what explains it: one row per (entity, part)."""
    rows = []
    by_cause = items_by_cause(rec.items)
    for row in rec.summary.to_dict("records"):
        if row["difference"] is None:
            continue
        e = row["entity"]
        for cause in by_cause[by_cause["entity"] == e].itertuples():
            rows.append((e, cause.cause, int(cause.amount)))
        if row["items_documented"]:
            rows.append((e, "documented in parameters", row["items_documented"]))
        rows.append((e, "unexplained", row["unexplained"]))
    return pd.DataFrame(rows, columns=["entity", "part", "amount"]).astype({"amount": "int64"})


def bridge_chart(parts: pd.DataFrame, currency_of):
    """Horizontal bars per entity: what makes up GL minus subledger (amounts in major units)."""
    import matplotlib.pyplot as plt

    entities = list(dict.fromkeys(parts["entity"]))
    fig, axes = plt.subplots(len(entities) or 1, 1, figsize=(8, 1.2 + 0.45 * max(len(parts), 1)), squeeze=False)
    for ax, entity in zip(axes[:, 0], entities, strict=False):
        mine = parts[parts["entity"] == entity]
        ccy = currency_of(entity)
        values = [float(money.from_minor(int(v), ccy)) for v in mine["amount"]]  # display only
        ax.barh(mine["part"], values, color=["#cf222e" if p == "unexplained" else "#0969da" for p in mine["part"]])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{entity}: GL minus subledger, by cause ({ccy})", fontsize=10)
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


# Figure name (CONTRACT §3, ``tb.*``) -> summary column.
FIGURES = {
    "gl_ar_control": "gl_ar_control",
    "subledger_ar": "subledger_ar",
    "unapplied_cash": "unapplied_cash",
    "difference": "difference",
    "unexplained": "unexplained",
    "allowance_booked": "allowance",
}


def unapplied_by_age(book: Book, period: Period, bounds: tuple[int, ...] = (30, 60, 90, 180)) -> pd.DataFrame:
    """Unapplied receipts at the period end by entity, identified or not, and age band."""
    cash = unapplied_cash(book, period.end)
    labels = (
        [f"0-{bounds[0]} days"]
        + [f"{a + 1}-{b} days" for a, b in itertools.pairwise(bounds)]
        + [f"over {bounds[-1]} days"]
    )
    band = pd.Categorical.from_codes(
        np.searchsorted(np.asarray(bounds), cash["age_days"].to_numpy(), side="left"),
        categories=pd.Index(labels),
        ordered=True,
    )
    frame = cash.assign(kind=np.where(cash["identified"], "identified", "unidentified"), age=band)
    table = (
        frame.groupby(["entity", "kind", "age"], observed=True)
        .agg(receipts=("receipt_id", "size"), unapplied=("unapplied", "sum"))
        .reset_index()
    )
    table["unapplied"] = table["unapplied"].astype("int64")
    return table
