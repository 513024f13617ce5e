"""The action queue of the Invoice Collection and Account Suspension Timeline.

``collections.timeline`` maps days past due to an action (reminder, call, suspension warning,
suspension, agency referral, legal). For each open invoice or debit memo at the period end the
*stage* is the last action whose days it has reached. The action is *due now* when nothing of
that type has been done on or after the day the document reached the stage: for the
document itself, or for its customer when the activity names no document (a suspension is
an account-level action). A document in a dispute open at the period end is held out of
dunning on its own; the customer's other documents stay in the queue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas.collections.disputes import open_dispute_holds
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.book.arrays import mapped_text
from closelib.book.model import Book
from closelib.periods import Period


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
    items["stage"] = actions[stage]
    items["stage_days"] = days[stage]
    items["reached_on"] = items["due_date"] + pd.to_timedelta(items["stage_days"], unit="D")
    acts = book.activities[book.activities["activity_date"] <= day]
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


def action_queue(stages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(documents due an action now, documents held by an open dispute)."""
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
    ]
    held = stages[stages["held_by_dispute"] != ""][[*columns, "held_by_dispute"]]
    due = stages[(stages["held_by_dispute"] == "") & ~stages["done"]][columns]
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
    return q.sort_values(["entity", "past_due"], ascending=[True, False], ignore_index=True)
