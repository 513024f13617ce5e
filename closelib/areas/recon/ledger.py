"""The two sides of the reconciliation: subledger effects and GL lines, balances, positions.

Every subledger transaction has an *effect* on the AR control accounts (an invoice or debit
memo raises it, a credit memo, a receipt application and a write-off lower it, a recovery
raises it; a credit memo applied to an invoice nets to zero) and on the unapplied-cash
account (a receipt raises it, its application lowers it). Summed to D the effects *are* the
subledger balances, which a check proves against the as-of open items. Integer minor units.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.fx import translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import Period

CONTROL, UNAPPLIED = "control", "unapplied"
CM_FX = "credit memos applied (FX)"


@dataclass(frozen=True)
class GLPolicy:
    control_accounts: tuple[str, ...]
    unapplied_account: str
    unapplied_in_control: bool
    allowance_account: str
    revaluation_prefix: str = "FXREV-"  # references of FX revaluation journals (``fx.revaluation_prefix``)

    @classmethod
    def from_params(cls, params: dict) -> GLPolicy:
        gl = params["gl"]
        control = tuple(str(a) for a in gl["ar_control_accounts"])
        in_control = bool(gl.get("unapplied_cash_in_control")) or gl["unapplied_cash_account"] in control
        prefix = str(params.get("fx", {}).get("revaluation_prefix", "FXREV-"))
        return cls(control, str(gl["unapplied_cash_account"]), in_control, str(gl["allowance_account"]), prefix)

    def is_revaluation(self, lines: pd.DataFrame) -> np.ndarray:
        """GL lines of FX revaluation journals (and their reversals): not subledger postings,
        referenced ``<fx.revaluation_prefix><entity>-<YYYY-MM>``."""
        if not self.revaluation_prefix or lines.empty:
            return np.zeros(len(lines), dtype=bool)
        own = (lines["source"] != "ar_subledger").to_numpy()
        return own & lines["reference"].astype(str).str.startswith(self.revaluation_prefix).to_numpy()


def subledger_effects(book: Book, policy: GLPolicy) -> pd.DataFrame:
    """One row per subledger transaction: entity, reference, kind, date, effect on the control
    accounts (debit positive) and on unapplied cash (credit positive), int64 minor units of the
    entity's functional currency. A foreign-currency line counts at its booking rate, by the
    cumulative rule of :mod:`closelib.book.fx`: a receipt application relieves the invoice at the
    invoice's rate and unapplied cash at the receipt's (the difference is realised FX, posted to
    P&L), and a credit memo applied to an invoice at another rate moves the control account by
    the difference (``credit memos applied (FX)``, only where it is not zero)."""
    docs = book.documents
    receipts = book.receipts
    receipt_ids = receipts["receipt_id"]
    apps = book.applications
    link = links(book)  # row positions of each application's receipt and adjustment's document
    rec_row = link.app_source_rec
    from_receipt = rec_row >= 0
    cash_apps = apps[from_receipt]
    cash_entity = _at(receipts["entity"], rec_row[from_receipt], cash_apps.index)
    adj = book.adjustments
    adj_entity = _at(docs["entity"], link.adj_doc, adj.index)
    in_control = policy.unapplied_in_control
    fx = translation(book)
    target_f = fx.app_target[from_receipt]
    source_f = fx.app_source[from_receipt]
    cm_row = link.app_source_doc
    cm_net = np.where((cm_row >= 0) & (rec_row < 0), fx.app_source - fx.app_target, 0)
    cm_fx = cm_net != 0
    cm_apps = apps[cm_fx]
    parts = [
        pd.DataFrame(
            {
                "entity": docs["entity"],
                "reference": docs["document_id"],
                "kind": np.where(docs["doc_type"] == "CM", "credit memos", "invoices and debit memos"),
                "date": docs["document_date"],
                "control": fx.doc_amount,
                "unapplied": 0,
            }
        ),
        pd.DataFrame(
            {
                "entity": cash_entity,
                "reference": cash_apps["application_id"],
                "kind": "cash applied",
                "date": cash_apps["applied_date"],
                "control": -target_f + (source_f if in_control else 0),
                "unapplied": -source_f,
            }
        ),
        pd.DataFrame(
            {
                "entity": receipts["entity"],
                "reference": receipt_ids,
                "kind": "cash received",
                "date": receipts["receipt_date"],
                "control": -fx.rec_amount if in_control else 0,
                "unapplied": fx.rec_amount,
            }
        ),
        pd.DataFrame(
            {
                "entity": adj_entity,
                "reference": adj["adjustment_id"],
                "kind": adj["type"].map(
                    {"write_off": "write-offs", "recovery": "recoveries", "adjustment": "adjustments"}
                ),
                "date": adj["adjustment_date"],
                "control": fx.adj_amount,
                "unapplied": 0,
            }
        ),
        pd.DataFrame(
            {
                "entity": _at(docs["entity"], link.app_target[cm_fx], cm_apps.index),
                "reference": cm_apps["application_id"],
                "kind": CM_FX,
                "date": cm_apps["applied_date"],
                "control": cm_net[cm_fx],
                "unapplied": 0,
            }
        ),
    ]
    effects = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=["entity", "reference", "kind", "date", "control", "unapplied"])
    )
    for column in ("control", "unapplied"):
        effects[column] = effects[column].astype("int64")
    return effects


def _at(values: pd.Series, rows: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """``values`` at row positions, missing (NaN) where a position is -1, as ``map`` gives."""
    taken = values.array.take(rows, allow_fill=True)
    return pd.Series(taken, dtype=values.dtype, index=index)


def text_codes(*columns: pd.Series) -> list[np.ndarray]:
    """Shared integer codes for the values of several text columns (-1 for missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays: list = []  # pyarrow arrays, one per column
    for column in columns:
        array = (
            pa.array(column.array)
            if column.dtype == "str"
            else pa.array(column.astype(object).to_numpy(), type=pa.string(), from_pandas=True)
        )
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        arrays.extend(chunk.cast(pa.large_string()) for chunk in chunks)
    if not arrays:
        return [np.zeros(0, dtype="int64") for _ in columns]
    encoded = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.large_string()).combine_chunks())
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype="int64")
    out, start = [], 0
    for column in columns:
        out.append(codes[start : start + len(column)])
        start += len(column)
    return out


