"""On a demo book (foreign currencies, instalment schedules, write-offs and recoveries), the
vectorised reserve backtest, KPI inputs and unapplied cash give what the code they replaced gave.

The references are the replaced implementations, kept here as the specification: the backtest's
per-month frame and groupbys, ``monthly_sales`` grouped by text, the payment days keyed by the
entities and attributes factorized over every document, ``unapplied_cash`` translating every
receipt.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from closelib import money
from closelib.areas import reserve
from closelib.areas.collections import kpis
from closelib.areas.reserve.backtest import BACKTEST_COLUMNS, _net_after, _rates_at
from closelib.areas.reserve.compute import floors_in_use, pools_of
from closelib.areas.reserve.window import reserve_history
from closelib.asof.aging import AgingPolicy
from closelib.asof.instalments import application_due_dates
from closelib.asof.openitems import unapplied_cash
from closelib.asof.rollrate import buckets_at, roll_rates
from closelib.book.arrays import lookup
from closelib.book.fx import translate, translation
from closelib.book.links import links
from closelib.book.load import load_book
from closelib.demo import generate_book
from closelib.demo.writer import write_book
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    source = tmp_path_factory.mktemp("demo") / "book"
    write_book(generate_book(scale=0.3), source)
    book = load_book(source)
    period = Period(2026, 10)
    return book, period, load_parameters(period, PARAMETERS_DIR)


def _old_backtest(book, period, params, months=reserve.BACKTEST_MONTHS) -> pd.DataFrame:
    res = params["reserve"]
    policy = AgingPolicy.from_params(params)
    labels = policy.labels
    lookback = int(res["lookback_months"])
    pools = pools_of(book, res["pool_by"])
    history = reserve_history(book, period, lookback + months, pools, res["pool_by"], lookback + months)
    ends = [e.date() for e in history.month_ends]
    rolls = roll_rates(history, policy.basis, policy.bounds) if res["method"] == "roll_rate" else None
    docs = history.docs
    entities = book.entities
    pool_names = sorted(set(docs["pool"])) or ["all"]
    entity_of, pool_of = docs["entity"].to_numpy(), docs["pool"].to_numpy()
    closing = np.maximum(history.open[:, -1], 0)
    floors = floors_in_use(params, labels)
    rows = []
    for j in range(lookback, lookback + months):
        open_t = history.open[:, j]
        at = np.flatnonzero(open_t)
        gross = open_t[at]
        held = np.maximum(gross, 0)
        since = np.clip(_net_after(history.write_offs, history.recoveries, j + 1, at), 0, held)
        still = np.minimum(closing[at], held - since)
        frame = pd.DataFrame(
            {
                "entity": entity_of[at],
                "pool": pool_of[at],
                "bucket": np.asarray(labels)[buckets_at(history, policy.basis, policy.bounds, j, at)],
                "gross": gross,
                "held": held,
                "since": since,
                "still": still,
            }
        )
        lines = frame.groupby(["entity", "pool", "bucket"], as_index=False)[["gross"]].sum()
        rates = _rates_at(rolls, ends, j, lookback, params, labels, entities, pool_names)
        lines = lines.merge(rates, how="left", on=["entity", "pool", "bucket"])
        lines["loss_rate"] = lines["loss_rate"].fillna(lines["bucket"].map(floors))
        lines["allowance"] = [
            money.apply_rate(int(g), r) for g, r in zip(lines["gross"], lines["loss_rate"], strict=True)
        ]
        allowance = {str(k): int(v) for k, v in lines.groupby("entity")["allowance"].sum().items()}
        outcome = {
            str(k): tuple(int(x) for x in v)
            for k, v in frame.groupby("entity")[["gross", "held", "since", "still"]].sum().iterrows()
        }
        for e in entities:
            g, h, s, o = outcome.get(e, (0, 0, 0, 0))
            a = allowance.get(e, 0)
            rows.append((e, book.currency_of(e), ends[j], g, a, s, o, h - s - o, a / s if s else None))
    out = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    return out.astype(dict.fromkeys(("gross", "allowance", "written_off_since", "still_open", "settled"), "int64"))


@pytest.mark.parametrize("pool_by", ["none", "segment"])
@pytest.mark.parametrize("method", ["roll_rate", "fixed_rates"])
def test_backtest_is_the_per_month_frame_and_groupbys(demo, pool_by, method):
    book, period, params = demo
    params = {**params, "reserve": {**params["reserve"], "pool_by": pool_by, "method": method}}
    pd.testing.assert_frame_equal(reserve.backtest(book, period, params), _old_backtest(book, period, params))


@pytest.mark.parametrize("by", [None, "collector", "segment"])
def test_monthly_sales_by_codes_is_the_groupby_of_the_text(demo, by):
    book, _, _ = demo
    pd.testing.assert_frame_equal(kpis.monthly_sales(book, by), kpis._monthly_sales_by_text(book, by))


def _old_payment_days(book, ends: pd.DatetimeIndex, by: str | None) -> dict:
    link = links(book)
    apps = book.applications
    target = link.app_target
    keep = (
        (link.app_source_rec >= 0)
        & (target >= 0)
        & (apps["applied_date"] > ends[0]).to_numpy()
        & (apps["applied_date"] <= ends[-1]).to_numpy()
    )
    weight = translation(book).app_target.astype("float64")
    due = book.documents["due_date"].to_numpy()[np.maximum(target, 0)]
    position = np.arange(len(apps))
    split = application_due_dates(book)
    if len(split):
        parts = split["position"].to_numpy(dtype="int64")
        share = split["amount"].to_numpy(dtype="float64") / apps["amount"].to_numpy(dtype="float64")[parts]
        whole = np.ones(len(apps), dtype=bool)
        whole[parts] = False
        position = np.r_[position[whole], parts]
        weight = np.r_[weight[whole], weight[parts] * share]
        due = np.r_[due[whole], split["due_date"].to_numpy(dtype="datetime64[ns]")]
    keep = keep[position]
    position, weight, due = position[keep], weight[keep], due[keep]
    rows = target[position]
    docs = book.documents
    applied = apps["applied_date"].to_numpy(dtype="datetime64[ns]")[position]
    to_pay = (applied - docs["document_date"].to_numpy(dtype="datetime64[ns]")[rows]) / np.timedelta64(1, "D")
    late = (applied - due) / np.timedelta64(1, "D")
    entity_codes, entity_names = pd.factorize(docs["entity"])
    key = np.asarray(entity_codes, dtype="int64")[rows]
    names = [str(e) for e in entity_names]
    if by:
        attr = lookup(docs["customer_id"], kpis.customer_attr(book, by)).fillna("unassigned")
        attr_codes, attr_names = pd.factorize(attr)
        key = key * len(attr_names) + np.asarray(attr_codes, dtype="int64")[rows]
        names = [f"{e}\x1f{a}" for e in names for a in attr_names]
    month = applied.astype("datetime64[M]").astype("int64")
    frame = pd.DataFrame(
        {
            "key": key,
            "month": month,
            "w": weight,
            "wp": weight * to_pay,
            "wb": weight * np.maximum(late, 0),
            "wl": np.where(late > 0, weight, 0.0),
            "wll": np.where(late > 0, weight * late, 0.0),
        }
    )
    agg = frame.groupby(["key", "month"]).sum()
    label = {int(m): str(np.datetime64(int(m), "M")) for m in pd.unique(month)}
    w, wp, wb, wl, wll = (agg[c].to_numpy(dtype="float64") for c in ("w", "wp", "wb", "wl", "wll"))
    return {
        (names[int(k)], label[int(m)]): (
            round(wp[i] / w[i], 2),
            round(wb[i] / w[i], 2),
            round(wll[i] / wl[i], 2) if wl[i] else 0.0,
        )
        for i, (k, m) in enumerate(agg.index)
        if w[i]
    }


@pytest.mark.parametrize("by", [None, "collector", "segment"])
def test_payment_days_from_the_kept_lines_are_those_of_every_application(demo, by):
    book, period, _ = demo
    ends = pd.DatetimeIndex([p.end for p in period.back(14)])
    assert kpis._payment_days(book, ends, by) == _old_payment_days(book, ends, by)


@pytest.mark.parametrize("offset", [0, -3, -20])
def test_unapplied_cash_translates_what_translating_every_receipt_gave(demo, offset):
    book, period, _ = demo
    day = period.shift(offset).end
    every = unapplied_cash(book, day, include_closed=True)
    expected = translate(every["unapplied"], every["booking_rate"], every["currency"], every["functional_currency"])
    assert every["unapplied_functional"].tolist() == expected.tolist()
    open_only = unapplied_cash(book, day)
    pd.testing.assert_frame_equal(open_only, every[every["unapplied"] != 0].reset_index(drop=True), check_exact=True)
    assert (every["booking_rate"] != 1.0).any()  # the demo book has foreign-currency receipts
