"""Run one command as a child process: wall time and peak memory of it and its descendants.

Two memory figures, both in bytes:

* ``max_rss``: the largest resident set of any single process of the step (the child's
  ``ru_maxrss`` from ``wait4``, which the kernel maxes over the descendants it reaped);
* ``peak_tree_rss``: the largest *sum* of the resident sets of the child and all its
  descendants seen by polling ``/proc`` every ``interval`` seconds: what the machine must
  hold at once (a close runs notebooks and kernels side by side). Polling can miss a
  spike shorter than the interval; ``max_rss`` cannot.

``groups`` splits the polled peak by the child's direct children (e.g. one per notebook
process with its kernel), in order of their process ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    wall: float
    max_rss: int
    peak_tree_rss: int
    groups: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    cpu: float = 0.0  # user + system seconds of the step and its reaped descendants
    timed_out: bool = False

    def result(self) -> dict:
        """The JSON object a step printed as its last stdout line ({} if none)."""
        for line in reversed(self.stdout.strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    return {}
        return {}


def _children() -> dict[int, list[int]]:
    """ppid -> [pid] for every process on the machine (one /proc scan)."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: ppid is the 2nd field after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _subtree(root: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, ()))
    return out


def run(
    argv: list[str],
    *,
    cwd: str | Path | None = None,
    env: dict | None = None,
    interval: float = 0.05,
    timeout: float | None = None,
) -> Measured:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    group_peaks: dict[int, dict] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            tree = _children()
            total = 0
            for child in [proc.pid]:
                total += _rss(child)
            for direct in tree.get(proc.pid, ()):
                rss = sum(_rss(p) for p in _subtree(direct, tree))
                total += rss
                entry = group_peaks.setdefault(direct, {"pid": direct, "cmd": _cmdline(direct)[:200], "peak": 0})
                entry["peak"] = max(entry["peak"], rss)
            peak[0] = max(peak[0], total)
            done.wait(interval)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    deadline = None if timeout is None else started + timeout
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline and not timed_out:
            timed_out = True
            # The step's own descendants (notebook processes, kernels), one by one by pid.
            for pid_ in reversed(_subtree(proc.pid, _children())):
                with contextlib.suppress(OSError):
                    os.kill(pid_, 9)
        time.sleep(0.01)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    watcher.join()
    for reader in readers:
        reader.join()
    groups = [g for _, g in sorted(group_peaks.items())]
    return Measured(
        argv,
        proc.returncode,
        wall,
        usage.ru_maxrss * 1024,
        peak[0],
        groups,
        b"".join(out_chunks).decode(errors="replace"),
        b"".join(err_chunks).decode(errors="replace"),
        usage.ru_utime + usage.ru_stime,
        timed_out,
    )
