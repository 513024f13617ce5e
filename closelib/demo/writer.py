"""Write a book (frames in closelib's internal form) as a source folder of extracts.

* one file per table, ``<table>.csv`` or ``<table>.parquet``, columns in contract order;
* money as exact decimal text with the currency's decimals (``"1234.50"``, ``"-75.25"``),
  in Parquet too (text columns, so no reader goes through binary floats);
* dates ISO ``YYYY-MM-DD`` (Parquet: ``date32``); empty optional values as empty cells
  (Parquet: nulls);
* deterministic bytes: same frames, same files. Each file is written to a temporary
  name in the folder and renamed into place; a file of the same table in another
  format is removed so the folder never holds a table twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from closelib import money
from closelib.book.schema import FILE_SUFFIXES, TABLES
from closelib.demo._common import day_text
from closelib.errors import CloseError


def write_book(tables: dict[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
    """Write every table; returns table name -> path written."""
    writer = BookWriter(out_dir, fmt)
    try:
        writer.append(arrow_tables(tables, text_dates=(fmt == "csv")))
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


def arrow_tables(tables: dict[str, pd.DataFrame], text_dates: bool) -> dict[str, pa.Table]:
    """Every table as the Arrow table written to the file (``text_dates``: all text, for CSV)."""
    currencies = _currency_resolver(tables)
    return {name: _to_arrow(name, tables[name], currencies, text_dates) for name in sorted(tables)}


class BookWriter:
    """A source folder written in parts: each ``append`` adds rows to every table's file (a demo
    group is written pair by pair), ``finish`` renames the files into place. Parts of one table
    must have the same columns. Until ``finish`` the files have temporary names, so a failed or
    interrupted write leaves no half-written table behind under a contract name."""

    def __init__(self, out_dir: str | Path, fmt: str) -> None:
        if fmt not in ("csv", "parquet"):
            raise CloseError(f"demo format must be csv or parquet, got {fmt!r}")
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self._open: dict[str, tuple[Path, Any]] = {}
        self.rows: dict[str, int] = {}  # table -> rows appended

    def _tmp(self, name: str) -> Path:
        return self.out / f".{name}.{self.fmt}.tmp"

    def append(self, tables: dict[str, pa.Table]) -> None:
        for name in sorted(tables):
            arrow = tables[name]
            if name not in self._open:
                tmp = self._tmp(name)
                if self.fmt == "csv":
                    handle: Any = open(tmp, "wb")  # noqa: SIM115 - closed in finish/abandon
                    handle.write((",".join(arrow.column_names) + "\n").encode("utf-8"))
                else:
                    handle = pq.ParquetWriter(
                        tmp, arrow.schema, compression="zstd", write_statistics=False, store_schema=False
                    )
                self._open[name] = (tmp, handle)
            handle = self._open[name][1]
            self.rows[name] = self.rows.get(name, 0) + arrow.num_rows
            if self.fmt == "csv":
                free_text = {c.name for c in TABLES[name].columns if c.kind in ("id", "text")}
                _write_csv_rows(arrow, handle, free_text)
            else:
                handle.write_table(arrow)

    def finish(self) -> dict[str, Path]:
        written: dict[str, Path] = {}
        for name in sorted(self._open):
            tmp, handle = self._open[name]
            handle.close()
            path = self.out / f"{name}.{self.fmt}"
            os.replace(tmp, path)
            for suffix in FILE_SUFFIXES:
                other = self.out / f"{name}{suffix}"
                if other != path and other.exists():
                    other.unlink()
            written[name] = path
        self._open.clear()
        return written

    def abandon(self) -> None:
        for tmp, handle in self._open.values():
            try:
                handle.close()
            finally:
                tmp.unlink(missing_ok=True)
        self._open.clear()


def _currency_resolver(tables: dict[str, pd.DataFrame]):
    """Per-row currency of every money column (as a Series, or one code for the column)."""
    codes: set[str] = set()
    for frame in tables.values():
        for column in ("currency", "credit_currency", "functional_currency"):
            if column in frame:
                codes.update(str(c) for c in frame[column].dropna().unique())
    digits = {money.minor_digits(c) for c in codes}
    single = next(iter(codes)) if len(digits) == 1 else None

    def resolve(table: str, column: str, frame: pd.DataFrame):
        if single is not None:
            return single
        source = TABLES[table].money_currency[column]
        if not source.startswith("@"):
            return frame[source]
        docs = tables["documents"].set_index("document_id")["currency"]
        if table == "applications":
            rec = tables["receipts"].set_index("receipt_id")["currency"]
            return frame["source_id"].map(rec).fillna(frame["source_id"].map(docs))
        if table in ("adjustments", "payment_schedules"):
            return frame["document_id"].map(docs)
        if table == "activities":
            cust = tables["customers"].set_index("customer_id")["credit_currency"]
            return frame["document_id"].map(docs).fillna(frame["customer_id"].map(cust))
        ent = tables["entities"].set_index("entity")["functional_currency"]
        return frame["entity"].map(ent)

    return resolve


def money_text(minor: np.ndarray, digits: np.ndarray | int) -> pa.Array:
    """Exact decimal text of minor units, vectorised in Arrow (same as money.format_minor_array)."""
    values = np.asarray(minor, dtype="int64")
    digits = np.broadcast_to(np.asarray(digits, dtype="int64"), values.shape)
    absolute = np.abs(values)
    out = None
    for d in np.unique(digits) if len(values) else []:
        scale = 10 ** int(d)
        whole = pc.cast(pa.array(absolute // scale), pa.string())
        if d:
            frac = pc.utf8_lpad(pc.cast(pa.array(absolute % scale), pa.string()), int(d), "0")
            whole = pc.binary_join_element_wise(whole, frac, ".")
        signed = pc.if_else(pa.array(values < 0), pc.binary_join_element_wise("-", whole, ""), whole)
        out = signed if out is None else pc.if_else(pa.array(digits == d), signed, out)
    return out if out is not None else pa.array([], type=pa.string())


def _csv_cell(arr: pa.Array) -> pa.Array:
    """RFC 4180 quoting only where a value needs it (comma, quote, line break); the check
    runs once per distinct value."""
    enc = pc.dictionary_encode(arr)
    needs_dict = pc.match_substring_regex(enc.dictionary, '[",\r\n]')
    if not pc.any(needs_dict).as_py():
        return arr
    needs = pc.take(needs_dict, enc.indices)
    q = pa.scalar('"', arr.type)
    quoted = pc.binary_join_element_wise(q, pc.replace_substring(arr, '"', '""'), q, pa.scalar("", arr.type))
    return pc.if_else(needs, quoted, arr)


def _write_csv_rows(table: pa.Table, handle, free_text: set[str], chunk: int = 250_000) -> None:
    """The rows, ``\n`` line ends; every column already text (no nulls)."""
    text = pa.string()
    for start in range(0, table.num_rows, chunk):
        part = table.slice(start, chunk)
        cells = [pc.cast(col.combine_chunks(), text) for col in part.columns]
        cells = [_csv_cell(c) if name in free_text else c for name, c in zip(part.column_names, cells, strict=False)]
        cells[-1] = pc.binary_join_element_wise(cells[-1], pa.scalar("\n", text), pa.scalar("", text))
        lines = pc.binary_join_element_wise(*cells, pa.scalar(",", text)) if len(cells) > 1 else cells[0]
        offsets = np.frombuffer(lines.buffers()[1], dtype="int32")[lines.offset : lines.offset + len(lines) + 1]
        data = lines.buffers()[2]
        handle.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


def _string_arrow(series: pd.Series) -> pa.Array:
    """A text column as an Arrow string array without a round trip through Python objects."""
    try:
        arr = pa.array(series.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = pa.array(series.astype(object).where(series.notna(), None).to_numpy(dtype=object), type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.string() else pc.cast(arr, pa.string())


def _to_arrow(name: str, frame: pd.DataFrame, resolve, text_dates: bool) -> pa.Table:
    # An optional column (an extension) the frame does not carry is left out of the file.
    columns = [c for c in TABLES[name].columns if c.name in frame.columns or not c.optional]
    arrays = []
    for column in columns:
        series = frame[column.name]
        if column.kind == "money":
            missing = series.isna().to_numpy()
            values = series.fillna(0).astype("int64").to_numpy() if missing.any() else series.to_numpy("int64")
            ccy = resolve(name, column.name, frame)
            if isinstance(ccy, str):
                digits = money.minor_digits(ccy)
            else:
                digits = ccy.map(money.MINOR_UNITS).fillna(2).astype("int64").to_numpy()
            arr = money_text(values, digits)
            if missing.any():
                arr = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arr)
                if text_dates:
                    arr = pc.fill_null(arr, "")
        elif column.kind == "date":
            days = series.to_numpy("datetime64[ns]").astype("datetime64[D]")
            missing = np.isnat(days)
            if text_dates:  # formatted once per distinct day (strftime per row is slow)
                arr = day_text(np.where(missing, 0, days.astype("int64")))
                arr = pc.if_else(pa.array(missing), pa.scalar("", pa.string()), arr) if missing.any() else arr
            else:
                arr = pa.array(days, type=pa.date32(), from_pandas=True)
        elif column.kind == "int":
            arr = pa.array(series.to_numpy("int64"))
            if text_dates:
                arr = pc.cast(arr, pa.string())
        elif column.kind == "rate":
            arr = pa.array(
                ["" if v != v else f"{v:.6f}".rstrip("0").rstrip(".") for v in series.to_numpy("float64")],
                type=pa.string(),
            )
            if not text_dates:
                arr = pa.array(series.to_numpy("float64"))
        else:
            arr = _string_arrow(series)
            arr = (
                pc.fill_null(arr, "")
                if text_dates
                else pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
            )
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])
