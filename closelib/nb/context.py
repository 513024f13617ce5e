"""What a notebook needs, in a few calls: its context, a header, figures, checks, tables.

Every period notebook starts with::

    ctx = nb.start(notebook="tb_recon", period=period, source=source, run_dir=run_dir,
                   run_id=run_id, params_json=params_json)

which parses the JSON-safe parameters papermill passed (never trusting papermill's type
guessing), loads the book (from the run's cached, already-validated copy when there is
one) and shows the header: period, run id, source, input hashes and parameters, so the
HTML rendering stands on its own. Opened by hand in JupyterLab with empty parameters,
the same notebook runs on the demo book and the latest period, recording nothing.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from closelib import money
from closelib.asof.aging import AgingPolicy
from closelib.asof.customers import book_as_of, master_data, master_data_note
from closelib.book.load import release_memory
from closelib.book.model import Book, latest_period
from closelib.nb import bookload, tables
from closelib.nb import header as wp_header
from closelib.nb.excelcover import Cover
from closelib.nb.markup import md as md  # notebooks call nb.md(value) in their own markdown
from closelib.nb.record import Recorder
from closelib.nb.workpapers import workpaper_of
from closelib.params import check_parameters, load_parameters
from closelib.paths import PARAMETERS_DIR, REPO_ROOT, default_source, period_notebook_name, scratch_outputs
from closelib.periods import Period
from closelib.safenames import safe_name

RUN_INFO = "run.json"


def _display(obj: Any) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python (tests): print the text form
        print(obj if not hasattr(obj, "data") else obj.data)
        return
    display(obj)


def _rich(kind: str, text: str) -> None:
    """Show ``text`` as IPython's ``HTML`` or ``Markdown``; plain Python prints it."""
    try:
        import IPython.display as ipd
    except ImportError:
        print(text)
        return
    _display(getattr(ipd, kind)(text))


def _html(text: str) -> None:
    _rich("HTML", text)


def markdown(text: str) -> None:
    """Show markdown. Every value from data (or parameters) in ``text`` must come through
    :func:`md` (:func:`closelib.nb.markup.md`): the reviewer HTML renders raw HTML inside markdown."""
    _rich("Markdown", text)


def key(identifier: object) -> str:
    """The part of a figure or check name that comes from an id in the data (an entity, a
    customer): :func:`closelib.safenames.safe_name`, so ``tb.{key(e)}.difference`` is a valid
    dotted name whatever the id holds (``US01`` stays ``US01``)."""
    return safe_name(identifier)


def fmt_money(minor: int, currency: str) -> str:
    """``1234550, "USD"`` -> ``"12,345.50"`` (display only; figures keep plain strings)."""
    return money.display(minor, currency)


# The plain-text form of a longer table shows its first and last rows (pandas' own text form of a
# frame, display.max_rows): the full table is its HTML, which is what is shown and compared first.
PLAIN_ROWS = 60


def plain_text(frame: pd.DataFrame, index: bool = False) -> str:
    """The ``text/plain`` form of a shown table: all of it up to :data:`PLAIN_ROWS` rows; beyond
    that the first and last rows, ``...`` between them and the table's size. (Writing out a
    listing of 5,000 rows as text took about 0.35 s, for a form no reader sees.)"""
    if len(frame) <= PLAIN_ROWS:
        return frame.to_string(index=index)
    return frame.to_string(index=index, max_rows=PLAIN_ROWS, show_dimensions=True)


def _escaped(styler: Any) -> Any:
    """A table's cells, row labels and column labels HTML-escaped: pandas' Styler writes them
    into the page as they are, so a customer named ``<script>...`` would run in the reviewer's
    browser. (The caption is escaped where it is set.)"""
    return styler.format(escape="html").format_index(escape="html", axis=0).format_index(escape="html", axis=1)


