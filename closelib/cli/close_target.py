"""``make close``: run the demo book's latest period and say where to look.

``python -m closelib.cli.close_target SOURCE [PERIOD]``; without PERIOD, the latest period of
the source's GL. Exit status is the run's (0 only when every notebook and check passed).
"""

from __future__ import annotations

import sys
from pathlib import Path

from closelib.errors import CloseError
from closelib.periods import Period


def latest_period(source: Path) -> Period:
    from closelib.book.load import load_book

    periods = load_book(source).gl_balances["period"]
    if len(periods) == 0:
        raise CloseError(f"{source}: gl_balances has no periods; pass PERIOD=YYYY-MM")
    return Period.parse(str(max(periods)))


def main(argv: list[str]) -> int:
    from closelib.cli.commands import _print
    from closelib.runner.run import execute_run

    if not argv:
        print("usage: python -m closelib.cli.close_target SOURCE [PERIOD]", file=sys.stderr)
        return 2
    source = Path(argv[0]).resolve()
    try:
        period = Period.parse(argv[1]) if len(argv) > 1 and argv[1] else latest_period(source)
        _print(f"close {period} on {source}")
        result = execute_run(period, source=source, progress=_print)
    except CloseError as exc:
        print(f"close: error: {exc}", file=sys.stderr)
        return exc.exit_code
    m = result.manifest
    _print("")
    _print(f"run {m['run_id']}: {m['status']}")
    first = next((e["html"] for e in m["notebooks"].values() if e.get("html")), None)
    index = result.run_dir.parent / "index.html"
    if index.is_file():
        _print(f"open first: {index}")
    if first:
        _print(f"reviewer HTML: {result.run_dir / first}")
    _print(f"figures and checks: close show {m['run_id']}")
    _print(str(result.run_dir))
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
