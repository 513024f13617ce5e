"""The period's roll-forward of the AR control (or unapplied cash) balance, subledger and GL side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.areas.recon.ledger import gl_balance
from closelib.areas.recon.sides import CM_FX, CONTROL, KINDS, UNAPPLIED, GLPolicy, Sides, ledger_sides
from closelib.book.model import Book
from closelib.periods import Period

# The subledger's kinds (their labels are the recon sides' own; credit memos applied with an
# FX difference is an FX line, shown only when a book has it), then the GL-only lines.
ROLL_LINES = (
    *(kind for kind in KINDS if kind != CM_FX),
    "manual and other journals",
    "GL lines with no subledger transaction",
)
REVALUATION_LINE = "FX revaluation (GL only: the subledger stays at booking rates)"
# Lines shown only when a book has them (foreign-currency books).
FX_LINES = (CM_FX, REVALUATION_LINE)
# A GL line's roll-forward line by code: a subledger kind (its code in KINDS), then these.
_LINE_TEXT = (*KINDS, REVALUATION_LINE, "manual and other journals", "GL lines with no subledger transaction")
_REVALUATION, _MANUAL, _NO_TRANSACTION = len(KINDS), len(KINDS) + 1, len(KINDS) + 2


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
    sides: Sides | None = None,
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
    sides = ledger_sides(book, policy) if sides is None else sides
    effects = sides.effects
    mine = (effects["_ent"] == sides.entity_code(entity)).to_numpy()
    date = effects["date"]
    values = effects[side].to_numpy()
    opening_sl = int(values[mine & (date <= start).to_numpy()].sum())
    moved = mine & ((date > start) & (date <= end)).to_numpy()
    sl = effects[moved].groupby("kind", observed=True)[side].sum()
    rows = {"opening balance": (opening_sl, gl_balance(book, entity, period.shift(-1), accounts, credit))}
    gl_moves = pd.Series(dtype="int64")
    if sides.lines is not None:
        lines = sides.lines
        in_period = sides.line_frame(
            (lines["_ent"] == sides.entity_code(entity)).to_numpy() & sides.in_period(period), ["journal_id", "source"]
        )
        # The kind of the first subledger transaction with the line's reference, as a code (NaN:
        # none); a line without one takes the first kind among its journal's lines.
        refs = in_period["_ref"].to_numpy()
        kind_code = np.where(refs >= 0, sides.first_kind[np.maximum(refs, 0)] if len(sides.first_kind) else -1, -1)
        kind = pd.Series(np.where(kind_code >= 0, kind_code, np.nan), index=in_period.index)
        journal_kind = kind.groupby(in_period["journal_id"]).first()
        kind = kind.fillna(in_period["journal_id"].map(journal_kind))
        # Each line's roll-forward line, as a code into LINE_TEXT (no text per line).
        subledger = (in_period["source"] == "ar_subledger").to_numpy(dtype=bool)
        codes = np.where(
            ~subledger,
            np.where(in_period["revaluation"].to_numpy(), _REVALUATION, _MANUAL),
            np.where(kind.notna().to_numpy(), kind.fillna(-1).to_numpy(), _NO_TRANSACTION),
        ).astype("int64")
        by_code = in_period[side].groupby(codes).sum()
        gl_moves = pd.Series(by_code.to_numpy(), index=np.asarray(_LINE_TEXT, dtype=object)[by_code.index.to_numpy()])
    present = [line for line in FX_LINES if line in sl.index or line in gl_moves.index]
    for line in (*(ROLL_LINES if side == CONTROL else UNAPPLIED_ROLL_LINES), *present):
        rows[line] = (int(sl.get(line, 0)), int(gl_moves.get(line, 0)) if sides.lines is not None else None)
    closing_gl = gl_balance(book, entity, period, accounts, credit)
    if sides.lines is not None and closing_gl is not None:
        opening_gl = rows["opening balance"][1] or 0
        unsupported = closing_gl - opening_gl - int(gl_moves.sum())
        rows["GL balance not supported by journal detail"] = (0, unsupported)
    elif closing_gl is not None:
        opening = rows["opening balance"][1]
        rows["GL movement (no journal detail given)"] = (0, None if opening is None else closing_gl - opening)
    closing_sl = opening_sl + int(values[moved].sum())
    rows["closing balance"] = (closing_sl, closing_gl)
    frame = pd.DataFrame([(k, a, b) for k, (a, b) in rows.items()], columns=["line", "subledger", "gl"])
    frame["subledger"] = frame["subledger"].astype("int64")
    frame["gl"] = frame["gl"].astype("Int64")
    frame["difference"] = (frame["gl"] - frame["subledger"]).astype("Int64")
    return frame
