"""Cross-table rules of the contract: foreign keys, signs, currencies, over-application.

Each rule is a small function over parsed frames that appends problems to a Collector.
Row numbers are spreadsheet rows of the file the problem is in (position + 2).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.applied import check_applications
from closelib.book.arrays import arrow_text, lookup, stripped_text
from closelib.book.fx import check_fx, check_schedules
from closelib.book.history import check_history
from closelib.book.parse import Collector
from closelib.book.rulekit import Lazy, foreign, keyed, ok_rows, shown


def resolve_currencies(table: str, raw: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Per-row currency for money columns whose currency lives in another table."""

    def find(ids: pd.Series, mapping: pd.Series) -> pd.Series:
        return lookup(stripped_text(ids), mapping)

    if table not in ("applications", "adjustments", "payment_schedules", "activities", "gl_journal"):
        return {}
    doc_ccy = (
        keyed(frames["documents"], "document_id", "currency") if "documents" in frames else pd.Series(dtype=object)
    )
    if table == "applications":
        rc = keyed(frames["receipts"], "receipt_id", "currency") if "receipts" in frames else pd.Series(dtype=object)
        both = pd.concat([rc, doc_ccy])  # a receipt id wins over a document id (first wins)
        return {"amount": find(raw["source_id"], both)}
    if table in ("adjustments", "payment_schedules"):
        return {"amount": find(raw["document_id"], doc_ccy)}
    if table == "activities":
        cust = (
            keyed(frames["customers"], "customer_id", "credit_currency")
            if "customers" in frames
            else pd.Series(dtype=object)
        )
        by_doc = find(raw["document_id"], doc_ccy)
        by_customer = find(raw["customer_id"], cust)
        return {"promised_amount": by_doc.astype(object).where(by_doc.notna(), by_customer.astype(object))}
    if table == "gl_journal":
        ccy = entity_currencies(frames)
        column = find(raw["entity"], ccy)
        return {"debit": column, "credit": column}
    return {}


