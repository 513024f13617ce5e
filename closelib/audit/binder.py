"""The period binder: ``<outputs>/<PERIOD>/index.html``, one static page per period.

It lists every run of the period, newest first, with status, times, what it restates or
re-performs and why, key figures, checks (failed ones highlighted), sign-offs (void ones
marked) and relative links to each reviewer HTML and every Excel pack in the run folder.
The page is self-contained (inline CSS, no script, no external reference), so it opens
from the file system or an archive with no server and no network. It is rewritten
atomically after each run and each sign-off.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from closelib.audit.keyfigures import key_figure_groups
from closelib.audit.signoffs import signoffs_for
from closelib.batch.manifest import BatchLine, batches_for_period
from closelib.files import write_text_atomic
from closelib.nb.header import memo_number
from closelib.nb.workpapers import MEMO_PREFIX, notebook_order, workpaper_of
from closelib.runner.inputs_info import closed_entities, entity_currencies
from closelib.runner.provenance import utc_now
from closelib.runner.runfolder import (
    all_runs,
    failed_checks,
    outputs_root,
    read_manifest,
    run_status,
)

INDEX = "index.html"

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em 2em;color:#222;max-width:90em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.2em 0 .4em}h3{font-size:1em;margin:.9em 0 .3em}
.run{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;margin:.8em 0}
.succeeded{border-left:6px solid #2e7d32}.failed{border-left:6px solid #c62828}.running{border-left:6px solid #999}
.abandoned{border-left:6px solid #ef6c00}.abandoned .status{color:#ef6c00}
.status{font-weight:bold;text-transform:uppercase}.succeeded .status,.st-succeeded{color:#2e7d32}
.failed .status,.st-failed{color:#c62828}.st-abandoned{color:#ef6c00}
table{border-collapse:collapse;font-size:.9em;margin:.2em 0}
td,th{border-bottom:1px solid #e4e4e4;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td,th{white-space:nowrap}td.text{white-space:normal;min-width:16em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fdecea;color:#b71c1c;font-weight:bold}
tr.warn td{background:#fff8e1}tr.current td{background:#eef6ee}.void{color:#b71c1c;font-weight:bold}.muted{color:#666}
tr.area th{background:#e9eef5;text-align:left}
summary{cursor:pointer}details.run>summary{font-weight:bold}ul.errors{margin:.3em 0;color:#b71c1c}
.scroll{overflow-x:auto}code{font-size:.9em}td ul{margin:0;padding-left:1.2em}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(quote(href))}">{_e(text)}</a>'


def _anchor(run_id: str, known: set[str]) -> str:
    return f'<a href="#{_e(run_id)}">{_e(run_id)}</a>' if run_id in known else _e(run_id)


def _when(stamp: object) -> str:
    """``2026-12-02T13:16:39.347Z`` -> ``2026-12-02 13:16 UTC``."""
    text = str(stamp or "")
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 and text[10] == "T" else text


def _signed(signoffs: list[dict]) -> str:
    if not signoffs:
        return '<span class="muted">not signed</span>'
    parts = []
    for s in signoffs:
        void = ' <span class="void">(void: manifest changed)</span>' if s.get("void") else ""
        parts.append(f"{_e(s.get('role'))}: {_e(s.get('name'))}{void}")
    return "<br>".join(parts)


def current_run(manifests: list[tuple[Path, dict]]) -> str | None:
    """The run a reviewer reads first: the newest that succeeded and that no restatement which
    succeeded supersedes (``manifests`` newest first): a failed restatement replaces nothing. A
    re-performance checks the run it re-performs and is not the close of record: it is current
    only when no other run qualifies."""
    candidates = _standing(manifests)
    # An entity close (parameter entities) reports only its entities: the close of record is
    # a run of the whole group whenever one qualifies.
    candidates = [m for m in candidates if not _entities(m)] or candidates
    chosen = next((m for m in candidates if not m.get("reperforms")), candidates[0] if candidates else None)
    return chosen.get("run_id") if chosen else None


def entity_closes_of_record(manifests: list[tuple[Path, dict]]) -> dict[str, str]:
    """``{entity: run id}`` when the period was closed by entity (no close of the whole group
    qualifies as current): for each entity, the newest entity close covering it that succeeded
    and is not restated by one that succeeded, a re-performance only when no other covers it,
    as for :func:`current_run` (``manifests`` newest first). Empty when a close of the group is
    the close of record."""
    good = _standing(manifests)
    if any(not _entities(m) for m in good):
        return {}
    found: dict[str, str] = {}
    for m in sorted(good, key=lambda m: bool(m.get("reperforms"))):  # stable: newest first within each
        for entity in _entities(m):
            found.setdefault(entity, str(m.get("run_id")))
    return dict(sorted(found.items()))


def _standing(manifests: list[tuple[Path, dict]]) -> list[dict]:
    """The runs that succeeded and that no restatement which succeeded supersedes (a failed
    restatement replaces nothing), in the order given."""
    restated = {m.get("restates") for _, m in manifests if m.get("restates") and run_status(m) == "succeeded"}
    return [m for _, m in manifests if run_status(m) == "succeeded" and m.get("run_id") not in restated]


def _entities(manifest: dict) -> list[str]:
    """The entities an entity close closed (empty for a close of the whole group)."""
    return closed_entities(manifest) or []


def _run_table(manifests: list[tuple[Path, dict]], signoffs: dict[str, list[dict]], current: str | None) -> str:
    of_record: dict[str, list[str]] = {}
    for entity, run in entity_closes_of_record(manifests).items():
        of_record.setdefault(run, []).append(entity)
    restated_by: dict[str, list[str]] = {}
    for _, m in manifests:
        if m.get("restates"):
            restated_by.setdefault(m["restates"], []).append(str(m.get("run_id")))
    known = {str(m.get("run_id")) for _, m in manifests}
    rows = []
    for _, m in manifests:
        run_id = m.get("run_id") or ""
        status = run_status(m)
        links = []
        if m.get("restates"):
            links.append(f"restates {_anchor(m['restates'], known)}")
        for later in restated_by.get(run_id, []):
            links.append(f"restated by {_anchor(later, known)}")
        if m.get("reperforms"):
            links.append(f"re-performs {_anchor(m['reperforms'], known)}")
        if _entities(m):
            links.append(f"entities {_e(', '.join(_entities(m)))} only")
        mark = " (current)" if run_id == current else ""
        if run_id in of_record:
            mark = f" (current for {_e(', '.join(of_record[run_id]))})"
        rows.append(
            f'<tr class="{"current" if run_id == current else ""}"><td>{_anchor(run_id, known)}{mark}</td>'
            f'<td class="st-{_e(status)}"><strong>{_e(status)}</strong></td><td>{_e(_when(m.get("started_at")))}</td>'
            f"<td>{_signed(signoffs.get(run_id, []))}</td><td>{'<br>'.join(links)}</td>"
            f'<td class="text">{_e(m.get("reason") or "")}</td></tr>'
        )
    return (
        '<div class="scroll"><table><tr><th>run</th><th>status</th><th>started</th><th>signed by</th>'
        f"<th>restates / restated by</th><th>reason</th></tr>{''.join(rows)}</table></div>"
    )


def _workpaper_links(run_dir: Path, manifest: dict) -> str:
    """Each notebook's reviewer HTML in notebook order (its reference first), the credit memos
    folded, then the Excel packs and the manifest."""
    run_id = manifest.get("run_id") or run_dir.name
    notebooks = manifest.get("notebooks") or {}
    rows = []
    for name in sorted(notebooks, key=notebook_order):
        entry = notebooks[name]
        wp = workpaper_of(name)
        if entry.get("html") and (run_dir / entry["html"]).is_file():
            target = _link(f"{run_id}/{entry['html']}", wp.label)
        elif entry.get("file"):
            target = _link(f"{run_id}/{entry['file']}", f"{wp.label} (notebook only)")
        else:
            target = _e(wp.label)
        status = entry.get("status")
        rows.append(f'<tr><td>{target}</td><td class="st-{_e(status)}">{_e(status)}</td></tr>')
    memos = sorted((run_dir / "credit_memos").glob("*.html")) if (run_dir / "credit_memos").is_dir() else []
    # numbered as each memo's header numbers it: its place in the review queue
    numbered = sorted((memo_number(run_dir, f"{MEMO_PREFIX}{p.stem}") or len(memos) + 1, p.name, p) for p in memos)
    parts = [f"<table>{''.join(rows)}</table>"]
    if memos:
        items = "".join(
            f"<li>{_link(f'{run_id}/credit_memos/{p.name}', workpaper_of(MEMO_PREFIX + p.stem, n).label)}</li>"
            for n, _, p in numbered
        )
        parts.append(f"<details><summary>{len(memos)} credit memo(s) (AR-4.1 ...)</summary><ul>{items}</ul></details>")
    others = [_link(f"{run_id}/{p.relative_to(run_dir).as_posix()}", p.name) for p in sorted(run_dir.rglob("*.xlsx"))]
    others.append(_link(f"{run_id}/manifest.json", "manifest.json"))
    parts.append("<p>Excel packs and manifest: " + " &middot; ".join(others) + "</p>")
    return "".join(parts)


def _figures(run_dir: Path, manifest: dict) -> str:
    currencies = entity_currencies(run_dir, closed_entities(manifest))
    columns, groups = key_figure_groups(manifest.get("figures") or {}, currencies)
    if not groups:
        return '<p class="muted">No key figures recorded.</p>'
    head = "".join(
        f'<th class="num">{_e(c)}{f" ({_e(currencies[c])})" if c in currencies else ""}</th>' for c in columns
    )
    body = []
    for group in groups:
        body.append(f'<tr class="area"><th colspan="{len(columns) + 1}">{_e(group.workpaper.label)}</th></tr>')
        for row in group.rows:
            cells = "".join(f'<td class="num">{_e(row.cells.get(c, ""))}</td>' for c in columns)
            body.append(f"<tr><td>{_e(row.label)}</td>{cells}</tr>")
    return f'<div class="scroll"><table><tr><th>key figure</th>{head}</tr>{"".join(body)}</table></div>'


def _checks(manifest: dict) -> str:
    checks = manifest.get("checks") or {}
    if not checks:
        return '<p class="muted">No checks recorded.</p>'
    bad = set(failed_checks(manifest))
    rows, problems = [], 0
    for name in sorted(checks, key=lambda n: (n not in bad, bool(checks[n].get("passed")), n)):
        check = checks[name]
        if check.get("passed"):
            css, label = "", "PASS"
        elif name in bad:
            css, label = "fail", "FAIL"
        else:
            css, label = "warn", "WARN"
        problems += css != ""
        rows.append(
            f'<tr class="{css}"><td>{label}</td><td><code>{_e(name)}</code></td>'
            f'<td class="text">{_e(check.get("detail"))}</td></tr>'
        )
    passed = sum(1 for c in checks.values() if c.get("passed"))
    table = f'<div class="scroll"><table>{"".join(rows[:problems])}</table></div>' if problems else ""
    return (
        f"<h3>Checks: {passed} of {len(checks)} passed, {len(bad)} failed, {problems - len(bad)} warning(s)</h3>"
        f"{table}<details><summary>all {len(checks)} checks</summary>"
        f'<div class="scroll"><table>{"".join(rows)}</table></div></details>'
    )


def _signoff_table(signoffs: list[dict], run_id: str) -> str:
    how = (
        f'<p class="muted">Sign with <code>close signoff {_e(run_id)} --role preparer|reviewer --name NAME</code>: '
        "the run folder is read-only, so sign-offs are kept beside it in this period's "
        "<code>signoffs.jsonl</code>, each bound to the sha256 of the run's manifest.</p>"
    )
    if not signoffs:
        return f"<h3>Sign-offs</h3><p>none yet</p>{how}"
    rows = []
    for s in signoffs:
        void = '<span class="void">VOID: manifest changed after signing</span>' if s["void"] else "valid"
        rows.append(
            f"<tr><td>{_e(s.get('role'))}</td><td>{_e(s.get('name'))}</td><td>{_e(s.get('at'))}</td>"
            f'<td class="text">{_e(s.get("note") or "")}</td><td>{void}</td></tr>'
        )
    return (
        "<h3>Sign-offs</h3><table><tr><th>role</th><th>name</th><th>at (UTC)</th><th>note</th>"
        f"<th></th></tr>{''.join(rows)}</table>{how}"
    )


def _errors(run_dir: Path, manifest: dict) -> list[str]:
    """What made a run fail: its error, each failed notebook's, each failed check."""
    problems = [str(p) for p in manifest.get("problems") or []]
    error = str(manifest.get("error") or "")
    # "invalid parameters:\n  - a\n  - b" is its first line and the problems, one item each
    found = [error.splitlines()[0].rstrip(":")] if error and problems else [error] if error else []
    found += problems
    for name in sorted(manifest.get("notebooks") or {}, key=notebook_order):
        entry = manifest["notebooks"][name]
        if entry.get("status") not in ("succeeded", None) and entry.get("error"):
            found.append(f"{workpaper_of(name).label}: {entry['error']}")
    checks = manifest.get("checks") or {}
    found += [f"check {name}: {checks[name].get('detail')}" for name in failed_checks(manifest)]
    return found or [f"the run is {run_status(manifest)}"]


