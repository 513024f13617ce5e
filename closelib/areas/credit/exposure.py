"""Credit review: a customer's exposure and utilisation of its credit limit.

Exposure is the open INV, DM and CM (as of the date) in the customer's credit currency;
documents in another currency are translated at the closing rate and shown apart, and those no
rate translates are counted and left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.asof.openitems import open_items
from closelib.book.arrays import isin, lookup
from closelib.book.fx import rates_in_force, translate
from closelib.book.model import Book


def exposure(
    book: Book, day: pd.Timestamp, items: pd.DataFrame | None = None, customers: list[str] | None = None
) -> pd.DataFrame:
    """Per customer, as of ``day``: open INV/DM/CM in the limit's currency (``exposure``), items in
    other currencies translated into it at the **closing rate** (the ``fx_rates`` rate in force on
    ``day``, directly or through the entity's functional currency) included and shown apart as
    ``translated_exposure``, and the count of items no rate translates (``other_currency_items``,
    left out).

    ``items``: ``open_items(book, day)`` (INV, DM and CM) when the caller has them already;
    ``customers``: only these customers' rows (in the book's order), not every customer's (a
    memo's one customer of 20,000: each column of 20,000 rows built and read for one)."""
    if items is None:
        items = open_items(book, day, ("INV", "DM", "CM"))
    cust = book.customers
    if customers is not None:
        cust = cust[isin(cust["customer_id"], list(customers))]
        items = items[isin(items["customer_id"], list(customers))]
    cust = cust.set_index("customer_id")
    ccy = lookup(items["customer_id"], cust["credit_currency"]).astype(object)
    same = items["currency"].to_numpy() == ccy.to_numpy()
    translated = _at_closing_rate(book, items[~same], ccy[~same], day)
    known = translated.notna().to_numpy()
    result = pd.DataFrame(index=cust.index)
    own = items[same].groupby("customer_id")["open_amount"].sum()
    other = translated[known].groupby(items[~same]["customer_id"].to_numpy()[known]).sum()
    result["translated_exposure"] = other.reindex(cust.index).fillna(0)
    result["exposure"] = own.reindex(cust.index).fillna(0) + result["translated_exposure"]
    result["other_currency_items"] = items[~same][~known].groupby("customer_id").size().reindex(cust.index).fillna(0)
    return result.astype("int64")


def _at_closing_rate(book: Book, items: pd.DataFrame, target: pd.Series, day: pd.Timestamp) -> pd.Series:
    """Open amounts in ``target`` currency at the closing rate (NaN where no rate is in force):
    the direct pair, else through the functional currency (two translations, each per line)."""
    if items.empty:
        return pd.Series(dtype="float64", index=items.index)
    when = pd.Series(np.full(len(items), np.datetime64(day, "ns")))
    direct = rates_in_force(book.fx_rates, when, items["currency"], target)
    amount = translate(items["open_amount"], direct, items["currency"], target)
    if np.isfinite(direct).all():
        # every line has its direct rate: the route through the functional currency would be
        # looked up and never read (two rate lookups, 10 to 20 ms of a memo)
        return pd.Series(amount.astype("float64"), index=items.index)
    to_fun = rates_in_force(book.fx_rates, when, items["currency"], items["functional_currency"])
    fun_to = rates_in_force(book.fx_rates, when, items["functional_currency"], target)
    via = translate(
        translate(items["open_amount"], to_fun, items["currency"], items["functional_currency"]),
        fun_to,
        items["functional_currency"],
        target,
    )
    value = np.where(np.isfinite(direct), amount, np.where(np.isfinite(to_fun) & np.isfinite(fun_to), via, 0))
    found = np.isfinite(direct) | (np.isfinite(to_fun) & np.isfinite(fun_to))
    return pd.Series(np.where(found, value, np.nan), index=items.index)


def utilisation(exposure_minor, limit_minor) -> float | None:
    """exposure / limit; ``inf`` for an exposure against a zero limit, ``None`` for nothing against nothing."""
    exposure_minor, limit_minor = int(exposure_minor), int(limit_minor)
    if limit_minor > 0:
        return exposure_minor / limit_minor
    return float("inf") if exposure_minor > 0 else None
