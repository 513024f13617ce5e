"""A synthetic cash application workload: unapplied receipts against open documents.

Built directly as the frames :func:`closelib.areas.cashapp.match.propose` takes (the demo book
has a few dozen unapplied receipts at a month end, far from the load a shared-service centre
sees). Customers are skewed (the largest holds about 3 % of all open documents, tens of
thousands), so the bounded combination search is exercised where it could explode. Receipts
are a mix: remittance naming documents (exact and mangled), one document's exact amount,
combinations of the customer's oldest documents, short payments within tolerance, unidentified
receipts with payer names, and noise no rule should match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WORDS = np.array(
    [
        *("Acme", "Borealis", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper", "Keystone"),
        *(
            "Lumen",
            "Mosaic",
            "Nimbus",
            "Orchid",
            "Pioneer",
            "Quartz",
            "Riverside",
            "Summit",
            "Titan",
            "Vertex",
            "Zenith",
        ),
    ]
)
KINDS = ["Data", "Cloud", "Networks", "Logistics", "Health", "Media", "Capital", "Systems", "Foods", "Energy"]


def _ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), 7, "0")
    return np.asarray(pc.binary_join_element_wise(prefix, text, "").to_numpy(zero_copy_only=False), dtype=object)


def workload(receipts: int, documents: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = max(10, documents // 20)
    cust = np.minimum((customers * rng.random(documents) ** 3).astype("int64"), customers - 1)
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 640, documents), unit="D")
    amount = rng.integers(100, 50_000, documents).astype("int64") * 100 + rng.integers(0, 100, documents) * (
        rng.random(documents) < 0.3
    )
    customer_ids = _ids("C", np.arange(customers))
    targets = pd.DataFrame(
        {
            "document_id": _ids("US01-INV-", np.arange(documents)),
            "entity": "US01",
            "currency": "USD",
            "customer_id": customer_ids[cust],
            "doc_type": "INV",
            "document_date": day,
            "due_date": day + pd.Timedelta(days=30),
            "open_amount": amount,
        }
    ).sort_values(["document_date", "due_date", "document_id"], kind="stable", ignore_index=True)
    names = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "name": WORDS[rng.integers(0, len(WORDS), customers)].astype(object)
            + " "
            + np.array(KINDS, dtype=object)[rng.integers(0, len(KINDS), customers)]
            + " "
            + _ids("", np.arange(customers))
            + " Inc.",
        }
    )

    # a customer's oldest documents (for combinations): rank within customer, oldest first
    rank = targets.groupby("customer_id", sort=False).cumcount().to_numpy()
    pick = rng.integers(0, documents, receipts)
    u = rng.random(receipts)
    kind = np.select([u < 0.35, u < 0.6, u < 0.75, u < 0.8, u < 0.85], [0, 1, 2, 3, 4], default=5)
    open_ = targets["open_amount"].to_numpy()
    doc_ids = targets["document_id"].to_numpy()
    cust_of = targets["customer_id"].to_numpy()
    first_of = targets.index.to_series().groupby(targets["customer_id"], sort=False).transform("first").to_numpy()
    by_customer_rank = pd.Series(np.arange(documents), index=pd.MultiIndex.from_arrays([cust_of, rank]))
    # combinations: the customer's two or three oldest documents
    width = rng.integers(2, 4, receipts)
    second = by_customer_rank.reindex(pd.MultiIndex.from_arrays([cust_of[pick], np.ones(receipts, int)])).to_numpy()
    third = by_customer_rank.reindex(pd.MultiIndex.from_arrays([cust_of[pick], np.full(receipts, 2)])).to_numpy()
    oldest = first_of[pick]
    combo_ok = ~np.isnan(second) & ((width == 2) | ~np.isnan(third))
    combo = open_[oldest] + np.where(np.isnan(second), 0, open_[np.nan_to_num(second).astype(int)])
    combo = combo + np.where((width == 3) & ~np.isnan(third), open_[np.nan_to_num(third).astype(int)], 0)
    amount_r = np.select(
        [kind == 0, kind == 1, (kind == 2) & combo_ok, kind == 3, kind == 4],
        [open_[pick], open_[pick], combo, open_[pick] - rng.integers(1, 20, receipts) * 100, open_[pick]],
        default=rng.integers(100, 50_000, receipts) * 100 + 17,
    )
    mangled = np.char.replace(doc_ids[pick].astype(str), "US01-", "")
    remittance = np.where(
        kind == 0, np.where(rng.random(receipts) < 0.6, "INV " + doc_ids[pick].astype(str), mangled), ""
    )
    unidentified = kind == 4
    payer = np.where(
        unidentified, np.char.upper(names["name"].to_numpy(dtype=str)[np.searchsorted(customer_ids, cust_of[pick])]), ""
    )
    sources = pd.DataFrame(
        {
            "source_id": _ids("US01-RCP-", np.arange(receipts)),
            "source_kind": "receipt",
            "entity": "US01",
            "currency": "USD",
            "customer_id": np.where(unidentified, "", cust_of[pick]),
            "date": pd.Timestamp("2026-10-20"),
            "available": amount_r.astype("int64"),
            "remittance": remittance.astype(object),
            "payer_name": payer.astype(object),
            "age_days": 11,
        }
    )
    return sources, targets, names
