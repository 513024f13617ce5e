"""Ties across notebooks, checked by the runner once every notebook has recorded its figures.

Notebooks run in parallel processes and cannot read each other's figures, so a tie between
two notebooks (the reserve's aging total must equal the reconciliation's subledger AR) is
checked here, per entity and for the plain total, whenever both figures exist.
"""

from __future__ import annotations

from decimal import Decimal

# (figure in one notebook, figure in another, what the tie means)
CROSS_TIES: tuple[tuple[str, str, str], ...] = (
    ("reserve.aging_total", "tb.subledger_ar", "reserve aging total vs trial-balance subledger AR"),
)


def _variants(name: str, figures: dict) -> dict[str, str]:
    """``area.figure`` -> {"": plain name, "<entity>": per-entity name} for names present."""
    area, _, rest = name.partition(".")
    found = {"": name} if name in figures else {}
    suffix = "." + rest
    for key in figures:
        if key.startswith(area + ".") and key.endswith(suffix):
            middle = key[len(area) + 1 : -len(suffix)]
            if middle and "." not in middle:
                found[middle] = key
    return found


def cross_tie_checks(figures: dict) -> dict[str, dict]:
    checks: dict[str, dict] = {}
    for left, right, what in CROSS_TIES:
        a, b = _variants(left, figures), _variants(right, figures)
        for scope in sorted(set(a) & set(b)):
            x, y = Decimal(str(figures[a[scope]])), Decimal(str(figures[b[scope]]))
            name = f"run.tie.{left.split('.')[0]}_vs_{right.split('.')[0]}" + (f".{scope}" if scope else "")
            checks[name] = {
                "passed": x == y,
                "detail": f"{what}: {a[scope]} {x} vs {b[scope]} {y}, difference {x - y}",
                "severity": "error",
                "notebook": "run",
            }
    return checks
