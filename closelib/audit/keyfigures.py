"""A run's key figures as a reviewer reads them: by workpaper and entity, formatted.

The manifest keeps figures as the notebooks recorded them (money as plain decimal strings in
major units, counts as integers, days and ratios as numbers). The binder shows a chosen few per
workpaper, one column per entity (headed with its currency), money with thousands separators
and its currency's decimals, ratios as percentages: never a raw manifest value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from closelib import money
from closelib.nb.workpapers import AREAS, BY_NAME, Workpaper

# area -> (figure, label, kind); kind: money, count, days, percent (a 0..1 ratio), points (already x100)
KEY: dict[str, tuple[tuple[str, str, str], ...]] = {
    "tb": (
        ("subledger_ar", "subledger AR", "money"),
        ("gl_ar_control", "GL AR control", "money"),
        ("difference", "difference GL - subledger", "money"),
        ("exceptions_total", "open exceptions", "money"),
        ("unexplained", "unexplained", "money"),
    ),
    "reserve": (
        ("gross_receivables", "gross receivables", "money"),
        ("allowance_required", "allowance required", "money"),
        ("allowance_booked", "allowance booked", "money"),
        ("true_up", "true-up", "money"),
    ),
    "write_off": (
        ("count", "documents proposed", "count"),
        ("total", "amount proposed", "money"),
    ),
    "credit": (
        ("reviews", "memos", "count"),
        ("queue_due", "customers due a review", "count"),
        ("carried_over", "carried over", "count"),
        ("capped", "ratings capped by hard signals", "count"),
    ),
    "kpi": (
        ("dso", "DSO", "days"),
        ("cei", "CEI", "points"),
        ("past_due_ratio", "past due", "percent"),
        ("disputes_open", "open disputes", "count"),
    ),
    "cash_app": (
        ("proposed_amount", "applications proposed", "money"),
        ("proposed_count", "application lines", "count"),
        ("unmatched_amount", "left unmatched", "money"),
        ("match_rate", "match rate", "percent"),
    ),
    "fx": (
        ("unrealised", "unrealised FX gain (loss)", "money"),
        ("realised", "realised FX gain (loss)", "money"),
    ),
}
ALL = "all entities"


@dataclass(frozen=True)
class FigureRow:
    label: str
    cells: dict[str, str]  # column (entity, or ALL) -> formatted value


@dataclass(frozen=True)
class FigureGroup:
    workpaper: Workpaper
    rows: list[FigureRow]


def format_value(value: object, kind: str, currency: str | None) -> str:
    """One figure for a reader; a value that does not parse is shown as it is (escaped later)."""
    if value is None:
        return "n/a"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return "n/a"
    if kind == "money":
        digits = money.minor_digits(currency) if currency and money.is_currency(currency) else 2
        text = f"{number:,.{digits}f}"
        return f"{text} {currency}" if currency else text
    if kind == "count":
        return f"{number:,.0f}"
    if kind == "days":
        return f"{number:,.2f} days"
    if kind == "percent":
        return f"{number * 100:,.2f}%"
    if kind == "points":
        return f"{number:,.2f}%"
    return f"{number:,}"


def key_figure_groups(figures: dict, currencies: dict[str, str]) -> tuple[list[str], list[FigureGroup]]:
    """The columns (entities, then ``all entities`` when some figure is only a total) and the
    key figures of each workpaper in notebook order, each row only when some column has it."""
    entities = sorted(currencies) or sorted(
        {name.split(".")[1] for name in figures if name.count(".") == 2 and name.split(".")[0] in KEY}
    )
    single = len(entities) == 1
    groups: list[FigureGroup] = []
    need_all = False
    for area, wanted in KEY.items():
        rows = []
        for figure, label, kind in wanted:
            cells: dict[str, str] = {}
            for e in entities:
                name = f"{area}.{figure}" if single else f"{area}.{e}.{figure}"
                if name in figures:
                    cells[e] = format_value(figures[name], kind, currencies.get(e))
            plain = f"{area}.{figure}"
            if not single and plain in figures:
                ccys = {currencies.get(e) for e in entities}
                ccy = ccys.pop() if len(ccys) == 1 else None
                if kind != "money" or ccy:
                    cells[ALL] = format_value(figures[plain], kind, ccy)
                    need_all = True
            if cells:
                rows.append(FigureRow(label, cells))
        if rows:
            groups.append(FigureGroup(BY_NAME[AREAS[area]], rows))
    return entities + ([ALL] if need_all else []), groups
