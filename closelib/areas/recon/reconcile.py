"""One period's reconciliation (the :class:`Reconciliation` record), its figures and its conclusion.

What remains, the GL balance that the journal detail does not support less the items the
preparer documents in the parameters, is ``tb.unexplained``. Everything is integer minor
units; no sum crosses currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pandas as pd

from closelib.areas.recon.items import parameter_items, reconciling_items
from closelib.areas.recon.ledger import (
    CONTROL,
    UNAPPLIED,
    GLPolicy,
    gl_balance,
    gl_lines,
    keyed,
    subledger_effects,
    subledger_position,
    trial_balance_totals,
)
from closelib.areas.recon.rollforward import roll_forward
from closelib.book.model import Book
from closelib.periods import Period


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


def first_to_investigate(row: dict, has_journal: bool) -> str:
    """Where a preparer should look first when an entity does not reconcile."""
    if not row["gl_present"]:
        return f"the GL has no balances for {row['entity']} in this period: extract gl_balances for it."
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
            parts.append(f"**{e}**: not reconciled. {first_to_investigate(row, has_journal)}")
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
                f"**{e}** reconciles: {text}; unexplained {fmt(unexplained, ccy)} {ccy} is within the "
                f"tolerance of {fmt(tolerance[e], ccy)}."
            )
        else:
            parts.append(
                f"**{e}** does NOT reconcile: {fmt(unexplained, ccy)} {ccy} of the {fmt(diff, ccy)} {ccy} "
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


FIGURES = {
    "gl_ar_control": "gl_ar_control",
    "subledger_ar": "subledger_ar",
    "unapplied_cash": "unapplied_cash",
    "difference": "difference",
    "unexplained": "unexplained",
    "allowance_booked": "allowance",
}
