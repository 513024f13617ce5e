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
    from closelib.cli.progress import Progress
    from closelib.runner.run import execute_run
    from closelib.runner.runfolder import period_folder

    if not argv:
        print("usage: python -m closelib.cli.close_target SOURCE [PERIOD]", file=sys.stderr)
        return 2
    source = Path(argv[0]).resolve()
    try:
        period = Period.parse(argv[1]) if len(argv) > 1 and argv[1] else latest_period(load_book(source))
        progress = Progress()
        progress.line(f"close {period} on {source}")
        result = execute_run(period, source=source, progress=progress.line, status=progress.status)
        progress.done()
        _, problem = refresh_binder(result.run_dir, result.manifest["period"])
        if problem:
            _print(problem)
    except CloseError as exc:
        print(f"close: error: {exc}", file=sys.stderr)
        return exc.exit_code
    m = result.manifest
    _print("")
    index = period_folder(result.run_dir) / "index.html"
    if index.is_file():  # the binder is where a reviewer starts: runs, sign-offs, every workpaper
        _print(f"open first, the period binder: {index}")
    _print(f"run {m['run_id']}: {m['status']}")
    # the first workpaper in notebook order (01_tb_recon), not the one that happened to finish first
    first = next((e["html"] for e in sorted(m["notebooks"].values(), key=lambda e: e["file"]) if e.get("html")), None)
    if first:
        _print(f"first workpaper: {result.run_dir / first}")
    _print(f"figures and checks: close show {m['run_id']}")
    _print(str(result.run_dir))
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
