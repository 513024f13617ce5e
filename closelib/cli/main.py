"""``close``: a thin command line over closelib's Python API (CONTRACT §4).

User mistakes (a :class:`CloseError`) print one clear message and exit non-zero; only
a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from closelib import __version__
from closelib.cli.batch import register_batch
from closelib.cli.commands import register
from closelib.cli.progress import BROKEN_PIPE_EXIT, silence_stdout
from closelib.errors import CloseError, SourceError


def _cmd_demo(args: argparse.Namespace) -> int:
    from closelib.demo import generate_book, write_book
    from closelib.demo.group import group_entities, write_group

    if args.entities == 2:
        tables = generate_book(seed=args.seed, scale=args.scale, end=args.end)
        written = write_book(tables, args.out, fmt=args.format)
        rows = {name: len(frame) for name, frame in tables.items()}
        group = ""
    else:
        codes = group_entities(args.entities)
        written, rows = write_group(args.seed, args.scale, args.end, args.entities, args.out, args.format)
        group = f", {len(codes)} entities: {', '.join(codes)}"
    print(
        f"demo book (seed {args.seed}, scale {args.scale}, ending {args.end}{group})"
        f" written to {Path(args.out).resolve()}"
    )
    for name in sorted(written):
        print(f"  {written[name].name:<24} {rows.get(name, 0):>10,} rows")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from closelib.book.load import load_book, summary

    try:
        book = load_book(args.source)
    except SourceError as exc:
        if args.json:
            print(
                json.dumps(
                    {"source": str(args.source), "ok": False, "problems": [p.as_dict() for p in exc.problems]}, indent=2
                )
            )
        else:
            print(str(exc))
        return 1
    info = summary(book)
    if args.json:
        print(json.dumps({"source": str(args.source), "ok": True, "problems": [], "summary": info}, indent=2))
        return 0
    print(f"{info['source']}: meets the contract")
    for name, count in info["rows"].items():
        print(f"  {name:<14} {count:>10,} rows")
    if info["missing_optional"]:
        print(f"  optional tables not given: {', '.join(info['missing_optional'])}")
    print(
        f"  dates {info['first_date']} .. {info['last_date']}; GL periods "
        f"{info['gl_periods'][0] if info['gl_periods'] else '-'} .. "
        f"{info['gl_periods'][-1] if info['gl_periods'] else '-'}"
    )
    print("  entities: " + ", ".join(f"{e} ({c})" for e, c in info["entities"].items()))
    print("  currencies: " + ", ".join(info["currencies"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from closelib.demo import DEFAULT_END, DEFAULT_SEED

    parser = argparse.ArgumentParser(prog="close", description="closelib: the AR month-end close, run and audited.")
    parser.add_argument("--version", action="version", version=f"closelib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="write the demo book as a source folder")
    demo.add_argument("--out", required=True, help="folder to write the extracts into")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--scale", type=float, default=1.0, help="multiplies customers and documents (default 1)")
    demo.add_argument("--end", default=DEFAULT_END, help=f"last period YYYY-MM (default {DEFAULT_END})")
    demo.add_argument("--format", choices=("csv", "parquet"), default="csv")
    demo.add_argument(
        "--entities",
        type=int,
        default=2,
        help="entities in the group (default 2: US01, SG01); more add entity pairs US02, SG02, ...,"
        " each with its own customers (--scale applies to each pair)",
    )
    demo.set_defaults(func=_cmd_demo)

    validate = sub.add_parser("validate", help="check a source folder against the contract")
    validate.add_argument("source")
    validate.add_argument("--json", action="store_true", help="machine-readable result")
    validate.set_defaults(func=_cmd_validate)

    register(sub)
    register_batch(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here rather than at the interpreter's exit
        return code
    except BrokenPipeError:  # the reader stopped reading (`close list | head`): nothing to say
        silence_stdout()
        return BROKEN_PIPE_EXIT
    except CloseError as exc:
        print(f"close: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("close: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
