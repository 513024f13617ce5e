"""Reconciling items found in the data, and those the preparer documents in the parameters.

The GL detail (``gl_journal``) is matched to the subledger effects by reference. What differs
is a reconciling item with its cause: a manual journal, a transaction posted in another period
(cut-off), one never posted, a posting that differs. Amounts are signed as they explain GL
minus subledger.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.recon.sides import CONTROL, GLPolicy, Sides, ledger_sides
from closelib.book.model import Book
from closelib.periods import Period

REVALUED = "FX revaluation at the closing rate"
REVALUATION_DIFFERS = "FX revaluation differs from the closing-rate revaluation"
REVALUATION_STALE = "FX revaluation of an earlier period not reversed"
REVALUATION_CAUSES = (REVALUED, REVALUATION_DIFFERS, REVALUATION_STALE)


def _differing_rows(
    lines: pd.DataFrame, posted: np.ndarray, effects: pd.DataFrame, expected: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``lines`` and of ``effects`` whose (entity, reference) key sums differently
    over the ``posted`` lines and the ``expected`` effects: the only keys that can become
    reconciling items. Masks over the whole frames (coded, :mod:`.sides`), so no frame is
    copied to find them."""
    ent = [f["_ent"].to_numpy() for f in (lines, effects)]
    ref = [f["_ref"].to_numpy() for f in (lines, effects)]
    n_ent = max([int(c.max()) + 1 for c in ent if len(c)] or [1])
    keys = [np.where((e >= 0) & (r >= 0), r * n_ent + e, -1) for e, r in zip(ent, ref, strict=False)]
    size = max([int(k.max()) + 1 for k in keys if len(k)] or [0])
    net = np.zeros(size + 1, dtype="int64")
    for k, frame, rows, sign in ((keys[0], lines, posted, 1), (keys[1], effects, expected, -1)):
        take = rows & (k >= 0)
        np.add.at(net, k[take], sign * frame[side].to_numpy(dtype="int64")[take])
    return tuple((k >= 0) & (net[np.where(k >= 0, k, size)] != 0) for k in keys)


def _months_between(first: pd.Series, last: Period) -> pd.Series:
    """Whole months from each ``YYYY-MM`` in ``first`` (GL text, vectorised) to ``last``."""
    text = first.astype(str)
    index = text.str[:4].astype("int64") * 12 + text.str[5:7].astype("int64")
    return (last.year * 12 + last.month - index).astype("int64")


def reconciling_items(
    book: Book,
    period: Period,
    policy: GLPolicy,
    side: str = CONTROL,
    sides: Sides | None = None,
    revaluation: dict[str, tuple[str, int]] | None = None,
) -> pd.DataFrame:
    """Items found in the data that explain GL minus subledger on one side (control or unapplied).

    FX revaluation journals (a GL line's ``revaluation`` flag, :mod:`.sides`) are items of their own, netted
    by reference (a revaluation and its reversal cancel): ``revaluation`` maps each entity to
    this period's revaluation reference and the amount the closing rates call for on this side;
    a posted revaluation equal to it is :data:`REVALUED`, else it differs or is an earlier
    period's left unreversed.

    Columns: entity, cause, reference, journal_id, subledger_date, gl_period, amount (signed as
    it explains GL minus subledger), age_months, description, kind (of the subledger
    transaction; empty for a journal) and posted_on (its first GL posting date, if any).
    """
    columns = [
        "entity",
        "cause",
        "reference",
        "journal_id",
        "subledger_date",
        "gl_period",
        "amount",
        "age_months",
        "description",
        "kind",
        "posted_on",
    ]
    if not book.has("gl_journal"):
        return pd.DataFrame(columns=columns)
    day = period.end
    sides = ledger_sides(book, policy) if sides is None else sides
    effects, lines = sides.effects, sides.lines
    assert lines is not None  # the book has gl_journal
    # Masks over the whole coded frames (millions of rows at scale); only the few rows that can
    # be items are ever read out with their text.
    nonzero = (lines[side] != 0).to_numpy()
    upto = sides.upto(period)
    from_subledger = lines["subledger"].to_numpy()
    reval = lines["revaluation"].to_numpy()
    reval_items = _revaluation_items(sides.line_frame(nonzero & upto & reval), side, revaluation or {})
    manual = sides.line_frame(nonzero & upto & ~from_subledger & ~reval)
    manual_items = manual.groupby(["entity", "journal_id"], as_index=False).agg(
        amount=(side, "sum"),
        gl_period=("period", "min"),
        description=("description", "first"),
        reference=("reference", "first"),
        posted_on=("posting_date", "min"),
    )
    manual_items = manual_items[manual_items["amount"] != 0]
    manual_items["cause"] = np.where(
        manual.groupby(["entity", "journal_id"])["source"]
        .first()
        .reindex(pd.MultiIndex.from_frame(manual_items[["entity", "journal_id"]]))
        .to_numpy()
        == "manual",
        "manual journal",
        "other journal",
    )
    manual_items["subledger_date"] = pd.NaT
    manual_items["kind"] = ""

    sub_lines = nonzero & from_subledger
    sub_posted = sub_lines & upto
    mine = (effects[side] != 0).to_numpy()
    mine_upto = mine & (effects["date"] <= day).to_numpy()
    # Only keys whose posted and expected sums differ can be items: find them with integer
    # codes, then aggregate just their rows (same sums, firsts and minima as on all rows).
    line_differs, effect_differs = _differing_rows(lines, sub_posted, effects, mine_upto, side)
    differing_lines = sides.line_frame(sub_lines & line_differs)
    posted_rows = upto[sub_lines & line_differs]
    posted = differing_lines[posted_rows].groupby(["entity", "reference"])[side].sum()
    first_post = differing_lines.groupby(["entity", "reference"]).agg(
        journal_id=("journal_id", "first"), gl_period=("period", "min"), posting_date=("posting_date", "min")
    )
    differing_effects = sides.effect_frame(mine & effect_differs)
    expected = (
        differing_effects[(differing_effects["date"] <= day).to_numpy()].groupby(["entity", "reference"])[side].sum()
    )
    known = differing_effects.groupby(["entity", "reference"]).agg(date=("date", "min"), kind=("kind", "first"))
    both = pd.concat([posted.rename("posted"), expected.rename("expected")], axis=1).fillna(0).astype("int64")
    both = both[both["posted"] != both["expected"]]
    both = both.join(first_post).join(known)
    gl_later = both["gl_period"].notna() & (both["gl_period"] > str(period))
    cause = np.select(
        [
            (both["posted"] == 0) & gl_later,
            (both["posted"] == 0),
            (both["expected"] == 0) & both["date"].notna(),
            (both["expected"] == 0),
        ],
        [
            "cut-off: posted to the GL in a later period",
            "not posted to the GL",
            "cut-off: posted to the GL before its subledger date",
            "GL subledger line with no subledger transaction",
        ],
        "posted amount differs from the subledger",
    )
    timing = pd.DataFrame(
        {
            "entity": both.index.get_level_values(0),
            "reference": both.index.get_level_values(1),
            "cause": cause,
            "journal_id": both["journal_id"].to_numpy(),
            "subledger_date": both["date"].to_numpy(),
            "gl_period": both["gl_period"].to_numpy(),
            "amount": (both["posted"] - both["expected"]).to_numpy(),
            "description": both["kind"].fillna("").to_numpy(),
            "kind": both["kind"].fillna("").to_numpy(),
            "posted_on": both["posting_date"].to_numpy(),
        }
    )
    timing = _net_batches(timing, timing["posted_on"].to_numpy())
    found = [f for f in (manual_items, reval_items, timing) if len(f)]
    items = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=columns)
    items["amount"] = items["amount"].astype("int64")
    items["subledger_date"] = pd.to_datetime(items["subledger_date"])
    items["posted_on"] = pd.to_datetime(items["posted_on"])
    origin = items["gl_period"].where(
        items["cause"].str.contains("manual|other|revaluation"), items["subledger_date"].dt.strftime("%Y-%m")
    )
    origin = origin.fillna(str(period)).astype(str)
    items["age_months"] = _months_between(origin, period).clip(lower=0)
    return items[columns].sort_values(["entity", "cause", "reference"], ignore_index=True)


