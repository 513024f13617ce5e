"""The two sides of the reconciliation, held as integer codes: subledger effects and GL lines.

Every subledger transaction has an *effect* on the AR control accounts (an invoice or debit
memo raises it, a credit memo, a receipt application and a write-off lower it, a recovery
raises it; a credit memo applied to an invoice nets to zero) and on the unapplied-cash
account (a receipt raises it, its application lowers it). Summed to D the effects *are* the
subledger balances, which a check proves against the as-of open items. Integer minor units.

At a million documents both sides are millions of rows, so they carry no text: entity and
reference are integer codes shared by the two sides (equal text, equal code), the kind of a
transaction is a category, and a GL line keeps its row in ``gl_journal``. Text is read back
(:meth:`Sides.effect_frame`, :meth:`Sides.line_frame`) only for the few rows that become
reconciling items or roll forward one entity's month.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.book.arrays import arrow_text
from closelib.book.fx import translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import Period

CONTROL, UNAPPLIED = "control", "unapplied"
CM_FX = "credit memos applied (FX)"
# The kind of each subledger transaction (a category: its code is the position here).
KINDS = (
    "invoices and debit memos",
    "credit memos",
    "cash applied",
    "cash received",
    "write-offs",
    "recoveries",
    "adjustments",
    CM_FX,
)
ADJUSTMENT_KINDS = {"write_off": "write-offs", "recovery": "recoveries", "adjustment": "adjustments"}


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


def text_codes(*columns: pd.Series) -> tuple[list[np.ndarray], pa.Array]:
    """Shared integer codes for the values of several text columns (-1 for missing), and the
    text of each code (one Arrow hash pass over all of them, no Python object per value).

    The columns are encoded as they are, chunk by chunk with one dictionary (codes in order of
    first appearance, as over their concatenation): no copy of all their text is made, which
    at a million documents (several million references) was a few hundred MB at the kernel's peak."""
    arrays: list = []
    for column in columns:
        array = arrow_text(column) if len(column) else pa.array([], type=pa.string())
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        arrays.extend(chunk.cast(pa.large_string()) for chunk in chunks)  # no copy when already large
    encoded = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.large_string()))
    if not encoded.num_chunks:
        return [np.zeros(0, dtype="int32") for _ in columns], pa.array([], type=pa.large_string())
    codes = np.empty(sum(len(column) for column in columns), dtype="int32")  # the frames' width
    start = 0
    for chunk in encoded.chunks:
        codes[start : start + len(chunk)] = np.asarray(pc.fill_null(chunk.indices, -1))
        start += len(chunk)
    out, start = [], 0
    for column in columns:
        out.append(codes[start : start + len(column)])
        start += len(column)
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary  # the last chunk's: every value
    del encoded
    # Arrow's allocator keeps the hash table's pages (a few hundred MB at a million documents),
    # which the frames built next, allocated by numpy, cannot reuse: give them back now.
    pa.default_memory_pool().release_unused()
    return out, dictionary


