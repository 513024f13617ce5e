"""Collections KPIs (CONTRACT ``kpi.*``): the table per entity and month, and its workings.

KPI conventions (CONTRACT §3), per entity (and collector, segment) in its own currency:

* AR = open INV, DM and CM at the month end; credit sales = the month's INV and DM amounts;
  not-yet-due AR = open items with due date on or after the month end (the ``current`` bucket);
* ``dso`` (count-back): from the end AR subtract whole months of credit sales newest first,
  adding each month's calendar days, then the fraction of the first month not fully consumed;
* ``dso_simple`` = end AR / the month's credit sales x days in the month; ``bpdso`` the same with
  not-yet-due AR; ``add`` = dso_simple - bpdso;
* ``cei`` = (prior AR + sales - end AR) / (prior AR + sales - end not-yet-due AR) x 100;
* ``past_due_ratio`` = past-due open INV/DM over all open INV/DM;
* payment timing, amount-weighted over the month's receipt applications to INV/DM:
  ``days_to_pay`` (applied - document date), ``days_beyond_terms`` (applied - due date, 0 when
  on time) and ``wadl``, the weighted average days late of late payments only.

Days are rounded to 2 decimals, ratios to 4, CEI (a percentage) to 2. A KPI whose denominator
is zero is ``None`` (shown as n/a), never a division error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib import money
from closelib.areas.collections.kpigroups import document_keys, group_codes, history_keys, payment_lines
from closelib.asof.history import History, build_history
from closelib.book.arrays import lookup
from closelib.book.fx import translation
from closelib.book.model import Book
from closelib.nb.charts import days_axis, percent_axis
from closelib.periods import Period


def customer_attr(book: Book, column: str) -> pd.Series:
    """A customer attribute (collector, segment) by customer id, blank read as "unassigned": the
    groups the KPIs and the aged debt report under."""
    return book.customers.set_index("customer_id")[column].replace("", "unassigned")


def monthly_sales(book: Book, by: str | None = None) -> pd.DataFrame:
    """Credit sales (INV + DM amounts, in the functional currency at the booking rate) per entity
    (and ``by``) and month, all history: one row per (entity, [by,] month) with documents, in
    that order, as a groupby gives it, from integer codes (:mod:`.kpigroups`)."""
    documents = book.documents
    debit = documents["doc_type"].isin(["INV", "DM"]).to_numpy()
    row_keys = document_keys(book)
    if row_keys is None:  # a missing entity: grouped by text, as before
        return _monthly_sales_by_text(book, by)
    codes, keys = group_codes(book, row_keys, by)
    codes = codes[debit]
    amount = translation(book).doc_amount[debit]
    # months as integer codes (in the same order as their "YYYY-MM" text), named after
    month = documents["document_date"].to_numpy(dtype="datetime64[ns]")[debit].astype("datetime64[M]").astype("int64")
    if not len(month):
        return _monthly_sales_by_text(book, by)
    low = int(month.min())
    span = int(month.max()) - low + 1
    # one cell per (group, month): a few thousand, counted and summed in place (no sort)
    cell = codes * span + (month - low)
    size = len(keys) * span
    total = np.zeros(size, dtype="int64")
    np.add.at(total, cell, amount.astype("int64", copy=False))
    present = np.flatnonzero(np.bincount(cell, minlength=size))
    sales = total[present]
    group = [keys[g] for g in present // span]
    frame = {"entity": pd.Series([k.partition("\x1f")[0] for k in group], dtype="str")}
    if by:
        frame[by] = pd.Series([k.partition("\x1f")[2] for k in group], dtype="str")
    months = (present % span + low).astype("datetime64[M]")
    frame["month"] = pd.Series(np.datetime_as_string(months, unit="M"), dtype="str")
    frame["sales"] = pd.Series(sales, dtype="int64")
    return pd.DataFrame(frame)


def _monthly_sales_by_text(book: Book, by: str | None = None) -> pd.DataFrame:
    """:func:`monthly_sales` grouped by the text of the keys (a book with a missing entity)."""
    documents = book.documents
    debit = documents["doc_type"].isin(["INV", "DM"]).to_numpy()
    docs = documents.loc[debit, ["entity", "customer_id"]].assign(amount=translation(book).doc_amount[debit])
    month = documents["document_date"].to_numpy(dtype="datetime64[ns]")[debit].astype("datetime64[M]")
    keys = [docs["entity"], pd.Series(month.astype("int64"), index=docs.index, name="month")]
    if by:
        keys.insert(1, lookup(docs["customer_id"], customer_attr(book, by)).fillna("unassigned").rename(by))
    sales = docs.groupby(keys)["amount"].sum().astype("int64").rename("sales").reset_index()
    codes = sales["month"].to_numpy(dtype="int64")
    sales["month"] = pd.Series(np.datetime_as_string(codes.astype("datetime64[M]"), unit="M"), dtype="str")
    return sales


def count_back_dso(end_ar: int, sales_newest_first: list[tuple[int, int]]) -> float | None:
    """``sales_newest_first``: (credit sales, days in month) from the period backwards."""
    if end_ar <= 0:
        return 0.0
    remaining, days = end_ar, 0.0
    for sales, month_days in sales_newest_first:
        if sales <= 0:
            days += month_days
            continue
        if remaining > sales:
            remaining -= sales
            days += month_days
        else:
            return days + remaining / sales * month_days
    return days if sales_newest_first else None  # AR older than the sales history: a floor


def _ratio(num: float, den: float, scale: float = 1.0, digits: int = 2) -> float | None:
    return None if den == 0 else round(num / den * scale, digits)


def kpi_history(book: Book, period: Period, months: int = 13) -> History:
    """The open amounts :func:`kpi_table` reads, at the ``months + 1`` month ends ending with
    ``period``: built once (1.2 s at a million documents) and handed to every ``kpi_table`` of
    the period with at most ``months`` months, whatever its ``by``."""
    return build_history(book, period, months, doc_types=("INV", "DM", "CM"), instalments=True)


def _last_months(history: History, period: Period, months: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The month ends and open amounts of the last ``months`` months of ``history`` (and the month
    end before them). A month end's open amounts are cumulated from the book's first event, so
    they do not depend on where the history's window starts: the last columns of a longer
    history are the whole of a shorter one."""
    ends = history.month_ends
    if len(ends) < months + 1 or ends[-1] != pd.Timestamp(period.end):
        raise ValueError(f"a history of {len(ends) - 1} month(s) to {ends[-1]:%Y-%m} cannot give {months} to {period}")
    return ends[-(months + 1) :], history.open[:, -(months + 1) :]


