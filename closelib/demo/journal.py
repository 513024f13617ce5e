"""Journal lines accumulated as column arrays, and the AR subledger's batches (detail on the AR
side, offsets summarised per account): the lines :mod:`closelib.demo.ledger` posts."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from closelib.demo._common import ENTITIES, cat, day_text, take

LINE_COLUMNS = (
    "entity",
    "journal",
    "day",
    "post",
    "account",
    "amount",
    "source",
    "reference",
    "description",
    "order",
    "jkey",
)
BATCH_TYPES = ("INV", "DM", "CM", "RCP", "APP", "WO", "REC", "ADJ", "FXR", "CMX")
SOURCES = np.array(["ar_subledger", "manual", "other"])


class Lines:
    """Accumulates journal lines as column arrays; ``amount`` signed, debit positive."""

    def __init__(self) -> None:
        self.parts: list[dict] = []

    def add(
        self,
        entity: npt.ArrayLike,
        journal: str | pa.Array,
        day: npt.ArrayLike,
        account: npt.ArrayLike,
        amount: npt.ArrayLike,
        source: npt.ArrayLike,
        reference: str | pa.Array,
        description: str | pa.Array,
        post: npt.ArrayLike | None = None,
        jkey: int | None = None,
    ) -> None:
        """One line per ``amount``; scalars apply to every line. ``jkey`` orders journals posted
        the same day (lines of one journal share it)."""
        amount = np.asarray(amount, dtype="int64")
        size = len(amount)

        def full(v: npt.ArrayLike | pa.Array, dtype: str | None = None) -> np.ndarray | pa.Array:
            if isinstance(v, (pa.Array, pa.ChunkedArray)):
                return v
            arr = np.asarray(v, dtype=dtype)
            return np.broadcast_to(arr, (size,)).copy() if arr.ndim == 0 else arr

        day = full(day, "int64")
        self.parts.append(
            {
                "entity": full(entity, "int64"),
                "journal": journal if not isinstance(journal, str) else pa.array([journal] * size),
                "day": day,
                "post": day if post is None else full(post, "int64"),
                "account": full(account, "int64"),
                "amount": amount,
                "source": full(source, "int64"),
                "reference": reference if not isinstance(reference, str) else pa.array([reference] * size),
                "description": description if not isinstance(description, str) else pa.array([description] * size),
                "order": np.full(size, len(self.parts), dtype="int64"),
                "jkey": np.full(size, 100 + len(self.parts) if jkey is None else jkey, dtype="int64"),
            }
        )

    def columns(self) -> dict[str, Any]:
        """Every line added, column by column: numbers as one array, text as one Arrow string array."""
        cols: dict[str, Any] = {}
        for key in LINE_COLUMNS:
            values = [p[key] for p in self.parts]
            if isinstance(values[0], (pa.Array, pa.ChunkedArray)) or any(
                isinstance(v, (pa.Array, pa.ChunkedArray)) for v in values
            ):
                chunks: list[pa.Array] = []
                for v in values:
                    v = (
                        v
                        if isinstance(v, (pa.Array, pa.ChunkedArray))
                        else pa.array(np.asarray(v, dtype=object), type=pa.string())
                    )
                    chunks.extend(v.chunks if isinstance(v, pa.ChunkedArray) else [v])
                cols[key] = pa.chunked_array(chunks, type=pa.string()).combine_chunks()
            else:
                cols[key] = np.concatenate(values)
        return cols


def subledger_batch(
    lines: Lines,
    btype: str,
    entity: npt.ArrayLike,
    day: npt.ArrayLike,
    ar_account: int,
    offset_account: npt.ArrayLike,
    amount: npt.ArrayLike,
    reference: str | pa.Array,
    description: str,
    offset_text: str,
) -> None:
    """Detail lines on the AR side (signed ``amount``) and summarised offsets per batch."""
    entity = np.asarray(entity, dtype="int64")
    day = np.asarray(day, dtype="int64")
    amount = np.asarray(amount, dtype="int64")
    if not len(amount):
        return
    offset_account = np.broadcast_to(np.asarray(offset_account, dtype="int64"), amount.shape)
    journal = batch_ids(entity, day, btype)
    key = BATCH_TYPES.index(btype)
    lines.add(entity, journal, day, ar_account, amount, 0, reference, description, jkey=key)
    off = pd.DataFrame({"e": entity, "d": day, "a": offset_account, "m": -amount})
    off = off.groupby(["e", "d", "a"], sort=True)["m"].sum().reset_index()
    off = off[off["m"] != 0]
    jid = batch_ids(off["e"].to_numpy(), off["d"].to_numpy(), btype)
    lines.add(
        off["e"].to_numpy(),
        jid,
        off["d"].to_numpy(),
        off["a"].to_numpy(),
        off["m"].to_numpy(),
        0,
        jid,
        offset_text,
        jkey=key,
    )


def batch_ids(entity: np.ndarray, day: np.ndarray, btype: str) -> pa.Array:
    return cat("ARB-", take(np.array(ENTITIES), entity), "-", day_text(day, compact=True), "-" + btype)
