"""Foreign-currency customers of the demo book, their rates and their GL (issue 19).

SG01 (SGD) bills about a quarter of its customers in USD and US01 (USD) about a sixth of its
customers in EUR: their documents, receipts and disputes are in that currency (the amounts are
the story's amounts, now in the customer's currency); credit limits stay in the functional
currency, so credit exposure is translated at the closing rate. Rates move month to month
(``fx_rates``: USD->SGD and SGD->USD from :mod:`closelib.demo.extras`, EUR->USD here, each at
every month end and on the day before the history starts, so every document has a rate in force).

The GL carries every line at its booking rate (:func:`closelib.book.fx.translate_book`, the
rules the reconciliation reads it with), and the AR subledger also posts:

* ``ARB-<entity>-<yyyymmdd>-FXR``: realised FX on the day's receipt applications, Dr/Cr 2150
  unapplied receipts (the receipt's rate less the invoice's) against 7100 realised FX;
* ``ARB-<entity>-<yyyymmdd>-CMX``: a credit memo applied to an invoice booked at another rate,
  the difference on 1100 (one line per application) against 7100;

and every month end the FX revaluation journal ``FXREV-<entity>-<YYYY-MM>`` (source ``other``,
as :func:`closelib.asof.fx.revaluation_journal` proposes it) with its reversal ``...-R`` on the
first day of the next month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from closelib.asof.fx import revaluation_items, revaluation_journal
from closelib.book.arrays import isin
from closelib.book.fx import Translation
from closelib.book.model import Book
from closelib.demo._common import CURRENCY, ENTITIES, Calendar, dates, text
from closelib.demo.journal import Lines, batch_ids, subledger_batch
from closelib.demo.ledger import _ACC
from closelib.periods import Period

# Entity index -> (foreign currency its customers may be billed in, share of its customers).
FOREIGN = {0: ("EUR", 0.16), 1: ("USD", 0.3)}
EUR_USD = 1.08  # the EUR->USD level the walk starts from
GL_PARAMS = {
    "gl": {"ar_control_accounts": ["1100"], "unapplied_cash_account": "2150"},
    "fx": {"unrealised_account": "7200", "realised_account": "7100", "revaluation_prefix": "FXREV-"},
}


def customer_currency(rng: np.random.Generator, entity: np.ndarray) -> np.ndarray:
    """The billing currency of each customer (its entity's functional currency for most)."""
    functional = np.array([CURRENCY[e] for e in ENTITIES], dtype=object)[entity]
    draw = rng.random(len(entity))
    share = np.array([FOREIGN[0][1], FOREIGN[1][1]])[entity]
    foreign = np.array([FOREIGN[0][0], FOREIGN[1][0]], dtype=object)[entity]
    return np.where(draw < share, foreign, functional)


def rates(base: pd.DataFrame, rng: np.random.Generator, cal: Calendar) -> pd.DataFrame:
    """The book's ``fx_rates``: ``base`` (SGD<->USD month ends) with EUR->USD month ends added,
    and each pair's first rate also dated the day before the history starts."""
    steps = rng.normal(0.0, 0.015, cal.n)
    eur = np.round(EUR_USD * np.exp(np.cumsum(steps) - steps[0]), 6)
    added = pd.DataFrame(
        {
            "rate_date": dates(cal.month_end).to_numpy(),
            "currency": text(np.array(["EUR"] * cal.n)),
            "functional_currency": text(np.array(["USD"] * cal.n)),
            "rate": eur,
        }
    )
    both = pd.concat([base, added], ignore_index=True)
    first = both.sort_values("rate_date", kind="stable").drop_duplicates(["currency", "functional_currency"])
    opening = first.assign(rate_date=dates(np.full(len(first), cal.first_date - 1)).to_numpy())
    out = pd.concat([opening, both], ignore_index=True)
    order = np.lexsort(
        (
            out["functional_currency"].to_numpy(dtype=object).astype(str),
            out["currency"].to_numpy(dtype=object).astype(str),
            out["rate_date"].to_numpy(),
        )
    )
    out = out.iloc[order].reset_index(drop=True)
    for column in ("currency", "functional_currency"):
        out[column] = text(out[column].to_numpy(dtype=object))
    return out


def post(
    lines: Lines,
    cal: Calendar,
    tables: dict[str, pd.DataFrame],
    fx: Translation,
    receipt_app: np.ndarray,
    app_entity: np.ndarray,
    app_day: np.ndarray,
    posted: np.ndarray,
) -> None:
    """Realised FX batches and the monthly revaluation journals (see the module).

    ``receipt_app`` marks receipt applications (the rest are credit memos); ``app_entity`` and
    ``app_day`` are each application's entity index and day number; ``posted`` the receipt
    applications the subledger posted (the planted unposted ones are left out here as well)."""
    realised = fx.app_source - fx.app_target
    fxr = receipt_app & posted & (realised != 0)
    if fxr.any():
        day_sum = pd.DataFrame({"e": app_entity[fxr], "d": app_day[fxr], "m": realised[fxr]})
        day_sum = day_sum.groupby(["e", "d"], sort=True)["m"].sum().reset_index()
        day_sum = day_sum[day_sum["m"] != 0]
        jid = batch_ids(day_sum["e"].to_numpy(), day_sum["d"].to_numpy(), "FXR")
        for account, sign, what in ((_ACC["2150"], 1, "unapplied receipts"), (_ACC["7100"], -1, "realised FX")):
            lines.add(
                day_sum["e"].to_numpy(),
                jid,
                day_sum["d"].to_numpy(),
                account,
                sign * day_sum["m"].to_numpy(),
                0,
                jid,
                f"Realised FX on cash applications — {what}",
                jkey=8,
            )
    cmx = ~receipt_app & (realised != 0)
    if cmx.any():
        subledger_batch(
            lines,
            "CMX",
            app_entity[cmx],
            app_day[cmx],
            _ACC["1100"],
            _ACC["7100"],
            realised[cmx],
            pa.array(tables["applications"]["application_id"].to_numpy(dtype=object)[cmx], type=pa.string()),
            "Credit memo applied at another rate — realised FX",
            "Credit memo applications batch — realised FX",
        )
    _revaluations(lines, cal, tables)


def _revaluations(lines: Lines, cal: Calendar, tables: dict[str, pd.DataFrame]) -> None:
    """Every month end: the revaluation the library proposes, and its reversal the next day."""
    book = Book(Path("."), _foreign_only(tables), {}, frozenset(tables), dict(CURRENCY))
    currency_of = CURRENCY.__getitem__
    for label in cal.periods:
        period = Period.parse(label)
        items = revaluation_items(book, period.end)
        journal = revaluation_journal(items, period, GL_PARAMS, list(ENTITIES), currency_of)
        day = journal["date"].to_numpy(dtype="datetime64[D]").astype("int64")
        keep = day <= cal.end_date  # the last month's reversal falls after the book ends
        journal = journal[keep]
        if journal.empty:
            continue
        entity = journal["entity"].map({e: i for i, e in enumerate(ENTITIES)}).to_numpy(dtype="int64")
        lines.add(
            entity,
            pa.array(journal["journal_id"].to_numpy(dtype=object), type=pa.string()),
            day[keep],
            journal["account"].map(_ACC).to_numpy(dtype="int64"),
            (journal["debit"] - journal["credit"]).to_numpy(dtype="int64"),
            2,
            pa.array(journal["reference"].to_numpy(dtype=object), type=pa.string()),
            pa.array(journal["description"].to_numpy(dtype=object), type=pa.string()),
            jkey=10,
        )


def _foreign_only(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The foreign-currency documents and receipts with what applies to them: all a revaluation
    reads (a functional-currency item revalues to itself), at a fraction of the rows."""
    functional = pd.Series(CURRENCY)
    docs, rec = tables["documents"], tables["receipts"]
    docs = docs[(docs["currency"] != docs["entity"].map(functional)).to_numpy()]
    rec = rec[(rec["currency"] != rec["entity"].map(functional)).to_numpy()]
    apps, adj = tables["applications"], tables["adjustments"]
    ids = pd.concat([docs["document_id"], rec["receipt_id"]], ignore_index=True)
    apps = apps[isin(apps["target_id"], ids) | isin(apps["source_id"], ids)]
    adj = adj[isin(adj["document_id"], ids)]
    return {**tables, "documents": docs, "receipts": rec, "applications": apps, "adjustments": adj}
