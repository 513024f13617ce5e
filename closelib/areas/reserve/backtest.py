"""Reserve backtest over the last month ends, and the comparison with the prior period.

Backtest: for each of the ``months`` month ends before the period end (t = P-12 .. P-1), the
collective allowance the method would have required then (the balances open at t, aged at t,
times the loss rates it would have measured then: the roll rates of the ``lookback_months``
transitions ending at t, or the policy matrix), against what became of those balances by the
period end: written off (net of recoveries), still open, or settled otherwise (paid, credited).
Coverage = allowance at t / written off since. Specific reserves and the overlay are period
judgments that cannot be reconstructed as they were (customer statuses have no history), so the
backtest measures the collective method alone, on every open invoice and debit memo.

One history of ``lookback_months + months`` month ends serves every t: the roll rates are
measured once per transition and each t takes the ``lookback_months`` transitions before it.
That history is the one :func:`.compute` keeps on the book; the prior period's is cut from it
too (:mod:`.window`).

Prior-period comparison: the whole reserve computed at the prior period end with the same
parameters, against this period's: allowance by bucket, specific, required, and coverage of
the balances more than 90 days past due (allowance required / those balances), now and then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.reserve.compute import ReserveResult, compute, floors_in_use, pools_of
from closelib.areas.reserve.window import BACKTEST_MONTHS, release_history, reserve_history
from closelib.asof.aging import AgingPolicy
from closelib.asof.rollrate import Cells, buckets_at, group_codes, loss_rates, roll_rates
from closelib.book.model import Book
from closelib.nb.charts import money_axis
from closelib.nb.markup import md
from closelib.periods import Period

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PAST_DUE_DAYS = 90  # "balances over 90 days past due", by due date whatever the aging basis
BACKTEST_COLUMNS = [
    "entity",
    "currency",
    "month_end",
    "gross",
    "allowance",
    "written_off_since",
    "still_open",
    "settled",
    "coverage",
]


def _rates_at(rolls: pd.DataFrame | None, ends: list, j: int, lookback: int, params: dict, labels, entities, pools):
    """Loss rates per (entity, pool, bucket) as the method would have measured them at ends[j]."""
    res = params["reserve"]
    if rolls is None:
        return pd.DataFrame(
            [(e, p, b, float(res["fixed_rates"][b])) for e in entities for p in pools for b in labels],
            columns=["entity", "pool", "bucket", "loss_rate"],
        )
    window = set(ends[j - lookback + 1 : j + 1])
    mine = rolls[rolls["month_end"].isin(window)]
    rates = loss_rates(mine, labels, floors_in_use(params, labels), int(res["min_exposure_months"]))
    return rates[["entity", "pool", "bucket", "loss_rate"]]


def backtest(book: Book, period: Period, params: dict, months: int = BACKTEST_MONTHS) -> pd.DataFrame:
    """Per entity and month end t (oldest first): gross open INV/DM at t, the allowance required
    then, and of those balances what was written off since, is still open and was settled."""
    res = params["reserve"]
    policy = AgingPolicy.from_params(params)
    labels = policy.labels
    lookback = int(res["lookback_months"])
    history = reserve_history(
        book, period, lookback + months, pools_of(book, res["pool_by"]), res["pool_by"], lookback + months
    )
    ends = [e.date() for e in history.month_ends]
    rolls = roll_rates(history, policy.basis, policy.bounds) if res["method"] == "roll_rate" else None
    docs = history.docs
    entities = book.entities
    # the distinct pools from the column's hash table: ``set()`` of a million-row text column
    # builds a Python object per row (1.1 s at 1M documents)
    pool_names = sorted(str(p) for p in pd.unique(docs["pool"])) or ["all"]
    # (entity, pool) groups and buckets as integer codes: each month end's lines and outcomes
    # are sums into small integer arrays (no frame of the documents open then, no groupby)
    group, keys = group_codes(docs, by_key=True)
    width = len(labels)
    entity_of_group = np.asarray([entities.index(e) if e in entities else -1 for e, _ in keys], dtype="int64")
    net_wo = history.write_offs
    recovered = history.recoveries
    closing = np.maximum(history.open[:, -1], 0)
    floors = floors_in_use(params, labels)
    rows = []
    for j in range(lookback, lookback + months):
        open_t = history.open[:, j]
        # only the documents open at t: the others hold nothing, were written off nothing of it
        at = np.flatnonzero(open_t)
        gross = open_t[at]
        held = np.maximum(gross, 0)
        since = np.clip(_net_after(net_wo, recovered, j + 1, at), 0, held)
        still = np.minimum(closing[at], held - since)
        code = group[at]
        line = code * width + buckets_at(history, policy.basis, policy.bounds, j, at)
        line_gross = np.zeros(len(keys) * width, dtype="int64")
        np.add.at(line_gross, line, gross)
        present = np.flatnonzero(np.bincount(line, minlength=len(keys) * width))
        rate = _rate_table(_rates_at(rolls, ends, j, lookback, params, labels, entities, pool_names), keys, labels)
        allowance = dict.fromkeys(entities, 0)
        for cell in present:  # the lines: (entity, pool, bucket) with a document open at t
            g, b = divmod(int(cell), width)
            r = rate.get((g, b), floors[labels[b]])
            allowance[keys[g][0]] = allowance.get(keys[g][0], 0) + money.apply_rate(int(line_gross[cell]), r)
        outcome = np.zeros((len(entities) + 1, 4), dtype="int64")  # the last row: no entity of the book
        for k, values in enumerate((gross, held, since, still)):
            np.add.at(outcome[:, k], entity_of_group[code], values)
        for i, e in enumerate(entities):
            g, h, s, o = (int(v) for v in outcome[i])
            a = allowance.get(e, 0)
            rows.append((e, book.currency_of(e), ends[j], g, a, s, o, h - s - o, a / s if s else None))
    out = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    return out.astype(dict.fromkeys(("gross", "allowance", "written_off_since", "still_open", "settled"), "int64"))


def _rate_table(rates: pd.DataFrame, keys: list[tuple[str, str]], labels: list[str]) -> dict[tuple[int, int], float]:
    """The loss rate of each (group, bucket) code pair that ``rates`` holds (the first row of a
    repeated one), as the float a row of the frame gives."""
    group = {key: i for i, key in enumerate(keys)}
    bucket = {label: i for i, label in enumerate(labels)}
    out: dict[tuple[int, int], float] = {}
    for e, p, b, r in zip(rates["entity"], rates["pool"], rates["bucket"], rates["loss_rate"], strict=True):
        at = (group.get((e, p), -1), bucket.get(b, -1))
        if at[0] >= 0 and at[1] >= 0 and at not in out and r == r:
            out[at] = float(r)
    return out


def _net_after(write_offs: Cells, recoveries: Cells, first: int, rows: np.ndarray) -> np.ndarray:
    """Per row of ``rows`` (sorted): write-offs less recoveries in month columns ``first`` on."""
    out = np.zeros(len(rows), dtype="int64")
    for cells, sign in ((write_offs, 1), (recoveries, -1)):
        later = cells.cols >= first
        where = np.searchsorted(rows, cells.rows[later])
        found = where < len(rows)
        found[found] = rows[where[found]] == cells.rows[later][found]
        np.add.at(out, where[found], sign * cells.amounts[later][found])
    return out


def past_due_over(res: ReserveResult, period: Period, days: int = PAST_DUE_DAYS) -> dict[str, int]:
    """Per entity: open invoices and debit memos more than ``days`` past their due date."""
    aged = res.aged[res.aged["doc_type"].isin(["INV", "DM"])]
    late = aged[(period.end - aged["due_date"]).dt.days > days]
    return {str(e): int(v) for e, v in late.groupby("entity")["open_amount"].sum().items()}


def prior_comparison(
    book: Book, period: Period, params: dict, current: ReserveResult
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by bucket, coverage): the reserve now against the prior period end's, same parameters.

    By bucket: per entity the gross and the allowance (collective with overlay) per bucket, the
    specific reserves and the total required, now and then, and the change. Coverage: per entity
    required / balances over 90 days past due, now and then."""
    prior_period = period.shift(-1)
    prior = compute(book, prior_period, params, shown=False)  # its figures only, not its tables
    release_history(book)  # the last of the three windows cut from the one kept on the book
    labels = AgingPolicy.from_params(params).labels
    rows = []
    for e in book.entities:
        for label in labels:
            now = current.matrix[(current.matrix["entity"] == e) & (current.matrix["bucket"] == label)]
            then = prior.matrix[(prior.matrix["entity"] == e) & (prior.matrix["bucket"] == label)]
            rows.append(
                (
                    e,
                    label,
                    int(now["gross"].sum()),
                    int(then["gross"].sum()),
                    int(now["allowance"].sum()),
                    int(then["allowance"].sum()),
                )
            )
        for label, column in (("specific reserves", "specific"), ("allowance required", "required")):
            now_v = int(current.summary.loc[current.summary["entity"] == e, column].sum())
            then_v = int(prior.summary.loc[prior.summary["entity"] == e, column].sum())
            gross = "specific_gross" if column == "specific" else "gross_receivables"
            now_g = int(current.summary.loc[current.summary["entity"] == e, gross].sum())
            then_g = int(prior.summary.loc[prior.summary["entity"] == e, gross].sum())
            rows.append((e, label, now_g, then_g, now_v, then_v))
    by_bucket = pd.DataFrame(
        rows, columns=["entity", "line", "gross", "gross_prior", "allowance", "allowance_prior"]
    ).astype(dict.fromkeys(("gross", "gross_prior", "allowance", "allowance_prior"), "int64"))
    by_bucket["change"] = by_bucket["allowance"] - by_bucket["allowance_prior"]
    by_bucket.insert(1, "currency", by_bucket["entity"].map(book.entity_currency))
    late_now, late_then = past_due_over(current, period), past_due_over(prior, prior_period)
    cover = []
    for e in book.entities:
        req_now = int(current.summary.loc[current.summary["entity"] == e, "required"].sum())
        req_then = int(prior.summary.loc[prior.summary["entity"] == e, "required"].sum())
        now_l, then_l = late_now.get(e, 0), late_then.get(e, 0)
        cover.append(
            (
                e,
                book.currency_of(e),
                req_now,
                now_l,
                req_now / now_l if now_l > 0 else None,
                req_then,
                then_l,
                req_then / then_l if then_l > 0 else None,
            )
        )
    coverage = pd.DataFrame(
        cover,
        columns=[
            "entity",
            "currency",
            "required",
            "over_90",
            "coverage",
            "required_prior",
            "over_90_prior",
            "coverage_prior",
        ],
    )
    return by_bucket, coverage


