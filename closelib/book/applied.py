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
    first_of,
    format_amount,
    int_bincount,
    key_positions,
    ok_rows,
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
    is_cm = (docs["doc_type"] == "CM").to_numpy()
    is_target = isin(docs["doc_type"], ["INV", "DM"])
    cms = docs[is_cm]
    targets = docs[is_target]
    adj_idx = None  # each adjustment's position among the targets, when the shared lookups give it
    if links is not None and app["source_id"].dtype == "str" and app["target_id"].dtype == "str":
        src_idx, tgt_idx, adj_idx = _linked(
            app, all_docs, all_rec, len(docs) < len(all_docs), len(rec) < len(all_rec), frames.get("adjustments"), links
        )
    else:
        src_ids = combined(
            pa.concat_arrays(
                [
                    combined(arrow_text(rec["receipt_id"])).cast(pa.string()),
                    combined(arrow_text(cms["document_id"])).cast(pa.string()),
                ]
            )
        )
        src_idx = key_positions(app["source_id"], src_ids)
        tgt_idx = key_positions(app["target_id"], combined(arrow_text(targets["document_id"])))
    src_ok = src_idx >= 0
    tgt_ok = tgt_idx >= 0
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

    def of_source(receipt_column: str, cm_column: str) -> np.ndarray:
        return np.concatenate([rec[receipt_column].to_numpy(), cms[cm_column].to_numpy()])

    src_sound = take(of_source("_sound", "_sound").astype(bool), src_idx, False) & amount_ok
    tgt_sound = take(targets["_sound"].to_numpy(dtype=bool), tgt_idx, False) & amount_ok
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
    (rec_ccy, doc_ccy), currencies = shared_codes(rec["currency"], docs["currency"])
    src_ccy = take(np.concatenate([rec_ccy, doc_ccy[is_cm]]), src_idx, -1)
    tgt_ccy = take(doc_ccy[is_target], tgt_idx, -1)
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
    (rec_ent, doc_ent), _ = shared_codes(rec["entity"], docs["entity"])
    src_ent = take(np.concatenate([rec_ent, doc_ent[is_cm]]), src_idx, -1)
    tgt_ent = take(doc_ent[is_target], tgt_idx, -1)
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
    src_date = take(
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
    tgt_date = take(targets["document_date"].to_numpy(dtype="datetime64[ns]"), tgt_idx, np.datetime64("NaT"))
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
    src_cap = take(
        np.concatenate([rec["amount"].to_numpy(dtype="int64"), -cms["amount"].to_numpy(dtype="int64")]), src_idx, 0
    )
    tgt_cap = take(targets["amount"].to_numpy(dtype="int64"), tgt_idx, 0)
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
        tgt_idx,
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
        _over_cleared(
            targets,
            tgt_idx[comparable],
            amounts[comparable],
            app["applied_date"][comparable],
            adjustments,
            file,
            out,
            adj_idx,
        )


def _linked(
    app: pd.DataFrame,
    docs: pd.DataFrame,
    rec: pd.DataFrame,
    docs_repeat: bool,
    rec_repeat: bool,
    adjustments: pd.DataFrame | None,
    links: IdLinks,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(source position in [receipts; CMs], target position in INV/DM, each adjustment's
    position in INV/DM), among the rows first_of keeps, from the shared lookups of the ids in
    the whole tables.

    The first row holding an id is always kept, so a source found among the receipts is that
    receipt; otherwise it is a CM exactly when the first document with its id is one (the
    kept documents' ids are distinct); a target likewise is an INV or DM."""
    in_receipts = links.rows("applications", "source_id", app["source_id"], "receipts")
    source_doc = links.rows("applications", "source_id", app["source_id"], "documents")
    target_doc = links.rows("applications", "target_id", app["target_id"], "documents")
    doc_kept = _kept(docs["document_id"], docs_repeat)
    rec_rank = np.cumsum(_kept(rec["receipt_id"], rec_repeat)) - 1
    doc_type = docs["doc_type"]
    cm = (doc_type == "CM").to_numpy() & doc_kept
    target = isin(doc_type, ["INV", "DM"]) & doc_kept
    src_idx = np.where(
        in_receipts >= 0,
        rec_rank[np.maximum(in_receipts, 0)] if len(rec_rank) else -1,
        _rank_in(cm, source_doc, offset=int(rec_rank[-1]) + 1 if len(rec_rank) else 0),
    )
    adj_idx = None
    if adjustments is not None and adjustments["document_id"].dtype == "str":
        adj_doc = links.rows("adjustments", "document_id", adjustments["document_id"], "documents")
        adj_idx = _rank_in(target, adj_doc)
    return src_idx.astype("int64"), _rank_in(target, target_doc), adj_idx


def _kept(ids: pd.Series, repeat: bool) -> np.ndarray:
    """Rows first_of keeps: all, or the first of each id."""
    return ~ids.duplicated().to_numpy() if repeat else np.ones(len(ids), dtype=bool)


def _rank_in(selected: np.ndarray, rows: np.ndarray, offset: int = 0) -> np.ndarray:
    """Position of each row among the ``selected`` rows (+ offset), -1 where the row is -1 or not selected."""
    if not len(selected):
        return np.full(len(rows), -1, dtype="int64")
    rank = np.cumsum(selected) - 1 + offset
    at = np.maximum(rows, 0)
    return np.where((rows >= 0) & selected[at], rank[at], -1).astype("int64")


def _over_cleared(
    targets: pd.DataFrame,
    app_rows: np.ndarray,
    app_amounts: np.ndarray,
    app_dates: pd.Series,
    adjustments: pd.DataFrame,
    file: str,
    out: Collector,
    adj_idx: np.ndarray | None = None,
) -> None:
    """An invoice or debit memo whose open amount (amount - applications + adjustments) is
    below zero at the end of any day: as of that day it would be cleared beyond its amount.
    Checked on every date, not only on the last: a write-off beyond the open amount later
    made good by a recovery still leaves the document negative in between."""
    if adj_idx is None:
        adj_idx = key_positions(adjustments["document_id"], combined(arrow_text(targets["document_id"])))
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
        },
        copy=False,  # fresh arrays: not copied again
    )
    dated = events["date"].notna().to_numpy()
    if not dated.all():  # filtering copies every column: only when some event has no date
        events = events[dated]
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
    final = amount + int_bincount(rows, events["delta"].to_numpy(), len(targets))
    follow |= final < 0
    daily = events[follow[rows]].groupby(["row", "date"], sort=True)["delta"].sum().reset_index()
    daily["open"] = amount[daily["row"].to_numpy()] + daily.groupby("row")["delta"].cumsum().to_numpy()
    negative = daily[(daily["open"] < 0) & sound[daily["row"].to_numpy()]]
    first = negative.groupby("row", sort=False).head(1)  # the first day each document goes below zero
    flagged = first["row"].to_numpy(dtype="int64").tolist()  # the text of these rows only
    ids = dict(zip(flagged, targets["document_id"].iloc[flagged].tolist(), strict=True))
    currency = dict(zip(flagged, targets["currency"].iloc[flagged].tolist(), strict=True))
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
    rows = np.flatnonzero(valid)
    running = pd.Series(amounts[rows], copy=False).groupby(group[rows]).cumsum().to_numpy()
    over = running > cap[rows]
    if not over.any():
        return
    first = over & (pd.Series(over.astype("int64"), copy=False).groupby(group[rows]).cumsum().to_numpy() == 1)
    first_over = np.zeros(len(app), dtype=bool)
    first_over[rows[first]] = True
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
