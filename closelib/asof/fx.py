"""Period-end revaluation of foreign-currency items, and realised FX on settlements.

* **Unrealised** (at the period end D): every open foreign-currency item (an invoice, debit or
  credit memo still open, a receipt not yet applied) is revalued at the **closing rate** (the
  ``fx_rates`` rate in force on D, :func:`closelib.book.fx.rates_in_force`). Its gain is the
  open amount translated at the closing rate less the same at its booking rate, per line and
  rounded half away from zero; for unapplied cash (owed to the customer) the sign turns: a
  rate that rises is a loss. Positive is a gain.
* The **revaluation journal** (proposed, one per entity): AR control and unapplied cash to the
  closing rate against ``fx.unrealised_account``, dated D, and its reversal dated the first day
  of the next period (so every period revalues from the booking rate again and realised FX is
  always measured against the booking rate).
* **Realised** (the period's settlements): for each application dated in the period, what it
  relieved of its source (a receipt at the receipt's rate, a credit memo at the memo's) less
  what it relieved of its target at the target's booking rate
  (:class:`closelib.book.fx.Translation`). Positive is a gain: the customer paid more in the
  functional currency than was booked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib.asof.openitems import open_items, unapplied_cash
from closelib.book.fx import rates_in_force, translate, translation
from closelib.book.links import links
from closelib.book.model import Book
from closelib.periods import Period

ITEM_COLUMNS = [
    "entity",
    "customer_id",
    "kind",
    "id",
    "currency",
    "functional_currency",
    "open_amount",
    "booking_rate",
    "closing_rate",
    "booked",
    "revalued",
    "unrealised",
]


def revaluation_items(book: Book, day: pd.Timestamp) -> pd.DataFrame:
    """Open foreign-currency items at ``day`` revalued at the closing rate (one row each; see the
    module). ``closing_rate`` is NaN (and ``revalued``/``unrealised`` 0) where no rate is in force:
    :func:`missing_closing_rates` lists them."""
    items = open_items(book, day)
    cash = unapplied_cash(book, day)
    docs = items[(items["currency"] != items["functional_currency"]).to_numpy()]
    rec = cash[(cash["currency"] != cash["functional_currency"]).to_numpy()]
    frame = pd.DataFrame(
        {
            "entity": np.r_[docs["entity"].to_numpy(dtype=object), rec["entity"].to_numpy(dtype=object)],
            "customer_id": np.r_[docs["customer_id"].to_numpy(dtype=object), rec["customer_id"].to_numpy(dtype=object)],
            "kind": np.r_[docs["doc_type"].to_numpy(dtype=object), np.full(len(rec), "unapplied cash", dtype=object)],
            "id": np.r_[docs["document_id"].to_numpy(dtype=object), rec["receipt_id"].to_numpy(dtype=object)],
            "currency": np.r_[docs["currency"].to_numpy(dtype=object), rec["currency"].to_numpy(dtype=object)],
            "functional_currency": np.r_[
                docs["functional_currency"].to_numpy(dtype=object), rec["functional_currency"].to_numpy(dtype=object)
            ],
            "open_amount": np.r_[
                docs["open_amount"].to_numpy(dtype="int64"), -rec["unapplied"].to_numpy(dtype="int64")
            ].astype("int64"),
            "booking_rate": np.r_[
                docs["booking_rate"].to_numpy(dtype="float64"), rec["booking_rate"].to_numpy(dtype="float64")
            ],
            "booked": np.r_[
                docs["open_functional"].to_numpy(dtype="int64"), -rec["unapplied_functional"].to_numpy(dtype="int64")
            ].astype("int64"),
        }
    )
    # Unapplied cash is carried as a negative open amount (it is owed to the customer), so one
    # rule gives the gain of both: revalued minus booked.
    frame["closing_rate"] = rates_in_force(
        book.fx_rates,
        pd.Series(np.full(len(frame), np.datetime64(day, "ns"))),
        frame["currency"],
        frame["functional_currency"],
    )
    known = np.isfinite(frame["closing_rate"].to_numpy())
    revalued = translate(
        frame["open_amount"], frame["closing_rate"].to_numpy(), frame["currency"], frame["functional_currency"]
    )
    frame["revalued"] = np.where(known, revalued, frame["booked"]).astype("int64")
    frame["unrealised"] = (frame["revalued"] - frame["booked"]).astype("int64")
    return frame[ITEM_COLUMNS].sort_values(["entity", "currency", "customer_id", "id"], ignore_index=True)


def missing_closing_rates(items: pd.DataFrame, day: pd.Timestamp) -> list[str]:
    """One line per currency pair with open items but no closing rate in force at ``day``."""
    missing = items[~np.isfinite(items["closing_rate"].to_numpy(dtype="float64"))]
    pairs = missing.groupby(["entity", "currency", "functional_currency"]).size()
    return [
        f"{entity}: no {ccy}->{fun} rate in fx_rates on or up to 31 days before {day.date()} "
        f"({count} open items left at their booking rate)"
        for (entity, ccy, fun), count in pairs.items()
    ]


def unrealised_by(items: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Booked, revalued and unrealised per group (integer sums), with the item count."""
    if items.empty:
        return pd.DataFrame(columns=[*by, "items", "booked", "revalued", "unrealised"])
    table = items.groupby(by, as_index=False).agg(
        items=("id", "size"), booked=("booked", "sum"), revalued=("revalued", "sum"), unrealised=("unrealised", "sum")
    )
    for column in ("booked", "revalued", "unrealised"):
        table[column] = table[column].astype("int64")
    return table