def backtest_chart(table: pd.DataFrame) -> Figure:
    """Per entity: the allowance at each month end beside what was written off since (and, above
    it, what is still open), in major units (display only)."""
    import matplotlib.pyplot as plt

    entities = list(dict.fromkeys(table["entity"]))
    fig, axes = plt.subplots(len(entities) or 1, 1, figsize=(9, 2.8 * max(len(entities), 1)), squeeze=False)
    for ax, entity in zip(axes[:, 0], entities, strict=False):
        mine = table[table["entity"] == entity]
        ccy = str(mine["currency"].iloc[0])

        def major(column: str, mine: pd.DataFrame = mine, ccy: str = ccy) -> list[float]:
            return [float(money.from_minor(int(v), ccy)) for v in mine[column]]

        x = np.arange(len(mine))
        ax.bar(x - 0.2, major("allowance"), width=0.4, label="allowance required then", color="#0969da")
        ax.bar(x + 0.2, major("written_off_since"), width=0.4, label="written off since", color="#cf222e")
        ax.bar(
            x + 0.2,
            major("still_open"),
            width=0.4,
            bottom=major("written_off_since"),
            label="still open",
            color="#d4a72c",
            alpha=0.6,
        )
        ax.set_xticks(x, [str(d)[:7] for d in mine["month_end"]], fontsize=8)
        ax.set_title(
            f"{entity}: allowance at each month end against what became of those balances ({ccy})", fontsize=10
        )
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        money_axis(ax, ccy)
    fig.tight_layout()
    return fig


def backtest_summary(table: pd.DataFrame, fmt: money.MoneyFormat) -> str:
    """One sentence per entity: in how many month ends the allowance covered the write-offs since."""
    parts = []
    for entity, mine in table.groupby("entity", sort=False):
        ccy = str(mine["currency"].iloc[0])
        tested = mine[mine["written_off_since"] > 0]
        covered = int((tested["allowance"] >= tested["written_off_since"]).sum())
        if tested.empty:
            latest = mine.iloc[-1]
            parts.append(
                f"**{md(entity)}**: nothing open at any of the last {len(mine)} month ends has been written off since, "
                f"so coverage cannot be measured yet; of the {fmt(int(latest['gross']), ccy)} {ccy} open at "
                f"{latest['month_end']}, {fmt(int(latest['still_open']), ccy)} {ccy} is still open."
            )
            continue
        parts.append(
            f"**{md(entity)}**: the allowance required then covered the write-offs since in {covered} of the "
            f"{len(tested)} month ends with write-offs (of the last {len(mine)}); lowest coverage "
            f"{tested['coverage'].min():.2f}x."
        )
    return "\n\n".join(parts)
