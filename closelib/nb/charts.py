"""Chart axes a person reads: amounts in major units with thousands separators, rates in %.

matplotlib's default tick labels show ``1e6`` offsets and bare floats; the charts of the
workpapers plot amounts already converted to major units (display only) and format their axes
with these helpers, so an axis reads ``1,250,000`` or ``12.5%``.
"""

from __future__ import annotations

from typing import Any

from closelib import money


def money_axis(ax: Any, currency: str, axis: str = "y") -> None:
    """Ticks of ``axis`` as amounts of ``currency`` (values already in major units), with
    separators and no offset text; the label names the currency."""
    from matplotlib.ticker import FuncFormatter

    digits = 0 if money.minor_digits(currency) == 0 else None

    def label(value: float, _pos: int) -> str:
        # whole units on the axis unless the range is below one unit (then the currency's decimals)
        shown = digits if digits is not None else (0 if abs(value) >= 1 or value == 0 else money.minor_digits(currency))
        return f"{value:,.{shown}f}"

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(label))


def percent_axis(ax: Any, decimals: int = 0, axis: str = "y", scale: float = 1.0) -> None:
    """Ticks of ``axis`` as percentages: a value ``v`` shows as ``v * scale`` with ``%`` (``scale``
    100 for ratios, 1 for values already in percent)."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value * scale:.{decimals}f}%"))


def days_axis(ax: Any, axis: str = "y") -> None:
    """Ticks of ``axis`` as whole days with separators."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
