"""Chart axes in major units with separators, and percentages (issue 18)."""

from __future__ import annotations


def test_chart_axes_read_as_amounts_and_percentages():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from closelib.nb.charts import money_axis, percent_axis

    fig, ax = plt.subplots()
    ax.plot([0, 2_500_000], [0, 0.25])
    money_axis(ax, "USD", axis="x")
    percent_axis(ax, decimals=1, scale=100)
    assert ax.xaxis.get_major_formatter()(1_250_000, 0) == "1,250,000"
    assert ax.yaxis.get_major_formatter()(0.125, 0) == "12.5%"
    money_axis(ax, "JPY")
    assert ax.yaxis.get_major_formatter()(3_294_000, 0) == "3,294,000"
    plt.close(fig)


def _pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_the_ink_box_is_the_rows_and_columns_of_the_non_white_pixels():
    import numpy as np

    from closelib.nb.charts import ink_box

    image = np.full((6, 8, 4), 255, dtype="uint8")
    assert ink_box(image)[1] < ink_box(image)[0]  # all white: no ink
    image[1, 2] = (254, 255, 255, 255)  # red one below white
    image[4, 6] = (255, 255, 0, 0)  # blue 0, alpha 0: ink whatever the alpha
    image[5, 7] = (255, 255, 255, 0)  # white with alpha 0: not ink
    assert ink_box(image) == (1, 4, 2, 6)


def test_an_opaque_chart_is_written_without_alpha_and_the_same_pixels():
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    from closelib.nb import charts

    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1, 3], [2, 0, 1], color="#cf222e")
    png = charts.chart_png(fig)
    assert Image.open(io.BytesIO(png)).mode == "RGB"
    drawn = Figure(figsize=(3, 2))
    drawn.subplots().plot([0, 1, 3], [2, 0, 1], color="#cf222e")
    canvas = FigureCanvasAgg(drawn)
    canvas.draw()
    full = np.asarray(canvas.buffer_rgba())
    top, bottom, left, right = charts.ink_box(full)
    pad = charts.TIGHT_PAD_PX
    expected = full[max(0, top - pad) : bottom + 1 + pad, max(0, left - pad) : right + 1 + pad]
    assert np.array_equal(_pixels(png), expected)


def _labelled(freeze: bool):
    from matplotlib.figure import Figure

    from closelib.nb import charts

    fig = Figure(figsize=(5, 2.5))
    ax = fig.subplots()
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    ax.bar(months, range(12), color="#d0d7de")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    fig.subplots_adjust(bottom=0.35)
    if freeze:
        charts.freeze_tick_labels(ax.xaxis)
    return fig, ax


def test_frozen_tick_labels_are_pasted_as_they_were_drawn():
    import numpy as np

    from closelib.nb import charts

    plain, plain_ax = _labelled(freeze=False)
    frozen, frozen_ax = _labelled(freeze=True)
    first = charts.chart_png(frozen)
    assert np.array_equal(_pixels(first), _pixels(charts.chart_png(plain)))  # drawn, then kept
    for ax in (plain_ax, frozen_ax):  # new bars under the same months
        for bar, height in zip(ax.patches, [5, 1, 7, 0, 2, 9, 3, 3, 8, 1, 0, 4], strict=True):
            bar.set_height(height)
        ax.relim()
        ax.autoscale_view()
    again = charts.chart_png(frozen)  # pasted
    assert np.array_equal(_pixels(again), _pixels(charts.chart_png(plain)))
    assert not np.array_equal(_pixels(again), _pixels(first))
    assert not any(label.get_visible() for label in frozen_ax.get_xticklabels())  # the axis draws none


def test_frozen_tick_labels_are_drawn_again_at_another_dpi():
    import numpy as np

    from closelib.nb import charts

    plain, _ = _labelled(freeze=False)
    frozen, _ = _labelled(freeze=True)
    charts.chart_png(frozen)
    assert np.array_equal(_pixels(charts.chart_png(frozen, dpi=72)), _pixels(charts.chart_png(plain, dpi=72)))


def test_a_kept_legend_is_pasted_for_the_same_texts_and_drawn_for_others():
    import numpy as np
    from matplotlib.figure import Figure

    from closelib.nb import charts

    def chart(label: str, heights: list[int], keep: bool):
        fig = Figure(figsize=(4, 2.5))
        ax = fig.subplots()
        ax.bar(["a", "b", "c"], heights, color="#d0d7de", label=label)
        fig.subplots_adjust(bottom=0.3)
        legend = fig.legend(loc="lower center", fontsize=8, frameon=False)
        drawn = []
        if keep:
            original = legend.draw
            legend.draw = lambda renderer: (drawn.append(1), original(renderer))[1]
            charts.keep_legend_pixels(legend)
        return fig, ax, legend, drawn

    kept, ax, legend, drawn = chart("paid (USD)", [1, 2, 3], keep=True)
    plain = chart("paid (USD)", [1, 2, 3], keep=False)[0]
    assert np.array_equal(_pixels(charts.chart_png(kept)), _pixels(charts.chart_png(plain)))
    for bar, height in zip(ax.patches, [3, 1, 2], strict=True):
        bar.set_height(height)
    again = charts.chart_png(kept)  # same texts: pasted, not drawn
    assert len(drawn) == 1
    assert np.array_equal(_pixels(again), _pixels(charts.chart_png(chart("paid (USD)", [3, 1, 2], False)[0])))
    legend.get_texts()[0].set_text("paid (JPY)")  # other texts: drawn (and kept) again
    other = charts.chart_png(kept)
    assert len(drawn) == 2
    reference, _, reference_legend, _ = chart("paid (USD)", [3, 1, 2], False)
    reference_legend.get_texts()[0].set_text("paid (JPY)")
    assert np.array_equal(_pixels(other), _pixels(charts.chart_png(reference)))
