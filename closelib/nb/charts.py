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


# ------------------------------------------------------------------ a chart drawn once
#
# A pyplot figure shown by the inline backend is drawn three times: once by pyplot's
# after-cell redraw of every stale figure, once to measure the tight bounding box (every tick
# label laid out) and once for the PNG. That was 0.5 s of each credit memo. A figure made
# without pyplot (matplotlib.figure.Figure) and shown by :func:`show_chart` is drawn once; the
# white margin is then cropped from the pixels, as the inline backend's tight box does.

CHART_DPI = 100  # the inline backend's (matplotlib's default figure.dpi)
TIGHT_PAD_PX = 10  # savefig's default pad_inches (0.1 in) at CHART_DPI


def chart_png(fig: Any, dpi: int = CHART_DPI) -> bytes:
    """``fig`` as a PNG drawn once with Agg at ``dpi``, its white margin cropped to a 0.1 in pad."""
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    ink = np.argwhere((pixels[:, :, :3] < 255).any(axis=2))  # a non-white pixel (the background is white)
    if len(ink):
        (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
        height, width = pixels.shape[:2]
        pixels = pixels[
            max(0, top - TIGHT_PAD_PX) : min(height, bottom + 1 + TIGHT_PAD_PX),
            max(0, left - TIGHT_PAD_PX) : min(width, right + 1 + TIGHT_PAD_PX),
        ]
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(out, format="png")
    return out.getvalue()


def show_chart(fig: Any, dpi: int = CHART_DPI) -> None:
    """Display ``fig`` (a ``matplotlib.figure.Figure``, not pyplot's) as the inline backend would:
    a PNG output with the figure's text form, drawn once (:func:`chart_png`)."""
    import base64

    width, height = (round(v * dpi) for v in fig.get_size_inches())
    plain = f"<Figure size {width}x{height} with {len(fig.axes)} Axes>"
    data = {"image/png": base64.b64encode(chart_png(fig, dpi)).decode("ascii"), "text/plain": plain}
    try:
        from IPython.display import display
    except ImportError:  # plain Python (tests): print the text form
        print(plain)
        return
    display(data, raw=True)
