"""The period's roll-forward of the AR control (or unapplied cash) balance, subledger and GL side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas.recon.ledger import (
    CM_FX,
    CONTROL,
    UNAPPLIED,
    GLPolicy,
    gl_balance,
    gl_lines,
    subledger_effects,
    text_codes,
)
from closelib.book.model import Book
from closelib.periods import Period

ROLL_LINES = (
    "invoices and debit memos",
    "credit memos",
    "cash applied",
    "cash received",
    "write-offs",
    "recoveries",
    "adjustments",
    "manual and other journals",
    "GL lines with no subledger transaction",
)
REVALUATION_LINE = "FX revaluation (GL only: the subledger stays at booking rates)"
# Lines shown only when a book has them (foreign-currency books).
FX_LINES = (CM_FX, REVALUATION_LINE)


UNAPPLIED_ROLL_LINES = (
    "cash received",
    "cash applied",
    "manual and other journals",
    "GL lines with no subledger transaction",
)


def roll_forward(
    book: Book,
    period: Period,
    policy: GLPolicy,
    entity: str,
    effects: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
    side: str = CONTROL,
) -> pd.DataFrame:
    """Opening to closing of the AR control (or unapplied cash) balance, subledger and GL side by side.

    Subledger movements are the effects dated in the period; GL movements are the journal
    lines posted in the period, classified by the transaction their reference names (a batch
    line, whose reference is its batch, takes the kind of the transactions its journal
    carries). A GL column that does not close (opening + lines != closing) shows the balance
    the journal detail does not support on its own line.
    """

    accounts = policy.control_accounts if side == CONTROL else (policy.unapplied_account,)
    credit = side == UNAPPLIED
    start, end = period.shift(-1).end, period.end
    effects = subledger_effects(book, policy) if effects is None else effects
    mine = effects[effects["entity"] == entity]
    opening_sl = int(mine.loc[mine["date"] <= start, side].sum())
    moved = mine[(mine["date"] > start) & (mine["date"] <= end)]
    sl = moved.groupby("kind")[side].sum()
    rows = {"opening balance": (opening_sl, gl_balance(book, entity, period.shift(-1), accounts, credit))}
    gl_moves = pd.Series(dtype="int64")
    if book.has("gl_journal"):
        lines = gl_lines(book, policy) if lines is None else lines
        in_period = lines[(lines["entity"] == entity) & (lines["period"] == str(period))]
        if "_ref" in effects and "_ref" in in_period:  # coded once by :func:`keyed`
            ref_codes, line_codes = effects["_ref"].to_numpy(), in_period["_ref"].to_numpy()
        else:
            ref_codes, line_codes = text_codes(effects["reference"], in_period["reference"])
        first_row = np.full(int(max(ref_codes.max(initial=-1), line_codes.max(initial=-1))) + 2, -1, dtype="int64")
        # First effect row of each reference (drop_duplicates keeps the first).
        order = np.flatnonzero(ref_codes >= 0)[::-1]
        first_row[ref_codes[order]] = order
        rows_ = np.where(line_codes >= 0, first_row[line_codes], -1)
        kind = pd.Series(
            effects["kind"].array.take(rows_, allow_fill=True), index=in_period.index, dtype=effects["kind"].dtype
        )
        journal_kind = kind.groupby(in_period["journal_id"]).first()
        kind = kind.fillna(in_period["journal_id"].map(journal_kind))
        kinds = np.where(
            in_period["source"] != "ar_subledger",
            np.where(policy.is_revaluation(in_period), REVALUATION_LINE, "manual and other journals"),
            kind.fillna("GL lines with no subledger transaction"),
        )
        gl_moves = in_period.groupby(kinds)[side].sum()
    present = [line for line in FX_LINES if line in sl.index or line in gl_moves.index]
    for line in (*(ROLL_LINES if side == CONTROL else UNAPPLIED_ROLL_LINES), *present):
        rows[line] = (int(sl.get(line, 0)), int(gl_moves.get(line, 0)) if book.has("gl_journal") else None)
    closing_gl = gl_balance(book, entity, period, accounts, credit)
    if book.has("gl_journal") and closing_gl is not None:
        opening_gl = rows["opening balance"][1] or 0
        unsupported = closing_gl - opening_gl - int(gl_moves.sum())
        rows["GL balance not supported by journal detail"] = (0, unsupported)
    elif closing_gl is not None:
        opening = rows["opening balance"][1]
        rows["GL movement (no journal detail given)"] = (0, None if opening is None else closing_gl - opening)
    closing_sl = opening_sl + int(moved[side].sum())
    rows["closing balance"] = (closing_sl, closing_gl)
    frame = pd.DataFrame([(k, a, b) for k, (a, b) in rows.items()], columns=["line", "subledger", "gl"])
    frame["subledger"] = frame["subledger"].astype("int64")
    frame["gl"] = frame["gl"].astype("Int64")
    frame["difference"] = (frame["gl"] - frame["subledger"]).astype("Int64")
    return frame
