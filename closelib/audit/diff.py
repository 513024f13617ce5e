"""``close diff RUN_A RUN_B``: what differs between two runs (CONTRACT §4).

- figures changed (old, new, change), added and removed; money figures are decimal
  strings and their change is computed with :class:`~decimal.Decimal`;
- checks whose outcome (PASS, FAIL or WARN) changed, were added or removed; a check that kept
  its outcome with another detail is only counted (``detail_changed``; its details are in --json);
- parameters changed, as flattened dotted keys (lists are compared whole);
- for each input table whose file hash differs: rows added, removed and changed by the
  table's key (CONTRACT §1), with the changed columns' old and new values. Both runs'
  stored ``inputs/`` are loaded as typed books and compared with one outer merge per
  table (money compared in minor units, shown as decimal text). A table without a key
  (``gl_journal``) is compared as a multiset of whole rows: only added and removed.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from closelib import money
from closelib.book.currencies import resolve_currencies
from closelib.book.load import load_book
from closelib.book.model import Book
from closelib.book.schema import TABLES
from closelib.runner.runfolder import read_manifest

_ABSENT = object()
TEXT_ROWS = 20


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def figure_change(old: object, new: object) -> str | int | float | None:
    """new - old: a decimal string for money (string) figures, a number for numeric ones."""
    a, b = _number(old), _number(new)
    if a is None or b is None:
        return None
    change = b - a
    if isinstance(old, str) or isinstance(new, str):
        return f"{change:+f}"
    if isinstance(old, int) and isinstance(new, int):
        return int(change)
    return float(change)


def flatten(data: object, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and scalars are leaves."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    flat: dict = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _mapping_diff(old: dict, new: dict) -> dict:
    changed, added, removed = {}, {}, {}
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, _ABSENT), new.get(name, _ABSENT)
        if a is _ABSENT:
            added[name] = b
        elif b is _ABSENT:
            removed[name] = a
        elif a != b or type(a) is not type(b):
            changed[name] = {"old": a, "new": b}
    return {"changed": changed, "added": added, "removed": removed}


def _display_rows(book: Book, name: str, idx: np.ndarray) -> pd.DataFrame:
    """Rows ``idx`` (positions) of the table, money as decimal text in the row's currency,
    dates as ISO text: only the rows a report shows are formatted, never the whole table."""

    frame = book.tables[name].iloc[idx]
    table = TABLES[name]
    shown = frame.copy()
    resolved = None
    for column in table.columns:
        if column.name not in shown.columns:
            continue
        if column.kind == "money":
            rule = table.money_currency.get(column.name, "")
            if rule.startswith("@"):
                if resolved is None:
                    resolved = resolve_currencies(name, frame, book.tables)
                ccy = resolved.get(column.name)
            else:
                ccy = frame[rule] if rule in frame.columns else None
            values = frame[column.name]
            if ccy is None or len(values) == 0:
                continue
            ccy = pd.Series(ccy, index=frame.index)
            ok = values.notna() & ccy.notna() & ccy.isin(list(money.MINOR_UNITS))
            text = pd.Series(None, index=frame.index, dtype=object)
            if ok.any():
                text[ok] = money.format_minor_array(values[ok].astype("int64"), ccy[ok]).to_numpy()
            shown[column.name] = text.where(ok, values.astype(object))
        elif column.kind == "date":
            shown[column.name] = frame[column.name].dt.strftime("%Y-%m-%d").astype(object)
    return shown


def _plain(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _key_text(row: dict, key: list[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in key)


def diff_table(book_a: Book, book_b: Book, name: str) -> dict:
    """Rows added, removed and changed (by key) between two books' ``name`` tables."""
    table = TABLES[name]
    a, b = book_a.tables[name], book_b.tables[name]
    key = list(table.key)
    shared = [c for c in a.columns if c in b.columns]
    columns_added = [c for c in b.columns if c not in a.columns]
    columns_removed = [c for c in a.columns if c not in b.columns]
    keyed = bool(key)
    if not keyed:
        key = [c for c in table.column_names if c in shared]
    left = a[shared].copy()
    right = b[shared].copy()
    # duplicated keys (or identical whole rows without a key) pair up in order of appearance
    left["_n"] = left.groupby(key, sort=False, dropna=False).cumcount()
    right["_n"] = right.groupby(key, sort=False, dropna=False).cumcount()
    left["_ia"] = np.arange(len(left))
    right["_ib"] = np.arange(len(right))
    on = [*key, "_n"]
    merged = left.merge(right, on=on, how="outer", suffixes=("_a", "_b"), indicator=True, sort=False)
    values = [c for c in shared if c not in key]
    added_idx = merged.loc[merged["_merge"] == "right_only", "_ib"].astype("int64").to_numpy()
    removed_idx = merged.loc[merged["_merge"] == "left_only", "_ia"].astype("int64").to_numpy()
    both = merged[merged["_merge"] == "both"]
    flags = {}
    for column in values:
        x, y = both[f"{column}_a"], both[f"{column}_b"]
        differs = ~((x == y).fillna(False).astype(bool) | (x.isna() & y.isna()))
        flags[column] = differs.to_numpy(dtype=bool)
    any_change = np.zeros(len(both), dtype=bool)
    for flag in flags.values():
        any_change |= flag
    changed = both[any_change]
    changed_flags = {c: f[any_change] for c, f in flags.items()}
    return {
        "table": name,
        "key": list(table.key),
        "keyed": keyed,
        "rows_a": len(a),
        "rows_b": len(b),
        "columns_added": columns_added,
        "columns_removed": columns_removed,
        "_added": (book_b, name, added_idx),
        "_removed": (book_a, name, removed_idx),
        "_changed": (
            book_a,
            book_b,
            name,
            changed["_ia"].astype("int64").to_numpy(),
            changed["_ib"].astype("int64").to_numpy(),
            changed_flags,
            values,
        ),
        "added_count": len(added_idx),
        "removed_count": len(removed_idx),
        "changed_count": len(changed),
    }


