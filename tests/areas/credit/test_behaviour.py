"""Payment behaviour: amount-weighted days to pay and beyond terms, share late, the monthly trend.

MINI at 2026-10-31 with ON_TIME (see :mod:`tests.areas.credit.test_credit`): C001 paid D0 200.00
20 days after invoicing, on time, and D1 600.00 40 days after, 10 days beyond terms.
"""

from __future__ import annotations

import pandas as pd

from closelib.areas.credit.behaviour import behaviour, monthly_trend, payment_history
from tests.areas.credit.test_credit import DAY, END, ON_TIME, book


def test_payment_behaviour_weighted_by_amount(tmp_path):
    b = book(tmp_path, **ON_TIME)
    h = payment_history(b, DAY, 24)
    assert list(h["document_id"]) == ["D0", "D1"]  # the CM applied to D1 is not a payment
    beh = behaviour(h[h["customer_id"] == "C001"])
    # (200 x 20 + 600 x 40) / 800 = 35 days to pay; (600 x 10) / 800 = 7.5 beyond terms; 600/800 late
    assert (beh["weighted_days_to_pay"], beh["weighted_days_beyond_terms"], beh["share_paid_late"]) == (35.0, 7.5, 0.75)
    trend = monthly_trend(h, END, 24)
    assert len(trend) == 24 and trend.iloc[-1]["month"] == str(END)
    assert trend.set_index("month").loc["2026-09", "weighted_days_beyond_terms"] == 10.0
    assert pd.isna(trend.set_index("month").loc["2026-10", "weighted_days_to_pay"])


def _trend(seed: int) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(seed)
    months = [f"{2024 + (m + 10) // 12}-{(m + 10) % 12 + 1:02d}" for m in range(24)]
    paid = rng.integers(0, 5_000_000, 24) * (rng.random(24) > 0.3)
    to_pay = np.where(paid > 0, rng.uniform(5, 120, 24), np.nan)
    return pd.DataFrame(
        {
            "month": months,
            "amount_paid": paid.astype("int64"),
            "weighted_days_to_pay": to_pay,
            "weighted_days_beyond_terms": np.where(paid > 0, np.maximum(to_pay - 30, 0), np.nan),
            "share_paid_late": np.where(paid > 0, 0.5, np.nan),
        }
    )


def _made_directly(trend: pd.DataFrame, customer: str, currency: str):
    """The trend chart as it was made before figures were reused: a figure of its own, its
    limits found by matplotlib from the data it was made with."""
    from matplotlib.figure import Figure

    from closelib import money
    from closelib.nb.charts import money_axis

    fig = Figure(figsize=(9, 3.4))
    ax = fig.subplots()
    paid = [float(money.from_minor(int(v), currency)) for v in trend["amount_paid"]]
    ax.bar(trend["month"], paid, color="#d0d7de", label=f"paid ({currency})")
    ax.set_ylabel(f"paid ({currency})")
    money_axis(ax, currency)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    days = ax.twinx()
    days.plot(trend["month"], trend["weighted_days_to_pay"], marker="o", color="#0969da", label="days to pay")
    days.plot(
        trend["month"], trend["weighted_days_beyond_terms"], marker="o", color="#cf222e", label="days beyond terms"
    )
    days.set_ylabel("days (amount-weighted)")
    days.set_ylim(bottom=0)
    bar_handles, bar_labels = ax.get_legend_handles_labels()
    line_handles, line_labels = days.get_legend_handles_labels()
    fig.legend(
        bar_handles + line_handles, bar_labels + line_labels, loc="lower center", ncol=3, fontsize=8, frameon=False
    )
    ax.set_title(f"{customer}: payment behaviour by month of payment", fontsize=10)
    fig.subplots_adjust(left=0.12, right=0.91, top=0.9, bottom=0.3)
    return fig


def test_the_trend_chart_reused_draws_as_one_made_directly(monkeypatch):
    """The figure is kept for the next memo: a chart drawn after others (other scales, other
    currencies, other customers) has the very pixels of the chart made on a figure of its own
    from its data (its tick labels pasted, its limits set from the new data)."""
    import io

    import numpy as np
    from PIL import Image

    from closelib.areas.credit import behaviour as cb
    from closelib.nb.charts import chart_png

    def pixels(png: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))

    monkeypatch.setattr(cb, "_TREND_FIGURES", {})
    cases = [(_trend(1), "C1 First Ltd", "USD"), (_trend(2), "C2 Second GmbH", "JPY"), (_trend(3), "C3", "EUR")]
    # a currency again, other data: its legend pasted (keep_legend_pixels), the rest drawn
    cases += [(_trend(4), "C4 Fourth SA", "USD"), (_trend(5), "C5", "JPY")]
    figures = set()
    for trend, customer, currency in cases:
        fig = cb.trend_chart(trend, customer, currency)
        figures.add(id(fig))
        assert np.array_equal(pixels(chart_png(fig)), pixels(chart_png(_made_directly(trend, customer, currency))))
    assert len(figures) == 1  # one figure for the window's months