def revaluation_reference(prefix: str, entity: str, period: Period) -> str:
    return f"{prefix}{entity}-{period}"


def revaluation_journal(
    items: pd.DataFrame, period: Period, params: dict, entities: list[str], currency_of
) -> pd.DataFrame:
    """The proposed revaluation journal per entity, dated the period end, and its reversal dated
    the first day of the next period (journal id ``<reference>-R``, same reference): AR control
    (documents) and unapplied cash to the closing rate, the net against ``fx.unrealised_account``.
    Debit and credit columns in the functional currency's minor units; each journal balances."""
    gl, fx = params["gl"], params["fx"]
    control, unapplied, pnl = (
        str(gl["ar_control_accounts"][0]),
        str(gl["unapplied_cash_account"]),
        str(fx["unrealised_account"]),
    )
    rows = []
    reverse_on = period.shift(1).start
    for entity in entities:
        mine = items[items["entity"] == entity]
        on_docs = int(mine.loc[mine["kind"] != "unapplied cash", "unrealised"].sum())
        on_cash = int(mine.loc[mine["kind"] == "unapplied cash", "unrealised"].sum())
        if on_docs == 0 and on_cash == 0:
            continue
        reference = revaluation_reference(str(fx["revaluation_prefix"]), entity, period)
        lines = [
            (control, on_docs, "AR control to the closing rate"),
            (unapplied, on_cash, "Unapplied cash to the closing rate"),
            (pnl, -(on_docs + on_cash), "Unrealised FX gain (-) / loss (+)"),
        ]
        for journal, date, sign in ((reference, period.end, 1), (f"{reference}-R", reverse_on, -1)):
            for account, amount, text in lines:
                if amount == 0:
                    continue
                signed = sign * amount
                rows.append(
                    {
                        "entity": entity,
                        "journal_id": journal,
                        "date": pd.Timestamp(date),
                        "account": account,
                        "debit": max(signed, 0),
                        "credit": max(-signed, 0),
                        "currency": currency_of(entity),
                        "reference": reference,
                        "description": text if sign == 1 else f"Reversal: {text}",
                    }
                )
    frame = pd.DataFrame(
        rows,
        columns=["entity", "journal_id", "date", "account", "debit", "credit", "currency", "reference", "description"],
    )
    frame["debit"] = frame["debit"].astype("int64")
    frame["credit"] = frame["credit"].astype("int64")
    return frame


def realised_items(book: Book, period: Period) -> pd.DataFrame:
    """The period's applications with a foreign-currency side: entity, customer, source and
    target, currency, amount (transaction), what it relieved of the source and of the target in
    the functional currency, and ``realised`` (source less target; positive is a gain)."""
    columns = [
        "entity",
        "customer_id",
        "application_id",
        "applied_date",
        "source_id",
        "target_id",
        "currency",
        "amount",
        "source_functional",
        "target_functional",
        "realised",
    ]
    apps = book.applications
    fx = translation(book)
    link = links(book)
    target = link.app_target
    start = period.shift(-1).end
    in_period = ((apps["applied_date"] > start) & (apps["applied_date"] <= period.end)).to_numpy() & (target >= 0)
    docs = book.documents
    row = np.maximum(target, 0)
    rec_row = link.app_source_rec
    src_doc = link.app_source_doc
    foreign_target = docs["currency"].to_numpy(dtype=object)[row] != fx.doc_functional[row]
    src_rate = np.where(
        rec_row >= 0,
        fx.rec_rate[np.maximum(rec_row, 0)] if len(fx.rec_rate) else 1.0,
        np.where(src_doc >= 0, fx.doc_rate[np.maximum(src_doc, 0)], 1.0),
    )
    keep = in_period & (foreign_target | (src_rate != 1.0) | (fx.app_source != fx.app_target))
    frame = pd.DataFrame(
        {
            "entity": docs["entity"].to_numpy(dtype=object)[row][keep],
            "customer_id": docs["customer_id"].to_numpy(dtype=object)[row][keep],
            "application_id": apps["application_id"].to_numpy(dtype=object)[keep],
            "applied_date": apps["applied_date"].to_numpy()[keep],
            "source_id": apps["source_id"].to_numpy(dtype=object)[keep],
            "target_id": apps["target_id"].to_numpy(dtype=object)[keep],
            "currency": docs["currency"].to_numpy(dtype=object)[row][keep],
            "amount": apps["amount"].to_numpy(dtype="int64")[keep],
            "source_functional": fx.app_source[keep],
            "target_functional": fx.app_target[keep],
        }
    )
    frame["realised"] = (frame["source_functional"] - frame["target_functional"]).astype("int64")
    return frame[columns].sort_values(["entity", "applied_date", "application_id"], ignore_index=True)


def fx_figures(unrealised: pd.DataFrame, realised: pd.DataFrame, entities: list[str]) -> dict[str, dict[str, int]]:
    """Per entity: ``unrealised`` and ``realised`` in its functional currency (minor units)."""
    return {
        entity: {
            "unrealised": int(unrealised.loc[unrealised["entity"] == entity, "unrealised"].sum()),
            "realised": int(realised.loc[realised["entity"] == entity, "realised"].sum()),
        }
        for entity in entities
    }
