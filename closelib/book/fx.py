"""Foreign-currency lines: booking rates, translation to the functional currency, FX rules.

Contract extension (README, *Foreign currency*): a document or receipt may be in any currency.
Its **booking rate** (units of the entity's functional currency per unit of its currency) is its
own ``fx_rate`` cell when given, else the ``fx_rates`` rate *in force* on its date: the latest
row for (currency, functional currency) dated on or before the date and at most
:data:`MAX_RATE_AGE_DAYS` days before it (a monthly rate table works; a longer gap is a missing
rate). A line in the functional currency has rate 1. The **closing rate** of a period is the
rate in force on its last day.

Translation is per line, exact and rounded half away from zero to the functional currency's
minor unit (:func:`closelib.money.translate_array`); totals are sums of translated lines. What
moves a document's (or receipt's) open amount is translated by *difference of translated open
amounts*: an event's functional effect is ``tr(open after) - tr(open before)`` at the line's
booking rate, events taken in date order (applications before adjustments on a day, then by
id). Those effects add up exactly to the translated open amount, so a settled document is
exactly zero in the functional currency too, and the residue of rounding never strands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from closelib import money
from closelib.book import fxcodes
from closelib.book.arrays import id_array, index_in, lookup, positions
from closelib.book.links import links
from closelib.book.model import Book, derived
from closelib.book.parse import Collector, currency_digits
from closelib.book.rulekit import Lazy

MAX_RATE_AGE_DAYS = 31
RATE_TYPE = "fx_rates: the latest rate dated on or before the line's date, at most 31 days old"


def rates_in_force(fx_rates: pd.DataFrame, dates: pd.Series, currency: pd.Series, functional: pd.Series) -> np.ndarray:
    """The ``fx_rates`` rate in force on each date for (currency -> functional), NaN when none.

    Lines already in their functional currency get 1.0. One ``merge_asof`` (vectorised)."""
    n = len(dates)
    result = np.full(n, np.nan)
    cur = np.asarray(currency, dtype=object)
    fun = np.asarray(functional, dtype=object)
    same = cur == fun
    result[same] = 1.0
    need = ~same & pd.notna(np.asarray(dates, dtype="datetime64[ns]")) & pd.notna(fun)
    if not need.any() or fx_rates.empty:
        return result
    left = pd.DataFrame(
        {
            "pair": pd.Series(cur[need], dtype=object).astype(str)
            + ">"
            + pd.Series(fun[need], dtype=object).astype(str),
            "date": np.asarray(dates, dtype="datetime64[ns]")[need],
            "pos": np.flatnonzero(need),
        }
    ).sort_values("date", kind="stable")
    right = pd.DataFrame(
        {
            "pair": fx_rates["currency"].astype(str).to_numpy(dtype=object)
            + ">"
            + fx_rates["functional_currency"].astype(str).to_numpy(dtype=object),
            "date": fx_rates["rate_date"].to_numpy(dtype="datetime64[ns]"),
            "rate": fx_rates["rate"].to_numpy(dtype="float64"),
        }
    )
    right = right[pd.notna(right["date"])].sort_values("date", kind="stable")
    left["pair"] = left["pair"].astype(object)
    right["pair"] = right["pair"].astype(object)
    found = pd.merge_asof(
        left, right, on="date", by="pair", direction="backward", tolerance=pd.Timedelta(days=MAX_RATE_AGE_DAYS)
    )
    result[found["pos"].to_numpy()] = found["rate"].to_numpy(dtype="float64")
    return result


def booking_rates(
    frame: pd.DataFrame, date_column: str, entity_currency: pd.Series | dict, fx_rates: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """``(functional currency, booking rate)`` per row of documents or receipts: the row's
    ``fx_rate`` where given, else the rate in force on its date (NaN when missing)."""
    mapping = entity_currency if isinstance(entity_currency, pd.Series) else pd.Series(entity_currency, dtype=object)
    functional = lookup(frame["entity"], mapping).astype(object).to_numpy()
    rate = rates_in_force(fx_rates, frame[date_column], frame["currency"], pd.Series(functional))
    if "fx_rate" in frame.columns:
        given = frame["fx_rate"].to_numpy(dtype="float64", na_value=np.nan)
        rate = np.where(np.isfinite(given) & (given > 0), given, rate)
    return functional, rate


def translate(minor: np.ndarray | pd.Series, rate: np.ndarray, currency, functional) -> np.ndarray:
    """Each line in the functional currency: exact, half away from zero, per line. A line in its
    functional currency at rate 1 is its own amount (only the other lines are computed)."""
    values = np.asarray(minor, dtype="int64")
    n = len(values)
    rates = np.broadcast_to(np.asarray(rate, dtype="float64"), (n,))
    ccy = np.broadcast_to(np.asarray(currency, dtype=object), (n,))
    fun = np.broadcast_to(np.asarray(functional, dtype=object), (n,))
    foreign = (ccy != fun) | (rates != 1.0)
    result = values.copy()
    if foreign.any():
        from_digits = currency_digits(pd.Series(ccy[foreign]))
        to_digits = currency_digits(pd.Series(fun[foreign]))
        result[foreign] = money.translate_array(
            values[foreign], np.nan_to_num(rates[foreign], nan=0.0), from_digits, to_digits
        )
    return result


# ---------------------------------------------------------------- validation


def check_fx(
    frames: dict[str, pd.DataFrame], files: dict[str, str], entity_currency: pd.Series, out: Collector
) -> None:
    """``fx_rate_missing``: a document or receipt in another currency than its entity's, with
    no ``fx_rate`` and no rate in force in ``fx_rates``; ``fx_rate_functional``: a line in the
    functional currency whose ``fx_rate`` is not 1.

    The rates of :func:`booking_rates`, on currency codes (:mod:`closelib.book.fxcodes`): per-row
    objects and text pair keys cost most of a second at 1M rows; text is made only for messages."""
    rates = frames.get("fx_rates", pd.DataFrame(columns=["rate_date", "currency", "functional_currency", "rate"]))
    mapping = entity_currency if isinstance(entity_currency, pd.Series) else pd.Series(entity_currency, dtype=object)
    tables = [(n, d) for n, d in (("documents", "document_date"), ("receipts", "receipt_date")) if n in frames]
    coder = fxcodes.Coder()
    coded = {n: (coder.code(frames[n]["currency"]), coder.of_mapping(frames[n]["entity"], mapping)) for n, _ in tables}
    rate_cur, rate_fun = fxcodes.rate_codes(coder, rates)
    codes = coder.currencies()  # every text is coded: the pair keys are made now
    pairs = codes.pair_key(rate_cur, rate_fun)
    for name, date_column in tables:
        frame, file = frames[name], files[name]
        cur, fun = coded[name]
        known = np.ones(len(frame), dtype=bool)
        for column in ("currency", "entity", date_column):
            known &= ~out.flagged(file, column, len(frame))
        rate = fxcodes.booking_rate(codes, pairs, rates, frame, date_column, cur, fun, MAX_RATE_AGE_DAYS, True)
        missing = known & (fun >= 0) & ~np.isfinite(rate) & frame[date_column].notna().to_numpy()
        if "fx_rate" in frame.columns:
            missing &= ~out.flagged(file, "fx_rate", len(frame))

        def message(frame=frame, date_column=date_column) -> pd.Series:
            functional = _functional(frame, mapping)
            pair = frame["currency"].astype(str) + "->" + pd.Series(functional, index=frame.index).astype(str)
            day = frame[date_column].dt.strftime("%Y-%m-%d")
            return (
                "no "
                + pair
                + " rate: no fx_rate on the row and no fx_rates row for "
                + pair
                + f" dated on or up to {MAX_RATE_AGE_DAYS} days before "
                + day
            )

        out.rows(file, missing, "currency", "fx_rate_missing", message, frame["currency"])
        if "fx_rate" in frame.columns:
            given = frame["fx_rate"].to_numpy(dtype="float64", na_value=np.nan)
            same = (cur == fun) & (cur >= 0)  # a missing currency equals nothing
            out.rows(
                file,
                same & np.isfinite(given) & (given != 1.0),
                "fx_rate",
                "fx_rate_functional",
                "the line is in its entity's functional currency: fx_rate must be 1 or empty",
                frame["fx_rate"],
            )


def check_schedules(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    """``payment_schedules``: each row names an invoice or debit memo, is dated on or after it,
    is positive, and a document's instalments add up to its amount (``schedule_total``).

    Only the schedule's rows of the documents are read: the few thousand schedule ids are
    hashed and the million document ids probed (:func:`closelib.book.arrays.positions`)."""
    if "payment_schedules" not in frames or "documents" not in frames:
        return
    sched, file = frames["payment_schedules"], files["payment_schedules"]
    docs = frames["documents"]
    row = _document_rows(sched["document_id"], docs["document_id"])
    found = row >= 0
    out.rows(file, ~found, "document_id", "foreign_key", "no document with this id", sched["document_id"])
    doc_type = np.full(len(row), "", dtype=object)  # only the schedule's documents are taken
    doc_type[found] = docs["doc_type"].array.take(row[found]).to_numpy(dtype=object)
    out.rows(
        file,
        found & ~np.isin(doc_type, ["INV", "DM"]),
        "document_id",
        "schedule_target",
        "only an invoice (INV) or debit memo (DM) has a payment schedule",
        sched["document_id"],
    )
    amount_ok = ~out.flagged(file, "amount", len(sched))
    out.rows(
        file,
        amount_ok & (sched["amount"].to_numpy() <= 0),
        "amount",
        "sign",
        "an instalment amount must be > 0",
        sched["amount"],
    )
    doc_date = np.full(len(row), np.datetime64("NaT"), dtype="datetime64[ns]")
    doc_date[found] = docs["document_date"].to_numpy(dtype="datetime64[ns]")[row[found]]
    out.rows(
        file,
        found & (sched["due_date"].to_numpy(dtype="datetime64[ns]") < doc_date),
        "due_date",
        "due_after_document",
        "an instalment is due before its document is dated",
        Lazy(lambda: sched["due_date"].dt.strftime("%Y-%m-%d")),
    )
    usable = found & amount_ok
    if not usable.any():
        return
    totals = pd.Series(sched["amount"].to_numpy(dtype="int64")[usable]).groupby(row[usable]).sum()
    doc_amount = docs["amount"].to_numpy(dtype="int64")[totals.index.to_numpy()]
    wrong = totals.index.to_numpy()[totals.to_numpy() != doc_amount]
    for position in wrong:  # one problem per document whose schedule does not add up
        pos = int(position)
        doc_id, ccy = docs["document_id"].iloc[pos], docs["currency"].iloc[pos]
        code = str(ccy) if money.is_currency(str(ccy)) else "KWD"
        out.add(
            file,
            None,
            "amount",
            "schedule_total",
            f"the instalments of {doc_id} add up to {money.format_minor(int(totals[pos]), code)}, "
            f"its amount is {money.format_minor(int(docs['amount'].iloc[pos]), code)}",
            doc_id,
        )


def _document_rows(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """:func:`closelib.book.arrays.index_in` (first row of each key, -1 where absent) with the
    smaller side hashed; a missing key matches a missing id there, so such keys take that path."""
    if len(keys) == 0:
        return np.zeros(0, dtype="int64")
    key_array = id_array(keys)
    if key_array.null_count:
        return index_in(keys, id_array(ids))
    return positions(key_array, id_array(ids))


# ---------------------------------------------------------------- the book's lines in functional currency


@dataclass
class Translation:
    """Per document row and receipt row: functional currency, booking rate, translated amount;
    per application: what it relieves on its target and on its source in the functional
    currency (``target_functional``, ``source_functional``, both positive for a settlement);
    per adjustment: its functional effect (signed like its amount)."""

    frames: tuple
    doc_functional: np.ndarray
    doc_rate: np.ndarray
    doc_amount: np.ndarray
    rec_functional: np.ndarray
    rec_rate: np.ndarray
    rec_amount: np.ndarray
    app_target: np.ndarray
    app_source: np.ndarray
    adj_amount: np.ndarray
    entity_currency: dict = field(default_factory=dict)  # what the functional currencies came from

    def current(self, book: Book) -> bool:
        now = (book.documents, book.receipts, book.applications, book.adjustments, book.fx_rates)
        same_frames = all(a is b for a, b in zip(self.frames, now, strict=False))
        return same_frames and self.entity_currency == dict(book.entity_currency)

    # Arrays stored in the book cache (``fx.npz``); the two functional-currency columns as text.
    ARRAYS = (
        "doc_functional",
        "doc_rate",
        "doc_amount",
        "rec_functional",
        "rec_rate",
        "rec_amount",
        "app_target",
        "app_source",
        "adj_amount",
    )


def translate_book(
    documents: pd.DataFrame,
    receipts: pd.DataFrame,
    applications: pd.DataFrame,
    adjustments: pd.DataFrame,
    fx_rates: pd.DataFrame,
    entity_currency: dict | pd.Series,
    positions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Translation:
    """The book's lines in the functional currency (see the module's rules). Vectorised:
    currencies as integer codes (:mod:`closelib.book.fxcodes`), events sorted once and
    cumulated per document and per receipt. ``positions``: the rows each application's target,
    source document and source receipt and each adjustment's document are at, as
    :class:`closelib.book.links.Links` has them (worked out here when not given)."""
    mapping = entity_currency if isinstance(entity_currency, pd.Series) else pd.Series(entity_currency, dtype=object)
    coder = fxcodes.Coder()
    d_cur, r_cur = coder.code(documents["currency"]), coder.code(receipts["currency"])
    d_fun, r_fun = coder.of_mapping(documents["entity"], mapping), coder.of_mapping(receipts["entity"], mapping)
    rate_cur, rate_fun = fxcodes.rate_codes(coder, fx_rates)
    codes = coder.currencies()
    pairs = codes.pair_key(rate_cur, rate_fun)
    d_rate = fxcodes.booking_rate(codes, pairs, fx_rates, documents, "document_date", d_cur, d_fun, MAX_RATE_AGE_DAYS)
    r_rate = fxcodes.booking_rate(codes, pairs, fx_rates, receipts, "receipt_date", r_cur, r_fun, MAX_RATE_AGE_DAYS)
    d_amt = fxcodes.translate(codes, documents["amount"].to_numpy(dtype="int64"), d_rate, d_cur, d_fun)
    r_amt = fxcodes.translate(codes, receipts["amount"].to_numpy(dtype="int64"), r_rate, r_cur, r_fun)
    n_app, n_adj = len(applications), len(adjustments)
    app_amount = applications["amount"].to_numpy(dtype="int64")
    if positions is None:
        doc_ids = id_array(documents["document_id"])
        positions = (
            index_in(applications["target_id"], doc_ids),
            index_in(applications["source_id"], doc_ids),
            index_in(applications["source_id"], id_array(receipts["receipt_id"])),
            index_in(adjustments["document_id"], doc_ids),
        )
    tgt, src_doc, src_rec, adj_doc = positions
    src_doc = np.where(src_rec >= 0, -1, src_doc)  # a receipt id wins, as the validator reads it
    # Events on documents: (document row, date, rank, id, delta of its open amount, which, position).
    # An id is compared only with ids of its own table (rank 0: applications, 1: adjustments), so
    # each table's ids enter as their rank in text order.
    app_dates = applications["applied_date"].to_numpy(dtype="datetime64[ns]")
    adj_dates = adjustments["adjustment_date"].to_numpy(dtype="datetime64[ns]")
    app_ids = fxcodes.text_ranks(applications["application_id"])
    adj_ids = fxcodes.text_ranks(adjustments["adjustment_id"])
    doc_events = pd.DataFrame(
        {
            "row": np.concatenate([tgt, src_doc, adj_doc]),
            "date": np.concatenate([app_dates, app_dates, adj_dates]),
            "rank": np.concatenate([np.zeros(2 * n_app, "int64"), np.ones(n_adj, "int64")]),
            "id": np.concatenate([app_ids, app_ids, adj_ids]),
            "delta": np.concatenate([-app_amount, app_amount, adjustments["amount"].to_numpy(dtype="int64")]),
            "which": np.concatenate([np.zeros(n_app, "int64"), np.ones(n_app, "int64"), np.full(n_adj, 2)]),
            "pos": np.concatenate([np.arange(n_app), np.arange(n_app), np.arange(n_adj)]),
        }
    )
    doc_events = doc_events[doc_events["row"].to_numpy() >= 0]
    doc_lines = (codes, documents["amount"].to_numpy(dtype="int64"), d_rate, d_cur, d_fun)
    doc_effect = fxcodes.effects(doc_events, *doc_lines)
    rec_events = pd.DataFrame(
        {
            "row": src_rec,
            "date": app_dates,
            "rank": np.zeros(n_app, "int64"),
            "id": app_ids,
            "delta": -app_amount,
            "which": np.full(n_app, 3),
            "pos": np.arange(n_app),
        }
    )
    rec_events = rec_events[rec_events["row"].to_numpy() >= 0]
    rec_effect = fxcodes.effects(rec_events, codes, receipts["amount"].to_numpy(dtype="int64"), r_rate, r_cur, r_fun)
    app_target = np.zeros(n_app, dtype="int64")
    app_source = np.zeros(n_app, dtype="int64")
    adj_amount = np.zeros(n_adj, dtype="int64")
    which, pos = doc_events["which"].to_numpy(), doc_events["pos"].to_numpy()
    app_target[pos[which == 0]] = -doc_effect[which == 0]
    app_source[pos[which == 1]] = doc_effect[which == 1]
    adj_amount[pos[which == 2]] = doc_effect[which == 2]
    app_source[rec_events["pos"].to_numpy()] = -rec_effect
    return Translation(
        (documents, receipts, applications, adjustments, fx_rates),
        fxcodes.functional_text(codes, d_fun, lambda: _functional(documents, mapping)),
        d_rate,
        d_amt,
        fxcodes.functional_text(codes, r_fun, lambda: _functional(receipts, mapping)),
        r_rate,
        r_amt,
        app_target,
        app_source,
        adj_amount,
        dict(entity_currency),
    )


def _functional(frame: pd.DataFrame, mapping: pd.Series) -> np.ndarray:
    """The functional currency per row as :func:`booking_rates` gives it (missing values and all)."""
    return lookup(frame["entity"], mapping).astype(object).to_numpy()


def translation(book: Book) -> Translation:
    """The book's :class:`Translation`, made once per book (remade if a table was replaced)."""
    return derived(
        book,
        "_fx",
        lambda b: translate_book(
            b.documents, b.receipts, b.applications, b.adjustments, b.fx_rates, b.entity_currency, _positions(b)
        ),
    )


def _positions(book: Book) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The book's row links (:mod:`closelib.book.links`), shared with every other use of them."""
    found = links(book)
    return found.app_target, found.app_source_doc, found.app_source_rec, found.adj_doc