def _rows(where: tuple[Book, str, np.ndarray], limit: int | None) -> list[dict]:
    """The first ``limit`` of the rows ``where`` = (book, table, positions), as plain values."""
    book, name, idx = where
    picked = _display_rows(book, name, idx[:limit] if limit is not None else idx)
    return [{k: _plain(v) for k, v in row.items()} for row in picked.to_dict("records")]


def _changed_rows(detail: dict, limit: int | None) -> list[dict]:
    book_a, book_b, name, ia, ib, flags, values = detail["_changed"]
    key = detail["key"] or []
    if limit is not None:
        ia, ib = ia[:limit], ib[:limit]
        flags = {c: f[:limit] for c, f in flags.items()}
    rows_a = _display_rows(book_a, name, ia).to_dict("records")
    rows_b = _display_rows(book_b, name, ib).to_dict("records")
    out = []
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False)):  # only the changed rows shown, never the table
        columns = {c: {"old": _plain(ra[c]), "new": _plain(rb[c])} for c in values if flags[c][i]}
        out.append({"key": {k: _plain(ra[k]) for k in key}, "columns": columns})
    return out


def diff_runs(run_a: Path, run_b: Path, *, limit: int | None = None) -> dict:
    """The whole difference between two runs, as plain JSON-able data (``limit`` rows per list)."""

    ma, mb = read_manifest(Path(run_a)), read_manifest(Path(run_b))
    figures = _mapping_diff(ma.get("figures") or {}, mb.get("figures") or {})
    for entry in figures["changed"].values():
        entry["change"] = figure_change(entry["old"], entry["new"])
    co = {k: _check_entry(v) for k, v in (ma.get("checks") or {}).items()}
    cn = {k: _check_entry(v) for k, v in (mb.get("checks") or {}).items()}
    outcomes = _mapping_diff({k: v["outcome"] for k, v in co.items()}, {k: v["outcome"] for k, v in cn.items()})
    checks = {
        "changed": {name: {"old": co[name], "new": cn[name]} for name in outcomes["changed"]},
        "added": {name: cn[name] for name in outcomes["added"]},
        "removed": {name: co[name] for name in outcomes["removed"]},
        "detail_changed": {
            name: {"old": co[name], "new": cn[name]}
            for name in sorted(co.keys() & cn.keys())
            if name not in outcomes["changed"] and co[name]["detail"] != cn[name]["detail"]
        },
    }
    parameters = _mapping_diff(flatten(ma.get("parameters") or {}), flatten(mb.get("parameters") or {}))
    ia, ib = ma.get("inputs") or {}, mb.get("inputs") or {}
    changed_files: dict[str, dict[str, str]] = {}
    added_files: list[str] = []
    removed_files: list[str] = []
    tables_differing = []
    for file in sorted(set(ia) | set(ib)):
        sa, sb = (ia.get(file) or {}).get("sha256"), (ib.get(file) or {}).get("sha256")
        if sa != sb:
            if sa and sb:
                changed_files[file] = {"old": sa, "new": sb}
            elif sb:
                added_files.append(file)
            else:
                removed_files.append(file)
            tables_differing.append(Path(file).stem)
    files = {"changed": changed_files, "added": added_files, "removed": removed_files}
    tables = []
    errors = []
    names = sorted({t for t in tables_differing if t in TABLES})
    if names:
        books: tuple[Book, Book] | None
        try:
            books = load_book(Path(run_a) / "inputs"), load_book(Path(run_b) / "inputs")
        except Exception as exc:  # a stored input that no longer loads: say so, keep the rest
            books = None
            errors.append(f"could not load the stored inputs to compare rows: {exc}")
        if books is not None:
            book_a, book_b = books
            for name in names:
                detail = diff_table(book_a, book_b, name)
                tables.append(
                    {
                        "table": name,
                        "key": detail["key"] or None,
                        "rows_a": detail["rows_a"],
                        "rows_b": detail["rows_b"],
                        "columns_added": detail["columns_added"],
                        "columns_removed": detail["columns_removed"],
                        "added_count": detail["added_count"],
                        "removed_count": detail["removed_count"],
                        "changed_count": detail["changed_count"],
                        "added": _rows(detail["_added"], limit),
                        "removed": _rows(detail["_removed"], limit),
                        "changed": _changed_rows(detail, limit),
                    }
                )
    return {
        "a": {k: ma.get(k) for k in ("period", "run_id", "status", "restates", "reperforms", "reason")},
        "b": {k: mb.get(k) for k in ("period", "run_id", "status", "restates", "reperforms", "reason")},
        "figures": figures,
        "checks": checks,
        "parameters": parameters,
        "input_files": files,
        "tables": tables,
        "errors": errors,
        "identical": not any(
            [
                figures["changed"],
                figures["added"],
                figures["removed"],
                checks["changed"],
                checks["added"],
                checks["removed"],
                checks["detail_changed"],
                parameters["changed"],
                parameters["added"],
                parameters["removed"],
                files["changed"],
                files["added"],
                files["removed"],
            ]
        ),
    }


