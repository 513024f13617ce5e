"""Reference tables of the demo book: entities, fx rates, customers' financial statements."""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.demo._common import (
    CURRENCY,
    ENTITIES,
    Calendar,
    dates,
    round_to,
    text,
)
from closelib.demo.customers import Customers


def entities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity": text(np.array(ENTITIES)),
            "name": text(np.array(["Northstar Data Centers Inc.", "Northstar Data Centres Singapore Pte. Ltd."])),
            "functional_currency": text(np.array([CURRENCY[e] for e in ENTITIES])),
            "country": text(np.array(["US", "SG"])),
        }
    )


def fx_rates(rng: np.random.Generator, cal: Calendar) -> pd.DataFrame:
    """Month-end SGD->USD (for US01 consolidation) and its inverse USD->SGD, 6 decimals."""
    steps = rng.normal(0.0, 0.012, cal.n)
    level = 0.745 * np.exp(np.cumsum(steps) - steps[0])
    sgd_usd = np.round(level, 6)
    usd_sgd = np.round(1.0 / sgd_usd, 6)
    day = np.concatenate([cal.month_end, cal.month_end])
    order = np.argsort(day, kind="stable")
    return pd.DataFrame(
        {
            "rate_date": dates(day[order]).to_numpy(),
            "currency": text(np.array(["SGD"] * cal.n + ["USD"] * cal.n)[order]),
            "functional_currency": text(np.array(["USD"] * cal.n + ["SGD"] * cal.n)[order]),
            "rate": np.concatenate([sgd_usd, usd_sgd])[order],
        }
    )


def financials(rng: np.random.Generator, cust: Customers, cal: Calendar, monthly_billing: np.ndarray) -> pd.DataFrame:
    """Three fiscal years for about half of the customers (all of the large ones).

    Figures are coherent: equity = assets - liabilities, current items inside the totals,
    margins and leverage worsening with the risk rating; market equity only for listed
    companies. Amounts in the customer's credit currency, whole thousands.
    """
    n = cust.n
    has = (rng.random(n) < np.array([0.9, 0.55, 0.25, 0.8])[cust.segment]) & (cust.start_m < cal.n - 6)
    idx = np.flatnonzero(has)
    k = len(idx)
    r = cust.rating[idx].astype("float64")
    # Revenue: the customer spends 0.5%-4% of its revenue with us (at least a small firm).
    spend = np.maximum(monthly_billing[idx], 100_000) * 12
    revenue0 = spend / np.exp(rng.uniform(np.log(0.005), np.log(0.04), k))
    growth = rng.normal(0.08 - 0.015 * r, 0.08, (3, k))
    margin = np.clip(rng.normal(0.16 - 0.025 * r, 0.04, (3, k)), -0.35, 0.4)
    asset_turn = rng.uniform(0.6, 1.6, k)
    leverage = np.clip(0.35 + 0.06 * r + rng.normal(0, 0.06, k), 0.15, 1.15)
    current_share = rng.uniform(0.25, 0.55, k)
    cl_share = rng.uniform(0.35, 0.65, k)
    re_share = np.clip(rng.normal(0.9 - 0.15 * r, 0.2, k), -1.5, 0.95)
    pb = rng.uniform(1.0, 4.0, k)
    fye_month = np.where(rng.random(k) < 0.7, 12, rng.choice([3, 6, 9], k))
    last_fy = cal.years[-1] - 1
    rows = []
    for y in range(3):  # three fiscal years, oldest first (loop over years, not customers)
        year = last_fy - 2 + y
        rev = revenue0 * np.prod(1 + growth[: y + 1], axis=0)
        ta = rev / asset_turn * (1 + 0.03 * y)
        tl = ta * leverage * (1 + rng.normal(0, 0.03, k))
        be = ta - tl
        fye = pd.to_datetime({"year": np.full(k, year), "month": fye_month, "day": 1}) + pd.offsets.MonthEnd(0)
        rows.append(
            pd.DataFrame(
                {
                    "row": idx,
                    "fiscal_year_end": fye.to_numpy(),
                    "revenue": rev,
                    "ebit": rev * margin[y],
                    "total_assets": ta,
                    "total_liabilities": tl,
                    "current_assets": ta * current_share,
                    "current_liabilities": tl * cl_share,
                    "retained_earnings": be * re_share,
                    "book_equity": be,
                    "market_equity": np.where(cust.public[idx], np.maximum(be, ta * 0.05) * pb, np.nan),
                }
            )
        )
    fin = pd.concat(rows, ignore_index=True).sort_values(["row", "fiscal_year_end"], kind="stable", ignore_index=True)
    out = pd.DataFrame(
        {
            "customer_id": text(cust.ids[fin["row"].to_numpy()]),
            "fiscal_year_end": fin["fiscal_year_end"].astype("datetime64[ns]").to_numpy(),
            "currency": text(np.array([CURRENCY[ENTITIES[e]] for e in cust.entity[fin["row"].to_numpy()]])),
        }
    )

    # Whole thousands of currency units, in minor units; equity kept as assets - liabilities.
    def minor(values: pd.Series) -> np.ndarray:
        return round_to(np.round(values.to_numpy() * 100).astype("int64"), 100_000)

    ta = minor(fin["total_assets"])
    tl = minor(fin["total_liabilities"])
    out["revenue"] = minor(fin["revenue"])
    out["ebit"] = np.sign(fin["ebit"].to_numpy()).astype("int64") * minor(fin["ebit"].abs())
    out["total_assets"] = ta
    out["total_liabilities"] = tl
    out["current_assets"] = np.minimum(minor(fin["current_assets"]), ta)
    out["current_liabilities"] = np.minimum(minor(fin["current_liabilities"]), tl)
    out["retained_earnings"] = np.sign(fin["retained_earnings"].to_numpy()).astype("int64") * minor(
        fin["retained_earnings"].abs()
    )
    out["book_equity"] = ta - tl
    me = fin["market_equity"]
    out["market_equity"] = pd.array(np.where(me.isna(), 0, minor(me.fillna(0))), dtype="Int64")
    out.loc[me.isna().to_numpy(), "market_equity"] = pd.NA
    return out
