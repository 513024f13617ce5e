"""The last bucket's loss rate on steady books, where the right answer is known by construction.

A steady book: one invoice (or two) of 100.00 every month since 2023-01, issued and due on the
1st. With buckets [0, 30, 60, 75] an invoice is first seen in the last bucket ("75+") at the
second month end after its issue month's (89 to 92 days past due; 58 to 61 the month before).
It is then written off (or paid) ``k`` months later, on the 15th. Over a 12-month window
ending 2026-10 the book is in steady state, so:

* everything written off k months after reaching the bucket: the loss rate is 100 % for every
  k. Write-offs over opening balance plus entries (the old estimator) gives 12 / (12 + k):
  the k cohorts already in the bucket at the window's start are in its denominator;
* one invoice paid and one written off each month, both k months after reaching the bucket:
  50 %.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from closelib.asof.rollrate import build_history, loss_rates, roll_rates
from closelib.book.load import load_book
from closelib.params import bucket_labels
from closelib.periods import Period
from tests.conftest import MINI, write_source

BOUNDS = [0, 30, 60, 75]
LABELS = bucket_labels(BOUNDS)
ZERO_FLOORS = dict.fromkeys(LABELS, 0.0)
END = Period(2026, 10)
FIRST_MONTH = pd.Timestamp("2023-01-01")
MONTHS = 46  # invoices 2023-01 .. 2026-10


def steady_tables(lag: int, paid_half: bool = False) -> dict[str, list[dict]]:
    """Monthly invoices of 100.00; each written off (and, with ``paid_half``, a twin paid)
    ``lag`` months after the month end it is first seen in the last bucket."""
    tables = copy.deepcopy(MINI)
    docs, adjustments, receipts, applications = [], [], [], []
    for i in range(MONTHS):
        issued = FIRST_MONTH + pd.DateOffset(months=i)
        due = issued
        # first seen in 75+ at the end of the issue month + 2; settled ``lag`` months on
        settled = (issued + pd.DateOffset(months=2 + lag)).replace(day=15)
        twins = ("W", "P") if paid_half else ("W",)
        for twin in twins:
            doc_id = f"{twin}{i:03d}"
            docs.append(
                {
                    "document_id": doc_id,
                    "customer_id": "C001",
                    "entity": "US01",
                    "doc_type": "INV",
                    "document_date": issued.date().isoformat(),
                    "due_date": due.date().isoformat(),
                    "currency": "USD",
                    "amount": "100.00",
                    "reference": "",
                    "description": "",
                }
            )
            if settled > pd.Timestamp(END.end):
                continue
            if twin == "W":
                adjustments.append(
                    {
                        "adjustment_id": f"J{i:03d}",
                        "document_id": doc_id,
                        "adjustment_date": settled.date().isoformat(),
                        "type": "write_off",
                        "amount": "-100.00",
                        "reason_code": "uncollectible",
                        "approved_by": "cfo",
                        "approval_reference": "",
                    }
                )
            else:
                receipts.append(
                    {
                        "receipt_id": f"R{i:03d}",
                        "entity": "US01",
                        "customer_id": "C001",
                        "receipt_date": settled.date().isoformat(),
                        "currency": "USD",
                        "amount": "100.00",
                        "bank_reference": "",
                    }
                )
                applications.append(
                    {
                        "application_id": f"A{i:03d}",
                        "applied_date": settled.date().isoformat(),
                        "source_id": f"R{i:03d}",
                        "target_id": doc_id,
                        "amount": "100.00",
                    }
                )
    tables.update(documents=docs, adjustments=adjustments, receipts=receipts, applications=applications)
    return tables


def last_bucket(tmp_path, lag: int, paid_half: bool = False) -> pd.Series:
    book = load_book(write_source(tmp_path / f"steady-{lag}-{paid_half}", steady_tables(lag, paid_half)))
    history = build_history(book, END, 12)
    rolls = roll_rates(history, "due_date", BOUNDS)
    rates = loss_rates(rolls, LABELS, ZERO_FLOORS, 3)
    return rates.set_index("bucket").loc["75+"]


@pytest.mark.parametrize("lag", [1, 2, 3, 4, 5, 6])
def test_everything_written_off_k_months_later_is_a_full_loss(tmp_path, lag):
    row = last_bucket(tmp_path, lag)
    # 12 cohorts of 100.00 written off in the window: W = 1,200.00 = W + P
    assert row["rolled"] == row["exposed"] == 12 * 10000
    assert row["roll_rate"] == 1.0 and row["loss_rate"] == 1.0 and row["basis"] == "roll rates"


@pytest.mark.parametrize("lag", [1, 3, 6])
def test_half_paid_half_written_off_is_half(tmp_path, lag):
    row = last_bucket(tmp_path, lag, paid_half=True)
    # W = 1,200.00 written off; P = 1,200.00 paid out of the bucket
    assert row["rolled"] == 12 * 10000 and row["exposed"] == 24 * 10000
    assert row["roll_rate"] == 0.5 and row["loss_rate"] == 0.5


def test_amounts_still_open_at_the_window_end_are_in_neither_side(tmp_path):
    # lag 6: at 2026-10-31 six cohorts (600.00) sit in 75+, not yet written off; they are neither
    # in W nor in W + P, so they cannot dilute the rate.
    book = load_book(write_source(tmp_path / "open", steady_tables(6)))
    history = build_history(book, END, 12)
    in_last = history.open[:, -1][
        (pd.Timestamp(END.end) - history.docs["due_date"]).dt.days.to_numpy() > BOUNDS[-1]
    ].sum()
    assert in_last == 6 * 10000
    assert last_bucket(tmp_path / "again", 6)["exposed"] == 12 * 10000


def test_a_recovery_nets_against_the_write_off(tmp_path):
    # lag 1, and the cohort written off in 2026-06 is recovered in full (and paid) in 2026-08:
    # W = 1,200.00 - 100.00 = 1,100.00 net; resolved W + P = 1,200.00 (the recovered 100.00 was paid).
    tables = steady_tables(1)
    victim = next(a for a in tables["adjustments"] if a["adjustment_date"].startswith("2026-06"))
    tables["adjustments"].append(dict(victim, adjustment_id="JR", adjustment_date="2026-08-10", type="recovery"))
    tables["adjustments"][-1]["amount"] = "100.00"
    tables["receipts"].append(
        {
            "receipt_id": "RR",
            "entity": "US01",
            "customer_id": "C001",
            "receipt_date": "2026-08-20",
            "currency": "USD",
            "amount": "100.00",
            "bank_reference": "",
        }
    )
    tables["applications"].append(
        {
            "application_id": "AR",
            "applied_date": "2026-08-20",
            "source_id": "RR",
            "target_id": victim["document_id"],
            "amount": "100.00",
        }
    )
    book = load_book(write_source(tmp_path / "recovered", tables))
    rates = loss_rates(roll_rates(build_history(book, END, 12), "due_date", BOUNDS), LABELS, ZERO_FLOORS, 3)
    row = rates.set_index("bucket").loc["75+"]
    assert row["rolled"] == 11 * 10000 and row["exposed"] == 12 * 10000
    assert row["roll_rate"] == pytest.approx(11 / 12)
