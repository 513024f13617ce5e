"""One period's reconciliation (the :class:`Reconciliation` record), its figures and its conclusion.

What remains, the GL balance that the journal detail does not support less the items the
preparer documents in the parameters, is ``tb.unexplained``. Everything is integer minor
units; no sum crosses currencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import pandas as pd

from closelib.areas.recon.classes import (
    CORRECTION,
    REVALUATION,
    TIMING,
    ItemPolicy,
    classify,
    classify_documented,
    correcting_journals,
    exceptions,
)
from closelib.areas.recon.items import parameter_items, reconciling_items
from closelib.areas.recon.ledger import gl_balance, subledger_position, trial_balance_totals
from closelib.areas.recon.rollforward import roll_forward
from closelib.areas.recon.sides import CONTROL, UNAPPLIED, GLPolicy, ledger_sides
from closelib.asof.fx import revaluation_items, revaluation_reference
from closelib.book.model import Book
from closelib.nb.markup import md
from closelib.periods import Period


@dataclass(frozen=True)
class Reconciliation:
    """One period's reconciliation, everything the notebook shows, read by name (int minor units)."""

    policy: GLPolicy  # the GL accounts reconciled, and whether unapplied cash sits in the control accounts
    summary: pd.DataFrame  # one row per entity: GL, subledger, difference, items, unexplained
    items: pd.DataFrame  # reconciling items found in the data on the control accounts, with their class
    unapplied_items: pd.DataFrame  # the same on the unapplied-cash account (empty when it is in control)
    documented: pd.DataFrame  # items the preparer documented in ``gl.reconciling_items``
    exceptions: pd.DataFrame  # open exceptions: correction required, unassigned or overdue, one per transaction
    journals: pd.DataFrame  # correcting journals proposed for transactions never posted or posted differently
    item_policy: ItemPolicy  # how items are classified and the severity of the exception check
    problems: list[str]  # documented items that name an unknown entity
    tb: pd.DataFrame  # trial-balance totals per entity: debits, credits, difference
    roll_forward: dict[str, pd.DataFrame]  # per entity: opening to closing of the control accounts
    unapplied_roll_forward: dict[str, pd.DataFrame]  # per entity, unapplied cash (empty when in control)
    # open foreign-currency items revalued at the closing rates (closelib.asof.fx.revaluation_items)
    revaluation: pd.DataFrame = field(default_factory=pd.DataFrame)


