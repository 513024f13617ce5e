"""Ad-hoc dispute investigation: one customer, document or case, its whole history.

``close investigate --customer ID [--document ID] [--case ID]`` checks the subject exists in
the source (unknown ids are a clear error with close matches: :func:`resolve_subject`), then
:mod:`closelib.runner.adhoc` executes ``notebooks/adhoc/investigate.ipynb`` into
``outputs/adhoc/<YYYYMMDD>-<subject>/`` with the same provenance manifest as a period run.

The timeline lists every event of the subject in date order with its effect on the open
balance (of the customer, or of the one document when a document is the subject) and the
balance after it: documents issued, cash and credit memo applications, adjustments, receipts
(unapplied cash is shown, it does not change AR), activities and dispute openings/closings.
"""

from __future__ import annotations

import difflib
import re
from typing import cast

import numpy as np
import pandas as pd

from closelib import money
from closelib.book.model import Book
from closelib.errors import NotFoundError
from closelib.nb.markup import md
from closelib.safenames import safe_name


def _check_id(kind: str, value: str, known: pd.Series) -> None:
    if value not in set(known):
        ids = known.astype(str).unique().tolist()
        same_number = [i for i in ids if _unpadded(i) == _unpadded(value)]  # C3 or C00003 for C000003
        close = same_number + [
            c for c in difflib.get_close_matches(value, ids, n=5, cutoff=0.6) if c not in same_number
        ]
        close = close[:5]
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise NotFoundError(f"no {kind} {value!r} in the source{hint}")


def _unpadded(text: str) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group())), text.upper())


def resolve_subject(book: Book, customer: str | None, document: str | None, case: str | None) -> dict[str, str]:
    """The subject's ids, completed from each other (a document names its customer); raises
    :class:`NotFoundError` for an unknown id, naming close matches."""
    if not (customer or document or case):
        raise NotFoundError("name a subject: --customer ID, --document ID or --case ID")
    if case:
        _check_id("dispute case", case, book.disputes["case_id"])
        row = book.disputes.set_index("case_id").loc[case]  # case ids are unique: one row
        customer = customer or cast(str, row["customer_id"])
        document = document or (cast(str, row["document_id"]) or None)
    if document:
        _check_id("document", document, book.documents["document_id"])
        owner = cast(str, book.documents.set_index("document_id").at[document, "customer_id"])
        if customer and customer != owner:
            raise NotFoundError(f"document {document} belongs to customer {owner}, not {customer}")
        customer = owner
    assert customer is not None  # given, or named by the case or the document
    _check_id("customer", customer, book.customers["customer_id"])
    return {"customer_id": customer, "document_id": document or "", "case_id": case or ""}


def default_subject(book: Book, as_of: pd.Timestamp) -> dict[str, str]:
    """The subject of the notebook opened by hand with no subject given: the dispute case opened
    last on or before ``as_of`` (ties: the highest case id), else the first customer by id."""
    if book.has("disputes"):
        cases = book.disputes[book.disputes["opened_date"] <= as_of]
        if len(cases):
            latest = cases.sort_values(["opened_date", "case_id"]).iloc[-1]
            return resolve_subject(book, None, None, cast(str, latest["case_id"]))
    if book.customers.empty:
        raise NotFoundError("the source has no customers to investigate")
    return resolve_subject(book, cast(str, book.customers["customer_id"].min()), None, None)


def subject_or_default(
    book: Book, as_of: pd.Timestamp, customer: str | None, document: str | None, case: str | None
) -> dict[str, str]:
    """:func:`resolve_subject` when a subject is given, else :func:`default_subject`."""
    if customer or document or case:
        return resolve_subject(book, customer, document, case)
    return default_subject(book, as_of)


def subject_label(subject: dict[str, str]) -> str:
    """The subject's most specific id as a safe folder-name part (:func:`closelib.safenames.safe_name`)."""
    return safe_name(subject["case_id"] or subject["document_id"] or subject["customer_id"])


