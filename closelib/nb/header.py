"""The header every workpaper opens with, and its links to other workpapers.

Company, entities, period, workpaper reference (:mod:`closelib.nb.workpapers`), run id, run
folder, source, code version, the input files with their sha256 and the parameters; then the
prepared/reviewed block. A finished run folder is read-only, so nobody signs inside the
workpaper: the block says where sign-offs are recorded (``close signoff``, the period's
``signoffs.jsonl``) and links the period binder that shows them.

The rows ``run folder`` and ``closelib`` keep their form: the cell comparison of a
re-performance (:mod:`closelib.audit.cells`) finds and sanitizes them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from closelib.nb.workpapers import MEMO_PREFIX, Workpaper, href, of_figure, workpaper_of

QUEUE_RECORDS = Path("records") / "credit_review.jsonl"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def memo_number(run_dir: Path | str | None, notebook: str) -> int | None:
    """A credit memo's place in its run's review queue, from 1: the queue notebook records the
    memos' file names in queue order before it executes them. ``None`` outside a run."""
    if not run_dir or not notebook.startswith(MEMO_PREFIX):
        return None
    path = Path(run_dir) / QUEUE_RECORDS
    if not path.is_file():
        return None
    key = notebook[len(MEMO_PREFIX) :]
    names: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        memo = record.get("kind") == "file_name" and record.get("folder") == "credit_memos"
        if memo and record.get("name") not in names:
            names.append(record.get("name"))
    return names.index(key) + 1 if key in names else None


def workpaper_for(notebook: str, run_dir: Path | str | None) -> Workpaper:
    return workpaper_of(notebook, memo_number(run_dir, notebook))


def depth(notebook: str) -> str:
    """The way up from a workpaper's HTML to its run folder: memos sit in ``credit_memos/``."""
    return "../" if notebook.startswith(MEMO_PREFIX) else ""


def signoff_block(notebook: str, run_id: str, period: str, run_dir: Path | None) -> str:
    """Prepared / reviewed: who signs, with which command, where it is kept and shown."""
    if run_dir is None:
        return (
            '<div class="wp-signoff"><strong>Prepared by / Reviewed by:</strong> opened by hand, nothing is '
            "recorded: sign-offs are given on a run of the close (<code>close run</code>), never on "
            "a notebook opened in JupyterLab.</div>"
        )
    up = depth(notebook)
    adhoc = Path(run_dir).parent.name == "adhoc"
    log = "outputs/adhoc/signoffs.jsonl" if adhoc else f"outputs/{_e(period)}/signoffs.jsonl"
    # an ad-hoc folder is not a run id `close` can look up: it is named by its path
    run = f"outputs/adhoc/{Path(run_dir).name}" if adhoc else run_id
    binder = (
        ""
        if adhoc
        else f' and shown, each with whether it is still valid, in the <a href="{up}../index.html">period binder</a>'
    )
    return (
        '<div class="wp-signoff"><strong>Prepared by / Reviewed by:</strong> not signed in this workpaper: a '
        "finished run folder is read-only, so its figures cannot change after they are signed. "
        f"The preparer and the reviewer sign the run with <code>close signoff {_e(run)} --role "
        "preparer|reviewer --name NAME</code>; each sign-off is bound to the sha256 of the run's "
        f"manifest, kept in <code>{log}</code>{binder}.</div>"
    )


def header_html(
    *,
    notebook: str,
    company: str,
    entities: list[tuple[str, str, str]],
    period: str,
    period_end: str,
    run_id: str,
    run_dir: Path | None,
    source: str,
    code: dict[str, Any],
    inputs: dict[str, dict],
    params: dict,
) -> str:
    """The header as HTML (every value escaped). ``entities``: (id, name, currency)."""
    workpaper = workpaper_for(notebook, run_dir)
    listed = "<br>".join(f"{_e(e)} {_e(name)} ({_e(ccy)})" for e, name, ccy in entities) or "none"
    queue = workpaper_of("credit_review")  # a memo is part of the credit review
    part_of = (
        f' (part of <a href="../{_e(href(queue))}">{_e(queue.label)}</a>)' if notebook.startswith(MEMO_PREFIX) else ""
    )
    rows = "".join(
        f"<tr><td>{_e(n)}</td><td style='text-align:right'>{v['rows']:,}</td>"
        f"<td><code>{_e(v['sha256'])}</code></td></tr>"
        for n, v in sorted(inputs.items())
    )
    folder = "interactive (nothing is recorded)" if run_dir is None else _e(run_dir)
    return (
        f'<div class="wp-header"><h3>{_e(company)} &middot; {_e(workpaper.label)} &middot; {_e(period)}</h3>'
        # the run on the left, its inputs on the right: the header fits a screen
        '<div style="display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start">'
        "<table>"
        f"<tr><th>company</th><td>{_e(company)}</td></tr>"
        f"<tr><th>entities</th><td>{listed}</td></tr>"
        f"<tr><th>period</th><td>{_e(period)} (period end {_e(period_end)})</td></tr>"
        f"<tr><th>workpaper</th><td><strong>{_e(workpaper.reference)}</strong> {_e(workpaper.title)}{part_of}</td></tr>"
        f"<tr><th>run</th><td>{_e(run_id or '-')}</td></tr>"
        f"<tr><th>run folder</th><td>{folder}</td></tr>"
        f"<tr><th>source</th><td>{_e(source)}</td></tr>"
        f"<tr><th>closelib</th><td>{_e(code.get('closelib', ''))} commit {_e(code.get('git_commit', ''))}</td></tr>"
        "</table>"
        f"<details open><summary>inputs ({len(inputs)} files, sha256 of each)</summary><table><tr><th>file</th>"
        f"<th>rows</th><th>sha256</th></tr>{rows}</table></details></div>"
        "<details><summary>parameters</summary>"
        f"<pre>{_e(json.dumps(params, indent=2, default=str))}</pre></details>"
        f"{signoff_block(notebook, run_id, period, run_dir)}</div>"
    )


def see_also(notebook: str, figure: str, what: str = "") -> str:
    """A cross-reference (HTML) to another workpaper's figure: names and links the workpaper
    that records it (:func:`closelib.nb.workpapers.of_figure`); ``what`` uses it."""
    other = of_figure(figure)
    lead = f"&#8594; {_e(what)}: " if what else "&#8594; "
    if other is None:
        return f'<div class="wp-tie">{lead}figure <code>{_e(figure)}</code></div>'
    link = f'<a href="{_e(depth(notebook) + href(other))}">{_e(other.label)}</a>'
    if "." not in figure:  # the area only: the workpaper as a whole
        return f'<div class="wp-tie">{lead}see {link}</div>'
    return f'<div class="wp-tie">{lead}figure <code>{_e(figure)}</code> of {link}</div>'