def kpi_table(
    book: Book, period: Period, months: int = 13, by: str | None = None, history: History | None = None
) -> pd.DataFrame:
    """KPIs per entity (and ``by``: collector or segment) for each of the last ``months`` months;
    ``history``: :func:`kpi_history` of the period for at least ``months`` months, when the caller
    has it already."""
    history = kpi_history(book, period, months) if history is None else history
    ends, open_ = _last_months(history, period, months)
    docs = history.docs
    row_keys = history_keys(book, history)
    if row_keys is None:  # a missing entity: the groups of the joined text, as before
        group = (
            docs["entity"]
            if by is None
            else docs["entity"] + "\x1f" + lookup(docs["customer_id"], customer_attr(book, by)).fillna("unassigned")
        )
        factorized, names = pd.factorize(group, sort=True)
        codes, keys = np.asarray(factorized, dtype="int64"), [str(k) for k in names]
    else:
        codes, keys = group_codes(book, row_keys, by)
    inv = docs["doc_type"].isin(["INV", "DM"]).to_numpy()
    sales = monthly_sales(book, by)
    sales_key = sales["entity"] if by is None else sales["entity"] + "\x1f" + sales[by]
    sales_by = {k: dict(zip(g["month"], g["sales"], strict=False)) for k, g in sales.groupby(sales_key)}
    payments = _payment_days(book, ends, by)
    rows = []
    n = len(keys)
    totals = _class_sums(codes, n, open_, docs["due_date"].to_numpy(dtype="datetime64[ns]"), inv, ends)
    for j in range(1, len(ends)):
        end = ends[j]
        end_ar, prior_ar = totals[j].sum(axis=1), totals[j - 1].sum(axis=1)
        not_due = totals[j][:, _NOT_DUE].sum(axis=1)
        past_due = totals[j][:, _PAST_DUE].sum(axis=1)
        open_inv = totals[j][:, _OPEN_INVOICES].sum(axis=1)
        this = Period(end.year, end.month)
        month = str(this)
        dim = end.day
        earlier = [(str(p), p) for p in this.back(120)[::-1]]  # up to 120 months, newest first
        for g, key in enumerate(keys):
            history_sales = sales_by.get(key, {})
            s = int(history_sales.get(month, 0))
            first = min(history_sales, default=month)
            back = [(int(history_sales.get(label, 0)), p.end.day) for label, p in earlier if label >= first]
            dso = count_back_dso(int(end_ar[g]), back)
            simple = _ratio(end_ar[g] * dim, s)
            bp = _ratio(not_due[g] * dim, s)
            entity, _, sub = key.partition("\x1f")
            pay = payments.get((key, month), (None, None, None))
            rows.append(
                {
                    "entity": entity,
                    **({by: sub} if by else {}),
                    "month": month,
                    "end_ar": int(end_ar[g]),
                    "prior_ar": int(prior_ar[g]),
                    "sales": s,
                    "not_yet_due": int(not_due[g]),
                    "past_due": int(past_due[g]),
                    "open_invoices": int(open_inv[g]),
                    "dso": None if dso is None else round(dso, 2),
                    "dso_simple": simple,
                    "bpdso": bp,
                    "add": None if simple is None or bp is None else round(simple - bp, 2),
                    "cei": _ratio(prior_ar[g] + s - end_ar[g], prior_ar[g] + s - not_due[g], 100.0),
                    "past_due_ratio": _ratio(past_due[g], open_inv[g], 1.0, 4),
                    "days_to_pay": pay[0],
                    "days_beyond_terms": pay[1],
                    "wadl": pay[2],
                }
            )
    # No document on or before the period (an empty book, a period before it starts): no rows,
    # but the columns every reader of the table selects.
    columns = ["entity", *([by] if by else []), "month", *KPI_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


KPI_COLUMNS = (
    "end_ar",
    "prior_ar",
    "sales",
    "not_yet_due",
    "past_due",
    "open_invoices",
    "dso",
    "dso_simple",
    "bpdso",
    "add",
    "cei",
    "past_due_ratio",
    "days_to_pay",
    "days_beyond_terms",
    "wadl",
)


# Rows are summed by group in six classes: (CM, INV/DM) x (due on or after the month end, due
# before it, no due date); a KPI's sum is the sum of its classes.
_NOT_DUE = [0, 3]
_PAST_DUE = [4]
_OPEN_INVOICES = [3, 4, 5]


def _class_sums(
    codes: np.ndarray, groups: int, open_: np.ndarray, due: np.ndarray, inv: np.ndarray, ends: pd.DatetimeIndex
) -> list[np.ndarray]:
    """Per month end of ``ends``: the open amounts summed per group and class, int64
    [groups, 6]. Only the rows open at the month end are read (most of a book is settled), in
    one exact integer pass per month end instead of one per KPI."""
    out = []
    has_due = ~np.isnat(due)
    for j, end in enumerate(ends):
        rows = np.flatnonzero(open_[:, j])
        late = due[rows] < end.to_datetime64()
        kind = inv[rows] * 3 + np.where(has_due[rows], late.astype("int64"), 2)
        total = np.zeros(groups * 6, dtype="int64")
        np.add.at(total, codes[rows] * 6 + kind, open_[rows, j])
        out.append(total.reshape(groups, 6) if groups else np.zeros((0, 6), dtype="int64"))
    return out


def _payment_days(book: Book, ends: pd.DatetimeIndex, by: str | None) -> dict:
    """(group key, month) -> (days to pay, days beyond terms, weighted average days late)."""

    # The book's receipt applications to documents (made once per book), those of the window
    lines = payment_lines(book)
    keep = (lines.applied > ends[0].to_datetime64()) & (lines.applied <= ends[-1].to_datetime64())
    rows, amount = lines.rows[keep], lines.weight[keep]
    to_pay, late = lines.to_pay[keep], lines.late[keep]
    # Groups and months as integer codes (the sums per group are the same, row for row)
    docs = book.documents
    row_keys = document_keys(book)
    if row_keys is not None:
        doc_codes, names = group_codes(book, row_keys, by)
        key = doc_codes[rows]
    else:  # a missing entity: coded as before
        entity_codes, entity_names = pd.factorize(docs["entity"])
        key = np.asarray(entity_codes, dtype="int64")[rows]
        names = [str(e) for e in entity_names]
        if by:
            attr = lookup(docs["customer_id"], customer_attr(book, by)).fillna("unassigned")
            attr_codes, attr_names = pd.factorize(attr)
            key = key * len(attr_names) + np.asarray(attr_codes, dtype="int64")[rows]
            names = [f"{e}\x1f{a}" for e in names for a in attr_names]
    month = lines.month[keep]
    frame = pd.DataFrame(
        {
            "key": key,
            "month": month,
            "w": amount,
            "wp": amount * to_pay,
            "wb": amount * np.maximum(late, 0),
            "wl": np.where(late > 0, amount, 0.0),
            "wll": np.where(late > 0, amount * late, 0.0),
        }
    )
    agg = frame.groupby(["key", "month"]).sum()
    label = {int(m): str(np.datetime64(int(m), "M")) for m in pd.unique(month)}
    # numpy float64 values, as a row of the frame gives them (their round() is numpy's)
    w, wp, wb, wl, wll = (agg[c].to_numpy(dtype="float64") for c in ("w", "wp", "wb", "wl", "wll"))
    return {
        (names[int(k)], label[int(m)]): (
            round(wp[i] / w[i], 2),
            round(wb[i] / w[i], 2),
            round(wll[i] / wl[i], 2) if wl[i] else 0.0,
        )
        for i, (k, m) in enumerate(agg.index)
        if w[i]
    }


FORMULAS = {
    "dso": "count back: end AR less whole months of credit sales, newest first, + fraction of the next",
    "dso_simple": "end AR / credit sales of the month x days in the month",
    "bpdso": "not-yet-due AR / credit sales of the month x days in the month",
    "add": "dso_simple - bpdso",
    "cei": "(prior AR + sales - end AR) / (prior AR + sales - not-yet-due AR) x 100",
    "past_due_ratio": "past-due open INV/DM / all open INV/DM",
    "days_to_pay": "amount-weighted (applied date - document date) of the month's receipt applications",
    "days_beyond_terms": "amount-weighted max(applied date - due date, 0) of the month's receipt applications",
    "wadl": "amount-weighted (applied date - due date) of the month's late receipt applications",
}


def kpi_value(kpi: str, value) -> str:
    """A KPI as a person reads it: days to 1 decimal, CEI in % to 1 decimal, the past-due ratio in
    % to 2 decimals ("n/a" when there is nothing to divide by)."""
    if value is None or value != value:
        return "n/a"
    if kpi == "cei":
        return f"{float(value):.1f}%"
    if kpi == "past_due_ratio":
        return f"{float(value):.2%}"
    return f"{float(value):,.1f} days"


def kpi_workings(row: dict, currency: str) -> pd.DataFrame:
    """Each KPI beside its formula and inputs (amounts in ``currency``, formatted), so a reader can
    redo it by hand."""
    days = Period.parse(row["month"]).end.day  # days in the month

    def amount(column: str) -> str:
        return money.display(int(row[column]), currency)

    inputs = {
        "dso": f"end AR {amount('end_ar')}, sales by month (see the trend table)",
        "dso_simple": f"{amount('end_ar')} / {amount('sales')} x {days} days",
        "bpdso": f"{amount('not_yet_due')} / {amount('sales')} x {days} days",
        "add": f"{kpi_value('dso_simple', row['dso_simple'])} - {kpi_value('bpdso', row['bpdso'])}",
        "cei": f"({amount('prior_ar')} + {amount('sales')} - {amount('end_ar')}) / ({amount('prior_ar')} + "
        f"{amount('sales')} - {amount('not_yet_due')}) x 100",
        "past_due_ratio": f"{amount('past_due')} / {amount('open_invoices')}",
        "days_to_pay": "receipt applications of the month",
        "days_beyond_terms": "receipt applications of the month",
        "wadl": "late receipt applications of the month",
    }
    return pd.DataFrame(
        [
            {"kpi": k, "value": kpi_value(k, row[k]), "formula": FORMULAS[k], f"inputs ({currency})": inputs[k]}
            for k in FORMULAS
        ]
    )


def trend_chart(kpis: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for entity, k in kpis.groupby("entity"):
        for ax, (col, title) in zip(
            axes,
            [("dso", "DSO (count-back), days"), ("cei", "CEI %"), ("past_due_ratio", "past-due ratio %")],
            strict=False,
        ):
            scale = 100.0 if col == "past_due_ratio" else 1.0  # the ratio is shown in %, as the tables do
            ax.plot(k["month"], k[col].astype(float) * scale, marker="o", label=entity)
            ax.set_title(title, fontsize=10)
            (days_axis if col == "dso" else percent_axis)(ax)
            ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    if len(kpis):  # no document yet: nothing plotted, nothing to label
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
