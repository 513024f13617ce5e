"""Instalment schedules of the demo book (the optional ``payment_schedules`` table, issue 19).

About a third of the installation invoices (cage builds, cabinet installs: the larger one-off
bills) are payable in three instalments of 30 %, 50 % and 20 %: the first on the invoice's due
date, the others 30 and 60 days later. The last instalment takes the rounding, so the
instalments add up to the invoice exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.demo._common import div_half_up, text

SHARES = (30, 50)  # percent of the first two instalments; the third takes the rest
SPACING_DAYS = 30
SCHEDULED_SHARE = 0.35
INSTALLATION = 2  # billing category of installation services


def draw(rng: np.random.Generator, documents: pd.DataFrame, category: np.ndarray) -> pd.DataFrame:
    """One row per instalment of the scheduled invoices, in document order."""
    invoice = (documents["doc_type"] == "INV").to_numpy() & (category == INSTALLATION)
    chosen = np.flatnonzero(invoice & (rng.random(len(documents)) < SCHEDULED_SHARE))
    amount = documents["amount"].to_numpy(dtype="int64")[chosen]
    first = div_half_up(amount * SHARES[0], 100)
    second = div_half_up(amount * SHARES[1], 100)
    parts = np.column_stack([first, second, amount - first - second])
    due = documents["due_date"].to_numpy(dtype="datetime64[ns]")[chosen]
    offsets = np.array([0, SPACING_DAYS, 2 * SPACING_DAYS], dtype="timedelta64[D]")
    return pd.DataFrame(
        {
            "document_id": text(np.repeat(documents["document_id"].to_numpy(dtype=object)[chosen], 3).astype(str)),
            "instalment": np.tile(np.arange(1, 4, dtype="int64"), len(chosen)),
            "due_date": (due[:, None] + offsets[None, :]).ravel().astype("datetime64[ns]"),
            "amount": parts.ravel().astype("int64"),
        }
    )
