"""The action queue of the Invoice Collection and Account Suspension Timeline.

``collections.timeline`` maps days past due to an action (reminder, call, suspension warning,
suspension, agency referral, legal). For each open invoice or debit memo at the period end the
*stage* is the last action whose days it has reached. The action is *due now* when nothing of
that type has been done on or after the day the document reached the stage: for the
document itself, or for its customer when the activity names no document (a suspension is
an account-level action). A document in a dispute open at the period end is held out of
dunning on its own; the customer's other documents stay in the queue.

Customers *handed over* leave the queue and are listed apart, with to whom and since when
(:func:`handovers`): a bankrupt customer (to the insolvency process), one in collections (to the
collection agency), and one with a document referred to an agency or to legal counsel (an
``agency_referral`` or ``legal`` activity naming it; one naming no document refers everything
then past due) that is still open at the period end. The status is read as of the period end
(``customer_history``); its date comes from the history, else from the referral.

Suspension and escalation (every stage after the timeline's first) need an overdue balance
(open past-due INV/DM of the customer in one entity and currency) of at least
``collections.min_action_balance`` in that currency (``default`` for the rest); a smaller
balance gets the first stage (a reminder) only, due unless one was sent since the stage it
reached, and its ``note`` says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.collections.disputes import open_dispute_holds
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.book.arrays import isin, mapped_text
from closelib.book.model import Book
from closelib.nb.context import fmt_money
from closelib.periods import Period

# To whom a customer is handed over, by the status or referral that hands it over (strongest first).
HANDED_TO = {
    "bankrupt": "insolvency process (bankruptcy)",
    "legal": "legal counsel",
    "in_collections": "collection agency",
    "agency_referral": "collection agency",
}


def document_stages(book: Book, period: Period, params: dict) -> pd.DataFrame:
    """Open past-due INV/DM with stage, when it was reached, whether done, and dispute holds."""
    day = period.end
    timeline = params["collections"]["timeline"]
    days = np.asarray([t["days"] for t in timeline])
    actions = np.asarray([t["action"] for t in timeline])
    # Dunning counts days past the due date whatever the reserve's aging basis is.
    policy = AgingPolicy("due_date", AgingPolicy.from_params(params).bounds)
    items = aging_at(book, day, policy, ("INV", "DM"))
    items = items[(items["open_amount"] > 0) & (items["days_past_due"] >= days.min())].copy()
    stage = np.searchsorted(days, items["days_past_due"].to_numpy(), side="right") - 1
    items["stage_reached"] = actions[stage]
    items["stage_days"] = days[stage]
    items["reached_on"] = items["due_date"] + pd.to_timedelta(items["stage_days"], unit="D")
    handed = handovers(book, items, day)
    items["handed_to"] = mapped_text(items["customer_id"].map(handed["handed_to"]))
    # Overdue balance per customer, entity and currency (what a suspension would be about)
    balance = items.groupby(["entity", "customer_id", "currency"])["open_amount"].transform("sum")
    minimum = min_action_balances(params, items["currency"])
    small = (balance < minimum) & (stage > 0)
    items["overdue_balance"] = balance.astype("int64")
    items["stage"] = np.where(small, actions[0], items["stage_reached"])
    items["note"] = ""
    if small.any():
        shown = items[small]
        items.loc[small, "note"] = [
            f"reminder only: overdue {fmt_money(b, c)} {c} below min_action_balance {fmt_money(m, c)} {c} "
            f"(stage reached: {s})"
            for b, m, c, s in zip(
                shown["overdue_balance"], minimum[small], shown["currency"], shown["stage_reached"], strict=True
            )
        ]
    # Only the activities that can answer for these items: on one of their documents, or on the
    # account (no document named) of one of their customers.
    acts = book.activities
    on_item = isin(acts["document_id"], items["document_id"])
    on_account = (acts["document_id"] == "").to_numpy() & isin(acts["customer_id"], items["customer_id"])
    acts = acts.loc[
        (acts["activity_date"] <= day).to_numpy() & (on_item | on_account),
        ["activity_id", "customer_id", "document_id", "type", "activity_date"],
    ]
    # done on the document, or on the account (no document named)
    on_doc = acts[acts["document_id"] != ""].groupby(["document_id", "type"])["activity_date"].max()
    on_account = acts[acts["document_id"] == ""].groupby(["customer_id", "type"])["activity_date"].max()
    doc_done = pd.Series(
        on_doc.reindex(pd.MultiIndex.from_arrays([items["document_id"], items["stage"]])).to_numpy(), index=items.index
    )
    acct_done = pd.Series(
        on_account.reindex(pd.MultiIndex.from_arrays([items["customer_id"], items["stage"]])).to_numpy(),
        index=items.index,
    )
    last_done = pd.concat([doc_done, acct_done], axis=1).max(axis=1)
    items["done"] = last_done.notna() & (last_done >= items["reached_on"])
    by_doc, _by_cust = open_dispute_holds(book, day)
    items["held_by_dispute"] = mapped_text(items["document_id"].map(by_doc))
    last = acts.sort_values(["activity_date", "activity_id"]).groupby("document_id").last()
    items["last_action"] = mapped_text(items["document_id"].map(last["type"]))
    items["last_action_date"] = pd.to_datetime(items["document_id"].map(last["activity_date"].to_dict()))
    cust = book.customers.set_index("customer_id")
    items["name"] = items["customer_id"].map(cust["name"])
    items["status"] = items["customer_id"].map(cust["status"])
    items["collector"] = items["customer_id"].map(cust["collector"])
    return items


def min_action_balances(params: dict, currency: pd.Series) -> pd.Series:
    """``collections.min_action_balance`` per row's currency in minor units (0 when not set)."""
    table = params["collections"].get("min_action_balance") or {}
    per = {c: money.to_minor(table[c] if c in table else table.get("default", "0"), c) for c in pd.unique(currency)}
    return currency.map(per).fillna(0).astype("int64")


