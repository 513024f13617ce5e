"""``close batch``: many closes as tasks on a Dask cluster (:mod:`closelib.batch`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from closelib.cli.progress import emit
from closelib.errors import RunError

USAGE_EXAMPLE = "close batch 2026-01..2026-10 --workers 2"


def cmd_batch(args: argparse.Namespace) -> int:
    from closelib.batch.cluster import distributed_module, run_batch
    from closelib.batch.periods import parse_periods
    from closelib.batch.plan import group_entities, plan_tasks, with_restatements
    from closelib.params import load_parameters
    from closelib.paths import PARAMETERS_DIR
    from closelib.runner.run import resolve_source
    from closelib.runner.runfolder import default_outputs

    distributed_module()  # missing Dask: say how to install it before anything else
    if args.workers is not None and args.workers < 1:
        raise RunError("--workers must be at least 1")
    if args.restate_reason is not None and not args.restate_reason.strip():
        raise RunError("--restate-reason needs the reason for the restatements")
    periods = parse_periods(args.periods)
    source = Path(args.source).expanduser().resolve() if args.source else None
    outputs = Path(args.outputs).resolve() if args.outputs else default_outputs()
    if outputs.exists() and not outputs.is_dir():
        raise RunError(f"outputs {outputs} is not a folder")
    # Every period's parameters merge and check before anything runs: a mistyped -p key refuses
    # the batch once, rather than failing every close of it.
    params = [load_parameters(p, PARAMETERS_DIR, args.params, list(args.p or [])) for p in periods]
    entities = None
    if args.by_entity:
        entities = group_entities(source or resolve_source(None, params[0]))
    tasks = plan_tasks(periods, entities)
    if args.restate_reason is not None:
        tasks = with_restatements(tasks, outputs)
    spec = {
        "source": str(source) if source else None,
        "params_file": str(Path(args.params).resolve()) if args.params else None,
        "overrides": list(args.p or []),
        "reason": args.restate_reason,
    }
    settings = {
        "command": command_line(args),
        "periods": [str(p) for p in periods],
        "by_entity": bool(args.by_entity),
        "source": spec["source"],
        "params_file": spec["params_file"],
        "overrides": spec["overrides"],
        "restate_reason": args.restate_reason,
    }
    result = run_batch(
        tasks,
        outputs=outputs,
        settings=settings,
        spec=spec,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=_print,
    )
    for line in summary_lines(result.batch):
        emit(line)
    emit(str(result.folder / "batch.json"))
    return 0 if result.succeeded else 1


def _print(line: str) -> None:
    """A line of progress: never an error when its reader has gone (the closes go on)."""
    emit(line)


def command_line(args: argparse.Namespace) -> str:
    """The batch's command as a person would type it again (options in one order)."""
    words = ["close", "batch", *args.periods]
    for option, value in (
        ("--source", args.source),
        ("--outputs", args.outputs),
        ("--params", args.params),
        ("--restate-reason", args.restate_reason),
        ("--workers", args.workers),
        ("--scheduler", args.scheduler),
    ):
        if value is not None:
            words += [option, str(value)]
    for override in args.p or []:
        words += ["-p", override]
    if args.by_entity:
        words.append("--by-entity")
    return shlex.join(words)


def summary_lines(batch: dict) -> list[str]:
    """The batch as a table a person reads: each task, its status, its run folder, why it failed."""
    tasks = batch["tasks"]
    failed = [t for t in tasks if t["status"] != "succeeded"]
    lines = [
        f"batch {batch['batch_id']} {batch['status']}: {len(tasks) - len(failed)} of {len(tasks)} close(s) succeeded"
        + (f", {len(failed)} failed or not run" if failed else "")
    ]
    if batch.get("error"):
        lines.append(f"  batch stopped: {batch['error']}")
    width = max([len("task"), *(len(t["task"]) for t in tasks)])
    lines.append(f"  {'task':<{width}}  {'status':<9}  run folder")
    for t in tasks:
        lines.append(f"  {t['task']:<{width}}  {t['status']:<9}  {t['run'] or '-'}")
        if t["status"] != "succeeded":
            lines.append(f"  {'':<{width}}  reason: {t['error'] or 'it never ran to an end'}")
    return lines


def register_batch(sub: argparse._SubParsersAction) -> None:
    batch = sub.add_parser(
        "batch",
        help="run many closes (periods, restatements, entities) as tasks on a Dask cluster",
        description=f"Each task is one close, exactly as close run runs it. Example: {USAGE_EXAMPLE}",
    )
    batch.add_argument("periods", nargs="+", metavar="PERIOD", help="YYYY-MM, or a range YYYY-MM..YYYY-MM")
    batch.add_argument("--source", help="source folder every worker can read (default: parameters' source)")
    batch.add_argument("--outputs", help="outputs folder every worker can write (default ./outputs)")
    batch.add_argument("--params", help="YAML merged over each period's parameters")
    batch.add_argument("-p", action="append", metavar="KEY=VALUE", help="set one parameter (value read as YAML)")
    batch.add_argument(
        "--restate-reason", metavar="TEXT", help="each close restates its period's latest run that succeeded"
    )
    where = batch.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="a local Dask cluster of N worker processes (default 2)"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask cluster, e.g. tcp://host:8786")
    batch.add_argument(
        "--by-entity", action="store_true", help="one close per entity of the group (parameter entities)"
    )
    batch.set_defaults(func=cmd_batch)
