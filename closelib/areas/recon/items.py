"""Reconciling items found in the data, and those the preparer documents in the parameters.

The GL detail (``gl_journal``) is matched to the subledger effects by reference. What differs
is a reconciling item with its cause: a manual journal, a transaction posted in another period
(cut-off), one never posted, a posting that differs. Amounts are signed as they explain GL
minus subledger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.recon.sides import CONTROL, KINDS, GLPolicy, Sides, decode_codes, ledger_sides
from closelib.book.model import Book
from closelib.periods import Period

REVALUED = "FX revaluation at the closing rate"
REVALUATION_DIFFERS = "FX revaluation differs from the closing-rate revaluation"
REVALUATION_STALE = "FX revaluation of an earlier period not reversed"
REVALUATION_CAUSES = (REVALUED, REVALUATION_DIFFERS, REVALUATION_STALE)
# The causes of an item found by reference (:func:`_timing`), by code.
CAUSES = (
    "cut-off: posted to the GL in a later period",
    "not posted to the GL",
    "cut-off: posted to the GL before its subledger date",
    "GL subledger line with no subledger transaction",
    "posted amount differs from the subledger",
)


def _keys(sides: Sides) -> tuple[np.ndarray, np.ndarray, int]:
    """One integer per (entity, reference) for each GL line and each effect (-1 when either is
    missing), and the number of entity codes (a key is ``reference * n + entity``): made once
    per :class:`Sides` (both sides' items read them)."""
    return sides.keys


def _differing_rows(
    line_key: np.ndarray,
    posted: np.ndarray,
    line_value: np.ndarray,
    effect_key: np.ndarray,
    expected: np.ndarray,
    effect_value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the lines and of the effects whose (entity, reference) key sums differently over
    the ``posted`` lines and the ``expected`` effects: the only keys that can become reconciling
    items. Masks over the whole coded frames, so no frame is copied to find them."""
    keys = (line_key, effect_key)
    size = max([int(k.max()) + 1 for k in keys if len(k)] or [0])
    net = np.zeros(size + 1, dtype="int64")
    for k, rows, values, sign in ((line_key, posted, line_value, 1), (effect_key, expected, effect_value, -1)):
        take = rows & (k >= 0)
        np.add.at(net, k[take], sign * values[take])
    return tuple((k >= 0) & (net[np.where(k >= 0, k, size)] != 0) for k in keys)


def _timing(sides: Sides, period: Period, side: str, nonzero: np.ndarray, upto: np.ndarray) -> pd.DataFrame:
    """Subledger transactions whose GL postings (by entity and reference) differ from their
    effects, with what the GL posted and the subledger expects to the period end, the first
    posting's journal, period and date, and the transaction's date and kind. Aggregated on
    integer keys; text is read only for the keys that differ."""
    assert sides.lines is not None and sides.journal is not None
    lines, effects = sides.lines, sides.effects
    line_key, effect_key, n_ent = _keys(sides)
    line_value, effect_value = lines[side].to_numpy(), effects[side].to_numpy()
    sub_lines = nonzero & lines["subledger"].to_numpy()
    mine = effect_value != 0
    effect_upto = (effects["date"] <= period.end).to_numpy()
    line_differs, effect_differs = _differing_rows(
        line_key, sub_lines & upto, line_value, effect_key, mine & effect_upto, effect_value
    )
    # GL side: what is posted to the period end, and the first posting of each key.
    rows = np.flatnonzero(sub_lines & line_differs)
    journal_rows = lines["_row"].to_numpy()[rows]
    lk = line_key[rows]
    journal_ids = sides.journal["journal_id"].array.take(journal_rows)  # only the differing lines' ids
    has_jid = pd.notna(journal_ids)
    # GL periods ranked as their YYYY-MM text sorts: a minimum over ranks is the earliest period
    by_period = np.sort(sides.periods.astype(str)).astype(object)
    period_rank = np.searchsorted(by_period.astype(str), sides.periods.astype(str))
    line_period = lines["_period"].to_numpy()[rows]
    gl = _per_key(
        lk,
        {
            "posted": (np.where(upto[rows], line_value[rows], 0), "sum"),
            "jid_row": (np.where(has_jid, np.arange(len(rows)), np.nan), "first"),
            "period_rank": (np.where(line_period >= 0, np.append(period_rank, -1)[line_period], np.nan), "min"),
            "posting_date": (sides.journal["posting_date"].to_numpy()[journal_rows], "min"),
        },
    )
    # Subledger side: what is expected to the period end, the transaction's date and kind.
    rows = np.flatnonzero(mine & effect_differs)
    kind_codes = effects["kind"].cat.codes.to_numpy()[rows]
    sl = _per_key(
        effect_key[rows],
        {
            "expected": (np.where(effect_upto[rows], effect_value[rows], 0), "sum"),
            "date": (effects["date"].to_numpy()[rows], "min"),
            "kind": (np.where(kind_codes >= 0, kind_codes, np.nan), "first"),
        },
    )
    both = _side_by_side(gl, sl)
    posted = both["posted"].fillna(0).to_numpy(dtype="int64")
    expected = both["expected"].fillna(0).to_numpy(dtype="int64")
    keep = posted != expected
    both, posted, expected = both[keep], posted[keep], expected[keep]
    keys = both.index.to_numpy(dtype="int64")
    # Text is made only for the rows kept at the end (a few, where the GL has batch postings):
    # up to here, the causes are codes and the rest positions, a few bytes a row.
    jid_row = both["jid_row"].to_numpy()
    found = ~np.isnan(jid_row)
    rank = both["period_rank"].to_numpy()
    ranked = ~np.isnan(rank)
    later = np.append(by_period.astype(str) > str(period), False)  # per period rank; -1: no period
    gl_later = ranked & later[np.where(ranked, rank, -1).astype("int64")]
    date = both["date"].to_numpy()
    cause_code = np.select(
        [(posted == 0) & gl_later, posted == 0, (expected == 0) & ~pd.isna(date), expected == 0], [0, 1, 2, 3], 4
    )
    posted_on = both["posting_date"].to_numpy()
    amount = posted - expected
    # What a summarised batch posting explains goes before any text is read (most rows at scale).
    keep = ~_batch_explained(keys % n_ent, np.asarray(CAUSES, dtype=object)[cause_code], date, posted_on, amount)
    journal_id = np.full(int(keep.sum()), np.nan, dtype=object)
    kept_found = found[keep]
    journal_id[kept_found] = np.asarray(journal_ids.take(jid_row[keep][kept_found].astype("int64")), dtype=object)
    gl_period = np.full(len(journal_id), np.nan, dtype=object)
    kept_rank = rank[keep]
    gl_period[~np.isnan(kept_rank)] = by_period[kept_rank[~np.isnan(kept_rank)].astype("int64")]
    kind = np.full(len(journal_id), "", dtype=object)
    kept_kind = both["kind"].to_numpy()[keep]
    known = ~np.isnan(kept_kind)
    kind[known] = np.asarray(KINDS, dtype=object)[kept_kind[known].astype("int64")]
    return pd.DataFrame(
        {
            "entity": _text(decode_codes(sides.entities, keys[keep] % n_ent).to_numpy(), len(keys) > 0),
            "reference": _text(decode_codes(sides.references, keys[keep] // n_ent).to_numpy(), len(keys) > 0),
            "cause": np.asarray(CAUSES)[cause_code[keep]],
            "journal_id": _text(journal_id, bool(found.any())),
            "subledger_date": date[keep],
            "gl_period": _text(gl_period, bool(ranked.any())),
            "amount": amount[keep],
            "description": _text(kind, len(keys) > 0),
            "kind": _text(kind, len(keys) > 0),
            "posted_on": posted_on[keep],
        }
    )


def _per_key(keys: np.ndarray, columns: dict[str, tuple[np.ndarray, str]]) -> pd.DataFrame:
    """``pd.DataFrame(values).groupby(keys).agg(name=(name, how), ...)`` of ``columns`` (name:
    (values, how)). Keys that increase row by row (the subledger's transactions at scale: one
    effect each, in code order) are their own groups, each row its own sum, min and first: the
    rows are the result, with no sort of a million keys."""
    values = {name: column for name, (column, _) in columns.items()}
    if len(keys) and bool((keys[1:] > keys[:-1]).all()):
        return pd.DataFrame(values, index=pd.Index(np.asarray(keys, dtype="int64")))
    return pd.DataFrame(values).groupby(keys).agg(**{name: (name, how) for name, (_, how) in columns.items()})


def _side_by_side(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """``pd.concat([left, right], axis=1)`` of two frames on sorted unique int64 keys (the
    groupby results above): ``left``'s keys, then ``right``'s others in their order (as concat
    unites them), each column missing (NaN, NaT) where its frame has no row, ints widened to
    float as concat widens them; keys found by binary search, not hashed."""
    mine, theirs = left.index.to_numpy(dtype="int64"), right.index.to_numpy(dtype="int64")
    at = np.searchsorted(mine, theirs)
    found = at < len(mine)
    found[found] = mine[at[found]] == theirs[found]
    keys = np.concatenate([mine, theirs[~found]])
    at[~found] = len(mine) + np.arange(int((~found).sum()))
    out: dict[str, np.ndarray] = {}
    for frame, rows in ((left, np.arange(len(mine))), (right, at)):
        whole = len(frame) == len(keys)
        for name in frame.columns:
            values = frame[name].to_numpy()
            if whole:  # a row for every key (maybe in another order): nothing missing, the dtype kept
                column = np.empty_like(values)
            elif values.dtype.kind == "M":
                column = np.full(len(keys), np.datetime64("NaT"), dtype=values.dtype)
            else:
                column = np.full(len(keys), np.nan, dtype=np.result_type(values.dtype, np.float64))
            column[rows] = values
            out[name] = column
    return pd.DataFrame(out, index=pd.Index(keys))


def _text(kept: np.ndarray, any_text: bool) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Kept rows of an object column typed as pandas types the whole column: text when any value
    of the whole column is text (else left as it is: all missing, or no row at all)."""
    return pd.array(kept, dtype="str") if any_text else kept


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
    sides = ledger_sides(book, policy) if sides is None else sides
    lines = sides.lines
    assert lines is not None  # the book has gl_journal
    # Masks over the whole coded frames (millions of rows at scale); only the few rows that can
    # be items are ever read out with their text.
    nonzero = (lines[side] != 0).to_numpy()
    upto = sides.upto(period)
    from_subledger = lines["subledger"].to_numpy()
    reval = lines["revaluation"].to_numpy()
    read = ["entity", "journal_id", "period", "posting_date", "source", "reference", "description"]
    reval_items = _revaluation_items(sides.line_frame(nonzero & upto & reval, read), side, revaluation or {})
    manual = sides.line_frame(nonzero & upto & ~from_subledger & ~reval, read)
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

    timing = _timing(sides, period, side, nonzero, upto)
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


def _batch_explained(
    entity: np.ndarray, cause: np.ndarray, subledger_date: np.ndarray, posting_date: np.ndarray, amount: np.ndarray
) -> np.ndarray:
    """Rows a summarised batch posting explains (True), to be dropped.

    An ERP often posts a day's transactions as one GL line whose reference is the batch, not
    each transaction. By reference those look like "not posted" transactions plus a GL line
    "with no subledger transaction"; when they net to zero for an entity and date (the
    transactions' date, the batch's posting date) the batch posted them, and they are not
    reconciling items. What does not net stays listed in full.
    """
    not_posted = cause == "not posted to the GL"
    unmatched = not_posted | (cause == "GL subledger line with no subledger transaction")
    day = np.where(not_posted, subledger_date, posting_date).astype("datetime64[D]")  # the calendar day
    dated = ~np.isnat(day)
    net = np.zeros(len(amount), dtype="int64")
    if dated.any():
        # the sum per (entity, day) at each row, as ``groupby([entity, day]).transform("sum")``
        # gives it: integer cells, summed in place
        days = day[dated].astype("int64")
        low = int(days.min())
        span = int(days.max()) - low + 1
        ent = np.asarray(entity, dtype="int64")[dated]
        cell = (ent - int(ent.min())) * span + (days - low)
        if span * (int(np.ptp(ent)) + 1) > 4 * len(cell) + 1024:  # days far apart: number the cells present
            cell = np.unique(cell, return_inverse=True)[1].reshape(-1)
        sums = np.zeros(int(cell.max()) + 1, dtype="int64")
        np.add.at(sums, cell, np.where(unmatched, amount, 0)[dated].astype("int64"))
        net[dated] = sums[cell]
    return unmatched & dated & (net == 0)


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
