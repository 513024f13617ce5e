"""The balances each side is read against: GL balances, trial-balance totals, subledger positions.

The transactions themselves, subledger effects and GL lines, are :mod:`.sides`. Integer minor
units.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.model import Book
from closelib.periods import Period


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
    # In the functional currency at the booking rates (the amounts themselves when not foreign).
    frame["open_invoices"] = items[~is_cm].groupby("entity")["open_functional"].sum()
    frame["open_credit_memos"] = items[is_cm].groupby("entity")["open_functional"].sum()
    frame["unapplied_identified"] = cash[cash["identified"]].groupby("entity")["unapplied_functional"].sum()
    frame["unapplied_unidentified"] = cash[~cash["identified"]].groupby("entity")["unapplied_functional"].sum()
    frame = frame.fillna(0).astype("int64")
    frame["subledger_ar"] = frame["open_invoices"] + frame["open_credit_memos"]
    frame["unapplied_cash"] = frame["unapplied_identified"] + frame["unapplied_unidentified"]
    return frame.reset_index()


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
        .agg(receipts=("receipt_id", "size"), unapplied=("unapplied_functional", "sum"))
        .reset_index()
    )
    table["unapplied"] = table["unapplied"].astype("int64")
    return table
