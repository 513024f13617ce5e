"""The FX validation rules on currency codes (closelib.book.fx.check_fx, check_schedules) report
what the per-row object path reported before them (copied below as the reference), problem for
problem: hand-checked cases, then hypothesis on random small books."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from closelib import money
from closelib.book import fx
from closelib.book.arrays import id_array, index_in, lookup
from closelib.book.parse import Collector

DAY0 = pd.Timestamp("2026-09-01")


# ---------------------------------------------------------------- the reference (main at c8b1be5)


def _old_rates_in_force(fx_rates, dates, currency, functional) -> np.ndarray:
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
        left, right, on="date", by="pair", direction="backward", tolerance=pd.Timedelta(days=fx.MAX_RATE_AGE_DAYS)
    )
    result[found["pos"].to_numpy()] = found["rate"].to_numpy(dtype="float64")
    return result


def _old_booking_rates(frame, date_column, entity_currency, fx_rates):
    mapping = entity_currency if isinstance(entity_currency, pd.Series) else pd.Series(entity_currency, dtype=object)
    functional = lookup(frame["entity"], mapping).astype(object).to_numpy()
    rate = _old_rates_in_force(fx_rates, frame[date_column], frame["currency"], pd.Series(functional))
    if "fx_rate" in frame.columns:
        given = frame["fx_rate"].to_numpy(dtype="float64", na_value=np.nan)
        rate = np.where(np.isfinite(given) & (given > 0), given, rate)
    return functional, rate


def _old_check_fx(frames, files, entity_currency, out) -> None:
    rates = frames.get("fx_rates", pd.DataFrame(columns=["rate_date", "currency", "functional_currency", "rate"]))
    for name, date_column in (("documents", "document_date"), ("receipts", "receipt_date")):
        if name not in frames:
            continue
        frame, file = frames[name], files[name]
        known = np.ones(len(frame), dtype=bool)
        for column in ("currency", "entity", date_column):
            known &= ~out.flagged(file, column, len(frame))
        functional, rate = _old_booking_rates(frame, date_column, entity_currency, rates)
        has_functional = pd.notna(functional)
        missing = known & has_functional & ~np.isfinite(rate) & frame[date_column].notna().to_numpy()
        if "fx_rate" in frame.columns:
            missing &= ~out.flagged(file, "fx_rate", len(frame))

        def message(functional=functional, frame=frame, date_column=date_column) -> pd.Series:
            pair = frame["currency"].astype(str) + "->" + pd.Series(functional, index=frame.index).astype(str)
            day = frame[date_column].dt.strftime("%Y-%m-%d")
            return (
                "no "
                + pair
                + " rate: no fx_rate on the row and no fx_rates row for "
                + pair
                + f" dated on or up to {fx.MAX_RATE_AGE_DAYS} days before "
                + day
            )

        out.rows(file, missing, "currency", "fx_rate_missing", message, frame["currency"])
        if "fx_rate" in frame.columns:
            given = frame["fx_rate"].to_numpy(dtype="float64", na_value=np.nan)
            same = frame["currency"].to_numpy(dtype=object) == functional
            out.rows(
                file,
                same & np.isfinite(given) & (given != 1.0),
                "fx_rate",
                "fx_rate_functional",
                "the line is in its entity's functional currency: fx_rate must be 1 or empty",
                frame["fx_rate"],
            )


def _old_check_schedules(frames, files, out) -> None:
    if "payment_schedules" not in frames or "documents" not in frames:
        return
    sched, file = frames["payment_schedules"], files["payment_schedules"]
    docs = frames["documents"]
    row = index_in(sched["document_id"], id_array(docs["document_id"]))
    found = row >= 0
    out.rows(file, ~found, "document_id", "foreign_key", "no document with this id", sched["document_id"])
    doc_type = np.where(found, docs["doc_type"].to_numpy(dtype=object)[np.maximum(row, 0)], "")
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
    doc_date = np.where(
        found, docs["document_date"].to_numpy(dtype="datetime64[ns]")[np.maximum(row, 0)], np.datetime64("NaT")
    )
    out.rows(
        file,
        found & (sched["due_date"].to_numpy(dtype="datetime64[ns]") < doc_date),
        "due_date",
        "due_after_document",
        "an instalment is due before its document is dated",
        sched["due_date"].dt.strftime("%Y-%m-%d"),
    )
    usable = found & amount_ok
    if not usable.any():
        return
    totals = pd.Series(sched["amount"].to_numpy(dtype="int64")[usable]).groupby(row[usable]).sum()
    doc_amount = docs["amount"].to_numpy(dtype="int64")[totals.index.to_numpy()]
    wrong = totals.index.to_numpy()[totals.to_numpy() != doc_amount]
    ids = docs["document_id"].to_numpy(dtype=object)
    ccy = docs["currency"].to_numpy(dtype=object)
    for position in wrong:
        pos = int(position)
        code = str(ccy[pos]) if money.is_currency(str(ccy[pos])) else "KWD"
        out.add(
            file,
            None,
            "amount",
            "schedule_total",
            f"the instalments of {ids[pos]} add up to {money.format_minor(int(totals[pos]), code)}, "
            f"its amount is {money.format_minor(int(docs['amount'].iloc[pos]), code)}",
            ids[pos],
        )


# ---------------------------------------------------------------- small books

FILES = {n: f"{n}.csv" for n in ("documents", "receipts", "fx_rates", "payment_schedules")}
ENTITIES = pd.Series({"US01": "USD", "SG01": "SGD", "EU01": "EUR"}, dtype="str")


def _day(offset: int | None) -> pd.Timestamp:
    return pd.NaT if offset is None else DAY0 + pd.Timedelta(days=offset)


def _lines(rows: list[tuple], date_column: str, id_column: str, with_fx_rate: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            id_column: pd.Series([r[0] for r in rows], dtype="str"),
            "entity": pd.Series([r[1] for r in rows], dtype="str"),
            "doc_type": pd.Series([r[2] for r in rows], dtype="str"),
            date_column: pd.Series([_day(r[3]) for r in rows], dtype="datetime64[ns]"),
            "currency": pd.Series([r[4] for r in rows], dtype="str"),
            "amount": pd.Series([r[5] for r in rows], dtype="int64"),
            "fx_rate": pd.Series([r[6] for r in rows], dtype="float64"),
        }
    )
    return frame if with_fx_rate else frame.drop(columns="fx_rate")


def _rates(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rate_date": pd.Series([_day(r[0]) for r in rows], dtype="datetime64[ns]"),
            "currency": pd.Series([r[1] for r in rows], dtype="str"),
            "functional_currency": pd.Series([r[2] for r in rows], dtype="str"),
            "rate": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )


def _schedule(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "document_id": pd.Series([r[0] for r in rows], dtype="str"),
            "amount": pd.Series([r[1] for r in rows], dtype="int64"),
            "due_date": pd.Series([_day(r[2]) for r in rows], dtype="datetime64[ns]"),
        }
    )


def _both(frames: dict, entity_currency, flags: dict | None = None) -> tuple[list, list]:
    """Problems of the new rules and of the reference on the same frames (and the same cells
    already flagged by earlier rules)."""
    found = []
    for check_fx, check_schedules in ((fx.check_fx, fx.check_schedules), (_old_check_fx, _old_check_schedules)):
        out = Collector()
        for (name, column), mask in (flags or {}).items():
            out.rows(FILES[name], mask, column, "earlier", "flagged by an earlier rule")
        check_fx(frames, FILES, entity_currency, out)
        check_schedules(frames, FILES, out)
        found.append(out.problems)
    return found[0], found[1]


def _doc(doc_id, entity, currency, day, fx_rate=None, amount=10000, doc_type="INV") -> tuple:
    return (doc_id, entity, doc_type, day, currency, amount, fx_rate)


def test_hand_checked_rates_missing_functional_and_schedules():
    docs = _lines(
        [
            _doc("D1", "SG01", "USD", 40),  # the rate of day 30 is in force
            _doc("D2", "SG01", "USD", 70),  # day 30's rate is 40 days old: missing
            _doc("D3", "SG01", "SGD", 70, fx_rate=1.5),  # functional currency, fx_rate not 1
            _doc("D4", "XX99", "USD", 70),  # unknown entity: no functional currency, no rule
            _doc("D5", "SG01", "JPY", 70, fx_rate=0.012),  # its own rate
            _doc("D6", "SG01", "EUR", 70, doc_type="CM", amount=-500),  # no EUR>SGD pair at all
            _doc("D7", "SG01", "USD", 61),  # day 30's rate, 31 days old: still in force
            _doc("D8", "SG01", "USD", 62),  # 32 days: missing
        ],
        "document_date",
        "document_id",
        True,
    )
    frames = {
        "documents": docs,
        "fx_rates": _rates([(30, "USD", "SGD", 1.3), (75, "USD", "SGD", 1.31)]),
        "payment_schedules": _schedule([("D1", 6000, 50), ("D1", 3000, 39), ("D6", 500, 80), ("Z9", 1, 80)]),
    }
    new, old = _both(frames, ENTITIES)
    assert new == old
    got = {(p.rule, p.row) for p in new}
    assert got == {
        ("fx_rate_missing", 3),
        ("fx_rate_missing", 7),
        ("fx_rate_missing", 9),
        ("fx_rate_functional", 4),
        ("due_after_document", 3),  # D1 dated day 40, instalment due day 39
        ("foreign_key", 5),
        ("schedule_target", 4),
        ("schedule_total", None),  # D1: 60.00 + 30.00 is not 100.00
    }
    missing = [p for p in new if p.rule == "fx_rate_missing"]
    assert missing[0].message == (
        "no USD->SGD rate: no fx_rate on the row and no fx_rates row for USD->SGD dated on or up to 31 days "
        "before 2026-11-10"
    )


def test_a_missing_schedule_key_matches_a_missing_document_id_as_before():
    docs = _lines([_doc(None, "US01", "USD", 1), _doc("D2", "US01", "USD", 1)], "document_date", "document_id", False)
    frames = {"documents": docs, "payment_schedules": _schedule([(None, 10000, 3), ("D2", 5, 0)])}
    new, old = _both(frames, ENTITIES)
    assert new == old
    assert {p.rule for p in new} == {"schedule_total", "due_after_document"}


def test_a_dict_of_entity_currencies_and_no_rates_table():
    docs = _lines(
        [_doc("D1", "US01", "EUR", 5), _doc("D2", "US01", "USD", 5, 2.0)], "document_date", "document_id", True
    )
    new, old = _both({"documents": docs}, {"US01": "USD"})
    assert new == old
    assert [p.rule for p in new] == ["fx_rate_missing", "fx_rate_functional"]


def test_a_schedule_without_documents_names_every_row():
    frames = {
        "documents": _lines([], "document_date", "document_id", True),
        "payment_schedules": _schedule([("D1", 5, 1), (None, 7, 2)]),
    }
    out = Collector()
    fx.check_schedules(frames, FILES, out)
    assert [(p.rule, p.row) for p in out.problems] == [("foreign_key", 2), ("foreign_key", 3)]


CURRENCY = st.sampled_from(["USD", "SGD", "EUR", "JPY", "nan", "", None])
# days 31 and 32 apart are common: the edge of a rate's 31 days in force
DAY = st.one_of(st.none(), st.sampled_from([0, 1, 31, 32, 33, 63, 64]), st.integers(0, 100))
LINE = st.tuples(
    st.sampled_from(["D1", "D2", "D3", "R1", "", None]),
    st.sampled_from(["US01", "SG01", "EU01", "XX99", "", None]),
    st.sampled_from(["INV", "DM", "CM"]),
    DAY,
    CURRENCY,
    st.integers(-(10**6), 10**6),
    st.sampled_from([None, 1.0, 1.25, 0.0, -2.0, float("nan")]),
)
# a missing currency in fx_rates made the reference fail (str + float): parsed frames hold ""
RATE_CURRENCY = st.sampled_from(["USD", "SGD", "EUR", "JPY", "nan", ""])
RATE = st.tuples(DAY, RATE_CURRENCY, RATE_CURRENCY, st.sampled_from([1.3, 0.9, 0.0061, float("nan")]))
ENTITY_MAPS = st.sampled_from(
    [
        ENTITIES,
        pd.Series({"US01": "USD", "SG01": "SGD"}, dtype=object),
        pd.Series(["USD", "EUR"], index=["US01", "US01"], dtype="str"),  # the first entry wins
        pd.Series(dtype=object),
        {"SG01": "SGD", "EU01": "EUR"},
    ]
)


@settings(max_examples=400, deadline=None)
@example(  # a receipt without a currency takes no rate, even with an fx_rates row of currency "nan"
    docs=[],
    receipts=[("R1", "US01", "INV", 0, None, 0, None)],
    rates=[(0, "nan", "USD", 1.3)],
    schedule=None,
    entity_currency=ENTITIES,
    with_fx_rate=False,
    flag_seed=1,
)
@given(
    docs=st.lists(LINE, max_size=12),
    receipts=st.one_of(st.none(), st.lists(LINE, max_size=8)),
    rates=st.one_of(st.none(), st.lists(RATE, max_size=8)),
    schedule=st.one_of(
        st.none(),
        st.lists(st.tuples(st.sampled_from(["D1", "D2", "D9", "", None]), st.integers(-5, 10**6), DAY), max_size=6),
    ),
    entity_currency=ENTITY_MAPS,
    with_fx_rate=st.booleans(),
    flag_seed=st.integers(0, 2**16),
)
def test_the_coded_rules_report_what_the_object_path_reported(
    docs, receipts, rates, schedule, entity_currency, with_fx_rate, flag_seed
):
    # The reference's lookup (arrays.positions) fails on a column of fewer keys than the mapping
    # that are all missing (parsed frames hold "" there, never a missing value): not compared.
    assume(docs or not schedule)  # the reference failed on a schedule without documents (IndexError)
    assume(all(any(line[1] is not None for line in lines) for lines in (docs, receipts or []) if lines))
    frames = {"documents": _lines(docs, "document_date", "document_id", with_fx_rate)}
    if receipts is not None:
        frames["receipts"] = _lines(receipts, "receipt_date", "receipt_id", not with_fx_rate)
    if rates is not None:
        frames["fx_rates"] = _rates(rates)
    if schedule is not None:
        frames["payment_schedules"] = _schedule(schedule)
    # some cells already broke an earlier rule: both paths must skip the same rows
    draw = np.random.default_rng(flag_seed)
    flags = {
        (name, column): draw.random(len(frames[name])) < 0.2
        for name, columns in (
            ("documents", ("currency", "entity", "fx_rate", "document_date")),
            ("receipts", ("currency", "fx_rate")),
            ("payment_schedules", ("amount",)),
        )
        if name in frames
        for column in columns
    }
    new, old = _both(frames, entity_currency, flags)
    assert new == old