def _revaluation_items(lines: pd.DataFrame, side: str, expected: dict[str, tuple[str, int]]) -> pd.DataFrame:
    """Posted FX revaluations netted by (entity, reference), with their cause (see above)."""
    if lines.empty:
        return pd.DataFrame()
    found = lines.groupby(["entity", "reference"], as_index=False).agg(
        amount=(side, "sum"),
        gl_period=("period", "min"),
        journal_id=("journal_id", "first"),
        description=("description", "first"),
        posted_on=("posting_date", "min"),
    )
    found = found[found["amount"] != 0]
    this_ref = found["entity"].map(lambda e: expected.get(e, ("", 0))[0])
    this_amount = found["entity"].map(lambda e: expected.get(e, ("", 0))[1])
    current = (found["reference"] == this_ref).to_numpy()
    found["cause"] = np.where(
        current & (found["amount"] == this_amount).to_numpy(),
        REVALUED,
        np.where(current, REVALUATION_DIFFERS, REVALUATION_STALE),
    )
    found["subledger_date"] = pd.NaT
    found["kind"] = ""
    return found


def _net_batches(timing: pd.DataFrame, posting_date: np.ndarray) -> pd.DataFrame:
    """Drop what a summarised batch posting explains.

    An ERP often posts a day's transactions as one GL line whose reference is the batch, not
    each transaction. By reference those look like "not posted" transactions plus a GL line
    "with no subledger transaction"; when they net to zero for an entity and date (the
    transactions' date, the batch's posting date) the batch posted them, and they are not
    reconciling items. What does not net stays listed in full.
    """
    unmatched = timing["cause"].isin(["not posted to the GL", "GL subledger line with no subledger transaction"])
    day = cast(
        "pd.Series[pd.Timestamp]",  # datetime64 either way: pandas-stubs cannot follow np.where
        pd.Series(
            np.where(
                timing["cause"] == "not posted to the GL",
                timing["subledger_date"].to_numpy(),
                pd.to_datetime(posting_date),
            ),
            index=timing.index,
        ),
    )
    key = [timing["entity"], day.dt.normalize()]
    net = timing["amount"].where(unmatched, 0).groupby(key).transform("sum")
    return timing[~(unmatched & (net == 0))].reset_index(drop=True)


def parameter_items(params: dict, entities: list[str], currency_of) -> tuple[pd.DataFrame, list[str]]:
    """Items the preparer documented in ``gl.reconciling_items``; also problems (unknown entity)."""

    rows, problems = [], []
    for item in params["gl"]["reconciling_items"]:
        if item["entity"] not in entities:
            problems.append(f"gl.reconciling_items {item['id']}: unknown entity {item['entity']!r}")
            continue
        rows.append(
            {
                "entity": item["entity"],
                "cause": "documented in parameters",
                "reference": item["id"],
                "amount": money.to_minor(item["amount"], currency_of(item["entity"])),
                "description": item["explanation"],
                "owner": item.get("owner", ""),
                "expected_clearance": item.get("expected_clearance", ""),
                "opened": item.get("opened", ""),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["entity", "cause", "reference", "amount", "description", "owner", "expected_clearance", "opened"]
    )
    frame["amount"] = frame["amount"].astype("int64")
    return frame, problems
