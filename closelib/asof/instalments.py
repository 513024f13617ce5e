"""Instalment schedules (the optional ``payment_schedules`` table): open items by instalment.

A document with a schedule is aged, dunned and counted past due by instalment. Whatever clears
it (receipt applications, credit memos applied to it, write-offs and other adjustments: all
that is cleared of it, ``amount - open amount``) settles its instalments **in due-date order**
(then by instalment number): the earliest instalment is settled first. An adjustment that
raises the open amount above the document's amount (none in a valid book but a positive
adjustment) falls on the last instalment. Each instalment's functional amount is the difference
of the translated cumulative open amounts, so the instalments of a document add up exactly to
its open amount in the functional currency.

Vectorised: the schedule is sorted once and cumulated per document; no loop over documents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.book.arrays import arrow_text, positions
from closelib.book.fx import translate
from closelib.book.links import links
from closelib.book.model import Book


def allocate(
    amounts: np.ndarray, group: np.ndarray, cleared: np.ndarray, excess: np.ndarray | None = None
) -> np.ndarray:
    """Open amount of each instalment (``amounts``, rows sorted by group and due-date order)
    once ``cleared[group]`` has been settled in that order; ``excess[group]`` (an open amount
    above the document's amount) is added to each group's last instalment."""
    amounts = np.asarray(amounts, dtype="int64")
    if not len(amounts):
        return amounts.copy()
    cumulative = pd.Series(amounts).groupby(group).cumsum().to_numpy(dtype="int64")
    before = cumulative - amounts
    settled = np.clip(cleared[group] - before, 0, amounts)
    open_ = amounts - settled
    if excess is not None:
        last = np.r_[group[1:] != group[:-1], True]
        open_ = open_ + np.where(last, excess[group], 0)
    return open_


def by_instalment(items: pd.DataFrame, book: Book) -> pd.DataFrame:
    """Open items (from :func:`closelib.asof.openitems.open_items`) with each scheduled document
    replaced by its open instalments: ``due_date`` the instalment's, ``open_amount`` and
    ``open_functional`` its share, ``instalment`` its number (0 for a document without a schedule).
    A book without schedules gets its items back unchanged."""
    if not book.has("payment_schedules") or items.empty or book.payment_schedules.empty:
        return items
    sched = book.payment_schedules
    item_row = positions(arrow_text(sched["document_id"]), arrow_text(items["document_id"]))
    sched = sched[item_row >= 0]
    item_row = item_row[item_row >= 0]
    if not len(sched):
        return items.assign(instalment=0)
    order = np.lexsort((sched["instalment"].to_numpy(), sched["due_date"].to_numpy(dtype="datetime64[ns]"), item_row))
    sched, item_row = sched.iloc[order], item_row[order]
    amount = items["amount"].to_numpy(dtype="int64")
    open_txn = items["open_amount"].to_numpy(dtype="int64")
    cleared = amount - open_txn
    inst_open = allocate(sched["amount"].to_numpy(dtype="int64"), item_row, cleared, np.maximum(-cleared, 0))
    # Functional share: differences of the translated cumulative open amounts (they add up to
    # the document's translated open amount exactly).
    cum_open = pd.Series(inst_open).groupby(item_row).cumsum().to_numpy(dtype="int64")
    rate = items["booking_rate"].to_numpy(dtype="float64")[item_row]
    ccy = items["currency"].to_numpy(dtype=object)[item_row]
    fun = items["functional_currency"].to_numpy(dtype=object)[item_row]
    translated = translate(
        np.concatenate([cum_open, cum_open - inst_open]), np.r_[rate, rate], np.r_[ccy, ccy], np.r_[fun, fun]
    )
    inst_fun = translated[: len(cum_open)] - translated[len(cum_open) :]
    split = items.iloc[item_row].copy()
    split["due_date"] = sched["due_date"].to_numpy(dtype="datetime64[ns]")
    split["open_amount"] = inst_open
    split["open_functional"] = inst_fun
    split["instalment"] = sched["instalment"].to_numpy(dtype="int64")
    split = split[inst_open != 0]
    scheduled = np.zeros(len(items), dtype=bool)
    scheduled[item_row] = True
    rest = items[~scheduled].assign(instalment=0)
    result = pd.concat([rest, split], ignore_index=True)
    result["instalment"] = result["instalment"].astype("int64")
    return result


def application_due_dates(book: Book) -> pd.DataFrame:
    """Receipt and credit-memo applications to scheduled documents, split by the instalment each
    part settles (in due-date order, applications in date then id order): ``position`` (the
    application's row), ``amount`` (the part), ``due_date`` (the instalment's). Days beyond
    terms of a scheduled document use these due dates."""
    columns = ["position", "amount", "due_date"]
    if not book.has("payment_schedules") or book.payment_schedules.empty or book.applications.empty:
        return pd.DataFrame(columns=columns)
    docs = book.documents
    apps = book.applications
    sched = book.payment_schedules
    # the schedule's ids hashed and the documents' probed (index_in hashes the million documents)
    s_row = positions(arrow_text(sched["document_id"]), arrow_text(docs["document_id"]))
    a_row = links(book).app_target  # the same lookup of target_id, made once per book
    scheduled = np.zeros(len(docs), dtype=bool)
    scheduled[s_row[s_row >= 0]] = True
    take = (a_row >= 0) & scheduled[np.maximum(a_row, 0)]
    if not take.any():
        return pd.DataFrame(columns=columns)
    a_pos = np.flatnonzero(take)
    a_doc = a_row[take]
    a_order = np.lexsort(
        (
            apps["application_id"].iloc[a_pos].to_numpy(dtype=object).astype(str),
            apps["applied_date"].to_numpy()[a_pos],
            a_doc,
        )
    )
    a_pos, a_doc = a_pos[a_order], a_doc[a_order]
    a_amt = apps["amount"].to_numpy(dtype="int64")[a_pos]
    a_end = pd.Series(a_amt).groupby(a_doc).cumsum().to_numpy(dtype="int64")
    s_keep = s_row >= 0
    s_doc = s_row[s_keep]
    s_due = sched["due_date"].to_numpy(dtype="datetime64[ns]")[s_keep]
    s_amt = sched["amount"].to_numpy(dtype="int64")[s_keep]
    s_order = np.lexsort((sched["instalment"].to_numpy()[s_keep], s_due, s_doc))
    s_doc, s_due, s_amt = s_doc[s_order], s_due[s_order], s_amt[s_order]
    s_end = pd.Series(s_amt).groupby(s_doc).cumsum().to_numpy(dtype="int64")
    # Every (application, instalment) pair of a document, and the overlap of their intervals on
    # the document's cumulative amount: what of the application settles that instalment.
    left = pd.DataFrame({"doc": a_doc, "position": a_pos, "a0": a_end - a_amt, "a1": a_end})
    right = pd.DataFrame({"doc": s_doc, "due_date": s_due, "s0": s_end - s_amt, "s1": s_end})
    pairs = left.merge(right, on="doc", how="inner")
    part = np.minimum(pairs["a1"], pairs["s1"]) - np.maximum(pairs["a0"], pairs["s0"])
    pairs = pairs.assign(amount=part)[part > 0]
    return pairs[columns].reset_index(drop=True)
