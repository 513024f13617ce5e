"""The runner's commands: ``run``, ``list``, ``show``, ``status``, and the audit commands
``verify``, ``reperform``, ``diff``, ``signoff`` (CONTRACT §4)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from closelib.cli.progress import Progress, emit
from closelib.errors import RunAborted, RunError


def _outputs(args: argparse.Namespace) -> Path | None:
    return Path(args.outputs).resolve() if getattr(args, "outputs", None) else None


def _print(line: str) -> None:
    """A line of progress: never an error when its reader has gone (the work goes on)."""
    emit(line)


# Said when a run stopped before any notebook: why its folder stays.
KEPT_FOLDER = (
    "the run folder is kept, read-only and listed as failed: every attempt is recorded with the inputs "
    "and parameters it was given and why it stopped, and no later run reuses or overwrites it"
)


def cmd_run(args: argparse.Namespace) -> int:
    from closelib.audit.binder import refresh_binder
    from closelib.periods import Period
    from closelib.runner.run import execute_run
    from closelib.runner.runfolder import find_run, read_manifest

    period = Period.parse(args.period)
    restates = None
    if args.restate or args.reason:
        if not (args.restate and args.reason and args.reason.strip()):
            raise RunError("a restatement needs both --restate RUN and --reason TEXT")
        original = read_manifest(find_run(args.restate, _outputs(args)))
        if original["period"] != str(period):
            raise RunError(f"run {original['run_id']} is for {original['period']}, not {period}")
        restates = original["run_id"]
    progress = Progress()
    progress.line(f"close {period}: running the period notebooks")
    try:
        result = execute_run(
            period,
            source=args.source,
            params_file=args.params,
            overrides=args.p or [],
            outputs=args.outputs,
            restates=restates,
            reason=args.reason,
            progress=progress.line,
            status=progress.status,
        )
    except RunAborted as exc:  # interrupted or the disk full: the binder still shows the run
        progress.done()
        if exc.run_dir is not None:
            refresh_binder(Path(str(exc.run_dir)), str(period))
        raise
    progress.done()
    index, problem = refresh_binder(result.run_dir, result.manifest["period"])
    if problem:
        result.messages.append(problem)
        print(problem, file=sys.stderr)
    if not result.manifest.get("notebooks"):  # refused before any notebook ran
        for line in result.messages:
            if line.startswith("run failed before"):
                print(line, file=sys.stderr)
        print(f"close: no notebook was run; {KEPT_FOLDER}: {result.run_dir}", file=sys.stderr)
    _print(f"status: {result.manifest['status']}")
    if index:
        _print(f"binder: {index}")
    _print(str(result.run_dir))
    return 0 if result.succeeded else 1


def cmd_list(args: argparse.Namespace) -> int:
    from closelib.cli.figures import key_figure_lines
    from closelib.periods import Period
    from closelib.runner.inputs_info import closed_entities, entity_currencies
    from closelib.runner.runfolder import KEY_FIGURES, all_runs, describe, read_manifest

    period = str(Period.parse(args.period)) if args.period else None
    runs = all_runs(_outputs(args), period)
    if not runs:
        print("no runs yet" + (f" for {period}" if period else ""))
        return 0
    for run_dir in runs:
        print(describe(run_dir, figures=False))
        manifest = read_manifest(run_dir)
        currencies = entity_currencies(run_dir, closed_entities(manifest))
        for line in key_figure_lines(manifest.get("figures") or {}, currencies, KEY_FIGURES):
            print(f"    {line}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from closelib.audit.diff import outcome
    from closelib.cli.figures import figure_lines, group_figures
    from closelib.runner.inputs_info import closed_entities, customer_currencies, entity_currencies
    from closelib.runner.runfolder import find_run, read_manifest, run_status

    run_dir = find_run(args.run, _outputs(args))
    m = read_manifest(run_dir)
    if args.json:
        print(
            json.dumps(
                {k: m.get(k) for k in ("period", "run_id", "figures", "checks", "notebooks")}
                | {"status": run_status(m)},
                indent=2,
            )
        )
        return 0
    print(f"run {m['run_id']} for {m['period']}: {run_status(m)}  ({m['started_at']} .. {m['finished_at']})")
    print(f"folder {run_dir}")
    if m.get("error"):
        print(f"error: {m['error']}")
    print("notebooks:")
    for name, entry in _in_notebook_order(m.get("notebooks", {})):
        print(f"  {name:<22} {entry['status']:<10} {entry['seconds']:>8.1f} s  {entry.get('error') or ''}")
    figures = m.get("figures", {})
    currencies = entity_currencies(run_dir, closed_entities(m))
    subjects = customer_currencies(run_dir) if any(n.startswith("credit.") for n in figures) else {}
    print(f"figures ({len(figures)}), by area and entity:")
    for line in figure_lines(group_figures(figures, currencies, subjects)):
        print(line)
    checks = m.get("checks", {})
    print(f"checks: {check_counts(checks)}")
    for name in sorted(checks, key=lambda n: (ORDER[outcome(checks[n])], n)):
        print(f"  {outcome(checks[name])} {name}: {checks[name]['detail']}")
    return 0


# Checks are listed failures first, then warnings, then passes, each by name.
ORDER = {"FAIL": 0, "WARN": 1, "PASS": 2}


def check_counts(checks: dict) -> str:
    """``44 passed, 2 warnings, 0 failed (46 checks)``."""
    from closelib.audit.diff import outcome

    counts = dict.fromkeys(ORDER, 0)
    for check in checks.values():
        counts[outcome(check)] += 1
    return f"{counts['PASS']} passed, {counts['WARN']} warning(s), {counts['FAIL']} failed ({len(checks)} checks)"


def _in_notebook_order(notebooks: dict) -> list[tuple[str, dict]]:
    """The manifest's notebooks in file order (``01_``, ``02_``...), not the order they ran in."""
    return sorted(notebooks.items(), key=lambda item: (str(item[1].get("file") or ""), item[0]))


