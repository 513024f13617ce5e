"""``make close``: run the demo book's latest period and say where to look.

``python -m closelib.cli.close_target SOURCE [PERIOD]``; without PERIOD, the latest period of
the source's GL. Exit status is the run's (0 only when every notebook and check passed).
"""

from __future__ import annotations

import sys
from pathlib import Path

from closelib.errors import CloseError
from closelib.periods import Period


def main(argv: list[str]) -> int:
    from closelib.audit.binder import refresh_binder
    from closelib.book.load import load_book
    from closelib.book.model import latest_period
    from closelib.cli.commands import _print
    from closelib.runner.run import execute_run
    from closelib.runner.runfolder import period_folder

    if not argv:
        print("usage: python -m closelib.cli.close_target SOURCE [PERIOD]", file=sys.stderr)
        return 2
    source = Path(argv[0]).resolve()
    try:
        period = Period.parse(argv[1]) if len(argv) > 1 and argv[1] else latest_period(load_book(source))
        _print(f"close {period} on {source}")
        result = execute_run(period, source=source, progress=_print)
        _, problem = refresh_binder(result.run_dir, result.manifest["period"])
        if problem:
            _print(problem)
    except CloseError as exc:
        print(f"close: error: {exc}", file=sys.stderr)
        return exc.exit_code
    m = result.manifest
    _print("")
    _print(f"run {m['run_id']}: {m['status']}")
    first = next((e["html"] for e in m["notebooks"].values() if e.get("html")), None)
    index = period_folder(result.run_dir) / "index.html"
    if index.is_file():
        _print(f"open first: {index}")
    if first:
        _print(f"reviewer HTML: {result.run_dir / first}")
    _print(f"figures and checks: close show {m['run_id']}")
    _print(str(result.run_dir))
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
