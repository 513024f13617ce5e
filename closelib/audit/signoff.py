"""Sign-offs: who prepared and who reviewed a run, bound to its manifest's hash (CONTRACT §4).

A finished run folder is read-only, so sign-offs live beside the runs of a period, in the
append-only log ``<outputs>/<PERIOD>/signoffs.jsonl``: one JSON line per sign-off with
``run_id``, ``period``, ``role``, ``name``, ``note``, ``at`` (UTC), ``manifest_sha256`` (the
sha256 of the run's ``manifest.json`` when it was signed) and ``prev_sha256`` (the sha256 of
the previous line, so an edited or deleted line breaks the chain and ``close verify`` says
so). Each line is also kept as a read-only anchor file ``.signoffs/<sha256 of the line>.json``
beside the log, so editing or deleting the last line is reported too (see
:mod:`closelib.audit.signoffs`). The file is kept read-only between appends; appends take a
lock file.

Rules (a refused sign-off raises :class:`RunError` and writes nothing):

- only a finished run (succeeded or failed) that passes ``close verify`` can be signed;
- a failed run can be signed only with a ``--note`` saying why it is accepted;
- a reviewer needs a preparer sign-off of the same run first, and must not be a person
  who prepared it (names compared case-insensitively, spaces trimmed);
- the same person cannot sign the same run in the same role twice;
- sign-offs are per run id: a restatement or re-performance is a new run and needs its own.

A sign-off whose ``manifest_sha256`` no longer matches the manifest is VOID (reported by
``close verify`` and ``close status``).
"""

from __future__ import annotations

from pathlib import Path

from closelib.audit.signoffs import append_entry, log_problems, read_log, signoffs_for
from closelib.audit.verify import verify
from closelib.errors import RunError
from closelib.files import sha256_file
from closelib.runner.provenance import utc_now
from closelib.runner.runfolder import MANIFEST, period_folder, read_manifest

ROLES = ("preparer", "reviewer")


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def record_signoff(run_dir: Path, role: str, name: str, note: str | None = None) -> dict:
    """Check the rules, then append one sign-off to the period's log; returns the entry."""

    run_dir = Path(run_dir)
    name = " ".join((name or "").split())
    note = (note or "").strip() or None
    if role not in ROLES:
        raise RunError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not name:
        raise RunError("a sign-off needs --name")
    manifest = read_manifest(run_dir)
    run_id = manifest["run_id"]
    if manifest.get("status") not in ("succeeded", "failed"):
        raise RunError(f"run {run_id} has not finished (status {manifest.get('status')}); it cannot be signed")
    if manifest["status"] == "failed" and not note:
        raise RunError(
            f"run {run_id} failed; signing a failed run needs --note explaining why it is accepted "
            "(or fix the cause and sign the new run)"
        )
    result = verify(run_dir)
    if result.mismatches:
        raise RunError(
            f"run {run_id} does not verify ({len(result.mismatches)} mismatch(es), first: "
            f"{result.mismatches[0]}); see `close verify {run_id}`. Refusing to sign."
        )
    valid = [e for e in signoffs_for(run_dir) if not e["void"]]
    for entry in valid:
        if entry.get("role") == role and _same(entry.get("name", ""), name):
            raise RunError(f"{name} already signed run {run_id} as {role} at {entry.get('at')}")
    preparers = [e for e in valid if e.get("role") == "preparer"]
    reviewers = [e for e in valid if e.get("role") == "reviewer"]
    if role == "reviewer":
        if not preparers:
            raise RunError(
                f"run {run_id} has no preparer sign-off yet; the preparer signs first "
                f"(close signoff {run_id} --role preparer --name NAME)"
            )
        same = [e for e in preparers if _same(e.get("name", ""), name)]
        if same:
            raise RunError(
                f"the reviewer must differ from the preparer: {same[0].get('name')} prepared "
                f"run {run_id}; a second person reviews it"
            )
    else:
        same = [e for e in reviewers if _same(e.get("name", ""), name)]
        if same:
            raise RunError(f"the preparer must differ from the reviewer: {same[0].get('name')} reviewed run {run_id}")
    entry = {
        "run_id": run_id,
        "period": manifest["period"],
        "role": role,
        "name": name,
        "note": note,
        "at": utc_now(),
        "manifest_sha256": sha256_file(run_dir / MANIFEST),
    }
    append_entry(period_folder(run_dir), entry)
    return entry


def signoff_lines(run_dir: Path) -> list[str]:
    """What ``close status`` prints: this run's sign-offs (VOID marked) and the period's others."""
    run_dir = Path(run_dir)
    own = signoffs_for(run_dir)
    lines = [f"sign-offs (run {run_dir.name}):"]
    for role in ROLES:
        entries = [e for e in own if e.get("role") == role]
        if not entries:
            lines.append(f"  {role:<9} not signed")
        for e in entries:
            mark = "  VOID: the manifest changed after signing" if e["void"] else ""
            note = f"  note: {e['note']}" if e.get("note") else ""
            lines.append(f"  {role:<9} {e.get('name')}  at {e.get('at')}{note}{mark}")
    others = [e for e in read_log(period_folder(run_dir)) if e.get("run_id") != run_dir.name]
    if others:
        lines.append("sign-offs of other runs of the period (each run needs its own):")
        current: dict[str, str | None] = {}
        for e in others:
            run_id = str(e.get("run_id"))
            if run_id not in current:
                manifest = period_folder(run_dir) / run_id / MANIFEST
                current[run_id] = sha256_file(manifest) if manifest.is_file() else None
            mark = "  VOID" if e.get("manifest_sha256") != current[run_id] else ""
            lines.append(f"  {run_id}  {e.get('role'):<9} {e.get('name')}  at {e.get('at')}{mark}")
    for problem in log_problems(period_folder(run_dir)):
        lines.append(f"  LOG EDITED: {problem}")
    return lines
