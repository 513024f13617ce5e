"""Properties of the as-of book on generated books that pass validation.

* an invoice's open amount is never negative, on any date;
* what is dated after D (documents, receipts, applications, adjustments) changes nothing as of D:
  open items, unapplied cash, the aging and the reserve.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.areas import reserve
from closelib.asof.aging import AgingPolicy, aging_at
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.load import load_book, validate_source
from closelib.params import load_parameters
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period
from tests.conftest import MINI, write_source

START = pd.Timestamp("2026-01-01")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def day(offset: int) -> str:
    return (START + pd.Timedelta(days=offset)).date().isoformat()


def invoice(doc_id: str, offset: int, amount_minor: int) -> dict:
    return dict(
        MINI["documents"][0],
        document_id=doc_id,
        document_date=day(offset),
        due_date=day(offset + 30),
        amount=f"{amount_minor / 100:.2f}",
    )


def receipt(rec_id: str, offset: int, amount_minor: int) -> dict:
    return dict(MINI["receipts"][0], receipt_id=rec_id, receipt_date=day(offset), amount=f"{amount_minor / 100:.2f}")


def adjustment(adj_id: str, doc_id: str, offset: int, kind: str, amount_minor: int) -> dict:
    return dict(
        MINI["adjustments"][0],
        adjustment_id=adj_id,
        document_id=doc_id,
        adjustment_date=day(offset),
        type=kind,
        amount=f"{amount_minor / 100:.2f}",
    )


# One invoice and a history of events against it: (day offset, kind, amount in minor units).
events = st.lists(
    st.tuples(
        st.integers(0, 120), st.sampled_from(["paid", "write_off", "recovery", "adjustment"]), st.integers(1, 60000)
    ),
    min_size=1,
    max_size=6,
)


def invoice_book(tmp_path: Path, amount: int, history: list[tuple[int, str, int]]) -> Path:
    tables = copy.deepcopy(MINI)
    tables["documents"] = [invoice("I", 0, amount)]
    tables["receipts"], tables["applications"], tables["adjustments"] = [], [], []
    for n, (offset, kind, value) in enumerate(history):
        if kind == "paid":
            tables["receipts"].append(receipt(f"R{n}", offset, value))
            tables["applications"].append(
                {
                    "application_id": f"A{n}",
                    "applied_date": day(offset),
                    "source_id": f"R{n}",
                    "target_id": "I",
                    "amount": f"{value / 100:.2f}",
                }
            )
        else:
            sign = -1 if kind in ("write_off", "adjustment") else 1
            tables["adjustments"].append(adjustment(f"J{n}", "I", offset, kind, sign * value))
    return write_source(tmp_path, tables)


@SETTINGS
@given(amount=st.integers(1, 100000), history=events)
def test_an_invoice_open_amount_is_never_negative_on_any_date(tmp_path_factory, amount, history):
    folder = invoice_book(tmp_path_factory.mktemp("inv"), amount, history)
    if validate_source(folder):  # only books that pass validation
        return
    book = load_book(folder)
    dates = sorted({day(o) for o, _, _ in history} | {day(0), day(121)})
    for when in dates:
        items = open_items(book, when, include_closed=True)
        assert (items["open_amount"] >= 0).all(), (when, items[["document_id", "open_amount"]].to_dict("records"))


later = st.lists(
    st.tuples(st.integers(1, 90), st.integers(1, 90), st.integers(1, 100000), st.integers(0, 100)),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(extra=later, old_paid=st.integers(0, 50000))
def test_what_is_dated_after_d_changes_nothing_as_of_d(tmp_path_factory, extra, old_paid):
    """MINI as of 2026-10-31, then new invoices, receipts paying them (in part), write-offs of them
    and a payment of the old invoice D2 (500.00 open), all dated after 2026-10-31."""
    d = "2026-10-31"
    after = pd.Timestamp("2026-10-31")
    base = copy.deepcopy(MINI)
    more = copy.deepcopy(MINI)
    for n, (issued, paid_after, amount, paid_pct) in enumerate(extra):
        doc_day = (after + pd.Timedelta(days=issued)).date().isoformat()
        pay_day = (after + pd.Timedelta(days=issued + paid_after)).date().isoformat()
        more["documents"].append(
            dict(
                MINI["documents"][1],
                document_id=f"N{n}",
                document_date=doc_day,
                due_date=doc_day,
                amount=f"{amount / 100:.2f}",
            )
        )
        paid = amount * paid_pct // 100
        if paid:
            more["receipts"].append(
                dict(MINI["receipts"][0], receipt_id=f"NR{n}", receipt_date=pay_day, amount=f"{paid / 100:.2f}")
            )
            more["applications"].append(
                {
                    "application_id": f"NA{n}",
                    "applied_date": pay_day,
                    "source_id": f"NR{n}",
                    "target_id": f"N{n}",
                    "amount": f"{paid / 100:.2f}",
                }
            )
        if paid < amount:
            more["adjustments"].append(
                dict(
                    MINI["adjustments"][0],
                    adjustment_id=f"NJ{n}",
                    document_id=f"N{n}",
                    adjustment_date=pay_day,
                    amount=f"{(paid - amount) / 100:.2f}",
                )
            )
    if old_paid:
        more["receipts"].append(
            dict(MINI["receipts"][0], receipt_id="OR", receipt_date="2026-11-02", amount=f"{old_paid / 100:.2f}")
        )
        more["applications"].append(
            {
                "application_id": "OA",
                "applied_date": "2026-11-02",
                "source_id": "OR",
                "target_id": "D2",
                "amount": f"{old_paid / 100:.2f}",
            }
        )
    folder = tmp_path_factory.mktemp("after")
    a, b = write_source(folder / "base", base), write_source(folder / "more", more)
    assert validate_source(b) == []
    book_a, book_b = load_book(a), load_book(b)
    pd.testing.assert_frame_equal(open_items(book_a, d), open_items(book_b, d))
    pd.testing.assert_frame_equal(unapplied_cash(book_a, d), unapplied_cash(book_b, d))
    params = load_parameters("2026-10", PARAMETERS_DIR)
    policy = AgingPolicy.from_params(params)
    pd.testing.assert_frame_equal(aging_at(book_a, d, policy), aging_at(book_b, d, policy))
    for method in ("roll_rate", "fixed_rates"):
        params["reserve"]["method"] = method
        ra, rb = reserve.compute(book_a, Period(2026, 10), params), reserve.compute(book_b, Period(2026, 10), params)
        pd.testing.assert_frame_equal(ra.summary, rb.summary)
        pd.testing.assert_frame_equal(ra.matrix, rb.matrix)
        pd.testing.assert_frame_equal(ra.rates, rb.rates)
