"""A run's figures as a person reads them: grouped by area and entity, money in its currency.

The manifest keeps figures as the contract says (money as plain decimal text, rates and days as
numbers); the CLI shows them formatted: ``12,500.00 USD``, ``29.58%``, ``44.6 days``. An entity's
figures are found by the entity's key in the name (``tb.US01.unexplained``); a figure without
one belongs to the whole book (in its currency when every entity shares it).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from closelib.nb.workpapers import AREAS
from closelib.safenames import safe_name

# Figures that are rates or shares (shown in %, 2 decimals), percentages already (2 decimals),
# and days (2 decimals, as recorded), by the last part of their name.
RATE_FIGURES = {"rate", "past_due_ratio", "dispute_sla_attainment", "coverage", "utilisation"}
PERCENT_FIGURES = {"cei"}
DAY_FIGURES = {"dso", "dso_simple", "bpdso", "add", "days_to_pay", "days_beyond_terms", "wadl"}
WHOLE_BOOK = "all entities"
# Areas in the order of the workpapers that record them; any other after them, by name.
AREA_ORDER = tuple(AREAS)  # notebook order, from the one list of workpapers


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def figure_text(name: str, value: object, currency: str | None) -> str:
    """One figure's value for a reader (``name`` says what kind of number it is)."""
    last = name.rsplit(".", 1)[-1]
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        number = _decimal(value)
        if number is None:
            return value
        return f"{number:,f}" + (f" {currency}" if currency else "")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if last in RATE_FIGURES:
            return f"{value:.2%}"
        if last in PERCENT_FIGURES:
            return f"{value:.2f}%"
        if last in DAY_FIGURES:
            return f"{value:,.2f} days"
        return f"{value:,.2f}"
    return str(value)


def group_figures(
    figures: dict, currencies: dict[str, str], subjects: dict[str, str] | None = None
) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """``{area: {group: [(figure, shown value)]}}``, areas and groups sorted, figures in name order.

    ``currencies``: entity -> currency; ``subjects``: other ids found in names (customers) ->
    their currency. A group is ``"US01 (USD)"``, ``"C000005 (USD)"`` or ``"all entities (USD)"``."""
    by_key = {safe_name(e): (e, c) for e, c in currencies.items()}
    subject_keys = {safe_name(s): (s, c) for s, c in (subjects or {}).items()}
    shared = set(currencies.values())
    book_currency = shared.pop() if len(shared) == 1 else None
    out: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for name in sorted(figures):
        parts = name.split(".")
        area, rest = parts[0], parts[1:]
        ccy: str | None
        if len(rest) > 1 and rest[0] in by_key:
            entity, ccy = by_key[rest[0]]
            group, label = f"{entity} ({ccy})", ".".join(rest[1:])
        elif len(rest) > 1 and rest[0] in subject_keys:
            subject, ccy = subject_keys[rest[0]]
            group, label = f"{subject} ({ccy})", ".".join(rest[1:])
        else:
            ccy = book_currency
            only = next(iter(currencies)) if len(currencies) == 1 else None
            group = f"{only} ({ccy})" if only else (f"{WHOLE_BOOK} ({ccy})" if ccy else WHOLE_BOOK)
            label = ".".join(rest)
        out.setdefault(area, {}).setdefault(group, []).append((label, figure_text(name, figures[name], ccy)))
    areas = sorted(out, key=lambda a: (AREA_ORDER.index(a) if a in AREA_ORDER else len(AREA_ORDER), a))
    return {area: dict(sorted(out[area].items())) for area in areas}


def figure_lines(grouped: dict[str, dict[str, list[tuple[str, str]]]], indent: str = "  ") -> Iterable[str]:
    for area, groups in grouped.items():
        yield f"{indent}{area}"
        for group, rows in groups.items():
            yield f"{indent}  {group}"
            width = max(len(label) for label, _ in rows)
            for label, shown in rows:
                yield f"{indent}    {label:<{width}}  {shown:>20}"


def key_figure_lines(figures: dict, currencies: dict[str, str], names: Iterable[str]) -> list[str]:
    """One line per key figure (``names``: plain names such as ``tb.unexplained``): every entity's
    value in its currency, then the book's where there is one."""
    by_key = {safe_name(e): (e, c) for e, c in currencies.items()}
    shared = set(currencies.values())
    book_currency = shared.pop() if len(shared) == 1 else None
    lines = []
    for plain in names:
        area, _, figure = plain.partition(".")
        shown = []
        for key, (entity, ccy) in sorted(by_key.items()):
            value = figures.get(f"{area}.{key}.{figure}")
            if value is not None:
                shown.append(f"{entity} {figure_text(plain, value, ccy)}")
        if plain in figures and (not shown or book_currency):
            shown.append(("total " if shown else "") + figure_text(plain, figures[plain], book_currency))
        if shown:
            lines.append(f"{plain}: " + " · ".join(shown))
    return lines