def outcome(check: dict) -> str:
    """PASS, FAIL (a failed error) or WARN (a failed warning): what a check's result means."""
    if check.get("passed"):
        return "PASS"
    return "FAIL" if check.get("severity", "error") == "error" else "WARN"


def _check_entry(check: dict) -> dict:
    return {"outcome": outcome(check), "passed": check.get("passed"), "detail": check.get("detail")}


def signed(change: object) -> str:
    """A change with its sign always shown, money with thousands separators: ``+1,250.00``,
    ``-3``, ``+0.0125``."""
    if isinstance(change, str):
        number = _number(change)
        return f"{number:+,f}" if number is not None else change
    if isinstance(change, bool) or not isinstance(change, (int, float)):
        return _short(change)
    if isinstance(change, int):
        return f"{change:+,}"
    return f"{Decimal(repr(change)):+,f}"


def _short(value: object) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def grouped(value: object) -> str:
    """A figure as a person reads it: a money figure (decimal text) with thousands separators and
    its decimals kept (``12500.00`` -> ``12,500.00``); anything else as :func:`_short` shows it."""
    if isinstance(value, str) and (number := _number(value)) is not None:
        return f"{number:,f}"
    return _short(value)


def _value_changes(section: dict, show=_short) -> list[str]:
    """Lines for a ``{changed, added, removed}`` mapping of named values (figures, parameters):
    ``name: old -> new`` (with the figure's signed ``change`` where it has one), then added and removed."""
    lines = []
    for name, e in section["changed"].items():
        change = f"  change {signed(e['change'])}" if e.get("change") is not None else ""
        lines.append(f"  {name}: {show(e['old'])} -> {show(e['new'])}{change}")
    for label in ("added", "removed"):
        for name, value in section[label].items():
            lines.append(f"  {label} {name}: {show(value)}")
    return lines


