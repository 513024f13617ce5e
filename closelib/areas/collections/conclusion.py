"""Collections: the notebook's closing paragraph, per entity its KPIs and dunning actions, then disputes."""

from __future__ import annotations

import pandas as pd

from closelib.nb.markup import md


def conclusion(
    now: pd.DataFrame,
    queue: pd.DataFrame,
    cases: pd.DataFrame,
    closed: pd.DataFrame,
    fmt,
    entities: list[str] | None = None,
    handed: pd.DataFrame | None = None,
) -> str:
    """The closing paragraph: per entity its KPIs and actions (an entity with no activity says so),
    with the customers ``handed`` over (:func:`closelib.areas.collections.dunning.handover_table`)."""
    parts = []
    if now.empty:
        parts.append("No invoice, debit or credit memo on or before the period end: no KPIs to report.")
    for e in entities if entities is not None else [str(i) for i in now.index]:
        if e not in now.index:
            parts.append(f"**{md(e)}**: no receivables, sales or receipts this period: no KPI and no dunning action.")
            continue
        r = now.loc[e]
        dso = "n/a" if r["dso"] is None or r["dso"] != r["dso"] else f"{r['dso']:.1f}"
        cei = "n/a" if r["cei"] is None or r["cei"] != r["cei"] else f"{r['cei']:.1f}%"
        pdr = (
            "n/a"
            if r["past_due_ratio"] is None or r["past_due_ratio"] != r["past_due_ratio"]
            else f"{r['past_due_ratio']:.1%}"
        )
        mine = queue[queue["entity"] == e]
        parts.append(
            f"**{md(e)}**: DSO {dso} days (count-back), CEI {cei}, {pdr} of open invoices past due. "
            f"{len(mine)} customer(s) are due a dunning action"
            + (
                f", {int((mine['action'].isin(['suspension', 'agency_referral', 'legal'])).sum())} of them "
                "a suspension, agency referral or legal step."
                if len(mine)
                else "."
            )
            + _handed_and_small(mine, handed, e)
        )
    breached = int(cases["breached"].sum()) if len(cases) else 0
    parts.append(
        f"{len(cases)} dispute(s) open, {breached} past SLA; "
        + (
            f"{int(closed['within_sla'].sum())} of {len(closed)} closed this period met their SLA."
            if len(closed)
            else "none closed this period."
        )
    )
    return "\n\n".join(parts)


def _handed_and_small(queue: pd.DataFrame, handed: pd.DataFrame | None, entity: str) -> str:
    """The conclusion's words on customers handed over and balances too small to escalate."""
    text = ""
    small = int((queue["note"] != "").sum()) if "note" in queue else 0
    if small:
        text += f" {small} customer(s) get reminders only: overdue below `collections.min_action_balance`."
    if handed is not None:
        gone = handed[handed["entity"] == entity]
        if len(gone):
            text += (
                f" {gone['customer_id'].nunique()} customer(s) are handed over and out of dunning ("
                + ", ".join(f"{md(r.customer_id)} to {md(r.handed_to)}" for r in gone.itertuples())
                + ")."
            )
    return text
