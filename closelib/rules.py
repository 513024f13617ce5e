"""Cross-table rules of the contract: foreign keys, signs, currencies, over-application.

Each rule is a small function over parsed frames that appends problems to a Collector.
Row numbers are spreadsheet rows of the file the problem is in (position + 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from closelib import money
from closelib.validate import Collector, parse_currency


def _ok(out: Collector, file: str, frame: pd.DataFrame, *columns: str) -> np.ndarray:
    """Rows whose ``columns`` parsed without a problem (cross-table rules check only these)."""
    ok = np.ones(len(frame), dtype=bool)
    for column in columns:
        ok &= ~out.flagged(file, column, len(frame))
    return ok


def _shown(out: Collector, file: str, frame: pd.DataFrame, column: str) -> pd.Series:
    """The column's cells as written in the file (money as typed, not in minor units)."""
    return out.written(file, column, frame[column].astype(str))


def resolve_currencies(table: str, raw: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Per-row currency for money columns whose currency lives in another table."""
    def lookup(ids: pd.Series, mapping: pd.Series) -> pd.Series:
        return ids.astype(str).str.strip().map(mapping)

    doc_ccy = frames["documents"].set_index("document_id")["currency"] if "documents" in frames else pd.Series(dtype=object)
    doc_ccy = doc_ccy[~doc_ccy.index.duplicated()]
    if table == "applications":
        rc = frames["receipts"].set_index("receipt_id")["currency"] if "receipts" in frames else pd.Series(dtype=object)
        both = pd.concat([rc[~rc.index.duplicated()], doc_ccy])
        both = both[~both.index.duplicated()]
        return {"amount": lookup(raw["source_id"], both)}
    if table == "adjustments":
        return {"amount": lookup(raw["document_id"], doc_ccy)}
    if table == "activities":
        cust = frames["customers"].set_index("customer_id")["credit_currency"] if "customers" in frames else pd.Series(dtype=object)
        cust = cust[~cust.index.duplicated()]
        by_doc = lookup(raw["document_id"], doc_ccy)
        by_customer = lookup(raw["customer_id"], cust)
        return {"promised_amount": by_doc.astype(object).where(by_doc.notna(), by_customer.astype(object))}
    if table == "gl_journal":
        ccy = entity_currencies(frames)
        column = lookup(raw["entity"], ccy)
        return {"debit": column, "credit": column}
    return {}


def entity_currencies(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """entity -> functional currency: the entities table, else the GL's, else the documents'."""
    if "entities" in frames:
        ent = frames["entities"]
        return ent.drop_duplicates("entity").set_index("entity")["functional_currency"]
    parts = []
    for name in ("gl_balances", "documents", "receipts"):
        if name in frames:
            parts.append(frames[name][["entity", "currency"]])
    if not parts:
        return pd.Series(dtype=object)
    pairs = pd.concat(parts).drop_duplicates()
    single = pairs.groupby("entity")["currency"].agg(lambda s: s.iloc[0] if len(s) == 1 else None)
    return single.dropna()


def check_all(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    """Every cross-table rule whose tables parsed; skipped rules would only echo earlier problems."""
    has = frames.__contains__
    if has("customers"):
        _customers(frames["customers"], files["customers"], out)
    if has("documents") and has("customers"):
        _documents(frames, files["documents"], out)
    if has("receipts") and has("customers"):
        _receipts(frames, files["receipts"], out)
    _entities(frames, files, out)
    if has("applications") and has("documents") and has("receipts"):
        _applications(frames, files, out)
    if has("adjustments") and has("documents"):
        _adjustments(frames, files["adjustments"], out)
    if has("disputes") and has("customers"):
        _disputes(frames, files["disputes"], out)
    if has("activities") and has("customers"):
        _activities(frames, files["activities"], out)
    if has("financials") and has("customers"):
        _foreign(frames["financials"], "customer_id", frames["customers"]["customer_id"],
                 files["financials"], "customer", out)
    if has("gl_balances"):
        _gl_balances(frames["gl_balances"], files["gl_balances"], out)
    if has("gl_journal"):
        _gl_journal(frames["gl_journal"], files["gl_journal"], out)


def _foreign(frame: pd.DataFrame, column: str, valid: pd.Series, file: str, what: str, out: Collector,
             optional: bool = False) -> None:
    values = frame[column]
    bad = ~values.isin(valid) & _ok(out, file, frame, column)
    if optional:
        bad &= values != ""
    out.rows(file, bad, column, "foreign_key", f"no {what} with this id", values)


def _customers(cust: pd.DataFrame, file: str, out: Collector) -> None:
    _foreign(cust, "parent_id", cust["customer_id"], file, "parent customer", out, optional=True)
    out.rows(file, (cust["credit_limit"] < 0) & _ok(out, file, cust, "credit_limit"), "credit_limit",
             "non_negative", "credit limit must be >= 0", _shown(out, file, cust, "credit_limit"))


def _documents(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    docs = frames["documents"]
    _foreign(docs, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    debit = docs["doc_type"].isin(["INV", "DM"])
    ok = _ok(out, file, docs, "amount", "doc_type")
    written = _shown(out, file, docs, "amount")
    out.rows(file, ok & debit & (docs["amount"] <= 0), "amount", "sign",
             "INV and DM amounts must be > 0", docs["doc_type"] + " " + written)
    out.rows(file, ok & (docs["doc_type"] == "CM") & (docs["amount"] >= 0), "amount", "sign",
             "CM amounts must be < 0", "CM " + written)
    out.rows(file, docs["due_date"] < docs["document_date"], "due_date", "due_after_document",
             "due_date is before document_date", docs["due_date"].dt.strftime("%Y-%m-%d"))


def _receipts(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    rec = frames["receipts"]
    _foreign(rec, "customer_id", frames["customers"]["customer_id"], file, "customer", out, optional=True)
    out.rows(file, (rec["amount"] <= 0) & _ok(out, file, rec, "amount"), "amount", "sign",
             "receipt amounts must be > 0", _shown(out, file, rec, "amount"))


def _entities(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    users = [n for n in ("documents", "receipts", "gl_balances", "gl_journal") if n in frames]
    if "entities" in frames:
        valid = frames["entities"]["entity"]
        for name in users:
            _foreign(frames[name], "entity", valid, files[name], "entity in entities", out)
        return
    # Without an entities table each entity uses the one currency of its documents; its
    # receipts and GL balances must then be in that currency too.
    parts = [frames[n][["entity", "currency"]].assign(_file=files[n])
             for n in ("documents", "receipts", "gl_balances") if n in frames]
    if not parts:
        return
    pairs = pd.concat(parts, ignore_index=True)
    pairs = pairs[(pairs["entity"] != "") & pairs["currency"].isin(list(money.MINOR_UNITS))]
    counts = pairs.groupby("entity")["currency"].nunique()
    for entity in counts[counts > 1].index:
        mine = pairs[pairs["entity"] == entity].drop_duplicates(["currency", "_file"])
        where = "; ".join(f"{ccy} in {', '.join(sorted(group['_file']))}"
                          for ccy, group in mine.groupby("currency"))
        file = files["documents"] if "documents" in frames else mine["_file"].iloc[0]
        out.add(file, None, "currency", "entity_currency",
                f"entity {entity!r} uses {counts[entity]} currencies ({where}); add an entities table "
                "naming its functional currency (and fx_rates)", entity)


def _applications(frames: dict[str, pd.DataFrame], files: dict[str, str], out: Collector) -> None:
    file = files["applications"]
    app = frames["applications"]
    # Documents and receipts whose amount and currency parsed: only those are compared
    # (a bad amount or currency is reported once, in its own file, not again here).
    docs = frames["documents"].assign(
        _sound=_ok(out, files["documents"], frames["documents"], "amount", "currency", "doc_type"))
    rec = frames["receipts"].assign(_sound=_ok(out, files["receipts"], frames["receipts"], "amount", "currency"))
    docs = docs.drop_duplicates("document_id").set_index("document_id")
    rec = rec.drop_duplicates("receipt_id").set_index("receipt_id")
    cms = docs[docs["doc_type"] == "CM"]
    targets = docs[docs["doc_type"].isin(["INV", "DM"])]
    src_is_receipt = app["source_id"].isin(rec.index)
    src_is_cm = app["source_id"].isin(cms.index)
    src_ok = src_is_receipt | src_is_cm
    out.rows(file, ~src_ok & _ok(out, file, app, "source_id"), "source_id", "foreign_key",
             "source must be a receipt or a credit memo (CM)", app["source_id"])
    tgt_ok = app["target_id"].isin(targets.index)
    out.rows(file, ~tgt_ok & _ok(out, file, app, "target_id"), "target_id", "foreign_key",
             "target must be an invoice (INV) or debit memo (DM)", app["target_id"])
    amount_ok = pd.Series(_ok(out, file, app, "amount"), index=app.index)
    sound = pd.concat([rec["_sound"], cms["_sound"]])
    src_sound = app["source_id"].map(sound[~sound.index.duplicated()]).eq(True) & amount_ok
    tgt_sound = app["target_id"].map(targets["_sound"]).eq(True) & amount_ok
    out.rows(file, (app["amount"] <= 0) & _ok(out, file, app, "amount"), "amount", "sign",
             "applied amounts must be > 0", _shown(out, file, app, "amount"))

    def of_source(receipt_column: str, cm_column: str) -> pd.Series:
        # One lookup over receipts then CMs (a receipt id wins), whatever matches or not.
        both = pd.concat([rec[receipt_column], cms[cm_column]])
        return app["source_id"].map(both[~both.index.duplicated()])

    src_ccy = of_source("currency", "currency")
    src_ent = of_source("entity", "entity")
    src_date = of_source("receipt_date", "document_date")
    tgt_ccy = app["target_id"].map(targets["currency"])
    both = src_ok & tgt_ok
    out.rows(file, both & src_sound & tgt_sound & (src_ccy != tgt_ccy), "target_id", "same_currency",
             "source and target are in different currencies", src_ccy.fillna("").astype(str) + " -> " + tgt_ccy.fillna("").astype(str))
    out.rows(file, both & (src_ent != app["target_id"].map(targets["entity"])), "target_id", "same_entity",
             "source and target belong to different entities", app["target_id"])
    early = src_ok & (app["applied_date"] < src_date)
    out.rows(file, early, "applied_date", "applied_before_source",
             "applied before the receipt or credit memo is dated", app["applied_date"].dt.strftime("%Y-%m-%d"))
    early_t = tgt_ok & (app["applied_date"] < app["target_id"].map(targets["document_date"]))
    out.rows(file, early_t, "applied_date", "applied_before_target",
             "applied before the target document is dated", app["applied_date"].dt.strftime("%Y-%m-%d"))

    # Over-application: flag the row where the running total (in file order) first passes
    # the source's or target's amount.
    cap = pd.concat([rec["amount"], -cms["amount"]])
    src_cap = app["source_id"].map(cap[~cap.index.duplicated()])
    comparable = tgt_ok & src_sound & tgt_sound & (src_ccy == tgt_ccy)  # amount is in the target's currency
    _over(app, "source_id", src_cap, src_ccy, src_ok & src_sound, file, "over_applied_source",
          "source applied beyond its amount", out)
    _over(app, "target_id", app["target_id"].map(targets["amount"]), tgt_ccy, comparable, file,
          "over_applied_target", "target applied beyond its amount", out)
    adjustments = frames.get("adjustments")
    if adjustments is not None:
        adj = adjustments.groupby("document_id")["amount"].sum()
        applied = app[comparable].groupby("target_id")["amount"].sum()
        targets = targets[targets["_sound"]]
        final = targets["amount"].sub(applied, fill_value=0).add(adj.reindex(targets.index).fillna(0))
        negative = final[final < 0]
        for doc_id, value in negative.items():
            out.add(file, None, "target_id", "over_cleared",
                    f"applications and adjustments clear document {doc_id} beyond its amount "
                    f"(open would be {_format(int(value), targets.at[doc_id, 'currency'])})", doc_id)


def _format(minor: int, currency: str) -> str:
    return money.format_minor(minor, currency if money.is_currency(str(currency)) else "KWD")


def _over(app: pd.DataFrame, column: str, cap: pd.Series, currency: pd.Series, valid: pd.Series, file: str,
          rule: str, message: str, out: Collector) -> None:
    running = app["amount"].where(valid, 0).groupby(app[column]).cumsum()
    over = valid & (running > cap)
    first_over = over & (over.groupby(app[column]).cumsum() == 1)
    if not first_over.any():
        return
    ccy = parse_currency(currency, app.index)[first_over]
    text = pd.Series("", index=app.index)
    text[first_over] = (message + ": applied so far " + money.format_minor_array(running[first_over], ccy).to_numpy()
                        + ", amount " + money.format_minor_array(cap[first_over].astype("int64"), ccy).to_numpy())
    out.rows(file, first_over, "amount", rule, text, app[column])


def _adjustments(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    adj = frames["adjustments"]
    _foreign(adj, "document_id", frames["documents"]["document_id"], file, "document", out)
    ok = _ok(out, file, adj, "amount")
    written = _shown(out, file, adj, "amount")
    out.rows(file, ok & (adj["amount"] == 0), "amount", "non_zero", "adjustment amount must not be zero", written)
    out.rows(file, ok & (adj["type"] == "write_off") & (adj["amount"] > 0), "amount", "sign",
             "a write_off lowers the open amount: amount must be negative", written)
    out.rows(file, ok & (adj["type"] == "recovery") & (adj["amount"] < 0), "amount", "sign",
             "a recovery reinstates the open amount: amount must be positive", written)


def _disputes(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    dis = frames["disputes"]
    _foreign(dis, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        _foreign(dis, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
    closed = dis["status"].isin(["resolved", "rejected"])
    out.rows(file, closed & dis["closed_date"].isna(), "closed_date", "closed_date_required",
             "resolved and rejected cases need a closed_date", dis["status"])
    out.rows(file, (dis["status"] == "open") & dis["closed_date"].notna(), "closed_date", "open_has_closed_date",
             "an open case must not have a closed_date", dis["closed_date"].dt.strftime("%Y-%m-%d"))
    out.rows(file, dis["closed_date"] < dis["opened_date"], "closed_date", "closed_before_opened",
             "closed before it was opened", dis["closed_date"].dt.strftime("%Y-%m-%d"))


def _activities(frames: dict[str, pd.DataFrame], file: str, out: Collector) -> None:
    act = frames["activities"]
    _foreign(act, "customer_id", frames["customers"]["customer_id"], file, "customer", out)
    if "documents" in frames:
        _foreign(act, "document_id", frames["documents"]["document_id"], file, "document", out, optional=True)
    promise = act["type"] == "promise_to_pay"
    out.rows(file, promise & act["promised_date"].isna(), "promised_date", "promise_needs_date",
             "a promise_to_pay needs a promised_date")


def _gl_balances(gl: pd.DataFrame, file: str, out: Collector) -> None:
    for column in ("debit", "credit"):
        out.rows(file, (gl[column] < 0) & _ok(out, file, gl, column), column, "non_negative",
                 f"{column} must be >= 0", _shown(out, file, gl, column))


def _gl_journal(jr: pd.DataFrame, file: str, out: Collector) -> None:
    for column in ("debit", "credit"):
        out.rows(file, (jr[column] < 0) & _ok(out, file, jr, column), column, "non_negative",
                 f"{column} must be >= 0", _shown(out, file, jr, column))
    net = (jr["debit"] - jr["credit"]).groupby([jr["entity"], jr["journal_id"]]).sum()
    for (entity, journal), value in net[net != 0].items():
        out.add(file, None, "journal_id", "journal_balances",
                f"journal {journal} of entity {entity} does not balance (debits - credits = {value} minor units)",
                journal)