def _at(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``codes`` at row positions, -1 where a position is -1."""
    if not len(codes):
        return np.full(len(rows), -1, dtype="int64")
    return np.where(rows >= 0, codes[np.maximum(rows, 0)], -1)


def decode_codes(dictionary: pa.Array, codes: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Text of the codes (missing where -1), as pandas text."""
    taken = dictionary.take(pa.array(codes, mask=codes < 0, type=pa.int64()))
    return pd.Series(pd.array(taken, dtype="str"), index=index)


def _where_text(values: np.ndarray, test) -> np.ndarray:
    """``test(text)`` per code of a small dictionary, False for a missing code (-1 reads the
    appended False)."""
    return np.append(np.array([bool(test(v)) for v in values], dtype=bool), False)


@dataclass(frozen=True)
class Sides:
    """Both sides of one book under one :class:`~closelib.areas.recon.ledger.GLPolicy`."""

    effects: pd.DataFrame  # _ent, _ref, kind (category of KINDS), date, control, unapplied
    # GL lines on the control and unapplied accounts: _row (in gl_journal), _ent, _ref, _period,
    # subledger (posted by the AR subledger), revaluation (an FX revaluation journal or its
    # reversal: not a subledger posting, referenced ``<fx.revaluation_prefix><entity>-<YYYY-MM>``),
    # control (debit positive) and unapplied (credit positive)
    lines: pd.DataFrame | None
    entities: pa.Array  # text of each entity code
    references: pa.Array  # text of each reference code
    periods: np.ndarray  # text of each GL period code (YYYY-MM)
    journal: pd.DataFrame | None  # the book's gl_journal, read by ``_row``
    first_kind: np.ndarray  # per reference code: kind code of its first effect row (-1 when none)

    @cached_property
    def keys(self) -> tuple[np.ndarray, np.ndarray, int]:
        """One integer per (entity, reference) for each GL line and each effect (-1 when either
        is missing), and the number of entity codes (a key is ``reference * n + entity``)."""
        assert self.lines is not None
        n_ent = max(len(self.entities), 1)
        keys = []
        for frame in (self.lines, self.effects):
            ent, ref = frame["_ent"].to_numpy(dtype="int64"), frame["_ref"].to_numpy(dtype="int64")
            keys.append(np.where((ent >= 0) & (ref >= 0), ref * n_ent + ent, -1))
        return keys[0], keys[1], n_ent

    def entity_code(self, entity: str) -> int:
        found = np.flatnonzero(self.entities.to_numpy(zero_copy_only=False).astype(object) == entity)
        return int(found[0]) if len(found) else -2  # -2 matches no row (-1 is a missing entity)

    def upto(self, period: Period) -> np.ndarray:
        """GL lines of ``period`` or earlier (``YYYY-MM`` text sorts as the months do)."""
        assert self.lines is not None
        return _where_text(self.periods, lambda p: p <= str(period))[self.lines["_period"].to_numpy()]

    def in_period(self, period: Period) -> np.ndarray:
        assert self.lines is not None
        return _where_text(self.periods, lambda p: p == str(period))[self.lines["_period"].to_numpy()]

    def effect_frame(self, mask: np.ndarray) -> pd.DataFrame:
        """The masked effects with their text: entity, reference, kind, date, control, unapplied."""
        rows = self.effects[mask]
        return pd.DataFrame(
            {
                "entity": decode_codes(self.entities, rows["_ent"].to_numpy(), rows.index),
                "reference": decode_codes(self.references, rows["_ref"].to_numpy(), rows.index),
                "kind": pd.Series(pd.array(rows["kind"].astype(object).to_numpy(), dtype="str"), index=rows.index),
                "date": rows["date"],
                CONTROL: rows[CONTROL],
                UNAPPLIED: rows[UNAPPLIED],
            }
        )

    def line_frame(self, mask: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
        """The masked GL lines as ``gl_journal`` has them, with their ``control`` and
        ``unapplied`` effects (signed like the subledger's), ``revaluation`` flag and reference
        code ``_ref``; only the journal's ``columns`` when given."""
        assert self.lines is not None and self.journal is not None
        picked = self.lines[mask]
        journal = self.journal if columns is None else self.journal[columns]
        frame = journal.iloc[picked["_row"].to_numpy()].copy()
        for column in (CONTROL, UNAPPLIED, "_ref", "revaluation"):
            frame[column] = picked[column].to_numpy()
        return frame


def ledger_sides(book: Book, policy: GLPolicy) -> Sides:
    """Both sides, coded. A foreign-currency line counts at its booking rate, by the cumulative
    rule of :mod:`closelib.book.fx`: a receipt application relieves the invoice at the invoice's
    rate and unapplied cash at the receipt's (the difference is realised FX, posted to P&L), and
    a credit memo applied to an invoice at another rate moves the control account by the
    difference (``credit memos applied (FX)``, only where it is not zero)."""
    in_control, revaluation_prefix = policy.unapplied_in_control, policy.revaluation_prefix
    docs, receipts, apps, adj = book.documents, book.receipts, book.applications, book.adjustments
    journal = book.gl_journal if book.has("gl_journal") else None
    link = links(book)
    fx = translation(book)
    refs = [docs["document_id"], apps["application_id"], receipts["receipt_id"], adj["adjustment_id"]]
    ents = [docs["entity"], receipts["entity"]]
    if journal is not None:
        refs.append(journal["reference"])
        ents.append(journal["entity"])
    ref_codes, references = text_codes(*refs)
    ent_codes, entities = text_codes(*ents)
    doc_ref, app_ref, rec_ref, adj_ref = ref_codes[:4]
    doc_ent, rec_ent = ent_codes[:2]

    rec_row = link.app_source_rec
    from_receipt = rec_row >= 0
    target_f, source_f = fx.app_target[from_receipt], fx.app_source[from_receipt]
    cm_net = np.where((link.app_source_doc >= 0) & (rec_row < 0), fx.app_source - fx.app_target, 0)
    cm_fx = cm_net != 0
    kind_of = {k: i for i, k in enumerate(KINDS)}
    adj_kind = adj["type"].map(ADJUSTMENT_KINDS).map(kind_of).fillna(-1).to_numpy(dtype="int64")
    parts = [
        (doc_ent, doc_ref, np.where(docs["doc_type"] == "CM", 1, 0), docs["document_date"], fx.doc_amount, 0),
        (
            _at(rec_ent, rec_row[from_receipt]),
            app_ref[from_receipt],
            kind_of["cash applied"],
            apps["applied_date"][from_receipt],
            -target_f + (source_f if in_control else 0),
            -source_f,
        ),
        (
            rec_ent,
            rec_ref,
            kind_of["cash received"],
            receipts["receipt_date"],
            -fx.rec_amount if in_control else 0,
            fx.rec_amount,
        ),
        (_at(doc_ent, link.adj_doc), adj_ref, adj_kind, adj["adjustment_date"], fx.adj_amount, 0),
        (
            _at(doc_ent, link.app_target[cm_fx]),
            app_ref[cm_fx],
            kind_of[CM_FX],
            apps["applied_date"][cm_fx],
            cm_net[cm_fx],
            0,
        ),
    ]
    frames = [
        pd.DataFrame(
            {
                "_ent": np.asarray(e, dtype="int32"),
                "_ref": np.asarray(r, dtype="int32"),
                "_kind": np.broadcast_to(np.asarray(k, dtype="int32"), (len(r),)),
                "date": d.to_numpy(),
                CONTROL: c,
                UNAPPLIED: u,
            }
        )
        for e, r, k, d, c, u in parts
        if len(r)
    ]
    columns = ["_ent", "_ref", "_kind", "date", CONTROL, UNAPPLIED]
    effects = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    for column in ("_ent", "_ref", "_kind"):  # codes: 4 bytes a row is plenty, and halves the frame's keys
        effects[column] = effects[column].astype("int32")
    for column in (CONTROL, UNAPPLIED):
        effects[column] = effects[column].astype("int64")
    kind_codes = effects.pop("_kind").to_numpy()
    effects.insert(2, "kind", pd.Series(pd.Categorical.from_codes(kind_codes, categories=pd.Index(KINDS))))
    # First effect row of each reference (a GL line takes that transaction's kind).
    first_kind = np.full(len(references), -1, dtype="int8")
    ref = effects["_ref"].to_numpy()
    order = np.flatnonzero(ref >= 0)[::-1]
    first_kind[ref[order]] = kind_codes[order]

    lines, periods = None, np.zeros(0, dtype=object)
    if journal is not None:
        account = journal["account"]
        on_control = account.isin(policy.control_accounts).to_numpy()
        on_unapplied = (account == policy.unapplied_account).to_numpy()
        rows = np.flatnonzero(on_control | on_unapplied)
        net = journal["debit"].to_numpy(dtype="int64")[rows] - journal["credit"].to_numpy(dtype="int64")[rows]
        [period_codes], period_text = text_codes(journal["period"])
        periods = period_text.to_numpy(zero_copy_only=False).astype(object)
        subledger = (journal["source"] == "ar_subledger").to_numpy()[rows]
        line_ref = ref_codes[4][rows]
        if revaluation_prefix and len(rows):
            # like ``reference.astype(str).startswith``: a missing reference reads "nan"
            starts = np.asarray(pc.fill_null(pc.starts_with(references, revaluation_prefix), False), dtype=bool)
            starts = np.append(starts, "nan".startswith(revaluation_prefix))
            revaluation = ~subledger & starts[line_ref]
        else:
            revaluation = np.zeros(len(rows), dtype=bool)
        lines = pd.DataFrame(
            {
                "_row": rows.astype("int32"),
                "_ent": ent_codes[2][rows].astype("int32"),
                "_ref": line_ref.astype("int32"),
                "_period": period_codes[rows].astype("int32"),
                "subledger": subledger,
                "revaluation": revaluation,
                CONTROL: np.where(on_control[rows], net, 0).astype("int64"),
                UNAPPLIED: np.where(on_unapplied[rows] & ~on_control[rows], -net, 0).astype("int64"),
            }
        )
    return Sides(effects, lines, entities, references, periods, journal, first_kind)
