"""The FX revaluation workpaper (notebook ``07_fx_revaluation``): what it shows and concludes.

The arithmetic is :mod:`closelib.asof.fx` (unrealised at the closing rate, the proposed journal
and its reversal, realised FX on the period's settlements); this module gathers it per entity,
currency and customer and writes the conclusion from the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from closelib.asof.fx import (
    fx_figures,
    missing_closing_rates,
    realised_items,
    revaluation_items,
    revaluation_journal,
    unrealised_by,
)
from closelib.book.fx import RATE_TYPE, rates_in_force
from closelib.book.model import Book
from closelib.nb.markup import md
from closelib.periods import Period


@dataclass(frozen=True)
class Revaluation:
    items: pd.DataFrame  # open foreign-currency items at booking and closing rates
    rates: pd.DataFrame  # the closing rate of each currency pair with open items
    missing: list[str]  # currency pairs with open items and no closing rate
    by_currency: pd.DataFrame  # unrealised per entity and currency
    by_customer: pd.DataFrame  # unrealised per entity, currency and customer
    journal: pd.DataFrame  # the proposed revaluation journal and its reversal
    realised: pd.DataFrame  # the period's settlements with a foreign-currency side
    realised_by: pd.DataFrame  # realised per entity, currency and customer
    figures: dict[str, dict[str, int]]  # entity -> unrealised, realised (functional minor units)


def revalue(book: Book, period: Period, params: dict) -> Revaluation:
    items = revaluation_items(book, period.end)
    pairs = (
        items[["currency", "functional_currency"]].drop_duplicates().sort_values(["functional_currency", "currency"])
    )
    when = pd.Series([period.end] * len(pairs), dtype="datetime64[ns]")
    rates = pairs.assign(
        rate_date=period.end,
        closing_rate=rates_in_force(book.fx_rates, when, pairs["currency"], pairs["functional_currency"]),
    ).reset_index(drop=True)
    realised = realised_items(book, period)
    if realised.empty:
        realised_by = pd.DataFrame(columns=["entity", "currency", "customer_id", "applications", "realised"])
    else:
        realised_by = realised.groupby(["entity", "currency", "customer_id"], as_index=False).agg(
            applications=("application_id", "size"), realised=("realised", "sum")
        )
        realised_by["realised"] = realised_by["realised"].astype("int64")
    return Revaluation(
        items=items,
        rates=rates,
        missing=missing_closing_rates(items, period.end),
        by_currency=unrealised_by(items, ["entity", "functional_currency", "currency"]),
        by_customer=unrealised_by(items, ["entity", "functional_currency", "currency", "customer_id"]),
        journal=revaluation_journal(items, period, params, book.entities, book.currency_of),
        realised=realised,
        realised_by=realised_by,
        figures=fx_figures(items, realised, book.entities),
    )


def conclusion(rev: Revaluation, entities: list[str], currency_of, fmt, period: Period) -> str:
    """One paragraph per entity, written from the figures (``fmt(minor, currency)`` formats money)."""
    parts = []
    for entity in entities:
        ccy = currency_of(entity)
        mine = rev.items[rev.items["entity"] == entity]
        fig = rev.figures[entity]
        if mine.empty and fig["realised"] == 0:
            parts.append(
                f"**{md(entity)}**: no foreign-currency item was open at {period.end.date()} and none was "
                f"settled in {period}: nothing to revalue."
            )
            continue
        missing = [m for m in rev.missing if m.startswith(f"{entity}:")]
        gain = "gain" if fig["unrealised"] >= 0 else "loss"
        text = (
            f"**{md(entity)}**: {len(mine)} open foreign-currency item(s) revalued at the closing rate "
            f"({RATE_TYPE}) give an unrealised {gain} of {fmt(abs(fig['unrealised']), ccy)} {ccy}; the revaluation "
            f"journal is proposed at {period.end.date()} and reverses on {period.shift(1).start.date()}. "
            f"Realised FX on the period's settlements: {fmt(fig['realised'], ccy)} {ccy} "
            f"({'gain' if fig['realised'] >= 0 else 'loss'})."
        )
        if missing:
            text += " NOT complete: " + "; ".join(md(m) for m in missing) + "."
        parts.append(text)
    return "\n\n".join(parts)
