"""The rules of applications: each against its source (a receipt or credit memo) and its
target (an invoice or debit memo), and over-application of either, or of a target once its
adjustments are counted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib import money
from closelib.book.arrays import arrow_text, combined, isin
from closelib.book.idlinks import IdLinks
from closelib.book.parse import Collector, parse_currency
from closelib.book.rulekit import (
    Lazy,
    first_in_group,
    first_of,
    format_amount,
    int_bincount,
    key_positions,
    ok_rows,
    running_totals,
    shared_codes,
    shown,
    take,
    text_at,
)


def check_applications(
    frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector, links: IdLinks | None = None
) -> None:
    """Applications against receipts, CMs and targets.

    Positional: each application's source is found once in [receipts; CMs] (a receipt id
    wins, the first row of a repeated id wins) and its target once in the INV/DM, and every
    rule reads the arrays taken at those positions; no per-rule hash lookups of text.
    ``links``: the load's shared lookups (the source's currency was found with them).
    """
    file = files["applications"]
    app = frames["applications"]
    # Documents and receipts whose amount and currency parsed: only those are compared
    # (a bad amount or currency is reported once, in its own file, not again here).
    # Only the columns the rules read: filtering a frame copies every column (free text too).
    doc_columns = ["document_id", "doc_type", "entity", "document_date", "currency", "amount"]
    rec_columns = ["receipt_id", "entity", "receipt_date", "currency", "amount"]
    docs = frames["documents"][doc_columns].assign(
        _sound=ok_rows(out, files["documents"], frames["documents"], "amount", "currency", "doc_type")
    )
    rec = frames["receipts"][rec_columns].assign(
        _sound=ok_rows(out, files["receipts"], frames["receipts"], "amount", "currency")
    )
    all_docs, all_rec = docs, rec
    docs = first_of(docs, "document_id", (files["documents"], "document_id") in out.distinct)
    rec = first_of(rec, "receipt_id", (files["receipts"], "receipt_id") in out.distinct)
    # The documents are not filtered into CMs and targets (that copies every column, the ids'
    # text too): every value is taken at a position in ``base``, the documents the positions
    # count in (all of them with the shared lookups, the ones first_of keeps without).
    adj_doc = None  # each adjustment's target (its position in base), when the shared lookups give it
    if links is not None and app["source_id"].dtype == "str" and app["target_id"].dtype == "str":
        base = all_docs
        kept = _kept(base["document_id"], len(docs) < len(all_docs))
        is_cm = (base["doc_type"] == "CM").to_numpy() & kept
        is_target = isin(base["doc_type"], ["INV", "DM"]) & kept
        src_idx, tgt_doc, adj_doc = _linked(
            app, base, all_rec, is_cm, is_target, len(rec) < len(all_rec), frames.get("adjustments"), links
        )
    else:
        base = docs
        is_cm = (base["doc_type"] == "CM").to_numpy()
        is_target = isin(base["doc_type"], ["INV", "DM"])
        ids = combined(arrow_text(base["document_id"]))
        src_ids = combined(
            pa.concat_arrays(
                [
                    combined(arrow_text(rec["receipt_id"])).cast(pa.string()),
                    ids.take(pa.array(np.flatnonzero(is_cm))).cast(pa.string()),
                ]
            )
        )
        src_idx = key_positions(app["source_id"], src_ids)
        target_rows = np.flatnonzero(is_target)
        tgt_doc = take(target_rows, key_positions(app["target_id"], ids.take(pa.array(target_rows))), -1)
    cm_rows = np.flatnonzero(is_cm)
    src_ok = src_idx >= 0
    tgt_ok = tgt_doc >= 0
    out.rows(
        file,
        ~src_ok & ok_rows(out, file, app, "source_id"),
        "source_id",
        "foreign_key",
        "source must be a receipt or a credit memo (CM)",
        app["source_id"],
    )
    out.rows(
        file,
        ~tgt_ok & ok_rows(out, file, app, "target_id"),
        "target_id",
        "foreign_key",
        "target must be an invoice (INV) or debit memo (DM)",
        app["target_id"],
    )
    amount_ok = ok_rows(out, file, app, "amount")

    def of_source(receipt_column: str, cm_column: str, dtype: str) -> np.ndarray:
        """A column of [receipts; CMs]."""
        cm_values = base[cm_column].to_numpy(dtype=dtype)[cm_rows]
        return np.concatenate([rec[receipt_column].to_numpy(dtype=dtype), cm_values])

    def of_target(column: str, dtype: str, missing) -> np.ndarray:
        return take(base[column].to_numpy(dtype=dtype), tgt_doc, missing)

    src_sound = take(of_source("_sound", "_sound", "bool"), src_idx, False) & amount_ok
    tgt_sound = of_target("_sound", "bool", False) & amount_ok
    out.rows(
        file,
        (app["amount"] <= 0) & ok_rows(out, file, app, "amount"),
        "amount",
        "sign",
        "applied amounts must be > 0",
        shown(out, file, app, "amount"),
    )

    # Currencies and entities as codes of one vocabulary each (equal code, equal text): a
    # million texts as Python objects would cost more than every comparison made with them.
    (rec_ccy, doc_ccy), currencies = shared_codes(rec["currency"], base["currency"])
    src_ccy = take(np.concatenate([rec_ccy, doc_ccy[cm_rows]]), src_idx, -1)
    tgt_ccy = take(doc_ccy, tgt_doc, -1)
    both = src_ok & tgt_ok
    ccy_differs = both & (src_ccy != tgt_ccy)
    mask = both & src_sound & tgt_sound & ccy_differs
    out.rows(
        file,
        mask,
        "target_id",
        "same_currency",
        "source and target are in different currencies",
        Lazy(
            lambda: (
                pd.Series(text_at(src_ccy, currencies), index=app.index).fillna("").astype(str)
                + " -> "
                + pd.Series(text_at(tgt_ccy, currencies), index=app.index).fillna("").astype(str)
            )
        ),
    )
    (rec_ent, doc_ent), _ = shared_codes(rec["entity"], base["entity"])
    src_ent = take(np.concatenate([rec_ent, doc_ent[cm_rows]]), src_idx, -1)
    tgt_ent = take(doc_ent, tgt_doc, -1)
    out.rows(
        file,
        both & (src_ent != tgt_ent),
        "target_id",
        "same_entity",
        "source and target belong to different entities",
        app["target_id"],
    )
    applied = app["applied_date"].to_numpy(dtype="datetime64[ns]")
    day = Lazy(lambda: app["applied_date"].dt.strftime("%Y-%m-%d"))
    src_date = take(of_source("receipt_date", "document_date", "datetime64[ns]"), src_idx, np.datetime64("NaT"))
    out.rows(
        file,
        src_ok & (applied < src_date),
        "applied_date",
        "applied_before_source",
        "applied before the receipt or credit memo is dated",
        day,
    )
    tgt_date = of_target("document_date", "datetime64[ns]", np.datetime64("NaT"))
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
    cm_amounts = -base["amount"].to_numpy(dtype="int64")[cm_rows]
    src_cap = take(np.concatenate([rec["amount"].to_numpy(dtype="int64"), cm_amounts]), src_idx, 0)
    tgt_cap = of_target("amount", "int64", 0)
    comparable = tgt_ok & src_sound & tgt_sound & ~ccy_differs  # amount is in the target's currency
    _over(
        app,
        "source_id",
        src_idx,
        amounts,
        src_cap,
        lambda: text_at(src_ccy, currencies),
        src_ok & src_sound,
        file,
        "over_applied_source",
        "source applied beyond its amount",
        out,
    )
    _over(
        app,
        "target_id",
        tgt_doc,
        amounts,
        tgt_cap,
        lambda: text_at(tgt_ccy, currencies),
        comparable,
        file,
        "over_applied_target",
        "target applied beyond its amount",
        out,
    )
    adjustments = frames.get("adjustments")
    if adjustments is not None:
        if adj_doc is None:
            target_rows = np.flatnonzero(is_target)
            ids = combined(arrow_text(base["document_id"])).take(pa.array(target_rows))
            adj_doc = take(target_rows, key_positions(adjustments["document_id"], ids), -1)
        app_rows, app_amounts, app_dates = tgt_doc, amounts, applied
        if not comparable.all():
            app_rows, app_amounts, app_dates = tgt_doc[comparable], amounts[comparable], applied[comparable]
        _over_cleared(base, app_rows, app_amounts, app_dates, adjustments, adj_doc, file, out)


def _linked(
    app: pd.DataFrame,
    docs: pd.DataFrame,
    rec: pd.DataFrame,
    is_cm: np.ndarray,
    is_target: np.ndarray,
    rec_repeat: bool,
    adjustments: pd.DataFrame | None,
    links: IdLinks,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(source position in [receipts; CMs], target's row in ``docs``, each adjustment's
    target's row in ``docs``; -1 where none), among the rows first_of keeps (``is_cm`` and
    ``is_target`` are of those only), from the shared lookups of the ids in the whole tables.

    The first row holding an id is always kept, so a source found among the receipts is that
    receipt; otherwise it is a CM exactly when the first document with its id is one (the
    kept documents' ids are distinct); a target likewise is an INV or DM."""
    in_receipts = links.rows("applications", "source_id", app["source_id"], "receipts")
    if rec_repeat:  # a receipt's rank among the ones first_of keeps
        kept = _kept(rec["receipt_id"], rec_repeat)
        src_idx, receipts = take(np.cumsum(kept) - 1, in_receipts, -1), int(kept.sum())
    else:  # every receipt kept: its row is its rank (a copy: the shared answer is not changed)
        src_idx, receipts = in_receipts.copy(), len(rec)
    unfound = src_idx < 0
    if unfound.any():  # sources among the documents: only those not among the receipts are looked up
        source_doc = links.rows_unless("applications", "source_id", app["source_id"], "documents", "receipts")
        cm_rank = _rank_in(is_cm, source_doc[unfound], offset=receipts)
        src_idx[unfound] = cm_rank
    target_doc = links.rows("applications", "target_id", app["target_id"], "documents")
    adj_doc = None
    if adjustments is not None and adjustments["document_id"].dtype == "str":
        adj_found = links.rows("adjustments", "document_id", adjustments["document_id"], "documents")
        adj_doc = _selected(is_target, adj_found)
    return src_idx.astype("int64", copy=False), _selected(is_target, target_doc), adj_doc


