"""Cross-table rules of the contract: foreign keys, signs, currencies, over-application.

Each rule is a small function over parsed frames that appends problems to a Collector.
Row numbers are spreadsheet rows of the file the problem is in (position + 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib import money
from closelib.book.arrays import all_distinct, arrow_text, combined, isin, lookup, positions, stripped_text
from closelib.book.fx import check_fx, check_schedules
from closelib.book.history import check_history
from closelib.book.parse import Collector, parse_currency


def _ok(out: Collector, file: str, frame: pd.DataFrame, *columns: str) -> np.ndarray:
    """Rows whose ``columns`` parsed without a problem (cross-table rules check only these)."""
    ok = np.ones(len(frame), dtype=bool)
    for column in columns:
        ok &= ~out.flagged(file, column, len(frame))
    return ok


def _shown(out: Collector, file: str, frame: pd.DataFrame, column: str) -> pd.Series:
    """The column's cells as written in the file (money as typed, not in minor units)."""
    return out.written(file, column, frame[column].astype(str))


def keyed(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``frame[column]`` indexed by ``frame[key]`` without copying the frame (duplicates kept:
    :func:`closelib.book.arrays.lookup` takes the first, as ``drop_duplicates`` would)."""
    return pd.Series(frame[column].array, index=pd.Index(frame[key].array, name=key), name=column)


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
        _applications(frames, files, out)
    if has("adjustments") and has("documents"):
        _adjustments(frames, files["adjustments"], out)
    if has("disputes") and has("customers"):
        _disputes(frames, files["disputes"], out)
    if has("activities") and has("customers"):
        _activities(frames, files["activities"], out)
    if has("financials") and has("customers"):
        _foreign(
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


def _foreign(
    frame: pd.DataFrame, column: str, valid: pd.Series, file: str, what: str, out: Collector, optional: bool = False
) -> None:
    values = frame[column]
    bad = ~isin(values, valid) & _ok(out, file, frame, column)
    if optional:
        bad &= values != ""
    out.rows(file, bad, column, "foreign_key", f"no {what} with this id", values)


def _customers(cust: pd.DataFrame, file: str, out: Collector) -> None:
    _foreign(cust, "parent_id", cust["customer_id"], file, "parent customer", out, optional=True)
    out.rows(
        file,
        (cust["credit_limit"] < 0) & _ok(out, file, cust, "credit_limit"),
        "credit_limit",
        "non_negative",
        "credit limit must be >= 0",
        _shown(out, file, cust, "credit_limit"),
    )


def _documents(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    docs = frames["documents"]
    _foreign(docs, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    debit = docs["doc_type"].isin(["INV", "DM"])
    ok = _ok(out, file, docs, "amount", "doc_type")
    written = _shown(out, file, docs, "amount")
    out.rows(
        file,
        ok & debit & (docs["amount"] <= 0),
        "amount",
        "sign",
        "INV and DM amounts must be > 0",
        _lazy(lambda: docs["doc_type"] + " " + written),
    )
    out.rows(
        file,
        ok & (docs["doc_type"] == "CM") & (docs["amount"] >= 0),
        "amount",
        "sign",
        "CM amounts must be < 0",
        _lazy(lambda: "CM " + written),
    )
    out.rows(
        file,
        docs["due_date"] < docs["document_date"],
        "due_date",
        "due_after_document",
        "due_date is before document_date",
        _lazy(lambda: docs["due_date"].dt.strftime("%Y-%m-%d")),
    )


def _receipts(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    rec = frames["receipts"]
    _foreign(rec, "customer_id", frames["customers"]["customer_id"], file, "customer", out, optional=True)
    out.rows(
        file,
        (rec["amount"] <= 0) & _ok(out, file, rec, "amount"),
        "amount",
        "sign",
        "receipt amounts must be > 0",
        _shown(out, file, rec, "amount"),
    )


def _entities(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    users = [n for n in ("documents", "receipts", "gl_balances", "gl_journal") if n in frames]
    if "entities" in frames:
        valid = frames["entities"]["entity"]
        for name in users:
            _foreign(frames[name], "entity", valid, files[name], "entity in entities", out)
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


def _applications(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    """Applications against receipts, CMs and targets.

    Positional: each application's source is found once in [receipts; CMs] (a receipt id
    wins, the first row of a repeated id wins) and its target once in the INV/DM, and every
    rule reads the arrays taken at those positions; no per-rule hash lookups of text.
    """
    file = files["applications"]
    app = frames["applications"]
    # Documents and receipts whose amount and currency parsed: only those are compared
    # (a bad amount or currency is reported once, in its own file, not again here).
    # Only the columns the rules read: filtering a frame copies every column (free text too).
    doc_columns = ["document_id", "doc_type", "entity", "document_date", "currency", "amount"]
    rec_columns = ["receipt_id", "entity", "receipt_date", "currency", "amount"]
    docs = frames["documents"][doc_columns].assign(
        _sound=_ok(out, files["documents"], frames["documents"], "amount", "currency", "doc_type")
    )
    rec = frames["receipts"][rec_columns].assign(
        _sound=_ok(out, files["receipts"], frames["receipts"], "amount", "currency")
    )
    docs = _first(docs, "document_id")
    rec = _first(rec, "receipt_id")
    cms = docs[(docs["doc_type"] == "CM").to_numpy()]
    targets = docs[isin(docs["doc_type"], ["INV", "DM"])]
    src_ids = combined(
        pa.concat_arrays(
            [
                combined(arrow_text(rec["receipt_id"])).cast(pa.string()),
                combined(arrow_text(cms["document_id"])).cast(pa.string()),
            ]
        )
    )
    src_idx = _positions(app["source_id"], src_ids)
    tgt_idx = _positions(app["target_id"], combined(arrow_text(targets["document_id"])))
    src_ok = src_idx >= 0
    tgt_ok = tgt_idx >= 0
    out.rows(
        file,
        ~src_ok & _ok(out, file, app, "source_id"),
        "source_id",
        "foreign_key",
        "source must be a receipt or a credit memo (CM)",
        app["source_id"],
    )
    out.rows(
        file,
        ~tgt_ok & _ok(out, file, app, "target_id"),
        "target_id",
        "foreign_key",
        "target must be an invoice (INV) or debit memo (DM)",
        app["target_id"],
    )
    amount_ok = _ok(out, file, app, "amount")

    def of_source(receipt_column: str, cm_column: str) -> np.ndarray:
        return np.concatenate([rec[receipt_column].to_numpy(), cms[cm_column].to_numpy()])

    src_sound = _take(of_source("_sound", "_sound").astype(bool), src_idx, False) & amount_ok
    tgt_sound = _take(targets["_sound"].to_numpy(dtype=bool), tgt_idx, False) & amount_ok
    out.rows(
        file,
        (app["amount"] <= 0) & _ok(out, file, app, "amount"),
        "amount",
        "sign",
        "applied amounts must be > 0",
        _shown(out, file, app, "amount"),
    )

    src_ccy = _take_text(of_source("currency", "currency"), src_idx)
    tgt_ccy = _take_text(targets["currency"].to_numpy(), tgt_idx)
    both = src_ok & tgt_ok
    ccy_differs = both & (src_ccy != tgt_ccy)
    mask = both & src_sound & tgt_sound & ccy_differs
    out.rows(
        file,
        mask,
        "target_id",
        "same_currency",
        "source and target are in different currencies",
        _lazy(
            lambda: (
                pd.Series(src_ccy, index=app.index).fillna("").astype(str)
                + " -> "
                + pd.Series(tgt_ccy, index=app.index).fillna("").astype(str)
            )
        ),
    )
    src_ent = _take_text(of_source("entity", "entity"), src_idx)
    tgt_ent = _take_text(targets["entity"].to_numpy(), tgt_idx)
    out.rows(
        file,
        both & (src_ent != tgt_ent),
        "target_id",
        "same_entity",
        "source and target belong to different entities",
        app["target_id"],
    )
    applied = app["applied_date"].to_numpy(dtype="datetime64[ns]")
    day = _lazy(lambda: app["applied_date"].dt.strftime("%Y-%m-%d"))
    src_date = _take(
        np.concatenate(
            [
                rec["receipt_date"].to_numpy(dtype="datetime64[ns]"),
                cms["document_date"].to_numpy(dtype="datetime64[ns]"),
            ]
        ),
        src_idx,
        np.datetime64("NaT"),
    )
    out.rows(
        file,
        src_ok & (applied < src_date),
        "applied_date",
        "applied_before_source",
        "applied before the receipt or credit memo is dated",
        day,
    )
    tgt_date = _take(targets["document_date"].to_numpy(dtype="datetime64[ns]"), tgt_idx, np.datetime64("NaT"))
    out.rows(
        file,
        tgt_ok & (applied < tgt_date),
        "applied_date",
        "applied_before_target",
        "applied before the target document is dated",
        day,
    )

    # Over-application: flag the row where the running total (in file order) first passes
    # the source's or target's amount.
    amounts = app["amount"].to_numpy(dtype="int64")
    src_cap = _take(
        np.concatenate([rec["amount"].to_numpy(dtype="int64"), -cms["amount"].to_numpy(dtype="int64")]), src_idx, 0
    )
    tgt_cap = _take(targets["amount"].to_numpy(dtype="int64"), tgt_idx, 0)
    comparable = tgt_ok & src_sound & tgt_sound & ~ccy_differs  # amount is in the target's currency
    _over(
        app,
        "source_id",
        src_idx,
        amounts,
        src_cap,
        src_ccy,
        src_ok & src_sound,
        file,
        "over_applied_source",
        "source applied beyond its amount",
        out,
    )
    _over(
        app,
        "target_id",
        tgt_idx,
        amounts,
        tgt_cap,
        tgt_ccy,
        comparable,
        file,
        "over_applied_target",
        "target applied beyond its amount",
        out,
    )
    adjustments = frames.get("adjustments")
    if adjustments is not None:
        _over_cleared(
            targets, tgt_idx[comparable], amounts[comparable], app["applied_date"][comparable], adjustments, file, out
        )


def _over_cleared(
    targets: pd.DataFrame,
    app_rows: np.ndarray,
    app_amounts: np.ndarray,
    app_dates: pd.Series,
    adjustments: pd.DataFrame,
    file: str,
    out: Collector,
) -> None:
    """An invoice or debit memo whose open amount (amount - applications + adjustments) is
    below zero at the end of any day: as of that day it would be cleared beyond its amount.
    Checked on every date, not only on the last: a write-off beyond the open amount later
    made good by a recovery still leaves the document negative in between."""
    adj_idx = _positions(adjustments["document_id"], combined(arrow_text(targets["document_id"])))
    hit = (adj_idx >= 0) & adjustments["adjustment_date"].notna().to_numpy()
    events = pd.DataFrame(
        {
            "row": np.concatenate([app_rows, adj_idx[hit]]),
            "date": np.concatenate(
                [
                    app_dates.to_numpy(dtype="datetime64[ns]"),
                    adjustments["adjustment_date"].to_numpy(dtype="datetime64[ns]")[hit],
                ]
            ),
            "delta": np.concatenate(
                [-app_amounts, adjustments["amount"].fillna(0).to_numpy(dtype="int64")[hit]]
            ).astype("int64"),
        }
    )
    events = events[events["date"].notna()]
    if events.empty:
        return
    amount = targets["amount"].to_numpy(dtype="int64")
    sound = targets["_sound"].to_numpy(dtype=bool)
    # Without an event that raises it (a recovery, a positive adjustment) a document's open amount
    # only falls, so it goes below zero on some day only if it ends below zero: one sum each.
    # Only the documents that rise, or end below zero, are followed day by day.
    rows = events["row"].to_numpy()
    follow = np.zeros(len(targets), dtype=bool)
    follow[rows[events["delta"].to_numpy() > 0]] = True
    final = amount + _int_bincount(rows, events["delta"].to_numpy(), len(targets))
    follow |= final < 0
    daily = events[follow[rows]].groupby(["row", "date"], sort=True)["delta"].sum().reset_index()
    daily["open"] = amount[daily["row"].to_numpy()] + daily.groupby("row")["delta"].cumsum().to_numpy()
    negative = daily[(daily["open"] < 0) & sound[daily["row"].to_numpy()]]
    first = negative.groupby("row", sort=False).head(1)  # the first day each document goes below zero
    ids = targets["document_id"].to_numpy(dtype=object)
    currency = targets["currency"].to_numpy(dtype=object)
    for row in sorted(first.to_dict("records"), key=lambda r: ids[r["row"]]):
        i = int(row["row"])
        out.add(
            file,
            None,
            "target_id",
            "over_cleared",
            f"applications and adjustments clear document {ids[i]} beyond its amount "
            f"(open would be {_format(int(row['open']), currency[i])} on {pd.Timestamp(row['date']).date()})",
            ids[i],
        )


def _positions(keys: pd.Series, table) -> np.ndarray:
    """Position of each key's first occurrence in ``table`` (an Arrow string array); -1 if absent."""
    return positions(arrow_text(keys), table)


