"""Chart axes a person reads: amounts in major units with thousands separators, rates in %.

matplotlib's default tick labels show ``1e6`` offsets and bare floats; the charts of the
workpapers plot amounts already converted to major units (display only) and format their axes
with these helpers, so an axis reads ``1,250,000`` or ``12.5%``.
"""

from __future__ import annotations

import functools
import math
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
    """``fig`` as a PNG drawn once with Agg at ``dpi``, its white margin cropped to a 0.1 in pad.

    An opaque figure (every chart here: a white background) is written without its alpha
    channel, at zlib level 3: the same pixels as the RGBA PNG at the default level 6, in half the
    time (8 ms against 16 for a memo's chart) and 15% fewer bytes."""
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    if fig.get_dpi() != dpi:
        fig.set_dpi(dpi)
    # a figure drawn again (one reused from chart to chart) keeps its canvas and so its renderer,
    # whose measures of texts already drawn matplotlib keeps
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    top, bottom, left, right = ink_box(pixels)
    if bottom >= top:
        height, width = pixels.shape[:2]
        pixels = pixels[
            max(0, top - TIGHT_PAD_PX) : min(height, bottom + 1 + TIGHT_PAD_PX),
            max(0, left - TIGHT_PAD_PX) : min(width, right + 1 + TIGHT_PAD_PX),
        ]
    if (pixels[:, :, 3] == 255).all():
        pixels = pixels[:, :, :3]
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(out, format="png", compress_level=3)
    return out.getvalue()


def ink_box(pixels: Any) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows and columns of the non-white pixels (any of red, green,
    blue below 255, whatever the alpha) of an RGBA image; bottom < top when there are none.
    Each pixel read as one little-endian 32-bit word (R in the low byte): one pass, no (h, w, 3)
    array of comparisons, no list of the ink's coordinates."""
    import numpy as np

    words = np.ascontiguousarray(pixels).view("<u4")[:, :, 0]
    ink = (words & np.uint32(0x00FFFFFF)) != np.uint32(0x00FFFFFF)
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return 0, -1, 0, -1
    return int(rows[0]), int(rows[-1]), int(columns[0]), int(columns[-1])


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


# ------------------------------------------------------------------ tick labels drawn once
#
# A figure reused from chart to chart (the credit memo's trend chart: the same 24 months in every
# memo) draws the same tick labels each time, and text is most of a draw: the 24 rotated month
# labels were 40% of the trend chart's. Their pixels are kept from the first draw and pasted after.


def freeze_tick_labels(axis: Any) -> None:
    """Draw ``axis``'s tick labels once and paste their pixels at every later draw of the figure
    at the same size and dpi (else they are drawn again, and kept anew).

    For an axis whose ticks, labels and place in the figure never change, and that nothing else
    is drawn over or under: the pasted rectangle (the labels' extent and a pixel around it) covers
    whatever is there. The labels are hidden from the axis and drawn by an artist of the figure
    after the axes (which still place them at their ticks), on the white they would be drawn on."""
    axis.set_tick_params(which="major", label1On=False)
    axis.axes.get_figure(root=True).add_artist(_frozen_labels_class()(axis))


@functools.cache
def _frozen_labels_class() -> type:
    """The artist of :func:`freeze_tick_labels` (made on first use: matplotlib is imported late)."""
    import numpy as np
    from matplotlib.artist import Artist

    class FrozenLabels(Artist):
        zorder = 10  # after the axes

        def __init__(self, axis: Any) -> None:
            super().__init__()
            self.axis = axis
            self.kept: tuple[tuple, int, int, Any] | None = None  # (renderer size and dpi, x, y, pixels)

        def draw(self, renderer: Any) -> None:
            key = (renderer.width, renderer.height, renderer.dpi)
            if self.kept is not None and self.kept[0] == key:
                _, x, y, pixels = self.kept
                gc = renderer.new_gc()
                renderer.draw_image(gc, x, y, pixels)
                gc.restore()
                return
            ticks = self.axis.get_major_ticks()[: len(self.axis.get_majorticklocs())]
            boxes = []
            for tick in ticks:
                tick.label1.set_visible(True)
                tick.label1.draw(renderer)
                boxes.append(tick.label1.get_window_extent(renderer))
                tick.label1.set_visible(False)
            if not boxes or not hasattr(renderer, "buffer_rgba"):  # nothing to keep, or not Agg
                return
            # the labels' extent in whole pixels and one more each side (antialiasing); display y
            # counts from the bottom, the buffer's rows from the top, draw_image's from the bottom
            x0 = max(0, math.floor(min(b.x0 for b in boxes)) - 1)
            x1 = min(int(renderer.width), math.ceil(max(b.x1 for b in boxes)) + 1)
            y0 = max(0, math.floor(min(b.y0 for b in boxes)) - 1)
            y1 = min(int(renderer.height), math.ceil(max(b.y1 for b in boxes)) + 1)
            rows = np.asarray(renderer.buffer_rgba())[int(renderer.height) - y1 : int(renderer.height) - y0, x0:x1]
            self.kept = (key, x0, y0, np.ascontiguousarray(rows[::-1]))

    return FrozenLabels


# ------------------------------------------------------------------ a legend drawn once per text
#
# The memo chart's legend (three entries under the axes) is the same in every memo but for its
# currency: its texts and handles were a fifth of a draw. Its pixels are kept for each set of
# texts and pasted after.


def keep_legend_pixels(legend: Any) -> None:
    """Draw ``legend`` once for each set of its texts (and figure size and dpi) and paste those
    pixels at later draws with the same texts.

    For a legend whose place in the figure depends only on its texts, drawn on the figure's
    background with nothing else under or over it (the memo chart's, in the margin below the
    axes): the pasted rectangle (the legend's extent and a pixel around it) covers whatever is
    there. Handles must not change their look between draws."""
    import numpy as np

    kept: dict[tuple, tuple[int, int, Any]] = {}
    draw = legend.draw

    def draw_once(renderer: Any) -> None:
        key = (renderer.width, renderer.height, renderer.dpi, tuple(t.get_text() for t in legend.get_texts()))
        if key in kept:
            x, y, pixels = kept[key]
            gc = renderer.new_gc()
            renderer.draw_image(gc, x, y, pixels)
            gc.restore()
            return
        draw(renderer)
        if not legend.get_visible() or not hasattr(renderer, "buffer_rgba"):  # nothing kept: not Agg
            return
        box = legend.get_window_extent(renderer)
        # whole pixels and one more each side (antialiasing); display y counts from the bottom,
        # the buffer's rows from the top, draw_image's from the bottom
        x0 = max(0, math.floor(box.x0) - 1)
        x1 = min(int(renderer.width), math.ceil(box.x1) + 1)
        y0 = max(0, math.floor(box.y0) - 1)
        y1 = min(int(renderer.height), math.ceil(box.y1) + 1)
        rows = np.asarray(renderer.buffer_rgba())[int(renderer.height) - y1 : int(renderer.height) - y0, x0:x1]
        kept[key] = (x0, y0, np.ascontiguousarray(rows[::-1]))

    legend.draw = draw_once
