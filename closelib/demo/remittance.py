"""What the bank shows with each receipt: the remittance text and the payer's name.

Remittance advices name the documents a receipt pays (the applications it gets, including those
made after the end of the book), as a customer types them: half exactly as invoiced, a fifth
mangled (the entity prefix left out, leading zeros dropped, or spaces for dashes), the rest with
no advice at all. Receipts that arrive without a customer (unidentified) rarely carry one. The
payer name is the customer's name as a bank renders it: upper case, sometimes without its legal
form, sometimes cut at 20 characters. Receipts nobody can place come from payers who are not
customers. Everything is drawn from the ``remittance`` stream, so the other tables do not move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CLEAN, MANGLED, ABSENT = 0, 1, 2
LEADS = np.array(["INV ", "PAYMENT FOR ", "RE: ", "Invoices "], dtype=object)
STRANGERS = np.array(
    ["J SMITH", "NORTHWIND TRADERS", "GLOBAL PAYMENT SVCS", "K TAN", "ORION FREIGHT", "MISC TRANSFER"], dtype=object
)


def _mangle(ids: pa.Array, kind: np.ndarray) -> pa.Array:
    no_prefix = pc.replace_substring_regex(ids, r"^[A-Z0-9]+-", "")
    no_zeros = pc.replace_substring_regex(ids, r"-0+([1-9])", r"-\1")
    spaces = pc.replace_substring(ids, "-", " ")
    out = pc.if_else(pa.array(kind == 0), no_prefix, no_zeros)
    return pc.if_else(pa.array(kind == 2), spaces, out)


def advices(
    rng: np.random.Generator,
    customer: np.ndarray,
    identified: np.ndarray,
    paid_receipt: np.ndarray,
    paid_document: pa.Array,
    names: np.ndarray,
    forced_style: np.ndarray | None = None,
    forced_mangle: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``remittance`` and ``payer_name`` per receipt (final receipt order).

    ``customer``: customer code per receipt (-1: a payer who is no customer); ``identified``:
    whether the receipt carries its customer; ``paid_receipt``/``paid_document``: the receipt
    row and document id of every payment it makes; ``names``: customer names by code;
    ``forced_style``/``forced_mangle``: the planted cases' style and mangling (-1: drawn)."""
    n = len(customer)
    u = rng.random(n)
    mangle = rng.integers(0, 3, n)
    lead = LEADS[rng.integers(0, len(LEADS), n)]
    form = rng.random(n)
    stranger = STRANGERS[rng.integers(0, len(STRANGERS), n)]
    known = customer >= 0
    style = np.where(identified, np.where(u < 0.5, CLEAN, np.where(u < 0.7, MANGLED, ABSENT)), ABSENT)
    style = np.where(known & ~identified & (u < 0.1), CLEAN, np.where(known & ~identified & (u < 0.2), MANGLED, style))
    style = np.where(known, style, ABSENT)
    if forced_style is not None:  # the planted cases (:func:`plant`)
        style = np.where(forced_style >= 0, forced_style, style)
    if forced_mangle is not None:
        mangle = np.where(forced_mangle >= 0, forced_mangle, mangle)

    order = np.argsort(paid_receipt, kind="stable")
    rows = paid_receipt[order]
    written = pc.take(paid_document, pa.array(order))
    written = pc.if_else(pa.array(style[rows] == MANGLED), _mangle(written, mangle[rows]), written)
    lines = pd.DataFrame({"row": rows, "id": np.asarray(written.to_numpy(zero_copy_only=False), dtype=object)})
    lines = lines[style[rows] != ABSENT]
    listed = lines.groupby("row", sort=True)["id"].agg(", ".join)
    remittance = np.full(n, "", dtype=object)
    remittance[listed.index.to_numpy()] = lead[listed.index.to_numpy()] + listed.to_numpy(dtype=object)

    upper = np.char.upper(names.astype(str))[np.maximum(customer, 0)].astype(object)
    without_form = np.array([s.rsplit(" ", 1)[0] if " " in s else s for s in np.unique(upper)], dtype=object)
    _, where = np.unique(upper, return_inverse=True)
    short = np.array([s[:20].rstrip() for s in np.unique(upper)], dtype=object)
    payer = np.where(form < 0.5, upper, np.where(form < 0.75, without_form[where], short[where]))
    payer = np.where(known, payer, stranger)
    return remittance, payer


# Roles planted among the receipts still wholly unapplied at the end of the book, in this
# order, so that the last month end's cash application shows every rule at work.
ROLES = (
    ("remittance", "clean", 1),
    ("remittance", "no_prefix", 1),
    ("remittance", "no_zeros", 1),
    ("remittance", "spaces", 1),
    ("exact_amount", "", 1),
    ("combination", "", 2),
    ("tolerance", "bank charge", 1),
    ("tolerance", "short-pay", 1),
    ("payer_name", "", 1),
)
MANGLE_OF = {"no_prefix": 0, "no_zeros": 1, "spaces": 2}
BANK_CHARGE = 2_500  # minor units: 25.00, what a correspondent bank keeps of a wire
SHORT_PAY = 4_500  # 45.00: above the bank-charge limit, within the 50.00 / 2 % tolerance


def plant(
    rng: np.random.Generator, receipts: pd.DataFrame, applied: pd.DataFrame, paid: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give roles to receipts none of whose payments is applied by the end of the book.

    Their amounts may change (a bank charge or short-pay deducted) because nothing in the book
    applies them yet. Returns the receipts (``style``, ``mangle`` added: -1 = drawn as usual)
    and the planted cases: receipt row, rule, detail."""
    receipts = receipts.assign(style=-1, mangle=-1)
    waiting = np.setdiff1d(np.unique(paid["receipt"].to_numpy()), np.unique(applied["receipt"].to_numpy()))
    targets = paid.groupby("receipt")["target"].nunique()
    cust = receipts["cust"].to_numpy()
    pool = waiting[(cust[waiting] >= 0) & ~receipts["recovery"].to_numpy()[waiting]]
    pool = pool[np.argsort(rng.random(len(pool)), kind="stable")]
    amount = receipts["amount"].to_numpy().copy()
    identified = receipts["identified"].to_numpy().copy()
    style = receipts["style"].to_numpy().copy()
    mangle = receipts["mangle"].to_numpy().copy()
    used: set[int] = set()
    cases = []
    for rule, detail, least in ROLES:
        fits = [
            r
            for r in pool
            if r not in used
            and (targets.get(r, 0) >= least if rule == "combination" else targets.get(r, 0) == 1)
            and (targets.get(r, 0) <= 5)
            and (rule != "tolerance" or amount[r] >= 500_000)
            and identified[r]
        ]
        if not fits:
            continue
        r = int(fits[0])
        used.add(r)
        style[r] = CLEAN if detail == "clean" else MANGLED if rule == "remittance" else ABSENT
        mangle[r] = MANGLE_OF.get(detail, -1)
        identified[r] = identified[r] and rule != "payer_name"
        if rule == "tolerance":
            amount[r] -= BANK_CHARGE if detail == "bank charge" else SHORT_PAY
        cases.append({"row": r, "rule": rule, "detail": detail})
    receipts = receipts.assign(amount=amount, identified=identified, style=style, mangle=mangle)
    return receipts, pd.DataFrame(cases, columns=["row", "rule", "detail"])
