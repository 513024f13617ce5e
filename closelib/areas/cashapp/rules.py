"""The amount rules: one document of exactly the amount, a combination summing exactly, and a
document or combination within tolerance (the difference proposed as an adjustment).

Each rule takes *candidates*: free sources with the customer to search (a receipt's own
customer, or for an unidentified receipt the customers its payer name resembles, with a
``score``), and books what it finds through the :class:`~.allocate.Ledger`.

The combination search is bounded: only the customer's ``combination_candidates`` oldest open
documents are searched (oldest first, as customers pay), every subset of 2 to
``max_combination`` of them summed at once as one matrix product. A customer with thousands of
open items costs exactly what one with twelve costs.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.areas.cashapp.allocate import Ledger
from closelib.areas.cashapp.candidates import Policy, money_text

PAD = -(1 << 50)  # padding amount: any subset holding it sums far below zero
CELLS_PER_CHUNK = 1 << 23  # sources x subsets summed per matrix product (64 MiB of int64)


KEY = "ckey"  # one integer per (entity, currency, customer): see match.customer_keys


def open_targets(ledger: Ledger, targets: pd.DataFrame) -> pd.DataFrame:
    """Targets still open: ``ckey``, ``tgt`` (position) and ``open`` (minor units now)."""
    still = np.flatnonzero(ledger.open > 0)
    return pd.DataFrame({KEY: targets[KEY].to_numpy()[still], "tgt": still, "open": ledger.open[still]})


def exact_single(
    ledger: Ledger, candidates: pd.DataFrame, targets: pd.DataFrame, rule: str, reason: str, sure: float, unsure: float
) -> pd.DataFrame:
    """One open document of the candidate customer with exactly the source's amount.

    Where a customer has several documents of that amount, sources and documents are paired
    in order (oldest document first) with the lower confidence ``unsure``."""
    if candidates.empty:
        return ledger.take_whole(pd.DataFrame(columns=["src", "tgt", "amount", "rule", "confidence", "reason"]))
    cand = candidates.copy()
    cand["amount"] = ledger.available[cand["src"].to_numpy()]
    docs = open_targets(ledger, targets).rename(columns={"open": "amount"})
    pairs = cand.merge(docs, on=[KEY, "amount"])
    pairs = pairs.sort_values(["src", "score", "tgt"], ascending=[True, False, True], kind="stable")
    group = pairs.groupby([KEY, "amount"], sort=False)
    pairs["src_rank"] = group["src"].rank(method="dense")
    pairs["tgt_rank"] = group["tgt"].rank(method="dense")
    pairs["same_amount"] = group["tgt"].transform("nunique")
    pairs = pairs[pairs["src_rank"] == pairs["tgt_rank"]].drop_duplicates("src", keep="first")
    pairs["rule"] = rule
    pairs["confidence"] = np.where(pairs["same_amount"] > 1, unsure, sure) * pairs["score"] / 100
    several = pairs["same_amount"].astype(int).astype(str) + " open documents of this amount: the oldest first"
    pairs["reason"] = np.where(pairs["same_amount"] > 1, reason + "; " + several, reason)
    if "reason_extra" in pairs.columns:
        pairs["reason"] = pairs["reason"] + pairs["reason_extra"]
    return ledger.take_whole(pairs[["src", "tgt", "amount", "rule", "confidence", "reason"]])


@functools.lru_cache(maxsize=32)
def subsets(width: int, smallest: int, largest: int) -> np.ndarray:
    """Every subset of ``width`` positions with ``smallest``..``largest`` members, as 0/1 rows:
    fewer documents first, then older documents first (lexicographic). Made once per shape
    (at most C(16, <=8) = 39,202 rows) and shared read-only."""
    chosen = [
        c for size in range(smallest, min(largest, width) + 1) for c in itertools.combinations(range(width), size)
    ]
    rows = np.zeros((len(chosen), width), dtype="int64")
    row_of = np.repeat(np.arange(len(chosen)), [len(c) for c in chosen])
    rows[row_of, np.fromiter(itertools.chain.from_iterable(chosen), dtype="int64", count=len(row_of))] = 1
    rows.flags.writeable = False
    return rows


@dataclass
class Search:
    """The oldest open documents of each candidate's customer, as a matrix per candidate."""

    candidates: pd.DataFrame  # src, customer keys, score (one row per candidate)
    amounts: np.ndarray  # candidates x width (PAD where the customer has fewer documents)
    positions: np.ndarray  # candidates x width target positions (-1 padding)


