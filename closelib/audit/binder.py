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

from closelib.audit.signoffs import signoffs_for
from closelib.files import write_text_atomic
from closelib.runner.provenance import utc_now
from closelib.runner.runfolder import (
    all_runs,
    failed_checks,
    key_figures,
    outputs_root,
    read_manifest,
    run_status,
)

INDEX = "index.html"

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:75em}
h1{font-size:1.5em}h2{font-size:1.15em;margin:0 0 .3em}h3{font-size:1em;margin:.8em 0 .2em}
.run{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}
.succeeded{border-left:6px solid #2e7d32}.failed{border-left:6px solid #c62828}.running{border-left:6px solid #999}
.abandoned{border-left:6px solid #ef6c00}.abandoned .status{color:#ef6c00}
.status{font-weight:bold;text-transform:uppercase}.succeeded .status{color:#2e7d32}.failed .status{color:#c62828}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #eee;padding:.15em .6em;text-align:left}
td.num{text-align:right;font-family:monospace}tr.fail td{background:#fdecea;color:#b71c1c;font-weight:bold}
tr.warn td{background:#fff8e1}.void{color:#b71c1c;font-weight:bold}.muted{color:#777}
code{font-size:.9em}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(quote(href))}">{_e(text)}</a>'


def _run_section(run_dir: Path, manifest: dict, known: set[str]) -> str:

    run_id = manifest.get("run_id") or run_dir.name
    status = run_status(manifest)
    parts = [
        f'<section class="run {_e(status)}" id="{_e(run_id)}">',
        f'<h2>{_e(run_id)} <span class="status">{_e(status)}</span></h2>',
        f"<p>started {_e(manifest.get('started_at'))} &middot; finished {_e(manifest.get('finished_at'))}",
    ]
    for label in ("restates", "reperforms"):
        target = manifest.get(label)
        if target:
            ref = f'<a href="#{_e(target)}">{_e(target)}</a>' if target in known else _e(target)
            parts.append(f"<br>{label} {ref}")
    if manifest.get("reason"):
        parts.append(f"<br>reason: {_e(manifest['reason'])}")
    if manifest.get("error"):
        parts.append(f'<br><span class="void">error: {_e(manifest["error"])}</span>')
    parts.append("</p>")

    links = []
    for name, entry in (manifest.get("notebooks") or {}).items():
        if entry.get("html") and (run_dir / entry["html"]).is_file():
            links.append(_link(f"{run_id}/{entry['html']}", f"{name} (reviewer HTML)"))
        elif entry.get("file"):
            links.append(_link(f"{run_id}/{entry['file']}", f"{name} (notebook, {entry.get('status')})"))
    for pack in sorted(run_dir.rglob("*.xlsx")):
        rel = pack.relative_to(run_dir).as_posix()
        links.append(_link(f"{run_id}/{rel}", rel))
    links.append(_link(f"{run_id}/manifest.json", "manifest.json"))
    parts.append("<h3>Documents</h3><p>" + " &middot; ".join(links) + "</p>")

    figures = key_figures(manifest.get("figures") or {})
    if figures:
        figure_rows = "".join(
            f'<tr><td><code>{_e(k)}</code></td><td class="num">{_e(v)}</td></tr>' for k, v in figures.items()
        )
        parts.append(f"<h3>Key figures</h3><table>{figure_rows}</table>")

    checks = manifest.get("checks") or {}
    if checks:
        bad = set(failed_checks(manifest))
        rows = []
        for name, check in checks.items():
            if check.get("passed"):
                css, label = "", "PASS"
            elif name in bad:
                css, label = "fail", "FAIL"
            else:
                css, label = "warn", "WARN"
            rows.append(
                f'<tr class="{css}"><td>{label}</td><td><code>{_e(name)}</code></td>'
                f"<td>{_e(check.get('detail'))}</td></tr>"
            )
        passed = sum(1 for c in checks.values() if c.get("passed"))
        parts.append(f"<h3>Checks ({passed}/{len(checks)} passed)</h3><table>{''.join(rows)}</table>")

    signoffs = signoffs_for(run_dir)
    if signoffs:
        rows = []
        for s in signoffs:
            void = '<span class="void">VOID: manifest changed after signing</span>' if s["void"] else "valid"
            rows.append(
                f"<tr><td>{_e(s.get('role'))}</td><td>{_e(s.get('name'))}</td><td>{_e(s.get('at'))}</td>"
                f"<td>{_e(s.get('note') or '')}</td><td>{void}</td></tr>"
            )
        parts.append(
            f"<h3>Sign-offs</h3><table><tr><th>role</th><th>name</th><th>at (UTC)</th><th>note</th>"
            f"<th></th></tr>{''.join(rows)}</table>"
        )
    else:
        parts.append('<h3>Sign-offs</h3><p class="muted">none</p>')
    parts.append("</section>")
    return "\n".join(parts)


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
    summary = ""
    if manifests:
        latest = manifests[0][1]
        summary = (
            f'<p>{len(manifests)} run(s); latest <a href="#{_e(latest.get("run_id"))}">'
            f"{_e(latest.get('run_id'))}</a> {_e(run_status(latest))}</p>"
        )
    sections = "\n".join(_run_section(run_dir, m, known) for run_dir, m in manifests)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Close {_e(period)}: binder</title><style>{CSS}</style></head><body>\n"
        f"<h1>Accounts-receivable close {_e(period)}</h1>\n{summary}\n{sections or '<p>no runs yet</p>'}\n"
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