def cmd_status(args: argparse.Namespace) -> int:
    from closelib.periods import Period
    from closelib.runner.runfolder import all_runs, failed_checks, read_manifest, run_status

    period = Period.parse(args.period)
    runs = all_runs(_outputs(args), str(period))
    if not runs:
        print(f"{period}: no runs yet (close run {period})")
        return 0
    latest = read_manifest(runs[-1])
    print(f"{period}: {len(runs)} run(s); latest {latest['run_id']} {run_status(latest)}")
    for run_dir in runs:
        m = read_manifest(run_dir)
        link = f" restates {m['restates']} ({m['reason']})" if m.get("restates") else ""
        link += f" reperforms {m['reperforms']}" if m.get("reperforms") else ""
        print(f"  {m['run_id']}  {run_status(m)}{link}")
    checks = latest.get("checks", {})
    print(f"checklist (latest run): checks {check_counts(checks)}")
    for name, entry in _in_notebook_order(latest.get("notebooks", {})):
        mark = "x" if entry["status"] == "succeeded" else " "
        own = {n: c for n, c in checks.items() if c.get("notebook") == name}
        print(f"  [{mark}] {name:<22} {entry['status']:<10} checks {check_counts(own)}")
    bad = sorted(failed_checks(latest))
    if bad:
        print("  failing checks: " + ", ".join(bad))
    warned = sorted(n for n, c in checks.items() if not c.get("passed") and c.get("severity") == "warning")
    if warned:
        print("  warnings: " + ", ".join(warned))
    from closelib.audit.signoff import signoff_lines

    for line in signoff_lines(runs[-1]):
        print(line)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from closelib.audit.verify import verify
    from closelib.runner.runfolder import find_run

    run_dir = find_run(args.run, _outputs(args))
    result = verify(run_dir)
    for mismatch in result.mismatches:
        print(f"MISMATCH {mismatch.file}: expected {mismatch.expected}, found {mismatch.found}")
    if result.mismatches:
        print(f"{run_dir.name}: {len(result.mismatches)} mismatch(es) in {run_dir}")
        return 1
    print(f"{run_dir.name}: verified {result.files_checked} files against the manifest; no mismatch")
    return 0


def cmd_reperform(args: argparse.Namespace) -> int:
    from closelib.audit.reperform import reperform_run
    from closelib.runner.runfolder import find_run

    run_dir = find_run(args.run, _outputs(args))
    progress = Progress()
    progress.line(f"re-performing {run_dir.name} from its stored inputs and recorded parameters")
    result, comparison = reperform_run(run_dir, progress=progress.line, status=progress.status)
    progress.done()
    for line in comparison.lines():
        _print(line)
    identical = comparison.identical
    if args.cells:
        from closelib.audit.cells import compare_run_cells

        cells = compare_run_cells(run_dir, result.run_dir)
        for line in cells.lines():
            _print(line)
        identical = identical and cells.identical
    _print(str(result.run_dir))
    return 0 if identical else 1