def oldest_documents(ledger: Ledger, candidates: pd.DataFrame, targets: pd.DataFrame, width: int) -> Search:
    docs = open_targets(ledger, targets)  # target order is oldest first
    docs = docs.merge(candidates[[KEY]].drop_duplicates(), on=KEY)
    docs = docs.sort_values("tgt", kind="stable")
    docs["rank"] = docs.groupby(KEY, sort=False).cumcount()
    docs = docs[docs["rank"] < width]
    customers = docs[[KEY]].drop_duplicates().reset_index(drop=True)
    customers["row"] = np.arange(len(customers))
    docs = docs.merge(customers, on=KEY)
    amounts = np.full((len(customers), width), PAD, dtype="int64")
    positions = np.full((len(customers), width), -1, dtype="int64")
    amounts[docs["row"].to_numpy(), docs["rank"].to_numpy()] = docs["open"].to_numpy()
    positions[docs["row"].to_numpy(), docs["rank"].to_numpy()] = docs["tgt"].to_numpy()
    cand = candidates.merge(customers, on=KEY, how="inner").sort_values(
        ["src", "score"], ascending=[True, False], kind="stable"
    )
    rows = cand["row"].to_numpy()
    return Search(cand.reset_index(drop=True), amounts[rows], positions[rows])