def reconcile(book: Book, period: Period, params: dict) -> Reconciliation:
    """Everything the notebook shows: summary per entity, items, roll-forwards, TB totals."""
    policy = GLPolicy.from_params(params)
    # The as-of positions first: their working copies are let go before the coded sides are built.
    position = subledger_position(book, period).set_index("entity")
    # The closing-rate revaluation each side of the GL should carry (a class of its own).
    revalued = revaluation_items(book, period.end)
    is_cash = (revalued["kind"] == "unapplied cash").to_numpy()
    on_docs = revalued[~is_cash].groupby("entity")["unrealised"].sum()
    on_cash = revalued[is_cash].groupby("entity")["unrealised"].sum()
    expected_reval: dict[str, dict[str, int]] = {
        e: {
            CONTROL: int(on_docs.get(e, 0)) + (int(on_cash.get(e, 0)) if policy.unapplied_in_control else 0),
            UNAPPLIED: -int(on_cash.get(e, 0)),
        }
        for e in book.entities
    }

    sides = ledger_sides(book, policy)

    def reval(side: str) -> dict[str, tuple[str, int]]:
        return {
            e: (revaluation_reference(policy.revaluation_prefix, e, period), v[side]) for e, v in expected_reval.items()
        }

    items = reconciling_items(book, period, policy, CONTROL, sides, reval(CONTROL))
    unapplied_items = (
        reconciling_items(book, period, policy, UNAPPLIED, sides, reval(UNAPPLIED))
        if not policy.unapplied_in_control
        else items.iloc[0:0]
    )
    documented, problems = parameter_items(params, book.entities, book.currency_of)
    item_policy = ItemPolicy.from_params(params)
    journals, proposed = correcting_journals(items, unapplied_items, policy, item_policy, period, book.currency_of)
    items = classify(items, item_policy, period, proposed)
    unapplied_items = classify(unapplied_items, item_policy, period, proposed)
    documented = classify_documented(documented, period)
    open_ = exceptions(items, unapplied_items, documented)
    # Each entity's effects on the control accounts to the period end (transactions to date).
    effects = sides.effects
    to_date = (effects["date"] <= period.end).to_numpy() & (effects["_ent"] >= 0).to_numpy()
    totals = effects[CONTROL][to_date].groupby(effects["_ent"][to_date]).sum()
    rows = []
    for entity in book.entities:
        # one entity's position (entities are unique in the index: one row)
        pos: dict[str, int] = {str(k): int(v) for k, v in cast(pd.Series, position.loc[entity]).items()}
        gl_control = gl_balance(book, entity, period, policy.control_accounts)
        gl_unapplied = gl_balance(book, entity, period, (policy.unapplied_account,), credit_positive=True)
        allowance = gl_balance(book, entity, period, (policy.allowance_account,), credit_positive=True)
        expected = int(pos["subledger_ar"]) - (int(pos["unapplied_cash"]) if policy.unapplied_in_control else 0)
        mine = items[items["entity"] == entity]
        found = int(mine["amount"].sum())
        mine_open = open_[open_["entity"] == entity]
        noted = int(documented.loc[documented["entity"] == entity, "amount"].sum())
        difference = None if gl_control is None else gl_control - expected
        effects_total = int(totals.get(sides.entity_code(entity), 0))
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
            "items_timing": int(mine.loc[mine["class"] == TIMING, "amount"].sum()),
            "items_correction": int(mine.loc[mine["class"] == CORRECTION, "amount"].sum()),
            "items_revaluation": int(mine.loc[mine["class"] == REVALUATION, "amount"].sum()),
            "revaluation": expected_reval[entity][CONTROL],
            "subledger_ar_closing": int(pos["subledger_ar"]) + int(on_docs.get(entity, 0)),
            "difference_closing": None if difference is None else difference - expected_reval[entity][CONTROL],
            "items_documented": noted,
            "exceptions": len(mine_open),
            "exceptions_total": int(mine_open["amount"].sum()),
            "exceptions_correction": int((mine_open["class"] == CORRECTION).sum()),
            "exceptions_unassigned": int(mine_open["exception"].str.contains("unassigned:").sum()),
            "exceptions_overdue": int(mine_open["exception"].str.contains("overdue:").sum()),
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
        exceptions=open_,
        journals=journals,
        item_policy=item_policy,
        problems=problems,
        tb=trial_balance_totals(book, period),
        roll_forward={e: roll_forward(book, period, policy, e, sides) for e in book.entities},
        unapplied_roll_forward={}
        if policy.unapplied_in_control
        else {e: roll_forward(book, period, policy, e, sides, UNAPPLIED) for e in book.entities},
        revaluation=revalued,
    )


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


def conclusion(
    summary: pd.DataFrame, tolerance: dict[str, int], has_journal: bool, fmt, open_items: pd.DataFrame | None = None
) -> str:
    """The closing paragraph, written from the numbers (``fmt(minor, currency)`` formats money).

    "Reconciled" only when the unexplained difference is within tolerance and no exception is
    open (no item requiring correction, unassigned or overdue); otherwise "reconciled with N
    exceptions", listed from ``open_items`` (:attr:`Reconciliation.exceptions`) when given."""
    parts = []
    for row in summary.to_dict("records"):
        e, ccy = row["entity"], row["currency"]
        if not row["gl_present"]:
            parts.append(f"**{md(e)}**: not reconciled. {first_to_investigate(row, has_journal)}")
            continue
        diff, unexplained = row["difference"], row["unexplained"]
        explained = row["items_found"] + row["items_documented"]
        count = int(row.get("exceptions", 0))
        revalued = int(row.get("items_revaluation", 0) or 0)
        split = (
            f" (timing {fmt(row['items_timing'], ccy)}, correction required {fmt(row['items_correction'], ccy)}, "
            f"documented {fmt(row['items_documented'], ccy)}"
            + (f", FX revaluation {fmt(revalued, ccy)}" if revalued else "")
            + ")"
            if "items_timing" in row and explained
            else ""
        )
        if abs(unexplained) <= tolerance[e]:
            if diff == 0 and explained == 0:
                text = "the GL control balance agrees with the subledger exactly"
            else:
                text = (
                    f"GL minus subledger is {fmt(diff, ccy)} {ccy}, fully explained by reconciling items of "
                    f"{fmt(explained, ccy)} {ccy}{split}"
                )
            within = f"unexplained {fmt(unexplained, ccy)} {ccy} is within the tolerance of {fmt(tolerance[e], ccy)}"
            if count:
                parts.append(f"**{md(e)}** {_with_exceptions(row, fmt)}: {text}; {within}.")
            else:
                parts.append(f"**{md(e)}** reconciled: {text}; {within}; no exception is open.")
        else:
            also = f" It also has {_with_exceptions(row, fmt).removeprefix('reconciled with ')}." if count else ""
            parts.append(
                f"**{md(e)}** does NOT reconcile: {fmt(unexplained, ccy)} {ccy} of the {fmt(diff, ccy)} {ccy} "
                f"difference is unexplained. Investigate first: {first_to_investigate(row, has_journal)}{also}"
            )
        if count and open_items is not None:
            parts.append(_listing(open_items[open_items["entity"] == e], ccy, fmt))
    return "\n\n".join(parts)


