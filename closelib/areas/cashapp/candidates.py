"""What cash application works on at the period end D, and the policy it works by.

*Sources* are what can be applied: receipts with unapplied cash and credit memos with an open
(negative) amount, as one frame with ``available`` in minor units (> 0). *Targets* are open
invoices and debit memos with ``open_amount`` > 0. Both are numbered in a fixed order (sources:
receipts by date then id, then credit memos; targets: oldest first) that every rule follows, so
the same book always gives the same proposals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from closelib import money
from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.model import Book
from closelib.periods import Period

RECEIPT, CREDIT_MEMO = "receipt", "credit memo"


@dataclass(frozen=True)
class Policy:
    """``cash_application`` parameters, money still as decimal text (read per currency)."""

    max_combination: int = 5
    combination_candidates: int = 12
    tolerance_absolute: tuple[tuple[str, str], ...] = ()
    tolerance_percent: float = 0.0
    bank_charge_max: tuple[tuple[str, str], ...] = ()
    name_threshold: int = 88
    exclude_names: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict) -> Policy:
        p = params.get("cash_application") or {}
        tolerance = p.get("tolerance") or {}
        return cls(
            max_combination=int(p.get("max_combination", 5)),
            combination_candidates=int(p.get("combination_candidates", 12)),
            tolerance_absolute=tuple(sorted((tolerance.get("absolute") or {}).items())),
            tolerance_percent=float(tolerance.get("percent", 0.0)),
            bank_charge_max=tuple(sorted((p.get("bank_charge_max") or {}).items())),
            name_threshold=int(p.get("name_threshold", 88)),
            exclude_names=tuple(str(w).upper() for w in p.get("exclude_names", ())),
        )

    def absolute(self, currency: str) -> int:
        """Absolute tolerance in minor units of ``currency`` (0 when the currency is not listed)."""
        return _minor(dict(self.tolerance_absolute).get(currency), currency)

    def bank_charge(self, currency: str) -> int:
        return _minor(dict(self.bank_charge_max).get(currency), currency)

    def percent_fraction(self) -> tuple[int, int]:
        """The percent tolerance as an exact fraction (numerator, denominator) for integer sums."""
        ratio = Decimal(str(self.tolerance_percent)).as_integer_ratio()
        return int(ratio[0]), int(ratio[1])


def _minor(value: str | None, currency: str) -> int:
    return 0 if value is None else money.to_minor(value, currency)


def sources(book: Book, period: Period) -> pd.DataFrame:
    """Unapplied receipts and open credit memos at the period end, in rule order."""
    day = period.end
    cash = unapplied_cash(book, day)
    cash = cash[cash["unapplied"] > 0]
    receipts = pd.DataFrame(
        {
            "source_id": cash["receipt_id"].astype(str),
            "source_kind": RECEIPT,
            "entity": cash["entity"].astype(str),
            "currency": cash["currency"].astype(str),
            "customer_id": cash["customer_id"].astype(str),
            "date": cash["receipt_date"],
            "available": cash["unapplied"].astype("int64"),
            "booking_rate": cash["booking_rate"].astype("float64"),
            "remittance": _text(cash, "remittance"),
            "payer_name": _text(cash, "payer_name"),
        }
    ).sort_values(["date", "source_id"], kind="stable")
    cms = open_items(book, day, ("CM",))
    cms = cms[cms["open_amount"] < 0]
    memos = pd.DataFrame(
        {
            "source_id": cms["document_id"].astype(str),
            "source_kind": CREDIT_MEMO,
            "entity": cms["entity"].astype(str),
            "currency": cms["currency"].astype(str),
            "customer_id": cms["customer_id"].astype(str),
            "date": cms["document_date"],
            "available": (-cms["open_amount"]).astype("int64"),
            "booking_rate": cms["booking_rate"].astype("float64"),
            # A credit memo's reference and description say what it credits, and a memo that
            # settles a dispute credits the disputed document.
            "remittance": (
                _text(cms, "reference") + " " + _text(cms, "description") + " " + _disputed(book, cms)
            ).str.strip(),
            "payer_name": "",
        }
    ).sort_values(["date", "source_id"], kind="stable")
    frame = pd.concat([receipts, memos], ignore_index=True)
    frame["age_days"] = (day - frame["date"]).dt.days.astype("int64")
    return frame


def targets(book: Book, period: Period) -> pd.DataFrame:
    """Open invoices and debit memos at the period end, oldest first."""
    docs = open_items(book, period.end, ("INV", "DM"))
    docs = docs[docs["open_amount"] > 0]
    frame = pd.DataFrame(
        {
            "document_id": docs["document_id"].astype(str),
            "entity": docs["entity"].astype(str),
            "currency": docs["currency"].astype(str),
            "customer_id": docs["customer_id"].astype(str),
            "doc_type": docs["doc_type"].astype(str),
            "document_date": docs["document_date"],
            "due_date": docs["due_date"],
            "open_amount": docs["open_amount"].astype("int64"),
        }
    )
    return frame.sort_values(["document_date", "due_date", "document_id"], kind="stable", ignore_index=True)


def _disputed(book: Book, memos: pd.DataFrame) -> pd.Series:
    """The document of the dispute case a credit memo's reference names ("" when none)."""
    if not book.has("disputes") or memos.empty:
        return pd.Series("", index=memos.index, dtype=object)
    cases = book.disputes.drop_duplicates("case_id").set_index("case_id")["document_id"]
    found = memos["reference"].map(cases)
    return found.astype(object).where(found.notna(), "").astype(str)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), "").astype(str)


def money_text(amount: np.ndarray | pd.Series, currency: np.ndarray | pd.Series) -> pd.Series:
    """Amounts as a person reads them, in their currency: ``1234567, USD`` -> ``1,234.56 USD``."""
    plain = money.format_minor_array(pd.Series(np.asarray(amount, dtype="int64")), pd.Series(np.asarray(currency)))
    whole = plain.str.extract(r"^(-?\d+)(\.\d+)?$")
    grouped = whole[0].str.replace(r"\B(?=(\d{3})+(?!\d))", ",", regex=True)
    return grouped + whole[1].fillna("") + " " + pd.Series(np.asarray(currency), dtype=object)
