"""The guard against over-application: running balances every rule draws from.

:class:`Ledger` holds what is still available on every source and still open on every target.
A rule never writes a proposal itself: it hands candidate (source, target) pairs to
:meth:`Ledger.take_partial` (amounts split oldest first, a target partly paid) or
:meth:`Ledger.take_whole` (a set of targets taken in full or not at all), and these are the only
places balances go down. Each takes the balances as they are *now*, gives every target to one
source per pass, and caps every line at both balances, so no source pays more than it has and no
target receives more than it owes, across all rules together. :func:`over_applied` re-checks a
finished set of proposals from scratch (the workpaper's check, and the property test's oracle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PROPOSAL_COLUMNS = ["src", "tgt", "amount", "rule", "confidence", "reason"]
MAX_PASSES = 4  # a target wanted by several sources goes to the first; the others retry


@dataclass
class Ledger:
    available: np.ndarray  # per source, minor units still to apply
    open: np.ndarray  # per target, minor units still open
    parts: list[pd.DataFrame] = field(default_factory=list)
    adjusted: list[pd.DataFrame] = field(default_factory=list)
    matched: np.ndarray | None = None  # sources a rule has claimed (later rules skip them)

    @classmethod
    def start(cls, sources: pd.DataFrame, targets: pd.DataFrame) -> Ledger:
        return cls(
            sources["available"].to_numpy(dtype="int64").copy(),
            targets["open_amount"].to_numpy(dtype="int64").copy(),
            matched=np.zeros(len(sources), dtype=bool),
        )

    def free_sources(self) -> np.ndarray:
        """Sources no rule has claimed yet, with something left to apply."""
        assert self.matched is not None
        return np.flatnonzero(~self.matched & (self.available > 0))

    def _book(self, src: np.ndarray, tgt: np.ndarray, amount: np.ndarray, meta: pd.DataFrame) -> pd.DataFrame:
        keep = amount > 0
        src, tgt, amount = src[keep], tgt[keep], amount[keep]
        # np.subtract.at handles a source (or target) that appears on several lines
        np.subtract.at(self.available, src, amount)
        np.subtract.at(self.open, tgt, amount)
        if (self.available < 0).any() or (self.open < 0).any():  # a bug, never data
            raise AssertionError("cash application over-applied a source or a target")
        assert self.matched is not None
        self.matched[src] = True
        lines = pd.DataFrame({"src": src, "tgt": tgt, "amount": amount})
        for column in ("rule", "confidence", "reason"):
            lines[column] = meta[column].to_numpy()[keep]
        self.parts.append(lines)
        return lines

    def take_partial(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Apply each source to its targets in the order given (``src``, ``tgt``, and the
        proposal's ``rule``, ``confidence``, ``reason``), as far as both balances go."""
        done = []
        pending = pairs.reset_index(drop=True)
        for _ in range(MAX_PASSES):
            pending = pending[(self.available[pending["src"]] > 0) & (self.open[pending["tgt"]] > 0)]
            if pending.empty:
                break
            first = pending.drop_duplicates("tgt", keep="first")  # sources come in rule order
            src = first["src"].to_numpy(dtype="int64")
            tgt = first["tgt"].to_numpy(dtype="int64")
            owed = self.open[tgt]
            running = pd.Series(owed).groupby(src).cumsum().to_numpy() - owed  # owed by earlier lines
            amount = np.clip(self.available[src] - running, 0, owed)
            done.append(self._book(src, tgt, amount, first))
            pending = pending.drop(index=first.index)
        return pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=PROPOSAL_COLUMNS)

    def take_whole(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Sets of targets taken in full, or not at all: each source's targets (``src``,
        ``tgt``, ``amount`` to apply and the proposal's text) are booked only when every one of
        them still has that much open and the source that much available; a source losing a
        target to an earlier source waits for the next pass with what is left."""
        done = []
        pending = pairs.reset_index(drop=True)
        for _ in range(MAX_PASSES):
            if pending.empty:
                break
            # Sets no longer possible (a target paid down, the source used) drop out first ...
            src = pending["src"].to_numpy(dtype="int64")
            amount = pending["amount"].to_numpy(dtype="int64")
            wanted = pd.Series(amount).groupby(src).transform("sum").to_numpy()
            line_ok = (self.open[pending["tgt"].to_numpy(dtype="int64")] >= amount) & (self.available[src] >= wanted)
            pending = pending[pd.Series(line_ok).groupby(src).transform("all").to_numpy()]
            if pending.empty:
                break
            # ... then each target goes to its first claimant (pairs come in source order, so
            # the first source left always gets all of its set: every pass makes progress).
            src = pending["src"].to_numpy(dtype="int64")
            tgt = pending["tgt"].to_numpy(dtype="int64")
            amount = pending["amount"].to_numpy(dtype="int64")
            first_claim = pending.groupby("tgt", sort=False)["src"].transform("first").to_numpy()
            source_ok = pd.Series(first_claim == src).groupby(src).transform("all").to_numpy()
            chosen = pending[source_ok]
            done.append(self._book(src[source_ok], tgt[source_ok], amount[source_ok], chosen))
            pending = pending[~source_ok & ~np.isin(src, src[source_ok])]
        return pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=PROPOSAL_COLUMNS)

    def adjust(self, lines: pd.DataFrame) -> None:
        """Propose adjustments (``src``, ``tgt``, ``amount`` > 0, ``kind``): what a source paid
        short on a document. The document's open amount goes down by it, so no other source is
        applied to a difference already proposed for adjustment."""
        if lines.empty:
            return
        tgt = lines["tgt"].to_numpy(dtype="int64")
        amount = lines["amount"].to_numpy(dtype="int64")
        np.subtract.at(self.open, tgt, amount)
        if (self.open < 0).any() or (amount <= 0).any():  # a bug, never data
            raise AssertionError("cash application proposed an adjustment beyond a document's open amount")
        self.adjusted.append(lines[["src", "tgt", "amount", "kind"]].reset_index(drop=True))

    def adjustments(self) -> pd.DataFrame:
        if not self.adjusted:
            return pd.DataFrame(
                {
                    "src": pd.Series(dtype="int64"),
                    "tgt": pd.Series(dtype="int64"),
                    "amount": pd.Series(dtype="int64"),
                    "kind": pd.Series(dtype=object),
                }
            )
        return pd.concat(self.adjusted, ignore_index=True)

    def proposals(self) -> pd.DataFrame:
        if not self.parts:
            frame = pd.DataFrame({c: pd.Series(dtype="int64") for c in ("src", "tgt", "amount")})
            for column in ("rule", "reason"):
                frame[column] = pd.Series(dtype=object)
            frame["confidence"] = pd.Series(dtype="float64")
            return frame[PROPOSAL_COLUMNS]
        return pd.concat(self.parts, ignore_index=True)[PROPOSAL_COLUMNS]


def over_applied(
    lines: pd.DataFrame, available: np.ndarray, open_amount: np.ndarray, adjustments: pd.DataFrame | None = None
) -> list[str]:
    """Problems (empty when none): a source applied beyond what it had, a target beyond what it
    owed (applications and proposed adjustments together), or a line that is not positive.
    ``lines`` (and ``adjustments``) have ``src``, ``tgt`` and ``amount``."""
    problems = []
    if adjustments is not None and len(adjustments):
        if (adjustments["amount"].to_numpy(dtype="int64") <= 0).any():
            problems.append("an adjustment proposed that is not positive")
        open_amount = open_amount.copy()
        np.subtract.at(open_amount, adjustments["tgt"].to_numpy(dtype="int64"), adjustments["amount"].to_numpy("int64"))
        if (open_amount < 0).any():
            problems.append(f"{int((open_amount < 0).sum())} document(s) adjusted beyond their open amount")
            open_amount = np.maximum(open_amount, 0)
    amount = lines["amount"].to_numpy(dtype="int64")
    if (amount <= 0).any():
        problems.append(f"{int((amount <= 0).sum())} proposed line(s) not positive")
    by_src = np.zeros(len(available), dtype="int64")
    np.add.at(by_src, lines["src"].to_numpy(dtype="int64"), amount)
    by_tgt = np.zeros(len(open_amount), dtype="int64")
    np.add.at(by_tgt, lines["tgt"].to_numpy(dtype="int64"), amount)
    if (over := int((by_src > available).sum())) > 0:
        problems.append(f"{over} source(s) applied beyond their unapplied amount")
    if (over := int((by_tgt > open_amount).sum())) > 0:
        problems.append(f"{over} document(s) applied beyond their open amount")
    return problems