@dataclass
class Context:
    notebook: str
    period: Period
    source: Path
    run_dir: Path | None
    run_id: str
    params: dict
    book: Book
    recorder: Recorder
    run_info: dict = field(default_factory=dict)
    tables_shown: int = 0  # numbers the tables of this notebook: their HTML ids (see _table)

    # ---------------------------------------------------------- dates and policy
    @property
    def as_of(self) -> pd.Timestamp:
        return self.period.end

    @property
    def prior_period(self) -> Period:
        return self.period.shift(-1)

    @property
    def aging(self) -> AgingPolicy:
        return AgingPolicy.from_params(self.params)

    def cover(self, workpaper: str) -> Cover:
        """The cover sheet of this notebook's Excel pack: company, workpaper, period, the close run
        (a re-performance names the run it re-performs, so that its packs are byte-identical) and
        the inputs' hashes."""
        return Cover(
            company=str(self.params.get("company", "")),
            workpaper=workpaper,
            period=str(self.period),
            period_end=self.as_of.date(),
            run_id=str(self.run_info.get("reperforms") or self.run_id or ""),
            inputs=dict(self.run_info.get("inputs") or {}),
        )

    def money_param(self, value: str | None, currency: str) -> int | None:
        return None if value is None else money.to_minor(value, currency)

    def output_path(self, filename: str) -> Path:
        """Where an artefact (Excel pack, figure) goes: the run folder, or a scratch folder."""
        folder = self.run_dir if self.run_dir else scratch_outputs()
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    # ---------------------------------------------------------- figures and checks
    def figure(self, name: str, value: Any) -> Any:
        return self.recorder.figure(name, value)

    def money_figure(self, name: str, minor: int, currency: str) -> str:
        return self.recorder.figure(name, money.format_minor(int(minor), currency))

    def entity_money_figures(self, area: str, figure: str, by_entity: dict[str, int]) -> None:
        """``<area>.<entity>.<figure>`` for each entity, and ``<area>.<figure>`` as their total
        where the entities share a currency (CONTRACT §3); otherwise the plain figure is left
        out, since summing across currencies means nothing."""
        currencies = {self.book.currency_of(e) for e in by_entity}
        for entity, minor in sorted(by_entity.items()):
            if len(self.book.entities) > 1:
                self.money_figure(f"{area}.{key(entity)}.{figure}", minor, self.book.currency_of(entity))
        if len(currencies) == 1 and by_entity:
            self.money_figure(f"{area}.{figure}", money.total(list(by_entity.values())), currencies.pop())

    def entity_figures(self, area: str, figure: str, by_entity: dict[str, Any]) -> None:
        """Non-money figures (rates, days, counts that are not summed) per entity; the plain
        name only for a single-entity book, since a rate of two entities is not their sum."""
        if len(self.book.entities) > 1:
            for entity, value in sorted(by_entity.items()):
                self.figure(f"{area}.{key(entity)}.{figure}", value)
        elif by_entity:
            self.figure(f"{area}.{figure}", next(iter(by_entity.values())))

    def check(self, name: str, passed: bool, detail: str = "", severity: str = "error") -> bool:
        passed = self.recorder.check(name, passed, detail, severity)
        label = "PASS" if passed else ("FAIL" if severity == "error" else "WARN")
        colour = {"PASS": "#1a7f37", "FAIL": "#cf222e", "WARN": "#9a6700"}[label]
        _html(
            f'<div style="font-family:monospace"><b style="color:{colour}">{label}</b> '
            f"{html.escape(name)}: {html.escape(detail)}</div>"
        )
        return passed

    def tie(
        self,
        name: str,
        left: int,
        right: int,
        what: str,
        currency: str,
        tolerance: int = 0,
        against: str | None = None,
        entity: str | None = None,
    ) -> bool:
        """A tie between two exact amounts, shown and recorded as a check. ``against``: the figure
        of another workpaper (``tb.subledger_ar``, of ``entity``) the right side is; the line
        names and links that workpaper."""
        diff = int(left) - int(right)
        detail = (
            f"{what}: {fmt_money(left, currency)} vs {fmt_money(right, currency)}, "
            f"difference {fmt_money(diff, currency)} {currency}"
        )
        passed = self.check(name, abs(diff) <= tolerance, detail)
        if against:
            self.see_also(against, entity, "right side")
        return passed

    def see_also(self, figure: str, entity: str | None = None, what: str = "") -> None:
        """Name and link the workpaper that records ``figure`` (``area.name``; of ``entity`` in a
        book of several entities), which ``what`` in this one uses or ties to."""
        area, _, rest = figure.partition(".")
        if entity is not None and len(self.book.entities) > 1:
            figure = f"{area}.{key(entity)}.{rest}"
        _html(wp_header.see_also(self.notebook, figure, what))

    # ---------------------------------------------------------- display
    def show(
        self,
        frame: pd.DataFrame,
        money_columns: list[str] | None = None,
        currency: str | None = None,
        currency_column: str | None = None,
        rates: list[str] | None = None,
        index: bool = False,
        caption: str | None = None,
        max_rows: int = 60,
        empty: str | None = None,
    ) -> None:
        """A formatted table: money with thousands separators in its currency, rates as %; no
        ``nan``/``None`` cell (:func:`closelib.nb.tables.tidy`); an empty table is a sentence
        (``empty``, markdown, else one made from the caption)."""
        if frame.empty:
            markdown(empty or tables.empty_sentence(caption))
            return
        shown = frame.head(max_rows).copy()
        if currency is None and currency_column is None and money_columns:
            # Money is shown in its own currency: the frame's currency column, else its entity's.
            if "currency" in shown.columns:
                currency_column = "currency"
            elif "entity" in shown.columns:
                shown["currency"] = shown["entity"].map(self.book.entity_currency)
                currency_column = "currency"
        for column in money_columns or []:
            if currency_column:
                shown[column] = [
                    fmt_money(v, c) if pd.notna(v) else ""
                    for v, c in zip(shown[column], shown[currency_column], strict=False)
                ]
            else:
                # no currency given and none in the frame: "" is refused by fmt_money like any unknown code
                ccy = currency or ""
                shown[column] = [fmt_money(v, ccy) if pd.notna(v) else "" for v in shown[column]]
        for column in rates or []:
            shown[column] = [tables.rate_text(v) for v in shown[column]]
        for column in shown.columns:
            if pd.api.types.is_datetime64_any_dtype(shown[column]):  # dates as dates, not midnight stamps
                shown[column] = shown[column].dt.strftime("%Y-%m-%d").fillna("")
            elif pd.api.types.is_float_dtype(shown[column]):  # days and ratios: no trailing zeros
                shown[column] = [tables.plain_number(v) for v in shown[column]]
        shown = tables.tidy(shown)
        wrap = tables.wrap_columns(shown)
        numbers = (money_columns or []) + (rates or [])
        caption_html = html.escape(caption) if caption else None
        if tables.plain_table_layout(shown, index):
            # The Styler's HTML written directly (closelib.nb.tables.html_table): 30-60 ms less a table.
            right = tables.number_positions(frame, numbers)
            wrapped = [i for i, c in enumerate(shown.columns) if c in wrap]
            cell_styles = [(wrapped, [("white-space", "normal"), ("min-width", "24em")])]
            cell_styles.append((right, [("text-align", "right")]))
            self._table(
                lambda uid: tables.html_table(
                    shown, uid, caption_html, index, tables.heading, cell_styles, right_headings=right
                ),
                plain_text(shown, index),
            )
        else:
            # column names read as words ("days past due"); escaped like every label
            styler = _escaped(shown.style).format_index(tables.heading, escape="html", axis=1)
            if wrap:  # long text wraps; every other cell stays on one line (closelib.nb.htmlexport)
                styler = styler.set_properties(subset=wrap, **{"white-space": "normal", "min-width": "24em"})
            if not index:
                styler = styler.hide(axis="index")
            styler = tables.align_numbers(styler, frame, numbers)
            if caption_html:
                styler = styler.set_caption(caption_html)
            self._table(styler, plain_text(shown, index))
        if len(frame) > max_rows:
            markdown(f"*{len(frame) - max_rows:,} more rows are in the Excel pack.*")

    def show_by_entity(self, summary: pd.DataFrame, lines: dict[str, str], caption: str | None = None) -> None:
        """A statement: one row per line (label -> column of ``summary``), one column per entity,
        each entity's money in its own currency. ``summary`` is indexed by entity."""
        table = pd.DataFrame(
            {
                f"{e} ({self.book.currency_of(e)})": [
                    fmt_money(summary[col][e], self.book.currency_of(e)) if pd.notna(summary[col][e]) else "n/a"
                    for col in lines.values()
                ]
                for e in summary.index
            },
            index=list(lines),
        )
        caption_html = html.escape(caption) if caption else None
        if tables.plain_table_layout(table, index=True):
            every = list(range(len(table.columns)))
            self._table(
                lambda uid: tables.html_table(
                    table, uid, caption_html, True, None, [(every, [("text-align", "right")])]
                ),
                table.to_string(),
            )
            return
        styler = _escaped(table.style).set_properties(subset=None, **{"text-align": "right"})
        if caption_html:
            styler = styler.set_caption(caption_html)
        self._table(styler, table.to_string())

    def _table(self, styler: Any, plain: str) -> None:
        """Display a table the same way every time: its HTML ids numbered in the notebook (pandas
        would draw a random id per table) and its plain-text form the table's text (a Styler's own
        is its memory address), so that a re-performed notebook compares equal cell by cell.
        ``styler``: a pandas Styler, or a function of the table's id giving its HTML."""
        self.tables_shown += 1
        uid = str(self.tables_shown)
        html_text = styler(uid) if callable(styler) else styler.set_uuid(uid).to_html()
        try:
            from IPython.display import display
        except ImportError:  # plain Python (tests): print the text form
            print(plain)
            return
        display({"text/html": html_text, "text/plain": plain}, raw=True)

    def release_book(self) -> None:
        """Let go of the book (this kernel's copy, and the per-kernel cache of it) and give
        the memory back: for a notebook that hands the rest of its work to other kernels
        (the credit memos), so that a large book is not held twice while they run. Only in a
        run, where cells execute once in order: opened by hand, earlier cells can be re-run."""

        if self.run_dir is None:
            return
        bookload.LAST_CACHED.clear()
        self.book = None  # type: ignore[assignment]
        release_memory()

    def header(self) -> None:
        """The workpaper header (:func:`closelib.nb.header.header_html`)."""
        info = self.run_info
        inputs = info.get("inputs") or {
            name: {"sha256": "(not hashed outside a run)", "rows": len(self.book.tables[t])}
            for t, name in ((t, p.name) for t, p in self.book.files.items())
        }
        entities = self.book.tables.get("entities")
        names = entities.set_index("entity")["name"].to_dict() if entities is not None else {}
        _html(
            wp_header.header_html(
                notebook=self.notebook,
                company=str(self.params.get("company", "")),
                entities=[(e, str(names.get(e, "")), self.book.currency_of(e)) for e in self.book.entities],
                period=str(self.period),
                period_end=str(self.as_of.date()),
                run_id=self.run_id,
                run_dir=self.run_dir,
                source=str(info.get("source_original", self.source)),
                code=info.get("code", {}),
                inputs=inputs,
                params=self.params,
            )
        )


