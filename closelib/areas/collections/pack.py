"""The collections pack (``collections_pack.xlsx``): what collectors work from each day.

Sheets: the dunning queue (one line per customer with the next action due, by collector), the
documents behind it, the KPI table with every input beside the KPI (amounts in the entity's
currency), the KPI workings, and the aged debt by collector. The queue frames are taken as the
dunning step builds them, whatever columns they carry: an amount column is recognised by name
(:func:`money_columns`), so a new one is formatted as money without a change here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from closelib.areas.collections.kpis import FORMULAS, KPI_COLUMNS, kpi_workings
from closelib.nb.excel import Cover, Sheet, write_workbook
from closelib.periods import Period

# Columns of the collections frames that hold money (int minor units of the row's currency).
MONEY_NAMES = {
    "amount",
    "open_amount",
    "past_due",
    "balance",
    "open_balance",
    "end_ar",
    "prior_ar",
    "sales",
    "not_yet_due",
    "open_invoices",
    "total",
    "prior_month_total",
    "movement",
    "promised_amount",
    "received",
    "min_balance",
    "exposure",
    "credit_limit",
}
MONEY_SUFFIXES = ("_amount", "_balance", "_total")
RATE_COLUMNS = ("past_due_ratio",)


def money_columns(frame: pd.DataFrame, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The money columns of a collections frame, by name (and ``extra``, e.g. the bucket labels)."""
    return [c for c in frame.columns if c in MONEY_NAMES or str(c).endswith(MONEY_SUFFIXES) or c in extra]


def _with_currency(frame: pd.DataFrame, currency_of: Callable[[str], str]) -> pd.DataFrame:
    if "currency" in frame.columns or "entity" not in frame.columns:
        return frame
    return frame.assign(currency=frame["entity"].map(currency_of) if len(frame) else pd.Series(dtype=object))


def kpi_sheet_frame(now: pd.DataFrame, currency_of: Callable[[str], str]) -> pd.DataFrame:
    """One row per entity: its currency, every input amount, then the KPIs (CEI in %, 1 decimal)."""
    frame = now.reset_index() if "entity" not in now.columns else now
    frame = _with_currency(frame, currency_of)
    columns = ["entity", "currency", "month", *KPI_COLUMNS]
    return frame.reindex(columns=[c for c in columns if c in frame.columns])


def workings_frame(now: pd.DataFrame, currency_of: Callable[[str], str], period: Period) -> pd.DataFrame:
    """Every entity's KPI workings (value, formula, inputs in its currency), one block per entity."""
    frame = now.reset_index() if "entity" not in now.columns else now
    parts = []
    for row in frame.to_dict("records"):
        ccy = currency_of(row["entity"])
        table = kpi_workings(row | {"month": str(period)}, ccy)
        table.columns = ["kpi", "value", "formula", "inputs"]
        parts.append(table.assign(entity=row["entity"], currency=ccy))
    if not parts:
        return pd.DataFrame(columns=["entity", "currency", "kpi", "value", "formula", "inputs"])
    return pd.concat(parts, ignore_index=True)[["entity", "currency", "kpi", "value", "formula", "inputs"]]


def write_pack(
    path: Path,
    period: Period,
    params: dict,
    queue: pd.DataFrame,
    due: pd.DataFrame,
    now: pd.DataFrame,
    aged: pd.DataFrame,
    labels: list[str],
    currency_of: Callable[[str], str],
    cover: Cover | None = None,
) -> Path:
    """The collections workbook: queue, documents due, KPIs with inputs, workings, aged debt."""
    order = [c for c in ("entity", "collector", "customer_id") if c in queue.columns]
    work_queue = queue.sort_values(order, kind="stable", ignore_index=True) if order and len(queue) else queue
    if "action" in work_queue.columns:  # what the collector does next, beside whom it is for
        work_queue = work_queue.rename(columns={"action": "next_action"})
        columns = [c for c in work_queue.columns if c != "next_action"]
        at = columns.index("name") + 1 if "name" in columns else len(columns)
        work_queue = work_queue[[*columns[:at], "next_action", *columns[at:]]]
    kpis = kpi_sheet_frame(now, currency_of)
    aged_frame = _with_currency(aged, currency_of)
    title = [
        f"{params['company']}: collections {period}",
        f"as of {period.end.date()}; amounts in each entity's currency",
    ]
    sheets = [
        Sheet(
            "Dunning queue",
            work_queue,
            money_columns(work_queue),
            currency_column="currency",
            title=[*title, "One line per customer: the next action due, by collector"],
            total=True,
        ),
        Sheet(
            "Documents due",
            due,
            money_columns(due),
            currency_column="currency",
            title=["Documents due a dunning action (the queue above, per document)"],
            total=True,
        ),
        Sheet(
            "KPIs",
            kpis,
            money_columns(kpis),
            currency_column="currency",
            rate_columns=[c for c in RATE_COLUMNS if c in kpis.columns],
            title=[f"KPIs {period} with their inputs; CEI in %, days to 2 decimals", *_formula_lines()],
        ),
        Sheet("KPI workings", workings_frame(now, currency_of, period), title=["Each KPI redone from its inputs"]),
        Sheet(
            "Aged debt by collector",
            aged_frame,
            money_columns(aged_frame, labels),
            currency_column="currency",
            title=[f"Open items by collector and aging bucket at {period.end.date()}"],
            total=True,
        ),
    ]
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime(), cover=cover)


def _formula_lines() -> list[str]:
    return [f"{name}: {text}" for name, text in FORMULAS.items()]