def cmd_diff(args: argparse.Namespace) -> int:
    from closelib.audit.diff import diff_lines, diff_runs
    from closelib.runner.runfolder import find_run

    run_a = find_run(args.run_a, _outputs(args))
    run_b = find_run(args.run_b, _outputs(args))
    if args.json:
        print(json.dumps(diff_runs(run_a, run_b), indent=2, default=str))
        return 0
    for line in diff_lines(diff_runs(run_a, run_b, limit=args.rows), limit=args.rows):
        print(line)
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    from closelib.audit.binder import refresh_binder
    from closelib.audit.signoff import record_signoff
    from closelib.runner.runfolder import find_run

    run_dir = find_run(args.run, _outputs(args))
    entry = record_signoff(run_dir, args.role, args.name, args.note)
    print(
        f"signed {entry['run_id']} as {entry['role']}: {entry['name']} at {entry['at']} "
        f"(manifest sha256 {entry['manifest_sha256']})"
    )
    index, problem = refresh_binder(run_dir, entry["period"])
    if index:
        print(f"binder: {index}")
    else:
        print(problem, file=sys.stderr)
    return 0


def cmd_investigate(args: argparse.Namespace) -> int:
    from closelib.runner.adhoc import run_investigation

    result = run_investigation(
        args.customer, args.document, args.case, source=args.source, outputs=args.outputs, progress=_print
    )
    _print(f"status: {result.manifest['status']}")
    html = next((e["html"] for e in result.manifest["notebooks"].values() if e.get("html")), None)
    if html:
        _print(f"open: {result.run_dir / html}")
    _print(str(result.run_dir))
    return 0 if result.succeeded else 1


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the close for a period")
    run.add_argument("period", help="YYYY-MM")
    run.add_argument("--source", help="source folder (default: parameters' source)")
    run.add_argument("--params", help="YAML merged over the period's parameters")
    run.add_argument("-p", action="append", metavar="KEY=VALUE", help="set one parameter (value read as YAML)")
    run.add_argument("--outputs", help="outputs folder (default ./outputs)")
    run.add_argument("--restate", metavar="RUN", help="the earlier run of this period that this run restates")
    run.add_argument("--reason", help="why the period is restated")
    run.set_defaults(func=cmd_run)

    listing = sub.add_parser("list", help="runs with status and key figures")
    listing.add_argument("period", nargs="?")
    listing.add_argument("--outputs")
    listing.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="one run's notebooks, figures and checks")
    show.add_argument("run", help="run folder or run id")
    show.add_argument("--outputs")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    investigate = sub.add_parser("investigate", help="the ad-hoc dispute investigation notebook, into outputs/adhoc/")
    investigate.add_argument("--customer", help="customer id")
    investigate.add_argument("--document", help="document id (its customer is implied)")
    investigate.add_argument("--case", help="dispute case id (its customer and document are implied)")
    investigate.add_argument("--source", help="source folder (default: parameters' source)")
    investigate.add_argument("--outputs", help="outputs folder (default ./outputs)")
    investigate.set_defaults(func=cmd_investigate)

    status = sub.add_parser("status", help="the period's runs, checklist and sign-offs")
    status.add_argument("period")
    status.add_argument("--outputs")
    status.set_defaults(func=cmd_status)

    verify = sub.add_parser("verify", help="re-hash a run's stored inputs and outputs against its manifest")
    verify.add_argument("run", help="run folder or run id")
    verify.add_argument("--outputs")
    verify.set_defaults(func=cmd_verify)

    reperform = sub.add_parser("reperform", help="re-execute a run from its stored inputs and compare")
    reperform.add_argument("run", help="run folder or run id")
    reperform.add_argument("--outputs")
    reperform.add_argument(
        "--cells", action="store_true", help="also compare every cell's output of every notebook with nbval"
    )
    reperform.set_defaults(func=cmd_reperform)

    diff = sub.add_parser("diff", help="figures, checks, parameters and input rows that differ between two runs")
    diff.add_argument("run_a", help="the earlier run (folder or id)")
    diff.add_argument("run_b", help="the later run (folder or id)")
    diff.add_argument("--outputs")
    diff.add_argument("--json", action="store_true", help="everything, machine-readable (all rows)")
    diff.add_argument("--rows", type=int, default=20, help="rows shown per table in text mode (default 20)")
    diff.set_defaults(func=cmd_diff)

    signoff = sub.add_parser("signoff", help="record a preparer or reviewer sign-off bound to the manifest hash")
    signoff.add_argument("run", help="run folder or run id")
    signoff.add_argument("--role", required=True, choices=("preparer", "reviewer"))
    signoff.add_argument("--name", required=True)
    signoff.add_argument("--note", help="required to sign a failed run: why it is accepted")
    signoff.add_argument("--outputs")
    signoff.set_defaults(func=cmd_signoff)