def _sums(amounts: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Subset sums, exact: float64 BLAS where every real amount is below 2^48 (a sum of up to 16
    of them stays below 2^53, where every whole number is a float64 exactly), else int64."""
    real = amounts[amounts != PAD]
    if real.size == 0 or int(np.abs(real).max()) < (1 << 48):
        return amounts.astype("float64") @ chosen.T.astype("float64")
    return amounts @ chosen.T


def best_subsets(search: Search, ledger: Ledger, policy: Policy, exact: bool) -> pd.DataFrame:
    """Per candidate, the first subset summing exactly to what the source has left (``exact``),
    or the subset nearest to it within tolerance (not exact). Returns ``cand`` (row of
    ``search.candidates``), ``subset`` (row of the subset matrix) and ``total``."""
    width = search.amounts.shape[1] if search.amounts.ndim == 2 else 0
    found = []
    if width == 0 or len(search.candidates) == 0:
        return pd.DataFrame({"cand": [], "subset": [], "total": []}, dtype="int64")
    chosen = subsets(width, 2 if exact else 1, policy.max_combination)
    if len(chosen) == 0:
        return pd.DataFrame({"cand": [], "subset": [], "total": []}, dtype="int64")
    available = ledger.available[search.candidates["src"].to_numpy()]
    absolute = per_currency(search.candidates["currency"], policy.absolute)
    numerator, denominator = policy.percent_fraction()
    step = max(1, CELLS_PER_CHUNK // len(chosen))
    for start in range(0, len(available), step):
        sums = _sums(search.amounts[start : start + step], chosen)
        want = available[start : start + step, None]
        if exact:
            hit = sums == want
            best = hit.argmax(axis=1)  # the first subset that sums exactly
            rows = np.flatnonzero(hit[np.arange(len(best)), best])
            cols = best[rows]
        else:
            # within the absolute tolerance first (one pass over the matrix), then, on those few,
            # the exact lower of it and the percent of the documents' total
            gap = np.abs(sums - want)
            rows, cols = np.nonzero((sums > 0) & (gap > 0) & (gap <= absolute[start : start + step, None]))
            total = sums[rows, cols].astype("int64")
            share = (total // denominator) * numerator + (total % denominator) * numerator // denominator
            near = gap[rows, cols].astype("int64") <= share
            rows, cols, size = rows[near], cols[near], gap[rows[near], cols[near]]
            order = np.lexsort((cols, size, rows))  # per row: the smallest gap, then the first subset
            rows, cols = rows[order], cols[order]
            first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
            rows, cols = rows[first], cols[first]
        found.append(pd.DataFrame({"cand": rows + start, "subset": cols, "total": sums[rows, cols].astype("int64")}))
    result = pd.concat(found, ignore_index=True)
    result["src"] = search.candidates["src"].to_numpy()[result["cand"].to_numpy()]
    return result.drop_duplicates("src", keep="first").reset_index(drop=True)


def per_currency(currency: pd.Series, amount_of) -> np.ndarray:
    """``amount_of(currency)`` per row, worked out once per distinct currency."""
    codes, distinct = pd.factorize(currency)
    values = np.array([amount_of(str(c)) for c in distinct], dtype="int64")
    return values[codes] if len(codes) else np.zeros(0, dtype="int64")


def subset_lines(search: Search, hits: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One line per (candidate, document) of each chosen subset, oldest document first."""
    width = search.amounts.shape[1]
    chosen = subsets(width, 1, policy.max_combination).astype(bool)
    rows = hits["cand"].to_numpy()
    member = chosen[hits["subset"].to_numpy()]  # hits x width
    hit_row, slot = np.nonzero(member)
    return pd.DataFrame(
        {
            "hit": hit_row,
            "src": hits["src"].to_numpy()[hit_row],
            "tgt": search.positions[rows[hit_row], slot],
            "open": search.amounts[rows[hit_row], slot],
        }
    )


def _subset_index(hits: pd.DataFrame, search: Search, exact: bool, policy: Policy) -> pd.DataFrame:
    """Subset numbers of :func:`best_subsets` count from size 2 (exact) or 1; re-base on 1."""
    if not exact or hits.empty:
        return hits
    width = search.amounts.shape[1]
    singles = len(subsets(width, 1, 1))
    return hits.assign(subset=hits["subset"] + singles)


def combination(
    ledger: Ledger, candidates: pd.DataFrame, targets: pd.DataFrame, policy: Policy, rule: str, reason: str
) -> pd.DataFrame:
    """2..max_combination documents of the customer summing exactly to the source."""
    search = oldest_documents(ledger, candidates, targets, policy.combination_candidates)
    hits = _subset_index(best_subsets(search, ledger, policy, exact=True), search, True, policy)
    if hits.empty:
        return ledger.take_whole(pd.DataFrame(columns=["src", "tgt", "amount", "rule", "confidence", "reason"]))
    lines = subset_lines(search, hits, policy)
    score = search.candidates["score"].to_numpy()[hits["cand"].to_numpy()][lines["hit"].to_numpy()]
    count = lines.groupby("hit")["tgt"].transform("size").astype(str)
    extra = search.candidates.get("reason_extra")
    tail = "" if extra is None else extra.to_numpy()[hits["cand"].to_numpy()][lines["hit"].to_numpy()]
    pairs = pd.DataFrame(
        {
            "src": lines["src"],
            "tgt": lines["tgt"],
            "amount": lines["open"],
            "rule": rule,
            "confidence": 0.85 * score / 100,
            "reason": reason + ": " + count + " oldest-first documents sum exactly to the amount" + tail,
        }
    )
    return ledger.take_whole(pairs)


def tolerance(
    ledger: Ledger, candidates: pd.DataFrame, targets: pd.DataFrame, policy: Policy, rule: str, reason: str
) -> pd.DataFrame:
    """One document or a combination within tolerance of the source (the nearest; fewer and
    older documents first on a tie).

    Paid short: the source is applied oldest first and what it leaves open is proposed as an
    adjustment, a *bank charge* when it is at most ``bank_charge_max`` (the payer's bank kept
    its fee) and a *short-pay* above it (to be agreed with the customer). Paid over: the
    documents are applied in full and the excess stays unapplied, as the customer's money."""
    search = oldest_documents(ledger, candidates, targets, policy.combination_candidates)
    hits = best_subsets(search, ledger, policy, exact=False)
    if hits.empty:
        return ledger.take_whole(pd.DataFrame(columns=["src", "tgt", "amount", "rule", "confidence", "reason"]))
    lines = subset_lines(search, hits, policy)
    available = ledger.available[lines["src"].to_numpy()]
    owed = lines["open"].to_numpy()
    before = lines.groupby("hit")["open"].cumsum().to_numpy() - owed
    amount = np.clip(available - before, 0, owed)
    total = hits["total"].to_numpy()[lines["hit"].to_numpy()]
    gap = total - available
    currency = search.candidates["currency"].to_numpy()[hits["cand"].to_numpy()][lines["hit"].to_numpy()]
    charge = per_currency(pd.Series(currency), policy.bank_charge)
    kind = np.where(gap <= 0, "", np.where(gap <= charge, "bank charge", "short-pay"))
    count = lines.groupby("hit")["tgt"].transform("size").astype(str) + " document(s)"
    difference = money_text(np.abs(gap), currency)
    said = np.where(
        gap > 0,
        "paid short of " + count + " by " + difference + " (" + kind + ")",
        "paid over " + count + " by " + difference + " (left unapplied, the customer's money)",
    )
    score = search.candidates["score"].to_numpy()[hits["cand"].to_numpy()][lines["hit"].to_numpy()]
    pairs = pd.DataFrame(
        {
            "src": lines["src"],
            "tgt": lines["tgt"],
            "amount": amount,
            "rule": rule,
            "confidence": 0.7 * score / 100,
            "reason": reason + ": " + pd.Series(said, dtype=object),
            "open": owed,
            "kind": kind,
        }
    )
    pairs = pairs[pairs["amount"] > 0]
    booked = ledger.take_whole(pairs[["src", "tgt", "amount", "rule", "confidence", "reason"]])
    left = pairs[pairs["src"].isin(booked["src"]) & (pairs["open"] > pairs["amount"]) & (pairs["kind"] != "")]
    # the documents of a booked subset the source did not reach at all are adjusted as well
    untouched = lines[
        lines["src"].isin(booked["src"])
        & ~lines.set_index(["src", "tgt"]).index.isin(pairs.set_index(["src", "tgt"]).index)
    ]
    residual = pd.concat(
        [
            pd.DataFrame(
                {"src": left["src"], "tgt": left["tgt"], "amount": left["open"] - left["amount"], "kind": left["kind"]}
            ),
            pd.DataFrame(
                {
                    "src": untouched["src"],
                    "tgt": untouched["tgt"],
                    "amount": untouched["open"],
                    "kind": pairs.drop_duplicates("src").set_index("src")["kind"].reindex(untouched["src"]).to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    ledger.adjust(residual)
    return booked
