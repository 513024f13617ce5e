"""``dispute_outcomes``: cases and amount per state and currency, as pandas' grouping gives them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from closelib.areas.credit.sections import dispute_outcomes


def _by_pandas(table: pd.DataFrame) -> pd.DataFrame:
    """What the memo showed before: pandas' grouping."""
    out = table.groupby(["state_at_period_end", "currency"], as_index=False).agg(
        cases=("case_id", "size"), amount=("amount", "sum")
    )
    return out.astype({"amount": "int64"})


def _cases(states: list, currencies: list, amounts: list[int]) -> pd.DataFrame:
    n = min(len(states), len(currencies), len(amounts))
    return pd.DataFrame(
        {
            "case_id": pd.Series([f"K{i}" for i in range(n)], dtype="str"),
            "currency": pd.Series(currencies[:n], dtype="str"),
            "amount": np.array(amounts[:n], dtype="int64"),
            "state_at_period_end": pd.Series(states[:n], dtype="str"),
        }
    )


@settings(max_examples=80, deadline=None)
@given(
    states=st.lists(st.sampled_from(["open", "resolved", "credited", "rejected", "Zed", "ä", None]), max_size=12),
    currencies=st.lists(st.sampled_from(["USD", "EUR", "JPY", "usd", None]), max_size=12),
    amounts=st.lists(st.integers(-(10**12), 10**12), max_size=12),
)
def test_outcomes_are_pandas_grouping(states, currencies, amounts):
    table = _cases(states, currencies, amounts)
    if table.empty:
        assert list(dispute_outcomes(table).columns) == ["state_at_period_end", "currency", "cases", "amount"]
        return
    pd.testing.assert_frame_equal(dispute_outcomes(table), _by_pandas(table))


def test_outcomes_by_hand():
    table = _cases(["open", "resolved", "open", None], ["USD", "USD", "USD", "EUR"], [100, 250, 50, 7])
    out = dispute_outcomes(table)
    assert out.to_dict("records") == [
        {"state_at_period_end": "open", "currency": "USD", "cases": 2, "amount": 150},
        {"state_at_period_end": "resolved", "currency": "USD", "cases": 1, "amount": 250},
    ]  # the case without a state is left out, as pandas' grouping leaves it