def handovers(book: Book, items: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Customers handed over at ``day`` among those of ``items`` (open past-due documents):
    ``handed_to``, ``since`` and ``basis`` per customer id (strongest reason first)."""
    cust = book.customers.set_index("customer_id")
    mine = pd.Index(pd.unique(items["customer_id"]))
    status = cust["status"].reindex(mine)
    rows: dict[str, dict] = {}
    set_on = _status_dates(book, day)
    # referrals still open: a referred document (or, for an account referral, any document then
    # past due) still among the open items
    acts = book.activities
    refs = acts[acts["type"].isin(["agency_referral", "legal"]) & (acts["activity_date"] <= day)]
    refs = refs[isin(refs["customer_id"], mine)]
    on_doc = refs[refs["document_id"] != ""].merge(items[["document_id"]], on="document_id")
    account = refs[refs["document_id"] == ""].merge(items[["customer_id", "due_date"]], on="customer_id")
    account = account[account["due_date"] < account["activity_date"]].drop(columns="due_date")
    live = pd.concat([on_doc, account]).sort_values(["activity_date", "activity_id"])
    for kind in ("bankrupt", "legal", "in_collections", "agency_referral"):
        if kind in ("bankrupt", "in_collections"):
            for cid in status.index[status == kind]:
                if cid in rows:
                    continue
                since = set_on.get((cid, kind))
                if since is None and kind == "in_collections" and (live["customer_id"] == cid).any():
                    since = live.loc[live["customer_id"] == cid, "activity_date"].iloc[0]
                rows[cid] = {
                    "handed_to": HANDED_TO[kind],
                    "since": since,
                    "basis": f"status {kind}"
                    + ("" if since is not None else " (date not in the book: no customer_history row)"),
                }
        else:
            first = live[live["type"] == kind].groupby("customer_id").first()
            for cid, r in first.iterrows():
                if cid in rows:
                    continue
                what = r["document_id"] or "the account"
                rows[str(cid)] = {
                    "handed_to": HANDED_TO[kind],
                    "since": r["activity_date"],
                    "basis": f"{kind} of {what} by {r['user'] or 'unnamed user'}, still open",
                }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["handed_to", "since", "basis"])
    frame["since"] = pd.to_datetime(frame["since"])
    return frame


def _status_dates(book: Book, day: pd.Timestamp) -> dict[tuple[str, str], pd.Timestamp]:
    """(customer, status) -> the date the status in effect at ``day`` was set, from ``customer_history``."""
    h = book.customer_history
    h = h[(h["field"] == "status") & (h["effective_date"] <= day)].sort_values("effective_date")
    latest = h.groupby("customer_id")[["value", "effective_date"]].last()
    return {
        (str(c), str(v)): d for c, v, d in zip(latest.index, latest["value"], latest["effective_date"], strict=True)
    }


def handover_table(stages: pd.DataFrame, book: Book, day: pd.Timestamp) -> pd.DataFrame:
    """One line per customer handed over (entity and currency): to whom, since when, why, what is open."""
    columns = ["entity", "customer_id", "name", "status", "handed_to", "since", "basis", "documents", "currency"]
    gone = stages[stages["handed_to"] != ""]
    if gone.empty:
        return pd.DataFrame(columns=[*columns, "open_past_due"])
    who = handovers(book, gone, day)
    out = gone.groupby(["entity", "customer_id", "name", "status", "currency"], as_index=False).agg(
        documents=("document_id", "size"), open_past_due=("open_amount", "sum")
    )
    out = out.join(who, on="customer_id")
    out["open_past_due"] = out["open_past_due"].astype("int64")
    return out[[*columns, "open_past_due"]].sort_values(["entity", "customer_id"], ignore_index=True)


def action_queue(stages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(documents due an action now, documents held by an open dispute); customers handed over
    are in neither (:func:`handover_table`)."""
    columns = [
        "entity",
        "collector",
        "customer_id",
        "name",
        "status",
        "document_id",
        "due_date",
        "days_past_due",
        "currency",
        "open_amount",
        "stage",
        "reached_on",
        "last_action",
        "last_action_date",
        "note",
    ]
    kept = stages[stages["handed_to"] == ""]
    held = kept[kept["held_by_dispute"] != ""][[*columns, "held_by_dispute"]]
    due = kept[(kept["held_by_dispute"] == "") & ~kept["done"]][columns]
    order = ["entity", "collector", "customer_id", "document_id"]
    return due.sort_values(order, ignore_index=True), held.sort_values(order, ignore_index=True)


def customer_queue(due: pd.DataFrame, params: dict) -> pd.DataFrame:
    """One line per customer: the most severe action due, documents and amount past due."""
    if due.empty:
        return pd.DataFrame(
            columns=[
                "entity",
                "collector",
                "customer_id",
                "name",
                "status",
                "action",
                "documents",
                "currency",
                "past_due",
                "oldest_days",
                "note",
            ]
        )
    rank = {t["action"]: i for i, t in enumerate(params["collections"]["timeline"])}
    due = due.assign(rank=due["stage"].map(rank))
    worst = due.sort_values("rank").groupby("customer_id").last()["stage"]
    q = due.groupby(["entity", "collector", "customer_id", "name", "status", "currency"], as_index=False).agg(
        documents=("document_id", "nunique"), past_due=("open_amount", "sum"), oldest_days=("days_past_due", "max")
    )
    q["action"] = q["customer_id"].map(worst)
    q["past_due"] = q["past_due"].astype("int64")
    notes = due[due["note"] != ""].groupby(["entity", "customer_id", "currency"])["note"].first()
    q["note"] = mapped_text(
        pd.Series(notes.reindex(pd.MultiIndex.from_frame(q[["entity", "customer_id", "currency"]])).to_numpy())
    ).to_numpy()
    return q.sort_values(["entity", "past_due"], ascending=[True, False], ignore_index=True)
