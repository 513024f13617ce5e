"""The cover sheet of an Excel pack: what it is, what it was made from, and room to sign.

A pack printed or mailed on its own still says which company, workpaper, period and close
run it belongs to, and the sha256 of every input it was computed from. The prepared/reviewed
boxes are for a printed copy: the sign-offs of record live in the period binder
(``close signoff``), since a finished run folder is read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

COVER_SHEET = "Cover"
SIGNOFF_NOTE = (
    "Sign-offs of record are made with `close signoff` and listed in the period binder (index.html); "
    "these boxes are for a printed copy."
)


@dataclass(frozen=True)
class Cover:
    """What the cover of a pack says. ``run_id`` is the close run whose figures the pack holds (for
    a re-performance, the run it re-performs, so that both write the same bytes); ``inputs`` maps
    each input file to its ``sha256`` and ``rows`` as in the manifest."""

    company: str
    workpaper: str
    period: str
    period_end: date
    run_id: str
    inputs: dict[str, dict] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def write_cover(wb, cover: Cover, sheet_names: list[str], fmt: Callable[..., object], footer: str) -> None:
    """The first sheet: identification, contents (links to each sheet), inputs, sign-off boxes."""
    ws = wb.add_worksheet(COVER_SHEET)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 70)
    ws.set_column(2, 2, 12)
    dangerous = ("=", "+", "-", "@", "\t", "\r")

    def text(row: int, col: int, value: str, **style) -> None:
        if value.startswith(dangerous):
            style["quote_prefix"] = True
        ws.write_string(row, col, value, fmt(**style) if style else None)

    text(0, 0, cover.company, bold=True, font_size=14)
    text(1, 0, cover.workpaper, bold=True, font_size=12)
    rows: list[tuple[str, object]] = [
        ("Company", cover.company),
        ("Workpaper", cover.workpaper),
        ("Period", cover.period),
        ("Period end", cover.period_end),
        ("Close run", cover.run_id or "(not a run: opened by hand, nothing recorded)"),
    ]
    r = 3
    for label, value in rows:
        text(r, 0, label, bold=True)
        if isinstance(value, (date, datetime)):
            ws.write_datetime(
                r, 1, datetime(value.year, value.month, value.day), fmt(num_format="yyyy-mm-dd", align="left")
            )
        else:
            text(r, 1, str(value))
        r += 1
    for note in cover.notes:
        text(r, 1, note, text_wrap=True)
        r += 1
    r += 1
    text(r, 0, "Contents", bold=True, font_size=12)
    r += 1
    for name in sheet_names:
        quoted = name.replace("'", "''")
        ws.write_url(r, 1, f"internal:'{quoted}'!A1", fmt(font_color="blue", underline=1), string=name)
        r += 1
    r += 1
    text(r, 0, "Inputs", bold=True, font_size=12)
    r += 1
    header = fmt(bold=True, bg_color="#DDE5F0", pattern=1)
    for col, label in enumerate(("file", "sha256", "rows")):
        ws.write_string(r, col, label, header)
    r += 1
    if not cover.inputs:
        text(r, 1, "(no input hashes: not a recorded run)")
        r += 1
    for name, entry in sorted(cover.inputs.items()):
        text(r, 0, name)
        text(r, 1, str(entry.get("sha256", "")), font_name="Consolas", font_size=9)
        rows_count = entry.get("rows")
        if isinstance(rows_count, int):
            ws.write_number(r, 2, rows_count, fmt(num_format="#,##0"))
        r += 1
    r += 1
    text(r, 0, "Sign-off", bold=True, font_size=12)
    r += 1
    box = fmt(border=1)
    for role in ("Prepared by", "Reviewed by"):
        text(r, 0, role, bold=True)
        r += 1
        for line in ("Name", "Signature", "Date"):
            text(r, 0, line)
            ws.write_blank(r, 1, None, box)
            r += 1
        r += 1
    text(r, 0, SIGNOFF_NOTE, italic=True)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_footer(footer)
    ws.activate()
