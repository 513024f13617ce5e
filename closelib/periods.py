"""Periods: ``YYYY-MM`` month ends, starts and shifts (the one place a period is parsed)."""

from __future__ import annotations

import calendar

import pandas as pd


def to_date(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def period_end(period: str) -> pd.Timestamp:
    """Last calendar day of a ``YYYY-MM`` period."""
    year, month = (int(p) for p in period.split("-"))
    return pd.Timestamp(year=year, month=month, day=calendar.monthrange(year, month)[1])


def period_start(period: str) -> pd.Timestamp:
    year, month = (int(p) for p in period.split("-"))
    return pd.Timestamp(year=year, month=month, day=1)


def shift_period(period: str, months: int) -> str:
    return str(pd.Period(period, freq="M") + months)


def periods_back(period: str, count: int) -> list[str]:
    """``count`` periods ending with ``period``, oldest first."""
    return [shift_period(period, -k) for k in range(count - 1, -1, -1)]
