"""Credit review: a customer's financial statements, their ratios and Altman Z''.

The fiscal years on file ending on or before the period end, newest first, each with its ratios;
the latest year's ratios are the financial factors of the score (:mod:`closelib.areas.credit.score`),
and the memo shows the statements, the ratio table and a sentence on them (:func:`financials_text`).
Ratios (from the latest fiscal year ending on or before the period end):

* current ratio = current assets / current liabilities
* leverage = total liabilities / total assets
* interest cover = EBIT / interest expense, only when the financials carry an extra
  ``interest_expense`` column (the contract has none); otherwise "not available"
* Altman Z'' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4, X1 = working capital / total
  assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = book equity
  / total liabilities; zone safe above 2.6, grey 1.1 to 2.6 (both included), distress below 1.1.
"""

from __future__ import annotations

import pandas as pd

from closelib import money
from closelib.book.schema import TABLES

SAFE_ABOVE, DISTRESS_BELOW = 2.6, 1.1


def altman_z2(working_capital, retained_earnings, ebit, book_equity, total_assets, total_liabilities) -> dict | None:
    """Z'' and its terms; ``None`` when total assets or total liabilities are not positive."""
    ta, tl = int(total_assets), int(total_liabilities)
    if ta <= 0 or tl <= 0:
        return None
    x1, x2, x3, x4 = int(working_capital) / ta, int(retained_earnings) / ta, int(ebit) / ta, int(book_equity) / tl
    z = 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4
    return {"x1": x1, "x2": x2, "x3": x3, "x4": x4, "z2": z, "zone": zone(z)}


def zone(z: float) -> str:
    """safe above 2.6; grey from 1.1 to 2.6 inclusive; distress below 1.1."""
    if z > SAFE_ABOVE:
        return "safe"
    if z >= DISTRESS_BELOW:
        return "grey"
    return "distress"


def _ratio(a, b) -> float | None:
    return None if b is None or int(b) == 0 else int(a) / int(b)


def interest_expense(row: pd.Series) -> int | None:
    """An extra ``interest_expense`` column (kept as text by the loader), in minor units."""
    value = row.get("interest_expense") if hasattr(row, "get") else None
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return int(value)
    try:
        return money.to_minor(str(value).strip(), row["currency"])
    except Exception:
        return None


def ratios(row: pd.Series) -> dict:
    """Every ratio of one fiscal year's statements."""
    wc = int(row["current_assets"]) - int(row["current_liabilities"])
    interest = interest_expense(row)
    z = altman_z2(
        wc, row["retained_earnings"], row["ebit"], row["book_equity"], row["total_assets"], row["total_liabilities"]
    )
    return {
        "fiscal_year_end": pd.Timestamp(row["fiscal_year_end"]).date(),
        "working_capital": wc,
        "current_ratio": _ratio(row["current_assets"], row["current_liabilities"]),
        "leverage": _ratio(row["total_liabilities"], row["total_assets"]),
        "interest_cover": _ratio(row["ebit"], interest) if interest else None,
        "interest_cover_note": (
            "EBIT / interest expense" if interest else "not available: the financials carry no interest expense"
        ),
        "ebit_margin": _ratio(row["ebit"], row["revenue"]),
        **(dict.fromkeys(("x1", "x2", "x3", "x4", "z2", "zone")) if z is None else z),
    }


def statements(financials: pd.DataFrame, customer_id: str, day: pd.Timestamp, years: int = 3) -> pd.DataFrame:
    """The customer's fiscal years ending on or before ``day``, newest first (at most ``years``)."""
    f = financials[(financials["customer_id"] == customer_id) & (financials["fiscal_year_end"] <= day)]
    return f.sort_values("fiscal_year_end", ascending=False).head(years).reset_index(drop=True)


def ratio_table(stmts: pd.DataFrame) -> pd.DataFrame:
    rows = [ratios(r) for _, r in stmts.iterrows()]
    return pd.DataFrame(
        rows,
        columns=[
            "fiscal_year_end",
            "current_ratio",
            "leverage",
            "interest_cover",
            "ebit_margin",
            "x1",
            "x2",
            "x3",
            "x4",
            "z2",
            "zone",
        ],
    )


# The statement's amounts: the financials table's money columns, as the contract lists them.
STATEMENT_COLUMNS = tuple(TABLES["financials"].money_currency)


def financials_text(fin: dict | None, table: pd.DataFrame) -> str:
    if fin is None:
        if len(table):
            return (
                "The statements on file have no positive total assets and total liabilities, so Z'' cannot be "
                "computed: the score rests on payment behaviour alone."
            )
        return "No financial statements: the financial factors are left out of the score."
    cover = (
        "not available (the financials carry no interest expense)"
        if fin["interest_cover"] is None
        else f"{fin['interest_cover']:.2f}x"
    )
    cr = "n/a" if fin["current_ratio"] is None else f"{fin['current_ratio']:.2f}"
    lev = "n/a" if fin["leverage"] is None else f"{fin['leverage']:.1%}"
    return (
        f"Year to {fin['fiscal_year_end']}: X1 {fin['x1']:.4f}, X2 {fin['x2']:.4f}, X3 {fin['x3']:.4f}, "
        f"X4 {fin['x4']:.4f}; **Z'' = {fin['z2']:.2f} ({fin['zone']} zone)**. Current ratio {cr}, "
        f"leverage {lev}, interest cover {cover}."
    )