def _kept(ids: pd.Series, repeat: bool) -> np.ndarray:
    """Rows first_of keeps: all, or the first of each id."""
    return ~ids.duplicated().to_numpy() if repeat else np.ones(len(ids), dtype=bool)


def _selected(selected: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each of ``rows`` that is ``selected``, -1 where the row is -1 or not selected."""
    return np.where(take(selected, rows, False), rows, -1)


def _rank_in(selected: np.ndarray, rows: np.ndarray, offset: int = 0) -> np.ndarray:
    """Position of each row among the ``selected`` rows (+ offset), -1 where the row is -1 or not selected."""
    if not len(selected):
        return np.full(len(rows), -1, dtype="int64")
    rank = np.cumsum(selected) - 1 + offset
    at = np.maximum(rows, 0)
    return np.where((rows >= 0) & selected[at], rank[at], -1).astype("int64")


def _over_cleared(
    docs: pd.DataFrame,
    app_rows: np.ndarray,
    app_amounts: np.ndarray,
    app_dates: np.ndarray,
    adjustments: pd.DataFrame,
    adj_rows: np.ndarray,
    file: str,
    out: Collector,
) -> None:
    """An invoice or debit memo whose open amount (amount - applications + adjustments) is
    below zero at the end of any day: as of that day it would be cleared beyond its amount.
    Checked on every date, not only on the last: a write-off beyond the open amount later
    made good by a recovery still leaves the document negative in between.

    ``app_rows``, ``adj_rows``: the target's row in ``docs`` of each application (all found)
    and of each adjustment (-1: none)."""
    hit = (adj_rows >= 0) & adjustments["adjustment_date"].notna().to_numpy()
    rows = np.concatenate([app_rows, adj_rows[hit]])
    dates = np.concatenate(
        [app_dates.astype("datetime64[ns]"), adjustments["adjustment_date"].to_numpy(dtype="datetime64[ns]")[hit]]
    )
    delta = np.concatenate([-app_amounts, adjustments["amount"].fillna(0).to_numpy(dtype="int64")[hit]]).astype(
        "int64", copy=False
    )
    dated = ~np.isnat(dates)
    if not dated.all():
        rows, dates, delta = rows[dated], dates[dated], delta[dated]
    if len(rows) == 0:
        return
    amount = docs["amount"].to_numpy(dtype="int64")
    sound = docs["_sound"].to_numpy(dtype=bool)
    # Without an event that raises it (a recovery, a positive adjustment) a document's open amount
    # only falls, so it goes below zero on some day only if it ends below zero: one sum each.
    # Only the documents that rise, or end below zero, are followed day by day (a frame of them only).
    follow = np.zeros(len(docs), dtype=bool)
    follow[rows[delta > 0]] = True
    follow |= amount + int_bincount(rows, delta, len(docs)) < 0
    chosen = follow[rows]
    events = pd.DataFrame({"row": rows[chosen], "date": dates[chosen], "delta": delta[chosen]}, copy=False)
    daily = events.groupby(["row", "date"], sort=True)["delta"].sum().reset_index()
    daily["open"] = amount[daily["row"].to_numpy()] + daily.groupby("row")["delta"].cumsum().to_numpy()
    negative = daily[(daily["open"] < 0) & sound[daily["row"].to_numpy()]]
    first = negative.groupby("row", sort=False).head(1)  # the first day each document goes below zero
    flagged = first["row"].to_numpy(dtype="int64").tolist()  # the text of these rows only
    ids = dict(zip(flagged, docs["document_id"].iloc[flagged].tolist(), strict=True))
    currency = dict(zip(flagged, docs["currency"].iloc[flagged].tolist(), strict=True))
    for row in sorted(first.to_dict("records"), key=lambda r: ids[int(r["row"])]):
        i = int(row["row"])
        out.add(
            file,
            None,
            "target_id",
            "over_cleared",
            f"applications and adjustments clear document {ids[i]} beyond its amount "
            f"(open would be {format_amount(int(row['open']), currency[i])} on {pd.Timestamp(row['date']).date()})",
            ids[i],
        )


def _over(
    app: pd.DataFrame,
    column: str,
    group: np.ndarray,
    amounts: np.ndarray,
    cap: np.ndarray,
    currency: Callable[[], np.ndarray],
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
    rows = None if valid.all() else np.flatnonzero(valid)  # None: every row, no million-row copies
    in_group, in_amounts, in_cap = (group, amounts, cap) if rows is None else (group[rows], amounts[rows], cap[rows])
    running = running_totals(in_group, in_amounts)
    over = running > in_cap
    if not over.any():
        return
    first = first_in_group(in_group, np.flatnonzero(over))  # the first row past the cap of each group
    first_over = np.zeros(len(app), dtype=bool)
    first_over[first if rows is None else rows[first]] = True
    ccy = parse_currency(pd.Series(currency()[first_over], dtype=object), pd.RangeIndex(int(first_over.sum())))
    text = pd.Series("", index=app.index, dtype=object)
    text[first_over] = (
        message
        + ": applied so far "
        + money.format_minor_array(running[first], ccy).to_numpy()
        + ", amount "
        + money.format_minor_array(cap[first_over].astype("int64"), ccy).to_numpy()
    )
    out.rows(file, first_over, "amount", rule, text, app[column])