def _take(values: np.ndarray, index: np.ndarray, missing) -> np.ndarray:
    """``values[index]``, ``missing`` where index is -1."""
    if len(values) == 0:
        return np.full(len(index), missing, dtype=values.dtype)
    taken = values[np.maximum(index, 0)]
    return np.where(index >= 0, taken, np.asarray(missing, dtype=values.dtype))


def _take_text(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Text at ``index`` as an object array (None where index is -1)."""
    values = np.asarray(values, dtype=object)
    if len(values) == 0:
        return np.full(len(index), None, dtype=object)
    taken = values[np.maximum(index, 0)]
    taken[index < 0] = None
    return taken


class _lazy:
    """Values for problem messages, computed only if some row breaks the rule."""

    def __init__(self, make: Callable[[], pd.Series]) -> None:
        self.make = make
        self.value: pd.Series | None = None

    def __call__(self) -> pd.Series:
        if self.value is None:
            self.value = self.make()
        return self.value


def _sum_by(ids: pd.Series, keys: pd.Series, amounts: np.ndarray) -> np.ndarray:
    """Per id (in ``ids`` order): the sum of ``amounts`` whose key is that id (int64)."""
    where = pc.index_in(arrow_text(keys), value_set=combined(arrow_text(ids)))
    where = np.asarray(pc.fill_null(where, -1), dtype="int64")
    hit = where >= 0
    return _int_bincount(where[hit], np.asarray(amounts)[hit], len(ids))


def _int_bincount(index: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    total = np.zeros(length, dtype="int64")
    np.add.at(total, index, values.astype("int64"))
    return total


def _first(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``frame.drop_duplicates(key)``, without the copy when the key is already unique."""
    if frame[key].dtype == "str" and _unique(frame[key]):
        return frame
    dup = frame[key].duplicated()
    return frame[~dup] if dup.any() else frame


def _unique(values: pd.Series) -> bool:
    """No value repeats (one Arrow hash pass)."""
    array = combined(arrow_text(values))
    return all_distinct(array)


def _format(minor: int, currency: str) -> str:
    return money.format_minor(minor, currency if money.is_currency(str(currency)) else "KWD")


def _over(
    app: pd.DataFrame,
    column: str,
    group: np.ndarray,
    amounts: np.ndarray,
    cap: np.ndarray,
    currency: np.ndarray,
    valid: np.ndarray,
    file: str,
    rule: str,
    message: str,
    out: Collector,
) -> None:
    """Running total per source (or target) in file order; flags the first row past the cap.

    ``group`` is the source's (target's) position, the same for every row naming it; rows
    not found are never ``valid`` and are left out."""
    if not valid.any():
        return
    rows = np.flatnonzero(valid)
    running = pd.Series(amounts[rows]).groupby(group[rows]).cumsum().to_numpy()
    over = running > cap[rows]
    if not over.any():
        return
    first = over & (pd.Series(over.astype("int64")).groupby(group[rows]).cumsum().to_numpy() == 1)
    first_over = np.zeros(len(app), dtype=bool)
    first_over[rows[first]] = True
    ccy = parse_currency(pd.Series(currency[first_over], dtype=object), pd.RangeIndex(int(first_over.sum())))
    text = pd.Series("", index=app.index, dtype=object)
    text[first_over] = (
        message
        + ": applied so far "
        + money.format_minor_array(running[first], ccy).to_numpy()
        + ", amount "
        + money.format_minor_array(cap[first_over].astype("int64"), ccy).to_numpy()
    )
    out.rows(file, first_over, "amount", rule, text, app[column])


def _adjustments(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    adj = frames["adjustments"]
    _foreign(adj, "document_id", frames["documents"]["document_id"], file, "document", out)
    ok = _ok(out, file, adj, "amount")
    written = _shown(out, file, adj, "amount")
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
    _foreign(dis, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        _foreign(dis, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
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
        _lazy(lambda: dis["closed_date"].dt.strftime("%Y-%m-%d")),
    )
    out.rows(
        file,
        dis["closed_date"] < dis["opened_date"],
        "closed_date",
        "closed_before_opened",
        "closed before it was opened",
        _lazy(lambda: dis["closed_date"].dt.strftime("%Y-%m-%d")),
    )


def _activities(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    act = frames["activities"]
    _foreign(act, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        _foreign(act, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
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
            (gl[column] < 0) & _ok(out, file, gl, column),
            column,
            "non_negative",
            f"{column} must be >= 0",
            _shown(out, file, gl, column),
        )


def _gl_journal(jr: pd.DataFrame, file: str, out: Collector) -> None:
    for column in ("debit", "credit"):
        out.rows(
            file,
            (jr[column] < 0) & _ok(out, file, jr, column),
            column,
            "non_negative",
            f"{column} must be >= 0",
            _shown(out, file, jr, column),
        )
    net = (jr["debit"] - jr["credit"]).groupby([jr["entity"], jr["journal_id"]]).sum()
    for key, value in net[net != 0].items():
        entity, journal = cast(tuple[str, str], key)  # the (entity, journal_id) group key
        out.add(
            file,
            None,
            "journal_id",
            "journal_balances",
            f"journal {journal} of entity {entity} does not balance (debits - credits = {value} minor units)",
            journal,
        )