def entity_currencies(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """entity -> functional currency: the entities table, else the GL's, else the documents'."""
    if "entities" in frames:
        ent = frames["entities"]
        return ent.drop_duplicates("entity").set_index("entity")["functional_currency"]
    parts = []
    for name in ("gl_balances", "documents", "receipts"):
        if name in frames:
            parts.append(frames[name][["entity", "currency"]])
    if not parts:
        return pd.Series(dtype=object)
    pairs = pd.concat(parts).drop_duplicates()
    # pandas-stubs: an agg UDF may not return None; pandas accepts it and dropna drops it below
    single = pairs.groupby("entity")["currency"].agg(lambda s: s.iloc[0] if len(s) == 1 else None)  # type: ignore[type-var]
    return single.dropna()


def check_all(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    """Every cross-table rule whose tables parsed; skipped rules would only echo earlier problems."""
    has = frames.__contains__
    if has("customers"):
        _customers(frames["customers"], files["customers"], out)
    if has("documents") and has("customers"):
        _documents(frames, files["documents"], out)
    if has("receipts") and has("customers"):
        _receipts(frames, files["receipts"], out)
    _entities(frames, files, out)
    if has("applications") and has("documents") and has("receipts"):
        check_applications(frames, files, out)
    if has("adjustments") and has("documents"):
        _adjustments(frames, files["adjustments"], out)
    if has("disputes") and has("customers"):
        _disputes(frames, files["disputes"], out)
    if has("activities") and has("customers"):
        _activities(frames, files["activities"], out)
    if has("financials") and has("customers"):
        foreign(
            frames["financials"],
            "customer_id",
            frames["customers"]["customer_id"],
            files["financials"],
            "customer",
            out,
        )
    if has("documents") or has("receipts"):
        check_fx(frames, files, entity_currencies(frames), out)
    check_schedules(frames, files, out)
    if has("gl_balances"):
        _gl_balances(frames["gl_balances"], files["gl_balances"], out)
    if has("gl_journal"):
        _gl_journal(frames["gl_journal"], files["gl_journal"], out)
    if has("customer_history") and has("customers"):
        check_history(frames, files["customer_history"], out)


def _customers(cust: pd.DataFrame, file: str, out: Collector) -> None:
    foreign(cust, "parent_id", cust["customer_id"], file, "parent customer", out, optional=True)
    out.rows(
        file,
        (cust["credit_limit"] < 0) & ok_rows(out, file, cust, "credit_limit"),
        "credit_limit",
        "non_negative",
        "credit limit must be >= 0",
        shown(out, file, cust, "credit_limit"),
    )


def _documents(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    docs = frames["documents"]
    foreign(docs, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    debit = docs["doc_type"].isin(["INV", "DM"])
    ok = ok_rows(out, file, docs, "amount", "doc_type")
    written = shown(out, file, docs, "amount")
    out.rows(
        file,
        ok & debit & (docs["amount"] <= 0),
        "amount",
        "sign",
        "INV and DM amounts must be > 0",
        Lazy(lambda: docs["doc_type"] + " " + written),
    )
    out.rows(
        file,
        ok & (docs["doc_type"] == "CM") & (docs["amount"] >= 0),
        "amount",
        "sign",
        "CM amounts must be < 0",
        Lazy(lambda: "CM " + written),
    )
    out.rows(
        file,
        docs["due_date"] < docs["document_date"],
        "due_date",
        "due_after_document",
        "due_date is before document_date",
        Lazy(lambda: docs["due_date"].dt.strftime("%Y-%m-%d")),
    )


def _receipts(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    rec = frames["receipts"]
    foreign(rec, "customer_id", frames["customers"]["customer_id"], file, "customer", out, optional=True)
    out.rows(
        file,
        (rec["amount"] <= 0) & ok_rows(out, file, rec, "amount"),
        "amount",
        "sign",
        "receipt amounts must be > 0",
        shown(out, file, rec, "amount"),
    )


def _entities(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    users = [n for n in ("documents", "receipts", "gl_balances", "gl_journal") if n in frames]
    if "entities" in frames:
        valid = frames["entities"]["entity"]
        for name in users:
            foreign(frames[name], "entity", valid, files[name], "entity in entities", out)
        return
    # Without an entities table each entity uses the one currency of its documents; its
    # receipts and GL balances must then be in that currency too.
    parts = [
        frames[n][["entity", "currency"]].assign(_file=files[n])
        for n in ("documents", "receipts", "gl_balances")
        if n in frames
    ]
    if not parts:
        return
    pairs = pd.concat(parts, ignore_index=True)
    pairs = pairs[(pairs["entity"] != "") & pairs["currency"].isin(list(money.MINOR_UNITS))]
    counts = pairs.groupby("entity")["currency"].nunique()
    for entity in counts[counts > 1].index:
        mine = pairs[pairs["entity"] == entity].drop_duplicates(["currency", "_file"])
        where = "; ".join(f"{ccy} in {', '.join(sorted(group['_file']))}" for ccy, group in mine.groupby("currency"))
        file = files["documents"] if "documents" in frames else mine["_file"].iloc[0]
        out.add(
            file,
            None,
            "currency",
            "entity_currency",
            f"entity {entity!r} uses {counts[entity]} currencies ({where}); add an entities table "
            "naming its functional currency (and fx_rates)",
            entity,
        )


def _adjustments(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    adj = frames["adjustments"]
    foreign(adj, "document_id", frames["documents"]["document_id"], file, "document", out)
    ok = ok_rows(out, file, adj, "amount")
    written = shown(out, file, adj, "amount")
    out.rows(file, ok & (adj["amount"] == 0), "amount", "non_zero", "adjustment amount must not be zero", written)
    out.rows(
        file,
        ok & (adj["type"] == "write_off") & (adj["amount"] > 0),
        "amount",
        "sign",
        "a write_off lowers the open amount: amount must be negative",
        written,
    )
    out.rows(
        file,
        ok & (adj["type"] == "recovery") & (adj["amount"] < 0),
        "amount",
        "sign",
        "a recovery reinstates the open amount: amount must be positive",
        written,
    )


def _disputes(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    dis = frames["disputes"]
    foreign(dis, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        foreign(dis, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
    closed = dis["status"].isin(["resolved", "rejected"])
    out.rows(
        file,
        closed & dis["closed_date"].isna(),
        "closed_date",
        "closed_date_required",
        "resolved and rejected cases need a closed_date",
        dis["status"],
    )
    out.rows(
        file,
        (dis["status"] == "open") & dis["closed_date"].notna(),
        "closed_date",
        "open_has_closed_date",
        "an open case must not have a closed_date",
        Lazy(lambda: dis["closed_date"].dt.strftime("%Y-%m-%d")),
    )
    out.rows(
        file,
        dis["closed_date"] < dis["opened_date"],
        "closed_date",
        "closed_before_opened",
        "closed before it was opened",
        Lazy(lambda: dis["closed_date"].dt.strftime("%Y-%m-%d")),
    )


def _activities(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    act = frames["activities"]
    foreign(act, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        foreign(act, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
    promise = act["type"] == "promise_to_pay"
    out.rows(
        file,
        promise & act["promised_date"].isna(),
        "promised_date",
        "promise_needs_date",
        "a promise_to_pay needs a promised_date",
    )


def _gl_balances(gl: pd.DataFrame, file: str, out: Collector) -> None:
    for column in ("debit", "credit"):
        out.rows(
            file,
            (gl[column] < 0) & ok_rows(out, file, gl, column),
            column,
            "non_negative",
            f"{column} must be >= 0",
            shown(out, file, gl, column),
        )


def _gl_journal(jr: pd.DataFrame, file: str, out: Collector) -> None:
    for column in ("debit", "credit"):
        out.rows(
            file,
            (jr[column] < 0) & ok_rows(out, file, jr, column),
            column,
            "non_negative",
            f"{column} must be >= 0",
            shown(out, file, jr, column),
        )
    # Net per (entity, journal) by Arrow's hash aggregation; the few that do not balance are
    # listed in key order (Python's order of str is UTF-8 byte order, as a sort of the keys).
    lines = pa.table(
        {
            "entity": arrow_text(jr["entity"]),
            "journal_id": arrow_text(jr["journal_id"]),
            "net": (jr["debit"].to_numpy(dtype="int64") - jr["credit"].to_numpy(dtype="int64")),
        }
    )
    net = lines.group_by(["entity", "journal_id"], use_threads=False).aggregate([("net", "sum")])
    unbalanced = net.filter(pc.not_equal(net["net_sum"], 0)).to_pylist()
    for group in sorted(unbalanced, key=lambda g: (g["entity"], g["journal_id"])):
        entity, journal, value = group["entity"], group["journal_id"], group["net_sum"]
        out.add(
            file,
            None,
            "journal_id",
            "journal_balances",
            f"journal {journal} of entity {entity} does not balance (debits - credits = {value} minor units)",
            journal,
        )