def diff_lines(result: dict, limit: int = TEXT_ROWS) -> list[str]:
    """The text report of :func:`diff_runs` (run with ``limit`` rows per table)."""
    a, b = result["a"], result["b"]
    out = [f"diff {a['run_id']} ({a['period']}, {a['status']}) -> {b['run_id']} ({b['period']}, {b['status']})"]
    if a["period"] != b["period"]:
        out.append(f"  note: the runs are for different periods ({a['period']}, {b['period']})")
    if b.get("restates") == a["run_id"]:
        out.append(f"  {b['run_id']} restates {a['run_id']}: {b.get('reason')}")
    elif a.get("restates") == b["run_id"]:
        out.append(f"  {a['run_id']} restates {b['run_id']}: {a.get('reason')}")
    fig = result["figures"]
    out.append(f"figures changed: {len(fig['changed'])}")
    out.extend(_value_changes(fig, grouped))
    chk = result["checks"]
    out.append(f"checks whose outcome changed: {len(chk['changed']) + len(chk['added']) + len(chk['removed'])}")
    for name, e in chk["changed"].items():
        out.append(f"  {name}: {e['old']['outcome']} -> {e['new']['outcome']} ({e['new']['detail']})")
    for label in ("added", "removed"):
        for name, e in chk[label].items():
            out.append(f"  {label} {name}: {e['outcome']} ({e['detail']})")
    if chk.get("detail_changed"):
        out.append(
            f"  {len(chk['detail_changed'])} check(s) kept their outcome with another detail (--json lists them)"
        )
    par = result["parameters"]
    out.append(f"parameters changed: {len(par['changed']) + len(par['added']) + len(par['removed'])}")
    out.extend(_value_changes(par))
    files = result["input_files"]
    count = len(files["changed"]) + len(files["added"]) + len(files["removed"])
    out.append(f"input files changed: {count}")
    for file in files["added"]:
        out.append(f"  added {file}")
    for file in files["removed"]:
        out.append(f"  removed {file}")
    for t in result["tables"]:
        key = ", ".join(t["key"]) if t["key"] else "whole rows (no key)"
        out.append(
            f"  {t['table']} (key {key}; {t['rows_a']} -> {t['rows_b']} rows): "
            f"{t['added_count']} added, {t['removed_count']} removed, {t['changed_count']} changed"
        )
        for c in t["columns_added"]:
            out.append(f"    column added: {c}")
        for c in t["columns_removed"]:
            out.append(f"    column removed: {c}")
        for row in t["changed"][:limit]:
            what = "; ".join(f"{c} {_short(v['old'])} -> {_short(v['new'])}" for c, v in row["columns"].items())
            out.append(f"    changed {_key_text(row['key'], list(row['key']))}: {what}")
        for label in ("added", "removed"):
            for row in t[label][:limit]:
                ident = _key_text(row, t["key"]) if t["key"] else ", ".join(f"{k}={v}" for k, v in row.items())
                out.append(f"    {label} {ident}")
        shown = min(limit, t["changed_count"]) + min(limit, t["added_count"]) + min(limit, t["removed_count"])
        total = t["changed_count"] + t["added_count"] + t["removed_count"]
        if total > shown:
            out.append(f"    ... {total - shown} more row(s) (use --json for all)")
    for error in result["errors"]:
        out.append(f"  {error}")
    if result["identical"]:
        out.append("no differences in figures, checks, parameters or inputs")
    return out
