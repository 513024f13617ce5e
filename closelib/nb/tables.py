"""Table cells as a reviewer reads them: no ``nan``, ``None``, ``NaT``, ``inf`` or Python reprs.

:meth:`closelib.nb.context.Context.show` formats money, rates, dates and numbers; what is left
(text columns with gaps, flags, lists of reasons) passes through :func:`tidy` before the table is
drawn, so a missing value is an empty cell, a flag reads ``yes``/``no``, a list reads as text and
an infinite ratio (a utilisation against a zero limit) reads ``n/a``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from closelib.nb.markup import md

NOT_APPLICABLE = "n/a"
# A text column whose longest value is longer than this wraps in the reviewer HTML (see
# closelib.nb.htmlexport: every other cell stays on one line, so ids and dates never break).
WRAP_AFTER = 40


def plain_number(value: float) -> str:
    """Days and ratios: thousands separators, up to 4 decimals, no trailing zeros."""
    if pd.isna(value):
        return ""
    if math.isinf(value):
        return NOT_APPLICABLE
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def rate_text(value: Any) -> str:
    """A rate as a percentage with 2 decimals; a ratio to zero (utilisation of a zero limit) is n/a."""
    if value is None or pd.isna(value):
        return ""
    if math.isinf(value):
        return NOT_APPLICABLE
    return f"{value:.2%}"


def cell_text(value: Any) -> Any:
    """One cell as a reader should see it; values that need nothing pass through unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return NOT_APPLICABLE
        return plain_number(value)  # a number among text: no run of trailing zeros
    if isinstance(value, Mapping):
        return "; ".join(f"{cell_text(k)}: {cell_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "; ".join(str(cell_text(v)) for v in items)
    if value is pd.NaT or value is pd.NA:
        return ""
    try:
        if pd.isna(value):  # numpy NaN, NaT of a numpy type
            return ""
    except (TypeError, ValueError):  # an array-like value: not a missing one
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b":  # numpy bool
        return "yes" if bool(value) else "no"
    return value


def _complete(series: pd.Series) -> bool:
    """A numeric column with no gap and no infinity: nothing to tidy."""
    if series.isna().any():
        return False
    return not (pd.api.types.is_float_dtype(series) and series.isin([math.inf, -math.inf]).any())


@functools.cache
def _text_dtype() -> Any:
    """The dtype pandas gives a column assigned a list of strings (pandas 3: ``str``)."""
    return pd.Series(["text"]).dtype


def _already_text(series: pd.Series) -> bool:
    """A column of strings with no gap in the dtype a list of its strings would get: what
    :func:`tidy` makes of it is the column as it is (every value passes :func:`cell_text`
    unchanged). Most columns :meth:`closelib.nb.context.Context.show` hands over (money, rates,
    numbers already formatted as text) are such; rebuilding each was half of a memo table's tidy."""
    return series.dtype == _text_dtype() and not series.isna().any()


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every cell passed through :func:`cell_text` (its columns kept).

    Numeric columns without gaps or infinities and datetime columns are left as they are (the
    caller formats them); every other column becomes text cells."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if _already_text(series):
            continue
        if pd.api.types.is_bool_dtype(series):
            out[column] = series.map({True: "yes", False: "no"}).astype(object)
        elif pd.api.types.is_numeric_dtype(series) and _complete(series):
            continue
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[column] = series.dt.strftime("%Y-%m-%d").fillna("").astype(object)
        else:
            out[column] = [cell_text(v) for v in series.astype(object)]
    return out


def wrap_columns(frame: pd.DataFrame) -> list[Any]:
    """The text columns long enough to wrap (notes, reasons, details): every other cell is kept
    on one line in the reviewer HTML."""
    found = []
    for column in frame.columns:
        series = frame[column]
        # what astype(str) gives each value, without building a column: an object column, or a
        # text column with no gap (astype(str) leaves its strings as they are; pandas' .str.len()
        # on a short column costs more than the table's other steps)
        if series.dtype == object or _already_text(series):
            if len(series) and max(len(str(v)) for v in series) > WRAP_AFTER:
                found.append(column)
        elif pd.api.types.is_string_dtype(series):
            lengths = series.astype(str).str.len()
            if len(lengths) and int(lengths.max()) > WRAP_AFTER:
                found.append(column)
    return found


def align_numbers(styler: Any, frame: pd.DataFrame, also: list[Any]) -> Any:
    """Amounts, rates and other numbers right-aligned, their column headings too (text stays left,
    the reviewer HTML's default)."""
    numeric = [
        c
        for c in frame.columns
        if c in also
        or (
            pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
            and bool(frame[c].notna().any())  # an empty column (all gaps) is not a number column
        )
    ]
    if not numeric:
        return styler
    positions = [frame.columns.get_loc(c) for c in numeric]
    headings = [{"selector": f"th.col_heading.col{i}", "props": "text-align: right;"} for i in positions]
    return styler.set_properties(subset=numeric, **{"text-align": "right"}).set_table_styles(headings, overwrite=False)


def heading(column: object) -> str:
    """A column name as a heading: ``days_past_due`` -> ``days past due``."""
    return str(column).replace("_", " ")


def empty_sentence(caption: str | None) -> str:
    """What replaces an empty table: a sentence (markdown, the caption escaped) saying there is
    nothing, naming the table: ``0 open exception(s)`` -> *No open exception(s).*"""
    if not caption:
        return "*Nothing to list this period.*"
    if caption.startswith("0 "):
        return f"*No {md(caption[2:])}.*"
    return f"*{md(caption)}: none this period.*"


# ------------------------------------------------------------------ HTML tables without a Styler
#
# pandas' Styler took 30 to 60 ms a table (a memo shows about ten): it builds a context for every
# cell, parses CSS and renders a Jinja template. :func:`html_table` writes the same HTML directly
# (the same ids, classes, CSS rules and escaping, byte for byte: tests/nb/test_html_table.py checks
# it against the Styler), so a reader sees exactly the same table.

# markupsafe's escape (what the Styler's ``escape="html"`` uses), as a translation table
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape_cell(value: Any, precision: int | None = None) -> str:
    """A cell or label as the Styler shows it with ``escape="html"``: text escaped, floats with
    the Styler's precision (6; ``precision``: that option, read once by the caller), integers as
    they are, anything else as its ``str``."""
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | complex) or (
        hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "fc" and not isinstance(value, pd.Series)
    ):
        digits = pd.get_option("styler.format.precision") if precision is None else precision
        return f"{value:.{digits}f}"
    return str(value)


