"""Disputes against their SLA: ageing of open cases, attainment, outcomes, root causes.

A case is open at D when opened on or before D and not closed by D (its ``status`` column is
its status at extraction, so a past period is judged by the dates). The SLA in days comes from
``collections.dispute_sla_days`` by reason code (``default`` for the others). A case closed in
the period meets its SLA when closed within that many days of opening.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from closelib.book.model import Book
from closelib.nb.charts import percent_axis
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _sla(reasons: pd.Series, sla_days: dict) -> pd.Series:
    default = int(sla_days.get("default", 30))
    return reasons.map({k: int(v) for k, v in sla_days.items()}).fillna(default).astype("int64")


def open_cases(book: Book, period: Period, params: dict) -> pd.DataFrame:
    day = period.end
    d = book.disputes
    o = d[(d["opened_date"] <= day) & (d["closed_date"].isna() | (d["closed_date"] > day))].copy()
    o["age_days"] = (day - o["opened_date"]).dt.days.astype("int64")
    o["sla_days"] = _sla(o["reason_code"], params["collections"]["dispute_sla_days"]).to_numpy()
    o["over_sla_days"] = (o["age_days"] - o["sla_days"]).clip(lower=0)
    o["breached"] = o["age_days"] > o["sla_days"]
    return o.sort_values(["breached", "age_days"], ascending=[False, False], ignore_index=True)


def open_by(cases: pd.DataFrame, by: str) -> pd.DataFrame:
    """Open cases per ``by`` (reason_code or owner): count, breached, amount per currency, oldest."""
    if cases.empty:
        return pd.DataFrame(columns=[by, "currency", "cases", "breached", "amount", "oldest_days"])
    return (
        cases.groupby([by, "currency"], as_index=False)
        .agg(
            cases=("case_id", "size"),
            breached=("breached", "sum"),
            amount=("amount", "sum"),
            oldest_days=("age_days", "max"),
        )
        .astype({"amount": "int64", "breached": "int64"})
    )


def closed_in_period(book: Book, period: Period, params: dict) -> pd.DataFrame:
    start, end = period.shift(-1).end, period.end
    d = book.disputes
    c = d[(d["closed_date"] > start) & (d["closed_date"] <= end)].copy()
    c["days_to_close"] = (c["closed_date"] - c["opened_date"]).dt.days.astype("int64")
    c["sla_days"] = _sla(c["reason_code"], params["collections"]["dispute_sla_days"]).to_numpy()
    c["within_sla"] = c["days_to_close"] <= c["sla_days"]
    return c


def attainment(closed: pd.DataFrame) -> pd.DataFrame:
    """Per reason: cases closed, within SLA, attainment share; outcomes resolved/rejected."""
    if closed.empty:
        return pd.DataFrame(columns=["reason_code", "closed", "within_sla", "attainment", "resolved", "rejected"])
    t = closed.groupby("reason_code", as_index=False).agg(
        closed=("case_id", "size"),
        within_sla=("within_sla", "sum"),
        resolved=("status", lambda s: int((s == "resolved").sum())),
        rejected=("status", lambda s: int((s == "rejected").sum())),
    )
    t["attainment"] = (t["within_sla"] / t["closed"]).round(4)
    return t[["reason_code", "closed", "within_sla", "attainment", "resolved", "rejected"]]


def pareto(book: Book, period: Period, months: int = 12) -> pd.DataFrame:
    """Root causes of the cases opened in the last ``months`` months, most frequent first."""
    end = period.end
    start = period.shift(-months).end
    d = book.disputes
    recent = d[(d["opened_date"] > start) & (d["opened_date"] <= end)]
    t = recent.groupby("reason_code", as_index=False).agg(cases=("case_id", "size"))
    t = t.sort_values(["cases", "reason_code"], ascending=[False, True], ignore_index=True)
    t["cumulative_share"] = (t["cases"].cumsum() / max(int(t["cases"].sum()), 1)).round(4)
    return t


def pareto_chart(table: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(table["reason_code"], table["cases"], color="#0969da")
    ax.set_ylabel("cases opened")
    ax2 = ax.twinx()
    ax2.plot(table["reason_code"], table["cumulative_share"] * 100, color="#cf222e", marker="o")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("cumulative share")
    percent_axis(ax2)
    ax.set_title("Dispute root causes, last 12 months")
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


DOC_ID = re.compile(r"[A-Z0-9]+-CM-[0-9]+")


def resolving_credit_memos(book: Book, period: Period) -> pd.DataFrame:
    """Credit memos dated in the period that resolve a dispute: the CM's reference names the case,
    or the case's resolution names the CM."""
    start, end = period.shift(-1).end, period.end
    docs = book.documents
    cms = docs[(docs["doc_type"] == "CM") & (docs["document_date"] > start) & (docs["document_date"] <= end)]
    d = book.disputes
    named = d.assign(cm=d["resolution"].str.findall(DOC_ID)).explode("cm")
    by_resolution = named.dropna(subset=["cm"]).groupby("cm")["case_id"].first()
    case = cms["reference"].where(cms["reference"].isin(d["case_id"]), cms["document_id"].map(by_resolution))
    out = cms.assign(case_id=case.to_numpy())
    out = out[out["case_id"].notna()]
    reasons = d.set_index("case_id")["reason_code"]
    out = out.assign(reason_code=out["case_id"].map(reasons).to_numpy())
    return out[
        ["entity", "customer_id", "document_id", "document_date", "currency", "amount", "case_id", "reason_code"]
    ].reset_index(drop=True)


__all__ = ["np"]


def open_dispute_holds(book: Book, day: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """Disputes open at ``day``: (by document, customer-level ones without a document)."""
    d = book.disputes
    open_ = d[(d["opened_date"] <= day) & (d["closed_date"].isna() | (d["closed_date"] > day))]
    by_doc = open_[open_["document_id"] != ""].groupby("document_id")["case_id"].agg(lambda s: ", ".join(sorted(s)))
    by_cust = open_[open_["document_id"] == ""].groupby("customer_id")["case_id"].agg(lambda s: ", ".join(sorted(s)))
    return by_doc, by_cust