def keyed(effects: pd.DataFrame, lines: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``effects`` and GL ``lines`` with shared integer codes of their entity (``_ent``) and
    reference (``_ref``): text hashed once per reconciliation, not again by every item search
    and roll-forward (each pass over a few million references costs about a second)."""
    frames = [effects] + ([lines] if lines is not None else [])
    ent = text_codes(*(f["entity"] for f in frames))
    ref = text_codes(*(f["reference"] for f in frames))
    coded = [f.assign(_ent=e, _ref=r) for f, e, r in zip(frames, ent, ref, strict=False)]
    return coded[0], (coded[1] if lines is not None else None)


def gl_lines(book: Book, policy: GLPolicy) -> pd.DataFrame:
    """Journal lines on the control and unapplied accounts, signed like the effects."""
    journal = book.gl_journal
    on_control = journal["account"].isin(policy.control_accounts)
    on_unapplied = journal["account"] == policy.unapplied_account
    lines = journal[on_control | on_unapplied].copy()
    net = (lines["debit"] - lines["credit"]).astype("int64")
    lines["control"] = np.where(lines["account"].isin(policy.control_accounts), net, 0).astype("int64")
    lines["unapplied"] = np.where(
        (lines["account"] == policy.unapplied_account) & ~lines["account"].isin(policy.control_accounts), -net, 0
    ).astype("int64")
    return lines


def gl_balance(
    book: Book, entity: str, period: Period, accounts: tuple[str, ...], credit_positive: bool = False
) -> int | None:
    """Closing balance (debit minus credit, or the reverse) of accounts; None when the GL has no such period."""
    gl = book.gl_balances
    mine = gl[(gl["entity"] == entity) & (gl["period"] == str(period))]
    if mine.empty:
        return None
    rows = mine[mine["account"].isin(accounts)]
    value = int((rows["debit"] - rows["credit"]).sum())
    return -value if credit_positive else value


def trial_balance_totals(book: Book, period: Period) -> pd.DataFrame:
    """Per entity: total debits, total credits, accounts, and whether they balance."""
    gl = book.gl_balances
    mine = gl[gl["period"] == str(period)]
    totals = mine.groupby("entity").agg(accounts=("account", "size"), debit=("debit", "sum"), credit=("credit", "sum"))
    totals = totals.reindex(pd.Index(book.entities, name="entity")).fillna(0).astype("int64")
    totals["difference"] = totals["debit"] - totals["credit"]
    totals.insert(0, "currency", [book.currency_of(e) for e in totals.index])
    return totals.reset_index()


def subledger_position(book: Book, period: Period) -> pd.DataFrame:
    """Per entity at the period end: open INV/DM, open CM, subledger AR, unapplied cash split."""
    day = period.end
    items = open_items(book, day)
    cash = unapplied_cash(book, day)
    frame = pd.DataFrame(index=pd.Index(book.entities, name="entity"))
    is_cm = items["doc_type"] == "CM"
    # In the functional currency at the booking rates (the amounts themselves when not foreign).
    frame["open_invoices"] = items[~is_cm].groupby("entity")["open_functional"].sum()
    frame["open_credit_memos"] = items[is_cm].groupby("entity")["open_functional"].sum()
    frame["unapplied_identified"] = cash[cash["identified"]].groupby("entity")["unapplied_functional"].sum()
    frame["unapplied_unidentified"] = cash[~cash["identified"]].groupby("entity")["unapplied_functional"].sum()
    frame = frame.fillna(0).astype("int64")
    frame["subledger_ar"] = frame["open_invoices"] + frame["open_credit_memos"]
    frame["unapplied_cash"] = frame["unapplied_identified"] + frame["unapplied_unidentified"]
    return frame.reset_index()


def unapplied_by_age(book: Book, period: Period, bounds: tuple[int, ...] = (30, 60, 90, 180)) -> pd.DataFrame:
    """Unapplied receipts at the period end by entity, identified or not, and age band."""
    cash = unapplied_cash(book, period.end)
    labels = (
        [f"0-{bounds[0]} days"]
        + [f"{a + 1}-{b} days" for a, b in itertools.pairwise(bounds)]
        + [f"over {bounds[-1]} days"]
    )
    band = pd.Categorical.from_codes(
        np.searchsorted(np.asarray(bounds), cash["age_days"].to_numpy(), side="left"),
        categories=pd.Index(labels),
        ordered=True,
    )
    frame = cash.assign(kind=np.where(cash["identified"], "identified", "unidentified"), age=band)
    table = (
        frame.groupby(["entity", "kind", "age"], observed=True)
        .agg(receipts=("receipt_id", "size"), unapplied=("unapplied_functional", "sum"))
        .reset_index()
    )
    table["unapplied"] = table["unapplied"].astype("int64")
    return table
