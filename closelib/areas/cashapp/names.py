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
FULL_MATRIX = 2_000_000  # payer x customer pairs compared in full; beyond, by blocks
NEAR_MISS = 40  # the lowest score shown as a candidate on the worklist


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
    score of at least ``NEAR_MISS`` with ``keep_below``, for the near misses on the worklist).

    Up to ``FULL_MATRIX`` payer x customer pairs every name is compared with every other. Beyond
    that, names are compared within *blocks*: the same first word and the same first three
    letters of the second word (banks cut names at the end, not the start), so 100,000
    unidentified receipts against 50,000 customers cost seconds, not hours."""
    columns = ["src", "customer_id", "name", "score"]
    empty = pd.DataFrame(
        {"src": pd.Series(dtype="int64"), "customer_id": pd.Series(dtype=object), "name": pd.Series(dtype=object)}
    ).assign(score=pd.Series(dtype="float64"))
    payer = normalise(payers["payer_name"], exclude)
    usable = (payer != "").to_numpy()
    if not usable.any() or customers.empty:
        return empty
    known = normalise(customers["name"], exclude).to_numpy(dtype=object).astype(str)
    distinct, codes = np.unique(payer[usable].to_numpy(dtype=object).astype(str), return_inverse=True)
    cutoff = NEAR_MISS if keep_below else threshold
    if len(distinct) * len(known) <= FULL_MATRIX:
        found = _full(distinct, known, cutoff)
    else:
        found = _blocked(distinct, known, cutoff)
    found = found.sort_values(["distinct", "score", "customer"], ascending=[True, False, True], kind="stable")
    found = found.groupby("distinct", sort=False).head(TOP)
    per_payer = pd.DataFrame({"src": payers["src"].to_numpy()[usable], "distinct": codes})
    result = per_payer.merge(found, on="distinct")
    result = result.assign(
        customer_id=customers["customer_id"].to_numpy()[result["customer"].to_numpy()],
        name=customers["name"].to_numpy()[result["customer"].to_numpy()],
        score=result["score"].astype("float64"),
    )
    result = result.sort_values(["src", "score", "customer"], ascending=[True, False, True], kind="stable")
    return result[columns].reset_index(drop=True)


def _full(distinct: np.ndarray, known: np.ndarray, cutoff: int) -> pd.DataFrame:
    """Every payer against every customer (rapidfuzz ``cdist``, in row chunks)."""
    rows, cols, scores = [], [], []
    choices = known.tolist()
    for start in range(0, len(distinct), ROWS_PER_CHUNK):
        block = process.cdist(
            distinct[start : start + ROWS_PER_CHUNK].tolist(),
            choices,
            scorer=fuzz.WRatio,
            score_cutoff=cutoff,
            dtype=np.uint8,
            workers=-1,
        )
        # the TOP best of each row, without sorting whole rows
        width = min(TOP, block.shape[1])
        best = np.argpartition(-block.astype("int16"), width - 1, axis=1)[:, :width]
        got = np.take_along_axis(block, best, axis=1)
        r, k = np.nonzero(got)
        rows.append(r + start)
        cols.append(best[r, k])
        scores.append(got[r, k])
    return pd.DataFrame(
        {"distinct": np.concatenate(rows), "customer": np.concatenate(cols), "score": np.concatenate(scores)}
    )


def block_key(names: pd.Series) -> pd.Series:
    """First word and the first three letters of the second: ``ACME DATA CENTERS`` -> ``ACME DAT``."""
    return names.str.extract(r"^(\S+(?: \S{1,3})?)", expand=False).fillna("")


def _blocked(distinct: np.ndarray, known: np.ndarray, cutoff: int) -> pd.DataFrame:
    """Pairs sharing a block key only, scored pair by pair (rapidfuzz ``cpdist``)."""
    left = pd.DataFrame({"distinct": np.arange(len(distinct)), "key": block_key(pd.Series(distinct))})
    right = pd.DataFrame({"customer": np.arange(len(known)), "key": block_key(pd.Series(known))})
    pairs = left.merge(right, on="key")
    score = process.cpdist(
        distinct[pairs["distinct"].to_numpy()].tolist(),
        known[pairs["customer"].to_numpy()].tolist(),
        scorer=fuzz.WRatio,
        score_cutoff=cutoff,
        dtype=np.uint8,
        workers=-1,
    )
    pairs["score"] = score
    return pairs.loc[pairs["score"] > 0, ["distinct", "customer", "score"]]
