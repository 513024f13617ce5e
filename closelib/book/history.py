"""Effective-dated customer master data: the optional ``customer_history`` extract.

Each row says that ``field`` of customer ``customer_id`` took ``value`` on ``effective_date``
(a contract extension, README *Extensions to the contract*). ``value`` is text in the
extract, read with the rules of the customers table's column of that name: a status one of
the statuses, a risk rating 1..10, a credit limit a non-negative amount in the customer's
credit currency, a review date an ISO date (empty: never reviewed), a parent an existing
customer. :func:`check_history` reports every row that breaks one (file, row, column
``value``, rule, with the field named); :func:`typed_values` gives the values in the
customers table's types for :mod:`closelib.asof.customers`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.book.arrays import isin, lookup
from closelib.book.parse import Collector, _parse_column, _parse_money
from closelib.book.schema import HISTORY_FIELDS, TABLES


def _customer_currency(history: pd.DataFrame, customers: pd.DataFrame) -> pd.Series:
    ccy = pd.Series(customers["credit_currency"].array, index=pd.Index(customers["customer_id"].array))
    return lookup(history["customer_id"], ccy)


def _parse_field(field: str, values: pd.Series, currency: pd.Series, file: str, out: Collector) -> pd.Series:
    """``values`` (one field's rows) parsed by the customers column's rules; problems to ``out``."""
    column = TABLES["customers"].column(field)
    if column.kind == "money":
        parsed = _parse_money(column, values, currency, file, out)
        out.rows(file, parsed.to_numpy() < 0, field, "non_negative", "credit limit must be >= 0", values)
        return parsed
    return _parse_column(column, values, file, out)


def check_history(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    """Every broken rule of ``customer_history``: an unknown customer, a value its field's rules
    refuse (named ``<field>: <rule>`` in column ``value``), a parent that is not a customer."""
    hist, customers = frames["customer_history"], frames["customers"]
    known = isin(hist["customer_id"], customers["customer_id"])
    out.rows(file, ~known, "customer_id", "foreign_key", "no customer with this id", hist["customer_id"])
    currency = _customer_currency(hist, customers)
    for field in HISTORY_FIELDS:
        rows = np.flatnonzero((hist["field"] == field).to_numpy() & known)
        if not len(rows):
            continue
        values = hist["value"].iloc[rows].reset_index(drop=True)
        one = Collector()
        _parse_field(field, values, currency.iloc[rows].reset_index(drop=True), file, one)
        if field == "parent_id":
            orphan = (values != "") & ~isin(values, customers["customer_id"])
            one.rows(file, orphan, field, "foreign_key", "no parent customer with this id", values)
        for problem in one.problems:  # rows of the field's slice -> rows of the file
            row = None if problem.row is None else int(rows[problem.row - 2]) + 2
            out.add(file, row, "value", problem.rule, f"{field}: {problem.message}", problem.value)


def typed_values(history: pd.DataFrame, customers: pd.DataFrame, field: str) -> pd.Series:
    """The ``value`` of ``history`` rows (all of one ``field``) in the customers column's type
    (validated already: a bad cell cannot reach here)."""
    values = history["value"].reset_index(drop=True)
    currency = _customer_currency(history, customers).reset_index(drop=True)
    typed = _parse_field(field, values, currency, "customer_history", Collector())
    typed.index = history.index
    return typed