def timeline(book: Book, customer_id: str, document_id: str = "") -> pd.DataFrame:
    """Every event of the customer (or one document) in date order with the balance after it."""
    docs = book.documents[book.documents["customer_id"] == customer_id]
    if document_id:
        docs = docs[docs["document_id"] == document_id]
    ids = set(docs["document_id"])
    apps = book.applications
    receipts = book.receipts[book.receipts["customer_id"] == customer_id]
    parts = [
        pd.DataFrame(
            {
                "date": docs["document_date"],
                "event": docs["doc_type"].map(
                    {"INV": "invoice issued", "DM": "debit memo issued", "CM": "credit memo issued"}
                ),
                "reference": docs["document_id"],
                "document_id": docs["document_id"],
                "effect": docs["amount"],
                "detail": docs["description"]
                + np.where(docs["reference"] != "", " (ref " + docs["reference"] + ")", ""),
            }
        )
    ]
    to_docs = apps[apps["target_id"].isin(ids)]
    from_cm = apps[apps["source_id"].isin(ids)]
    parts.append(
        pd.DataFrame(
            {
                "date": to_docs["applied_date"],
                "event": "applied to document",
                "reference": to_docs["application_id"],
                "document_id": to_docs["target_id"],
                "effect": -to_docs["amount"],
                "detail": "from " + to_docs["source_id"],
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "date": from_cm["applied_date"],
                "event": "credit memo applied",
                "reference": from_cm["application_id"],
                "document_id": from_cm["source_id"],
                "effect": from_cm["amount"],
                "detail": "to " + from_cm["target_id"],
            }
        )
    )
    adj = book.adjustments[book.adjustments["document_id"].isin(ids)]
    parts.append(
        pd.DataFrame(
            {
                "date": adj["adjustment_date"],
                "event": adj["type"].str.replace("_", "-"),
                "reference": adj["adjustment_id"],
                "document_id": adj["document_id"],
                "effect": adj["amount"],
                "detail": adj["reason_code"]
                + "; approved by "
                + adj["approved_by"].replace("", "(nobody)")
                + ", ref "
                + adj["approval_reference"].replace("", "(none)"),
            }
        )
    )
    if not document_id:
        parts.append(
            pd.DataFrame(
                {
                    "date": receipts["receipt_date"],
                    "event": "cash received",
                    "reference": receipts["receipt_id"],
                    "document_id": "",
                    "effect": 0,
                    "detail": "receipt "
                    + money.display_array(receipts["amount"], receipts["currency"]).to_numpy()
                    + " "
                    + receipts["currency"]
                    + ", bank ref "
                    + receipts["bank_reference"],
                }
            )
        )
    acts = book.activities[book.activities["customer_id"] == customer_id]
    if document_id:
        acts = acts[acts["document_id"].isin([document_id, ""])]
    parts.append(
        pd.DataFrame(
            {
                "date": acts["activity_date"],
                "event": acts["type"].str.replace("_", " "),
                "reference": acts["activity_id"],
                "document_id": acts["document_id"],
                "effect": 0,
                "detail": acts["note"] + " (" + acts["user"] + ")",
            }
        )
    )
    cases = related_cases(book, customer_id, document_id)
    parts.append(
        pd.DataFrame(
            {
                "date": cases["opened_date"],
                "event": "dispute opened",
                "reference": cases["case_id"],
                "document_id": cases["document_id"],
                "effect": 0,
                "detail": cases["reason_code"] + ", owner " + cases["owner"],
            }
        )
    )
    closed = cases[cases["closed_date"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "date": closed["closed_date"],
                "event": "dispute " + closed["status"],
                "reference": closed["case_id"],
                "document_id": closed["document_id"],
                "effect": 0,
                "detail": closed["resolution"],
            }
        )
    )
    events = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=["date", "event", "reference", "document_id", "effect", "detail"])
    )
    events["effect"] = events["effect"].astype("int64")
    # on one day: documents first, then money, then the rest (a stable, explainable order)
    rank = events["event"].map({"invoice issued": 0, "debit memo issued": 0, "credit memo issued": 0}).fillna(1)
    events = events.assign(_rank=rank).sort_values(["date", "_rank", "reference"], kind="stable", ignore_index=True)
    events["balance_after"] = events["effect"].cumsum().astype("int64")
    currency = docs["currency"].iloc[0] if len(docs) else (receipts["currency"].iloc[0] if len(receipts) else "")
    events["currency"] = currency
    return events.drop(columns="_rank")


def related_cases(book: Book, customer_id: str, document_id: str = "") -> pd.DataFrame:
    d = book.disputes[book.disputes["customer_id"] == customer_id]
    return d if not document_id else d[d["document_id"].isin([document_id, ""])]


def approval_gaps(book: Book, customer_id: str, document_id: str = "") -> pd.DataFrame:
    """Credits and adjustments without an approval: adjustments lacking approver or reference,
    credit memos naming neither a dispute case nor any reference."""
    docs = book.documents[book.documents["customer_id"] == customer_id]
    if document_id:
        docs = docs[docs["document_id"] == document_id]
    adj = book.adjustments[book.adjustments["document_id"].isin(docs["document_id"])]
    bad_adj = adj[(adj["approved_by"] == "") | (adj["approval_reference"] == "")]
    cms = docs[(docs["doc_type"] == "CM") & (docs["reference"] == "")]
    rows = [
        ("adjustment", r.adjustment_id, r.document_id, r.amount, "no approver or approval reference")
        for r in bad_adj.itertuples()
    ]
    rows += [
        ("credit memo", r.document_id, r.document_id, r.amount, "no dispute case or approval reference")
        for r in cms.itertuples()
    ]
    return pd.DataFrame(rows, columns=["kind", "reference", "document_id", "amount", "gap"]).astype({"amount": "int64"})


def summary(
    book: Book, subject: dict[str, str], events: pd.DataFrame, gaps: pd.DataFrame, fmt: money.MoneyFormat
) -> str:
    """The investigation's closing paragraph, written from the timeline and the gaps."""
    cust = book.customers.set_index("customer_id").loc[subject["customer_id"]]
    ccy = events["currency"].iloc[0] if len(events) else ""
    what = (
        f"document {md(subject['document_id'])}" if subject["document_id"] else f"customer {md(subject['customer_id'])}"
    )
    balance = int(events["balance_after"].iloc[-1]) if len(events) else 0
    cases = related_cases(book, subject["customer_id"], subject["document_id"])
    open_cases = cases[cases["closed_date"].isna()]
    text = (
        f"{what} ({md(cust['name'])}, status {md(cust['status'])}, rating {cust['risk_rating']}): {len(events)} events "
        f"from {events['date'].min().date() if len(events) else '-'} to "
        f"{events['date'].max().date() if len(events) else '-'}; "
        f"open balance now {fmt(balance, ccy) if ccy else balance} {ccy}. "
        f"{len(cases)} dispute case(s), {len(open_cases)} open"
        + (f" ({', '.join(md(c) for c in open_cases['case_id'])})" if len(open_cases) else "")
        + ". "
    )
    text += (
        "Every credit and adjustment carries an approval reference."
        if gaps.empty
        else f"{len(gaps)} credit(s) or adjustment(s) lack an approval reference: "
        + ", ".join(md(r) for r in gaps["reference"])
        + "."
    )
    return text
