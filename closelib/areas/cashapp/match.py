"""The rules in order, each drawing on what the earlier ones left (see :mod:`.allocate`).

1. ``remittance``: the remittance text (a credit memo's reference and description) names open
   documents of the customer, exactly or mangled (:mod:`.ids`); the source is applied to them
   oldest first, as far as it goes. An unidentified receipt takes the customer whose documents
   its remittance names (the one named most, when several are).
2. ``exact_amount``: one open document of the customer with exactly the amount.
3. ``combination``: 2..``max_combination`` of the customer's oldest documents summing exactly.
4. ``tolerance`` (receipts only): one document or a combination within tolerance; the
   difference proposed as a bank charge or short-pay adjustment.
5. ``payer_name`` (unidentified receipts): the customers the payer name resembles, then rules
   2 and 3 on their documents.

A source one rule applied is left alone by the later rules (its remainder, if any, waits in the
worklist): a customer who named what they pay is not second-guessed by an amount rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closelib.areas.cashapp import ids, names, rules
from closelib.areas.cashapp.allocate import Ledger, over_applied
from closelib.areas.cashapp.candidates import RECEIPT, Policy

RULES = ("remittance", "exact_amount", "combination", "tolerance", "payer_name")
RULE_TEXT = {
    "remittance": "remittance names the documents",
    "exact_amount": "one open document of exactly the amount",
    "combination": "open documents summing exactly to the amount",
    "tolerance": "within tolerance, the difference as an adjustment",
    "payer_name": "unidentified: payer name and amount",
}


@dataclass
class Proposals:
    sources: pd.DataFrame  # with ``remaining`` (minor units left after the proposals)
    targets: pd.DataFrame  # with ``remaining``
    lines: pd.DataFrame  # src, tgt, amount, rule, confidence, reason
    adjustments: pd.DataFrame  # src, tgt, amount, kind
    name_candidates: pd.DataFrame  # src, customer_id, name, score (near misses included)
    problems: list[str]


KEY_COLUMNS = ["entity", "currency", "customer_id"]


def customer_keys(sources: pd.DataFrame, targets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """One integer per (entity, currency, customer) for sources and targets (the rules join on
    it, never on text), and the table of keys (with ``ckey``) for customers found by name."""
    both = pd.concat([targets[KEY_COLUMNS], sources[KEY_COLUMNS]], ignore_index=True)
    codes = both.groupby(KEY_COLUMNS, sort=False).ngroup().to_numpy(dtype="int64")
    table = both.assign(ckey=codes).drop_duplicates("ckey")
    return codes[len(targets) :], codes[: len(targets)], table


def _customer_candidates(sources: pd.DataFrame, free: np.ndarray, kinds: tuple[str, ...]) -> pd.DataFrame:
    chosen = sources.iloc[free]
    chosen = chosen[(chosen["customer_id"] != "") & chosen["source_kind"].isin(kinds)]
    return pd.DataFrame(
        {
            "src": chosen.index.to_numpy(),
            "currency": chosen["currency"].to_numpy(),
            "ckey": chosen["ckey"].to_numpy(),
            "score": 100.0,
        }
    )


def _remittance(ledger: Ledger, sources: pd.DataFrame, targets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    with_text = sources[sources["remittance"] != ""]
    texts = pd.DataFrame(
        {"src": with_text.index.to_numpy(), "entity": with_text["entity"].to_numpy(), "text": with_text["remittance"]}
    )
    documents = pd.DataFrame(
        {"tgt": np.arange(len(targets)), "entity": targets["entity"].to_numpy(), "document_id": targets["document_id"]}
    )
    named = ids.named_documents(texts, documents, allow_bare=(with_text["source_kind"] == RECEIPT).to_numpy())
    if named.empty:
        return ledger.take_partial(pd.DataFrame(columns=["src", "tgt", "rule", "confidence", "reason"]))
    src = named["src"].to_numpy(dtype="int64")
    tgt = named["tgt"].to_numpy(dtype="int64")
    named["doc_customer"] = targets["customer_id"].to_numpy()[tgt]
    own = sources["customer_id"].to_numpy()[src]
    same_ccy = sources["currency"].to_numpy()[src] == targets["currency"].to_numpy()[tgt]
    # An unidentified receipt takes the customer it names most (first named on a tie).
    counts = named[own == ""].groupby(["src", "doc_customer"], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values(["src", "n"], ascending=[True, False], kind="stable").drop_duplicates("src")
    taken = dict(zip(counts["src"], counts["doc_customer"], strict=False))
    customer = np.where(own == "", pd.Series(src).map(taken).astype(object).fillna("").to_numpy(), own)
    named = named[(named["doc_customer"].to_numpy() == customer) & same_ccy]
    named = named.sort_values(["src", "tgt"], kind="stable")
    unidentified = sources["customer_id"].to_numpy()[named["src"].to_numpy()] == ""
    named["rule"] = "remittance"
    named["reason"] = (
        "remittance names "
        + targets["document_id"].to_numpy()[named["tgt"].to_numpy()]
        + " ("
        + named["how"]
        + ": "
        + named["written"]
        + ")"
        + np.where(unidentified, "; unidentified receipt: the customer of the documents it names", "")
    )
    booked = ledger.take_partial(named[["src", "tgt", "rule", "confidence", "reason"]])
    _short_of_named(ledger, sources, targets, named, policy)
    return booked


def _short_of_named(
    ledger: Ledger, sources: pd.DataFrame, targets: pd.DataFrame, named: pd.DataFrame, policy: Policy
) -> None:
    """A receipt that named its documents and paid them within tolerance of their total: what
    it left open on them is proposed as a bank charge or short-pay, as the tolerance rule does.
    A document named by two receipts is left to the worklist (whose shortfall it is, is not known)."""
    named = named[sources["source_kind"].to_numpy()[named["src"].to_numpy(dtype="int64")] == RECEIPT]
    named = named[~named["tgt"].duplicated(keep=False)]
    src = named["src"].to_numpy(dtype="int64")
    tgt = named["tgt"].to_numpy(dtype="int64")
    left = pd.DataFrame(
        {"src": src, "tgt": tgt, "left": ledger.open[tgt], "owed": targets["open_amount"].to_numpy()[tgt]}
    )
    per = left.groupby("src").agg(left=("left", "sum"), owed=("owed", "sum"))
    currency = sources["currency"].iloc[per.index.to_numpy()]
    numerator, denominator = policy.percent_fraction()
    owed = per["owed"].to_numpy(dtype="int64")
    share = (owed // denominator) * numerator + (owed % denominator) * numerator // denominator
    allowed = np.minimum(rules.per_currency(currency, policy.absolute), share)
    used = ledger.available[per.index.to_numpy()] == 0
    short = per.index.to_numpy()[used & (per["left"].to_numpy() > 0) & (per["left"].to_numpy() <= allowed)]
    charge = dict(zip(per.index, rules.per_currency(currency, policy.bank_charge), strict=True))
    lines = left[left["src"].isin(short) & (left["left"] > 0)]
    total = lines.groupby("src")["left"].transform("sum").to_numpy()
    kind = np.where(total <= lines["src"].map(charge).to_numpy(), "bank charge", "short-pay")
    ledger.adjust(pd.DataFrame({"src": lines["src"], "tgt": lines["tgt"], "amount": lines["left"], "kind": kind}))


def propose(sources: pd.DataFrame, targets: pd.DataFrame, customers: pd.DataFrame, policy: Policy) -> Proposals:
    """Every rule in order over ``sources`` and ``targets`` (:mod:`.candidates`)."""
    sources = sources.reset_index(drop=True)
    targets = targets.reset_index(drop=True)
    source_key, target_key, keys = customer_keys(sources, targets)
    sources = sources.assign(ckey=source_key)
    targets = targets.assign(ckey=target_key)
    ledger = Ledger.start(sources, targets)
    _remittance(ledger, sources, targets, policy)
    both = (RECEIPT, "credit memo")
    rules.exact_single(
        ledger,
        _customer_candidates(sources, ledger.free_sources(), both),
        targets,
        "exact_amount",
        "an open document of the customer of exactly this amount",
        0.9,
        0.75,
    )
    rules.combination(
        ledger,
        _customer_candidates(sources, ledger.free_sources(), both),
        targets,
        policy,
        "combination",
        "combination",
    )
    rules.tolerance(
        ledger,
        _customer_candidates(sources, ledger.free_sources(), (RECEIPT,)),
        targets,
        policy,
        "tolerance",
        "tolerance",
    )
    free = sources.iloc[ledger.free_sources()]
    payers = free[(free["customer_id"] == "") & (free["payer_name"] != "") & (free["source_kind"] == RECEIPT)]
    everyone = sources[(sources["customer_id"] == "") & (sources["payer_name"] != "")]
    shown = names.candidates(
        pd.DataFrame({"src": everyone.index.to_numpy(), "payer_name": everyone["payer_name"]}),
        customers[["customer_id", "name"]],
        policy.name_threshold,
        policy.exclude_names,
        keep_below=True,
    )
    close = shown[(shown["score"] >= policy.name_threshold) & shown["src"].isin(payers.index)]
    candidates = close.assign(
        entity=sources["entity"].to_numpy()[close["src"].to_numpy()],
        currency=sources["currency"].to_numpy()[close["src"].to_numpy()],
        reason_extra="; payer "
        + sources["payer_name"].to_numpy()[close["src"].to_numpy()]
        + " taken for customer "
        + close["customer_id"]
        + " "
        + close["name"].astype(str)
        + " (name score "
        + close["score"].round(0).astype(int).astype(str)
        + ")",
    )
    candidates = candidates.merge(keys[[*KEY_COLUMNS, "ckey"]], on=KEY_COLUMNS)
    rules.exact_single(
        ledger, candidates, targets, "payer_name", "unidentified: one open document of exactly the amount", 0.9, 0.75
    )
    rules.combination(ledger, candidates, targets, policy, "payer_name", "unidentified: combination")
    lines = ledger.proposals()
    adjustments = ledger.adjustments()
    available = sources["available"].to_numpy(dtype="int64")
    open_amount = targets["open_amount"].to_numpy(dtype="int64")
    problems = over_applied(lines, available, open_amount, adjustments)
    sources = sources.assign(remaining=ledger.available.copy()).drop(columns="ckey")
    targets = targets.assign(remaining=ledger.open.copy()).drop(columns="ckey")
    return Proposals(sources, targets, lines, adjustments, shown, problems)
