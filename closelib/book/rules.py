"""Cross-table rules of the contract: foreign keys, signs, currencies, over-application.

Each rule is a small function over parsed frames that appends problems to a Collector.
Row numbers are spreadsheet rows of the file the problem is in (position + 2).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.applied import check_applications
from closelib.book.arrays import arrow_text, lookup, stripped_text, taken
from closelib.book.fx import check_fx, check_schedules
from closelib.book.history import check_history
from closelib.book.idlinks import IdLinks
from closelib.book.parse import Collector
from closelib.book.rulekit import Lazy, foreign, keyed, ok_rows, shown
from closelib.book.taskrun import Task

# The tables whose parsed frames resolve_currencies reads for each table's money columns.
CURRENCY_SOURCES: dict[str, tuple[str, ...]] = {
    "applications": ("documents", "receipts"),
    "adjustments": ("documents",),
    "payment_schedules": ("documents",),
    "activities": ("documents", "customers"),
    "gl_journal": ("entities", "gl_balances", "documents", "receipts"),  # entity_currencies
}


def resolve_currencies(
    table: str, raw: pd.DataFrame, frames: dict[str, pd.DataFrame], links: IdLinks | None = None
) -> dict[str, pd.Series]:
    """Per-row currency for money columns whose currency lives in another table. ``links``:
    the load's shared id lookups (the rules reuse the positions found here)."""

    def find(column: str, target: str, mapping: pd.Series) -> pd.Series:
        ids = stripped_text(raw[column])
        if links is None or target not in frames:  # no target table: pandas' empty map, as before
            return lookup(ids, mapping)
        return taken(mapping, links.rows(table, column, ids, target), ids)

    if table not in ("applications", "adjustments", "payment_schedules", "activities", "gl_journal"):
        return {}
    doc_ccy = (
        keyed(frames["documents"], "document_id", "currency") if "documents" in frames else pd.Series(dtype=object)
    )
    if table == "applications":
        rc = keyed(frames["receipts"], "receipt_id", "currency") if "receipts" in frames else pd.Series(dtype=object)
        both = pd.concat([rc, doc_ccy])  # a receipt id wins over a document id (first wins)
        if links is None or "receipts" not in frames or "documents" not in frames:
            return {"amount": lookup(stripped_text(raw["source_id"]), both)}
        ids = stripped_text(raw["source_id"])
        # The rules will want the targets among the documents too: one lookup for both.
        links.find_together(table, {"source_id": ids, "target_id": stripped_text(raw["target_id"])}, "documents")
        in_receipts = links.rows(table, "source_id", ids, "receipts")
        in_documents = links.rows(table, "source_id", ids, "documents")
        found = np.where(in_receipts >= 0, in_receipts, np.where(in_documents >= 0, len(rc) + in_documents, -1))
        return {"amount": taken(both, found, ids)}
    if table in ("adjustments", "payment_schedules"):
        return {"amount": find("document_id", "documents", doc_ccy)}
    if table == "activities":
        cust = (
            keyed(frames["customers"], "customer_id", "credit_currency")
            if "customers" in frames
            else pd.Series(dtype=object)
        )
        by_doc = find("document_id", "documents", doc_ccy)
        by_customer = find("customer_id", "customers", cust)
        return {"promised_amount": by_doc.astype(object).where(by_doc.notna(), by_customer.astype(object))}
    if table == "gl_journal":
        ccy = entity_currencies(frames)
        column = lookup(stripped_text(raw["entity"]), ccy)
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
    """Every cross-table rule whose tables parsed, one after another (see :func:`rule_tasks`)."""
    for task in rule_tasks(frames, files):
        task.run(out)


def rule_tasks(frames: dict[str, pd.DataFrame], files: dict[str, str], links: IdLinks | None = None) -> list[Task]:
    """The cross-table rules whose tables parsed, in reporting order; skipped rules would only
    echo earlier problems. ``after`` names the earlier rules whose flagged cells a rule reads
    (it skips cells already reported): applications and FX compare only documents and
    receipts whose amount, currency, type and entity passed their own rules."""
    has = frames.__contains__
    tasks: list[Task] = []

    def rule(name: str, run: Callable[[Collector], None], after: tuple[str, ...] = ()) -> None:
        known = {task.name for task in tasks}
        tasks.append(Task(f"rule:{name}", run, tuple(f"rule:{a}" for a in after if f"rule:{a}" in known)))

    if has("customers"):
        rule("customers", lambda out: _customers(frames["customers"], files["customers"], out))
    if has("documents") and has("customers"):
        rule("documents", lambda out: _documents(frames, files["documents"], out))
    if has("receipts") and has("customers"):
        rule("receipts", lambda out: _receipts(frames, files["receipts"], out))
    rule("entities", lambda out: _entities(frames, files, out))
    if has("applications") and has("documents") and has("receipts"):
        rule(
            "applications",
            lambda out: check_applications(frames, files, out, links),
            ("documents", "receipts", "entities"),
        )
    if has("adjustments") and has("documents"):
        rule("adjustments", lambda out: _adjustments(frames, files["adjustments"], out, links))
    if has("disputes") and has("customers"):
        rule("disputes", lambda out: _disputes(frames, files["disputes"], out))
    if has("activities") and has("customers"):
        rule("activities", lambda out: _activities(frames, files["activities"], out, links))
    if has("financials") and has("customers"):
        rule(
            "financials",
            lambda out: foreign(
                frames["financials"],
                "customer_id",
                frames["customers"]["customer_id"],
                files["financials"],
                "customer",
                out,
            ),
        )
    if has("documents") or has("receipts"):
        rule(
            "fx",
            lambda out: check_fx(frames, files, entity_currencies(frames), out),
            ("documents", "receipts", "entities"),
        )
    rule("schedules", lambda out: check_schedules(frames, files, out))
    if has("gl_balances"):
        rule("gl_balances", lambda out: _gl_balances(frames["gl_balances"], files["gl_balances"], out), ("entities",))
    if has("gl_journal"):
        rule("gl_journal", lambda out: _gl_journal(frames["gl_journal"], files["gl_journal"], out), ("entities",))
    if has("customer_history") and has("customers"):
        rule("customer_history", lambda out: check_history(frames, files["customer_history"], out), ("customers",))
    return tasks


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


def _adjustments(frames: dict[str, pd.DataFrame], file: str, out: Collector, links: IdLinks | None = None) -> None:
    adj = frames["adjustments"]
    found = (
        None if links is None else (lambda: links.rows("adjustments", "document_id", adj["document_id"], "documents"))
    )
    foreign(adj, "document_id", frames["documents"]["document_id"], file, "document", out, found=found)
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


def _activities(frames: dict[str, pd.DataFrame], file: str, out: Collector, links: IdLinks | None = None) -> None:
    act = frames["activities"]

    def found(column: str, target: str) -> Callable[[], np.ndarray] | None:
        return None if links is None else (lambda: links.rows("activities", column, act[column], target))

    customers, documents = frames["customers"]["customer_id"], frames.get("documents")
    foreign(act, "customer_id", customers, file, "customer", out, found=found("customer_id", "customers"))
    if documents is not None:
        where = found("document_id", "documents")
        foreign(act, "document_id", documents["document_id"], file, "document", out, optional=True, found=where)
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