def _with_exceptions(row: dict, fmt) -> str:
    """``reconciled with N exceptions requiring adjustment, totalling X`` (or what else they need)."""
    ccy, count, corrections = row["currency"], int(row["exceptions"]), int(row["exceptions_correction"])
    noun = "exception" if count == 1 else "exceptions"
    total = f"totalling {fmt(row['exceptions_total'], ccy)} {ccy}"
    if corrections == count:
        return f"reconciled with {count} {noun} requiring adjustment, {total}"
    needs = [
        f"{n} {what}"
        for n, what in (
            (corrections, "requiring adjustment"),
            (int(row["exceptions_unassigned"]), "with no owner or expected clearance"),
            (int(row["exceptions_overdue"]), "past their expected clearance"),
        )
        if n
    ]
    return f"reconciled with {count} {noun}, {total} ({', '.join(needs)})"


def _listing(open_items: pd.DataFrame, ccy: str, fmt, limit: int = 10) -> str:
    lines = [
        # references, accounts and the journal ids in the exception text come from the book or the
        # parameters: all escaped, so they read as written and make no markup
        f"- {md(r['reference'])} ({md(r['account'])}, {md(r['cause'])}): {fmt(r['amount'], ccy)} {ccy}; "
        f"{md(r['exception'])}"
        for r in open_items.head(limit).to_dict("records")
    ]
    if len(open_items) > limit:
        lines.append(f"- ... and {len(open_items) - limit} more, in the exceptions table")
    return "\n".join(lines)


SUMMARY_LINES = {
    "GL balance of the AR control accounts": "gl_ar_control",
    "Subledger: open invoices and debit memos": "open_invoices",
    "Subledger: open credit memos": "open_credit_memos",
    "Subledger AR (tb.subledger_ar)": "subledger_ar",
    "Unapplied cash, identified": "unapplied_identified",
    "Unapplied cash, unidentified": "unapplied_unidentified",
    "What the GL should show": "expected_gl",
    "Difference, GL minus expected (tb.difference)": "difference",
    "Reconciling items found in the data: timing": "items_timing",
    "Reconciling items found in the data: correction required": "items_correction",
    "Reconciling items documented in parameters": "items_documented",
    "Unexplained (tb.unexplained)": "unexplained",
    "Open exceptions (correction required, unassigned, overdue), total": "exceptions_total",
    "GL unapplied cash account (credit balance)": "gl_unapplied",
    "GL allowance account (credit balance)": "allowance",
}

# The comparison at closing rates, shown for a book with foreign-currency items.
FX_SUMMARY_LINES = {
    "GL balance of the AR control accounts": "gl_ar_control",
    "Subledger AR at booking rates (tb.subledger_ar)": "subledger_ar",
    "FX revaluation of the open items at closing rates (AR control)": "revaluation",
    "Subledger AR at closing rates": "subledger_ar_closing",
    "Difference, GL minus expected at booking rates (tb.difference)": "difference",
    "Reconciling items: FX revaluation as posted": "items_revaluation",
    "Difference at closing rates (GL minus expected, less the revaluation)": "difference_closing",
    "Reconciling items: timing": "items_timing",
    "Reconciling items: correction required": "items_correction",
    "Reconciling items: documented in parameters": "items_documented",
    "Unexplained (tb.unexplained)": "unexplained",
}

UNAPPLIED_LINES = {
    "GL unapplied cash account (credit balance)": "gl_unapplied",
    "Subledger unapplied cash": "unapplied_cash",
    "Difference": "unapplied_difference",
    "Reconciling items found in the data": "unapplied_items",
    "Unexplained": "unapplied_unexplained",
}


FIGURES = {
    "gl_ar_control": "gl_ar_control",
    "subledger_ar": "subledger_ar",
    "unapplied_cash": "unapplied_cash",
    "difference": "difference",
    "unexplained": "unexplained",
    "allowance_booked": "allowance",
}