def plain_chart_text() -> None:
    """Chart titles and labels carry text from the book (customer names, entities, reason codes):
    matplotlib would read ``$...$`` in them as TeX and fail on an unknown command, so chart text is
    drawn as it is. Called by :func:`start`, before any chart is made."""
    import matplotlib

    matplotlib.rcParams["text.parse_math"] = False


def interactive_name() -> str:
    """The name of a notebook opened by hand (no ``notebook`` parameter injected): from the file
    Jupyter says the kernel serves (``JPY_SESSION_NAME``), else ``interactive``."""
    session = Path(os.environ.get("JPY_SESSION_NAME", "")).name
    return period_notebook_name(session) or Path(session).stem or "interactive"


def start(
    notebook: str,
    period: Period | str = "",
    source: str = "",
    run_dir: str = "",
    run_id: str = "",
    params_json: str = "",
    show_header: bool = True,
) -> Context:
    """Parse the notebook's parameters, load the book, show the header.

    ``period`` stays the JSON-safe ``YYYY-MM`` text papermill passes; it is parsed here, once,
    and the context carries the :class:`Period` (a malformed one raises before any work)."""
    notebook = notebook or interactive_name()
    plain_chart_text()

    parsed = Period.parse(period) if period else None
    info: dict = {}
    if run_dir:
        info_path = Path(run_dir) / RUN_INFO
        if info_path.is_file():
            info = json.loads(info_path.read_text(encoding="utf-8"))
    if params_json:
        params = check_parameters(json.loads(params_json, parse_float=Decimal))
    else:
        params = load_parameters(parsed or Period(2000, 1), PARAMETERS_DIR)
    source_path = Path(source) if source else default_source(params["source"])
    if not source_path.is_absolute():
        source_path = REPO_ROOT / source_path
    entities = params.get("entities")
    book = bookload.run_book(source_path, info, entities, workpaper_of(notebook).unread)
    if parsed is None:  # opened by hand: the book's latest period, and that period's parameters
        parsed = latest_period(book)
        if not params_json:
            params = load_parameters(parsed, PARAMETERS_DIR)
    # Every workpaper reads the customer as of the period end (customer_history), or says that
    # the master data is current (issue 16).
    book = book_as_of(book, parsed.end)
    ctx = Context(
        notebook,
        parsed,
        source_path,
        Path(run_dir) if run_dir else None,
        run_id,
        params,
        book,
        Recorder(run_dir or None, notebook),
        info,
    )
    if show_header:
        ctx.header()
        markdown(master_data_note(master_data(book, parsed.end)))
    return ctx
