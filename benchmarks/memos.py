"""A credit memo's own work, from a close's ``logs/credit_memos.json`` (written by
:func:`closelib.areas.credit.memos.execute_memos`).

*Own work*: the wall time from a memo's start in the already running memo kernel (the kernel's
namespace reset) until its reviewer HTML is written: papermill's execution of the memo's cells,
nbclient's messages, the write of the ``.ipynb`` and the HTML export. Not in it: starting the
shared memo kernel. The first memo of each kernel also pays the kernel's imports and its read of
the book; it is reported apart, so the figure is what each further memo costs.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

TARGET = "< 1 s"


def memo_row(run_dir: Path) -> dict | None:
    """A benchmark row for the memos of the close in ``run_dir``; ``None`` when it ran none."""
    log = run_dir / "logs" / "credit_memos.json"
    if not log.is_file():
        return None
    timings = json.loads(log.read_text(encoding="utf-8"))
    memos = [m for m in timings.get("memos", []) if m.get("own_seconds") is not None]
    kernels = int(timings.get("kernels") or 1)
    # memos are shared among kernels in contiguous runs, in order (execute_memos): the first of each
    # share started its kernel's imports and book read
    share = -(-len(memos) // kernels) if memos else 0
    firsts = [m for i, m in enumerate(memos) if share and i % share == 0]
    rest = [m for i, m in enumerate(memos) if not (share and i % share == 0)]
    if not rest:
        return None
    own = [float(m["own_seconds"]) for m in rest]
    papermill = [float(m["seconds"]) for m in rest if m.get("seconds") is not None]
    first = ", ".join(f"{float(m['own_seconds']):.2f}" for m in firsts)
    return {
        "step": "credit memo, own work (median; start in the memo kernel to HTML written)",
        "seconds": round(statistics.median(own), 3),
        "wall": None,
        "cpu": None,
        "max_rss": None,
        "peak_tree_rss": None,
        "floor": None,
        "target": TARGET,
        "note": f"{len(own)} memos after each kernel's first: mean {statistics.fmean(own):.2f} s, "
        f"max {max(own):.2f} s, papermill part median {statistics.median(papermill):.2f} s; "
        f"first memo of each of {kernels} kernel(s) (imports, book read): {first} s",
        "detail": {"own_seconds": own, "first_own_seconds": [m["own_seconds"] for m in firsts]},
        "ratio": None,
    }