def _clip(text: str, limit: int = 300) -> str:
    """An error as one item of the list: the full text is in the run's manifest and checks."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _run_section(run_dir: Path, manifest: dict, signoffs: list[dict], known: set[str], open_: bool) -> str:
    run_id = manifest.get("run_id") or run_dir.name
    status = run_status(manifest)
    started = _e(_when(manifest.get("started_at")))
    head = f'{_e(run_id)} <span class="status">{_e(status)}</span> &middot; started {started}'
    if status != "succeeded":  # one line, its errors as a list, the way to the detail
        errors = "".join(f"<li>{_e(_clip(e))}</li>" for e in _errors(run_dir, manifest))
        extra = [_link(f"{run_id}/errors.txt", "errors.txt")] if (run_dir / "errors.txt").is_file() else []
        extra.append(_link(f"{run_id}/manifest.json", "manifest.json"))
        return (
            f'<section class="run {_e(status)}" id="{_e(run_id)}"><div>{head} &middot; {" &middot; ".join(extra)}</div>'
            f'<ul class="errors">{errors}</ul><details><summary>workpapers, checks and sign-offs</summary>'
            f"{_workpaper_links(run_dir, manifest)}{_checks(manifest)}{_signoff_table(signoffs, run_id)}"
            "</details></section>"
        )
    lines = []
    for label, key in (("restates", "restates"), ("re-performs", "reperforms")):
        if manifest.get(key):
            lines.append(f"{label} {_anchor(manifest[key], known)}")
    if manifest.get("reason"):
        lines.append(f"reason: {_e(manifest['reason'])}")
    lines.append(f"finished {_e(_when(manifest.get('finished_at')))}")
    body = (
        f"<p>{' &middot; '.join(lines)}</p><h3>Workpapers</h3>{_workpaper_links(run_dir, manifest)}"
        f"<h3>Key figures</h3>{_figures(run_dir, manifest)}{_checks(manifest)}{_signoff_table(signoffs, run_id)}"
    )
    if open_:
        return f'<section class="run {_e(status)}" id="{_e(run_id)}"><h2>Current run: {head}</h2>{body}</section>'
    return f'<details class="run {_e(status)}" id="{_e(run_id)}"><summary>{head}</summary>{body}</details>'


def _unfinished(batch: BatchLine) -> str:
    """Beside a batch's status: how many of all its closes did not succeed, so a failed batch whose
    closes of this period succeeded does not read as a failure of this period."""
    if not batch.tasks_not_succeeded:
        return ""
    return f'<br><span class="muted">{batch.tasks_not_succeeded} of {batch.tasks_total} close(s) not succeeded</span>'


def _batches(outputs_root: Path, period: str, known: set[str]) -> str:
    """The batches (``close batch``) with a close of this period: each batch's status, its tasks
    for this period with their runs (linked) and, for a task that failed, why."""
    found = batches_for_period(outputs_root, period)
    if not found:
        return ""
    rows = []
    for batch in found:
        items = []
        for task in batch.tasks:
            run = str(task.get("run") or "")
            run_id = run.rpartition("/")[2]
            where = f" {_anchor(run_id, known)}" if run_id else ""
            why = f": {_e(_clip(str(task['error'])))}" if task.get("error") else ""
            items.append(
                f'<li>{_e(task.get("task"))}{where} <span class="st-{_e(task.get("status"))}">'
                f"{_e(task.get('status'))}</span>{why}</li>"
            )
        rows.append(
            f"<tr><td>{_link(batch.href, batch.batch_id)}</td><td>{_e(_when(batch.started_at))}</td>"
            f'<td class="st-{_e(batch.status)}"><strong>{_e(batch.status)}</strong>{_unfinished(batch)}</td>'
            f'<td class="num">{len(batch.tasks)} of {batch.tasks_total}</td>'
            f'<td class="text"><ul>{"".join(items)}</ul></td></tr>'
        )
    return (
        '<h2>Batches</h2><p class="muted">Closes of this period run by <code>close batch</code> (each link '
        "opens the batch's summary manifest, <code>batch.json</code>).</p>"
        '<div class="scroll"><table><tr><th>batch</th><th>started</th><th>status</th><th>tasks here</th>'
        f"<th>this period's tasks</th></tr>{''.join(rows)}</table></div>"
    )


def render_period(outputs_root: Path, period: str) -> str:
    runs = list(reversed(all_runs(Path(outputs_root), period)))
    manifests = []
    for run_dir in runs:
        try:
            manifests.append((run_dir, read_manifest(run_dir)))
        except (OSError, ValueError):
            continue
    # a restated/re-performed run id links only to a run listed on this page
    known: set[str] = {m["run_id"] for _, m in manifests if m.get("run_id")}
    signoffs = {m.get("run_id") or d.name: signoffs_for(d) for d, m in manifests}
    current = current_run(manifests)
    # a run that failed on its parameters records none: the company comes from any run that has it
    company = next((str(c) for _, m in manifests if (c := (m.get("parameters") or {}).get("company"))), "")
    title = " - ".join(p for p in (company, f"AR close {period}", "binder") if p)
    if not manifests:
        body = "<p>No runs yet.</p>"
    else:
        by_entity = entity_closes_of_record(manifests)
        intro = f"<p>{len(manifests)} run(s). " + (
            f'Read the current run first: <a href="#{_e(current)}">{_e(current)}</a>, the newest that '
            "succeeded and is not restated by a run that succeeded (a re-performance only checks a run).</p>"
            if current
            else "<strong>No run of this period has succeeded.</strong></p>"
        )
        if by_entity:  # closed by entity: each entity's close of record, not only the newest
            links = ", ".join(f'{_e(e)} <a href="#{_e(r)}">{_e(r)}</a>' for e, r in by_entity.items())
            intro += (
                "<p><strong>Closed by entity.</strong> No close of the whole group has succeeded, so each "
                f"entity's close of record is its own: {links}. Read each; an entity close's figures are "
                "that entity's only.</p>"
            )
        ordered = sorted(manifests, key=lambda dm: dm[1].get("run_id") != current)
        sections = [
            _run_section(d, m, signoffs.get(m.get("run_id") or d.name, []), known, m.get("run_id") == current)
            for d, m in ordered
        ]
        rest = "\n".join(sections[1:] if current else sections)
        body = (
            f"{intro}<h2>Runs</h2>{_run_table(manifests, signoffs, current)}\n"
            + _batches(Path(outputs_root), period, known)
            + (sections[0] if current else "")
            + (f"<h2>Other runs (newest first)</h2>\n{rest}" if rest else "")
        )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{_e(company)}</h1><h1>Accounts-receivable close {_e(period)}: binder</h1>\n{body}\n"
        f'<p class="muted">generated {_e(utc_now())} by closelib; every run folder is read-only and '
        f"<code>close verify RUN</code> re-hashes it against its manifest.</p>\n</body></html>\n"
    )


def write_period_index(outputs_root: Path, period: str) -> Path:
    """Write ``<outputs_root>/<period>/index.html`` atomically; returns its path."""
    folder = Path(outputs_root) / period
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / INDEX
    write_text_atomic(target, render_period(Path(outputs_root), period))
    return target


def refresh_binder(run_dir: Path, period: str) -> tuple[Path | None, str | None]:
    """Rewrite the binder of ``run_dir``'s period after a run or a sign-off: ``(index, None)``, or
    ``(None, why)`` when it could not be written. The binder is a convenience: its failure never
    fails the run or the sign-off that asked for it."""
    try:
        return write_period_index(outputs_root(run_dir), period), None
    except Exception as exc:
        return None, f"period binder not updated: {exc}"
