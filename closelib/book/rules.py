"""Cross-table rules of the contract: foreign keys, signs, currencies, over-application.

Each rule is a small function over parsed frames that appends problems to a Collector.
Row numbers are spreadsheet rows of the file the problem is in (position + 2).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.applied import check_applications
from closelib.book.arrays import arrow_text, combined
from closelib.book.currencies import entity_currencies
from closelib.book.fx import check_fx, check_schedules
from closelib.book.history import check_history
from closelib.book.idlinks import IdLinks
from closelib.book.parse import Collector
from closelib.book.rulekit import Lazy, foreign, ok_rows, run_starts, shown
from closelib.book.taskrun import Task


def check_all(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    """Every cross-table rule whose tables parsed, one after another (see :func:`rule_tasks`)."""
    for task in rule_tasks(frames, files):
        task.run(out)


# Each rule: the tables it needs (skipped unless all parsed: it would only echo their
# problems), the tables it may read besides, and the earlier rules whose flagged cells it reads
# (it leaves cells already reported alone): applications compare only documents and receipts
# whose amount, currency and type passed their rules; FX also only those whose entity did.
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "customers": (("customers",), (), ()),
    "documents": (("documents", "customers"), (), ()),
    "receipts": (("receipts", "customers"), (), ()),
    "entities": ((), ("entities", "documents", "receipts", "gl_balances", "gl_journal"), ()),
    "applications": (("applications", "documents", "receipts"), ("adjustments",), ("documents", "receipts")),
    "adjustments": (("adjustments", "documents"), (), ()),
    "disputes": (("disputes", "customers"), ("documents",), ()),
    "activities": (("activities", "customers"), ("documents",), ()),
    "financials": (("financials", "customers"), (), ()),
    "fx": ((), ("documents", "receipts", "fx_rates", "entities", "gl_balances"), ("documents", "receipts", "entities")),
    "schedules": ((), ("payment_schedules", "documents"), ()),
    "gl_balances": (("gl_balances",), (), ()),
    "gl_journal": (("gl_journal",), (), ()),
    "customer_history": (("customer_history", "customers"), (), ()),
}


def rule_tasks(
    frames: dict[str, pd.DataFrame],
    files: dict[str, str],
    links: IdLinks | None = None,
    parse_tasks: Collection[str] = (),
) -> list[Task]:
    """Every cross-table rule as a task, in reporting order. A rule whose tables did not all
    parse does nothing (decided when it runs). ``parse_tasks``: names of the parse tasks
    (``parse:<table>``) run with the rules, which a rule then runs after (load.py runs the
    rules beside the parse); empty when the frames are parsed already."""
    run: dict[str, Callable[[Collector], None]] = {
        "customers": lambda out: _customers(frames["customers"], files["customers"], out),
        "documents": lambda out: _documents(frames, files["documents"], out),
        "receipts": lambda out: _receipts(frames, files["receipts"], out),
        "entities": lambda out: _entities(frames, files, out),
        "applications": lambda out: check_applications(frames, files, out, links),
        "adjustments": lambda out: _adjustments(frames, files["adjustments"], out, links),
        "disputes": lambda out: _disputes(frames, files["disputes"], out),
        "activities": lambda out: _activities(frames, files["activities"], out, links),
        "financials": lambda out: foreign(
            frames["financials"],
            "customer_id",
            frames["customers"]["customer_id"],
            files["financials"],
            "customer",
            out,
        ),
        "fx": lambda out: _fx(frames, files, out),
        "schedules": lambda out: check_schedules(frames, files, out),
        "gl_balances": lambda out: _gl_balances(frames["gl_balances"], files["gl_balances"], out),
        "gl_journal": lambda out: _gl_journal(frames["gl_journal"], files["gl_journal"], out),
        "customer_history": lambda out: check_history(frames, files["customer_history"], out),
    }
    tasks = []
    for name, (needs, reads, after) in RULES.items():
        parsed = tuple(f"parse:{table}" for table in (*needs, *reads) if f"parse:{table}" in parse_tasks)
        guarded = _when_parsed(frames, needs, run[name])
        tasks.append(Task(f"rule:{name}", guarded, (*(f"rule:{a}" for a in after), *parsed)))
    return tasks


def _when_parsed(
    frames: dict[str, pd.DataFrame], needs: tuple[str, ...], run: Callable[[Collector], None]
) -> Callable[[Collector], None]:
    def guarded(out: Collector) -> None:
        if all(table in frames for table in needs):
            run(out)

    return guarded


def _fx(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    # The FX rules need documents or receipts, either one: not a "needs all" of RULES.
    if "documents" in frames or "receipts" in frames:
        check_fx(frames, files, entity_currencies(frames), out)


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
        Lazy(lambda: docs["doc_type"] + " " + written()),
    )
    out.rows(
        file,
        ok & (docs["doc_type"] == "CM") & (docs["amount"] >= 0),
        "amount",
        "sign",
        "CM amounts must be < 0",
        Lazy(lambda: "CM " + written()),
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
    # A journal's lines come together in a file: each run of lines of one key is summed first
    # and only the runs are hashed (the demo book's 2.9M lines are 12k runs). A key met in
    # several runs is summed across them by the aggregation, as its lines would be. Lines in
    # no order (runs of a line or two) are hashed as they are.
    entity, journal = combined(arrow_text(jr["entity"])), combined(arrow_text(jr["journal_id"]))
    starts = run_starts(entity, journal)
    line_net = jr["debit"].to_numpy(dtype="int64") - jr["credit"].to_numpy(dtype="int64")
    if 2 * len(starts) > len(jr):
        runs = pa.table({"entity": entity, "journal_id": journal, "net": line_net})
    else:
        at = pa.array(starts)
        runs = pa.table(
            {"entity": entity.take(at), "journal_id": journal.take(at), "net": np.add.reduceat(line_net, starts)}
        )
    net = runs.group_by(["entity", "journal_id"], use_threads=False).aggregate([("net", "sum")])
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
