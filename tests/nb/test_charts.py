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