def _escaped_column(column: pd.Series, precision: int) -> list[str]:
    """:func:`escape_cell` of every value of ``column``, as a row walk (``itertuples``) gives them."""
    values = column.tolist()
    if all(type(v) is str for v in values):
        return [v.translate(_ESCAPES) for v in values]
    return [escape_cell(v, precision) for v in values]


def plain_table_layout(frame: pd.DataFrame, index: bool) -> bool:
    """Whether :func:`html_table` draws ``frame``: unique, flat, unnamed column labels and, when
    the index is shown, a flat unnamed index (anything else goes to the Styler)."""
    columns = frame.columns
    if isinstance(columns, pd.MultiIndex) or columns.name is not None or not columns.is_unique:
        return False
    return not index or (not isinstance(frame.index, pd.MultiIndex) and frame.index.name is None)


def number_positions(frame: pd.DataFrame, also: list[Any]) -> list[int]:
    """Positions of the columns :func:`align_numbers` right-aligns: amounts, rates (``also``) and
    other numbers with at least one value."""
    return [
        i
        for i, c in enumerate(frame.columns)
        if c in also
        or (
            pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
            and bool(frame[c].notna().any())  # an empty column (all gaps) is not a number column
        )
    ]


def html_table(
    frame: pd.DataFrame,
    table_id: str,
    caption: str | None = None,
    index: bool = False,
    label: Any = None,
    cell_styles: list[tuple[list[int], list[tuple[str, str]]]] | None = None,
    right_headings: list[int] | None = None,
) -> str:
    """``frame`` as the HTML pandas' Styler writes for it (``set_uuid(table_id)``, cells and labels
    escaped, ``label`` (if given) applied to the escaped column labels, the index hidden unless ``index``).

    ``cell_styles``: (column positions, CSS properties) applied in order, as ``set_properties``;
    ``right_headings``: column positions whose heading is right-aligned. ``caption`` is written as
    given (the caller escapes it). Only for a :func:`plain_table_layout` frame."""
    uid = f"T_{table_id}"
    n, columns = len(frame), list(frame.columns)
    # Every row of a column gets the same properties: one list per column, not one per cell.
    column_props: list[list[tuple[str, str]]] = [[] for _ in columns]
    for positions, css in cell_styles or []:
        for j in positions:
            column_props[j].extend(css)
    # The Styler groups its rules by their properties, in the order a row-major walk first meets
    # them (row 0: columns left to right), each rule's cells in row order.
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    if n:
        for j, css in enumerate(column_props):
            if css:
                groups.setdefault(tuple(css), []).append(j)
    out = ['<style type="text/css">\n']
    for j in right_headings or []:
        out.append(f"#{uid} th.col_heading.col{j} {{\n  text-align: right;\n}}\n")
    for group, positions in groups.items():
        out.append(", ".join(f"#{uid}_row{i}_col{j}" for i in range(n) for j in positions) + " {\n")
        out.extend(f"  {name}: {value};\n" for name, value in group)
        out.append("}\n")
    out.append(f'</style>\n<table id="{uid}">\n')
    if caption:
        out.append(f"  <caption>{caption}</caption>\n")
    out.append("  <thead>\n    <tr>\n")
    if index:
        out.append('      <th class="blank level0" >&nbsp;</th>\n')
    precision = pd.get_option("styler.format.precision")
    for j, column in enumerate(columns):
        # the Styler escapes text, then applies a label function if given, else its own formatter
        escaped = column.translate(_ESCAPES) if isinstance(column, str) else column
        text = escape_cell(column, precision) if label is None else str(label(escaped))
        out.append(f'      <th id="{uid}_level0_col{j}" class="col_heading level0 col{j}" >{text}</th>\n')
    out.append("    </tr>\n  </thead>\n  <tbody>\n")
    # cells escaped a column at a time (a text column is one translate per cell, nothing else)
    # (the columns by name: their labels are unique in a plain_table_layout frame)
    cells = [_escaped_column(series, precision) for _, series in frame.items()]
    labels = [escape_cell(v, precision) for v in frame.index] if index else []
    for i in range(n):
        out.append("    <tr>\n")
        if index:
            out.append(f'      <th id="{uid}_level0_row{i}" class="row_heading level0 row{i}" >{labels[i]}</th>\n')
        for j, column_cells in enumerate(cells):
            out.append(f'      <td id="{uid}_row{i}_col{j}" class="data row{i} col{j}" >{column_cells[i]}</td>\n')
        out.append("    </tr>\n")
    out.append("  </tbody>\n</table>\n")
    return "".join(out)
