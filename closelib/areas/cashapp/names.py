"""Payer names (as the bank shows them) against customer names, for unidentified receipts.

Banks truncate, upper-case and abbreviate: ``ACME DATA CENTERS INTL`` for *Acme Data Centers
International, LLC*. Both sides are reduced to upper-case words without punctuation and without
legal-form words (``cash_application.exclude_names``: LLC, PTE, LTD ...), then scored with
rapidfuzz's ``WRatio`` (0-100: the best of whole-string, token-sort, token-set and partial
ratios, so a truncated or reordered name still scores high). rapidfuzz computes the whole
payers x customers matrix in C++ (``process.cdist``), so 5,000 payers against 10,000 customers
take a fraction of a second; difflib would take minutes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

TOP = 3  # candidate customers kept per payer
ROWS_PER_CHUNK = 2048


def normalise(names: pd.Series, exclude: tuple[str, ...]) -> pd.Series:
    """Upper-case words, punctuation and legal-form words removed, single spaces."""
    words = names.astype(str).str.upper().str.replace(r"[^A-Z0-9]+", " ", regex=True).str.strip()
    if exclude:
        pattern = r"\b(?:" + "|".join(re.escape(w) for w in exclude) + r")\b"
        words = words.str.replace(pattern, " ", regex=True)
    return words.str.replace(r"\s+", " ", regex=True).str.strip()


def candidates(
    payers: pd.DataFrame, customers: pd.DataFrame, threshold: int, exclude: tuple[str, ...], keep_below: bool = False
) -> pd.DataFrame:
    """The customers each payer name resembles, best first (at most ``TOP``).

    ``payers``: ``src``, ``payer_name``. ``customers``: ``customer_id``, ``name``. Returns
    ``src``, ``customer_id``, ``name``, ``score`` (0-100) with score >= ``threshold`` (or any
    score above 0 with ``keep_below``, for showing near misses in the worklist)."""
    columns = ["src", "customer_id", "name", "score"]
    empty = pd.DataFrame(
        {"src": pd.Series(dtype="int64"), "customer_id": pd.Series(dtype=object), "name": pd.Series(dtype=object)}
    ).assign(score=pd.Series(dtype="float64"))
    payer = normalise(payers["payer_name"], exclude)
    usable = (payer != "").to_numpy()
    if not usable.any() or customers.empty:
        return empty
    known = normalise(customers["name"], exclude)
    distinct, codes = np.unique(payer[usable].to_numpy(dtype=object).astype(str), return_inverse=True)
    choices = known.to_numpy(dtype=object).astype(str).tolist()
    cutoff = 1 if keep_below else threshold
    rows, cols, scores = [], [], []
    for start in range(0, len(distinct), ROWS_PER_CHUNK):
        block = process.cdist(
            distinct[start : start + ROWS_PER_CHUNK].tolist(),
            choices,
            scorer=fuzz.WRatio,
            score_cutoff=cutoff,
            dtype=np.uint8,
            workers=-1,
        )
        width = min(TOP, block.shape[1])
        best = np.argsort(-block.astype("int16"), axis=1, kind="stable")[:, :width]
        got = np.take_along_axis(block, best, axis=1)
        r, k = np.nonzero(got > 0)
        rows.append(r + start)
        cols.append(best[r, k])
        scores.append(got[r, k])
    found = pd.DataFrame(
        {"distinct": np.concatenate(rows), "customer": np.concatenate(cols), "score": np.concatenate(scores)}
    )
    src = payers["src"].to_numpy()[usable]
    per_payer = pd.DataFrame({"src": src, "distinct": codes})
    result = per_payer.merge(found, on="distinct")
    result = result.assign(
        customer_id=customers["customer_id"].to_numpy()[result["customer"].to_numpy()],
        name=customers["name"].to_numpy()[result["customer"].to_numpy()],
        score=result["score"].astype("float64"),
    )
    result = result.sort_values(["src", "score", "customer"], ascending=[True, False, True], kind="stable")
    return result[columns].reset_index(drop=True)
