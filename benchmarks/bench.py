"""Driver: build demo books at several scales, measure every step, write RESULTS.md.

    python -m benchmarks                 # 10k, 100k and 1M documents (a few minutes)
    python -m benchmarks --quick         # the 10k book only, into RESULTS-quick.md
    python -m benchmarks --scales 25     # chosen scales

Books are cached under ``benchmarks/books/`` (git-ignored) and rebuilt when missing; demo
generation is timed every time (into a scratch folder when the book is already cached).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import measure, memos

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BOOKS = HERE / "books"
PERIOD = "2026-10"  # the demo book's default last period
SCALES = (2.5, 25.0, 250.0)  # about 10k, 100k and 1M documents
QUICK_SCALES = (2.5,)
GiB = 1024**3


def _python() -> str:
    return sys.executable


def _close() -> str:
    candidate = Path(sys.executable).with_name("close")
    return str(candidate) if candidate.exists() else "close"


def _scale_name(scale: float) -> str:
    text = f"{scale:g}".replace(".", "_")
    return f"s{text}"


def book_path(scale: float, fmt: str) -> Path:
    return BOOKS / f"{_scale_name(scale)}-{fmt}"


def _step(name: str, *args: str) -> measure.Measured:
    return measure.run([_python(), "-m", "benchmarks.steps", name, *args], cwd=REPO)


LOAD_REPEATS = 5  # alternating floor and load runs: their medians are compared


def _floor_and_load(book: Path, cache: str = "") -> tuple[measure.Measured, measure.Measured, str, float | None]:
    """(the raw read and the load + validate whose seconds are the medians of LOAD_REPEATS
    alternating runs, each in a process of its own, a note with their ranges, and the seconds
    the typed cache took to write). One run
    of each is at the mercy of the machine: its speed drifts by up to 1.8x within minutes on
    a shared VM, and the first read of a book just written comes from a cold page cache. The
    typed cache is written by the first load only."""
    floors: list[measure.Measured] = []
    loads: list[measure.Measured] = []
    for i in range(LOAD_REPEATS):
        floors.append(_check(_step("raw_parquet", str(book)), "raw_parquet"))
        args = (str(book), cache) if cache and i == 0 else (str(book),)
        loads.append(_check(_step("load", *args), "load parquet"))

    def median(runs: list[measure.Measured]) -> tuple[measure.Measured, list[float]]:
        seconds = sorted(float(m.result()["seconds"]) for m in runs)
        middle = sorted(runs, key=lambda m: float(m.result()["seconds"]))[len(runs) // 2]
        return middle, seconds

    floor, floor_s = median(floors)
    load, load_s = median(loads)
    written = loads[0].result().get("cache_write_seconds")  # the first load wrote it
    note = (
        f"median of {LOAD_REPEATS} alternating runs: raw read {floor_s[0]:.2f}-{floor_s[-1]:.2f} s, "
        f"load + validate {load_s[0]:.2f}-{load_s[-1]:.2f} s"
    )
    return floor, load, note, written


def _floor_and_load_rows(floor: measure.Measured, load: measure.Measured, note: str) -> tuple[dict, dict]:
    """The rows of :func:`_floor_and_load`'s raw read and load + validate (its ratio to the read)."""
    floor_row = _row("floor: raw read, parquet (pyarrow)", floor, note=note)
    load_row = _row("load + validate (parquet)", load, floor=floor_row["step"], target="< 4x floor", note=note)
    return floor_row, load_row


def _check(m: measure.Measured, what: str) -> measure.Measured:
    if m.returncode != 0:
        raise SystemExit(f"benchmark step {what} failed (exit {m.returncode}):\n{m.stderr[-4000:]}")
    return m


def _row(
    step: str,
    m: measure.Measured | None,
    seconds: float | None = None,
    floor: str | None = None,
    target: str = "",
    note: str = "",
) -> dict:
    result = m.result() if m else {}
    return {
        "step": step,
        "seconds": seconds if seconds is not None else result.get("seconds", m.wall if m else None),
        "wall": m.wall if m else None,
        "cpu": m.cpu if m else None,
        "max_rss": m.max_rss if m else None,
        "peak_tree_rss": m.peak_tree_rss if m else None,
        "floor": floor,
        "target": target,
        "note": note,
        "detail": result,
    }


def demo(scale: float, fmt: str, timed: bool, say) -> measure.Measured | None:
    """Build the cached book if missing (timed); else time a generation into a scratch folder."""
    path = book_path(scale, fmt)
    if path.is_dir() and (path / f"documents.{fmt}").is_file():
        if not timed:
            return None
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
            say(f"  demo {fmt} scale {scale:g} (timing, into a scratch folder)")
            return _check(
                measure.run([_close(), "demo", "--out", tmp, "--scale", f"{scale:g}", "--format", fmt], cwd=REPO),
                "demo",
            )
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    say(f"  demo {fmt} scale {scale:g} (building {path.relative_to(REPO)})")
    return _check(
        measure.run([_close(), "demo", "--out", str(path), "--scale", f"{scale:g}", "--format", fmt], cwd=REPO), "demo"
    )


def close_run(book: Path, outputs: Path, period: str, timeout: float | None) -> tuple[measure.Measured, dict]:
    m = measure.run(
        [_close(), "run", period, "--source", str(book), "--outputs", str(outputs)], cwd=REPO, timeout=timeout
    )
    run_dir = Path(m.stdout.strip().splitlines()[-1]) if m.stdout.strip() else None
    manifest = {}
    if run_dir and (run_dir / "manifest.json").is_file():
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return m, manifest


def _notebook_groups(m: measure.Measured) -> list[dict]:
    """The run's notebook workers (its spawned children, each with its kernel), in start order."""
    return [g for g in m.groups if "multiprocessing" in g["cmd"] and "resource_tracker" not in g["cmd"]]


def bench_scale(
    scale: float,
    say,
    with_csv: bool = True,
    time_demo: bool = True,
    period: str = PERIOD,
    run_timeout: float | None = None,
) -> dict:
    rows: list[dict] = []
    say(f"scale {scale:g}")
    parquet = book_path(scale, "parquet")
    m = demo(scale, "parquet", time_demo, say)
    if m:
        rows.append(_row("demo generation (parquet)", m, seconds=m.wall))
    csv_book = book_path(scale, "csv")
    if with_csv:
        m = demo(scale, "csv", False, say)
        if m:
            rows.append(_row("demo generation (csv)", m, seconds=m.wall))
    say("  floors")
    tmp_cache = tempfile.TemporaryDirectory(prefix="bench-")
    cache = Path(tmp_cache.name) / "cache"
    say(f"  raw read and load + validate, {LOAD_REPEATS} times each, alternating")
    raw_pq, loaded, load_note, cache_seconds = _floor_and_load(parquet, str(cache))
    floor_row, load_row = _floor_and_load_rows(raw_pq, loaded, load_note)
    rows.append(floor_row)
    if with_csv:
        raw_csv = _check(_step("raw_csv", str(csv_book)), "raw_csv")
        rows.append(_row("floor: raw read, csv (pyarrow)", raw_csv))
    kernel = _check(_step("kernel"), "kernel")
    rows.append(_row("floor: papermill kernel, empty notebook", kernel))
    with tmp_cache as tmp:
        rows.append(load_row)
        rows.append(
            {
                **_row("write typed book cache", None, seconds=cache_seconds),
                "note": "part of a run, after validation",
            }
        )
        if with_csv:
            m = _check(_step("load", str(csv_book)), "load csv")
            rows.append(_row("load + validate (csv)", m, floor="floor: raw read, csv (pyarrow)", target="< 4x floor"))
        say("  as-of aging, roll rates")
        m = _check(_step("aging", str(cache), str(parquet), period), "aging")
        documents = m.result().get("documents")
        rows.append(
            _row(
                f"as-of aging at {period} end (aging_at)",
                m,
                target="< 1 s",
                note="work only; the process also reads the typed cache",
            )
        )
        m = _check(_step("rollrate", str(cache), str(parquet), period, "24"), "rollrate")
        rows.append(_row("roll-rate history, 24 months (build_history + roll_rates)", m))
        say("  close run")
        m, manifest = close_run(parquet, Path(tmp) / "outputs", period, run_timeout)
        if m.timed_out or not manifest.get("notebooks"):
            # Stopped by the benchmark (or failed early): what each notebook had reached.
            for log in sorted((Path(tmp) / "outputs").glob(f"{period}/*/logs/*.json")):
                manifest.setdefault("notebooks", {}).setdefault(log.stem, json.loads(log.read_text()))
        # The notebooks run on the run's notebook workers (closelib.runner.pool), several to a
        # worker's kernel: memory is a worker's (its kernel and the memo kernel it starts), not a
        # notebook's. Workers are the run's spawned children, in start order.
        started = sorted(manifest.get("notebooks", {}).items(), key=lambda item: item[1].get("start_order", 99))
        for name, entry in started:
            rows.append(
                {
                    "step": f"notebook {entry.get('file', name)}",
                    "seconds": entry.get("seconds"),
                    "wall": None,
                    "max_rss": None,
                    "peak_tree_rss": None,
                    "floor": "floor: papermill kernel, empty notebook",
                    "target": "",
                    "note": f"{entry.get('status')}; memory: see its worker",
                    "detail": {},
                }
            )
        for number, group in enumerate(_notebook_groups(m), 1):
            rows.append(
                {
                    "step": f"notebook worker {number}",
                    "seconds": None,
                    "wall": None,
                    "max_rss": None,
                    "peak_tree_rss": group["peak"],
                    "floor": "",
                    "target": "",
                    "note": "memory: the worker, its kernel and the memo kernel it starts (polled)",
                    "detail": {},
                }
            )
        memo = memos.memo_row(Path(tmp) / "outputs" / period / str(manifest.get("run_id", "")))
        if memo is not None:
            rows.append(memo)
        rows.append(
            {
                **_row(
                    "close run (whole)",
                    m,
                    seconds=m.wall,
                    floor="floor: papermill kernel, empty notebook",
                    target="< 60 s, < 4 GiB",
                ),
                "note": ("STOPPED by the benchmark after " + f"{run_timeout:.0f} s; " if m.timed_out else "")
                + f"status {manifest.get('status', 'unknown')}, workers "
                f"{manifest.get('parameters', {}).get('run', {}).get('workers', '?')}",
            }
        )
        say("  close run again (same inputs)")
        m, manifest = close_run(parquet, Path(tmp) / "outputs", period, run_timeout)
        rows.append(
            {
                **_row(
                    "close run again, same inputs (validation reused)",
                    m,
                    seconds=m.wall,
                    floor="floor: papermill kernel, empty notebook",
                    target="< 60 s, < 4 GiB",
                ),
                "note": ("STOPPED by the benchmark; " if m.timed_out else "")
                + f"status {manifest.get('status', 'unknown')}, book cache reused: "
                f"{manifest.get('book_cache', {}).get('reused')}",
            }
        )
    floors = {r["step"]: r["seconds"] for r in rows if r["step"].startswith("floor:")}
    for r in rows:
        base = floors.get(r["floor"]) if r.get("floor") else None
        r["ratio"] = (r["seconds"] / base) if base and r["seconds"] is not None else None
    return {"scale": scale, "documents": documents, "rows": rows}


def group_book_path(scale: float, entities: int) -> Path:
    return BOOKS / f"{_scale_name(scale)}x{entities}-parquet"


def bench_group(scale: float, entities: int, say, period: str, run_timeout: float | None, workers: int) -> dict:
    """A group book (``close demo --entities``): generation, validation, and the close by entity
    slices (``close batch PERIOD --by-entity``), each entity's notebooks holding that entity only."""
    rows: list[dict] = []
    say(f"group: scale {scale:g}, {entities} entities")
    path = group_book_path(scale, entities)
    if not (path / "documents.parquet").is_file():
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        say(f"  demo (building {path.relative_to(REPO)})")
        argv = [_close(), "demo", "--out", str(path), "--scale", f"{scale:g}", "--format", "parquet"]
        m = _check(measure.run([*argv, "--entities", str(entities)], cwd=REPO), "group demo")
        rows.append(_row("demo generation (group, parquet)", m, seconds=m.wall))
    say(f"  raw read and load + validate, {LOAD_REPEATS} times each, alternating")
    raw, m, load_note, _ = _floor_and_load(path)
    rows.extend(_floor_and_load_rows(raw, m, load_note))
    documents = m.result().get("documents")
    with tempfile.TemporaryDirectory(prefix="bench-group-") as tmp:
        say(f"  close batch {period} --by-entity --workers {workers}")
        argv = [_close(), "batch", period, "--source", str(path), "--outputs", str(Path(tmp) / "outputs")]
        m = measure.run([*argv, "--by-entity", "--workers", str(workers)], cwd=REPO, timeout=run_timeout)
        runs = sorted((Path(tmp) / "outputs").glob(f"{period}/*/manifest.json"))
        statuses = [json.loads(r.read_text(encoding="utf-8")).get("status") for r in runs]
        rows.append(
            {
                **_row("close by entity (close batch --by-entity)", m, seconds=m.wall, target="< 16 GiB"),
                "note": ("STOPPED by the benchmark; " if m.timed_out else "")
                + f"exit {m.returncode}, {len(runs)} entity runs: "
                + ", ".join(f"{s}" for s in statuses)
                + f"; {workers} workers",
            }
        )
    floors = {r["step"]: r["seconds"] for r in rows if r["step"].startswith("floor:")}
    for r in rows:
        base = floors.get(r["floor"]) if r.get("floor") else None
        r["ratio"] = (r["seconds"] / base) if base and r["seconds"] is not None else None
    return {"scale": scale, "entities": entities, "documents": documents, "rows": rows}


CASH_RECEIPTS, CASH_DOCUMENTS = 100_000, 1_000_000


def cash_application(say) -> dict:
    """Cash application proposals on a synthetic workload (not the demo book, whose month end
    has a few dozen unapplied receipts): 100k unapplied receipts against 1M open documents."""
    say(f"  cash application: {CASH_RECEIPTS:,} receipts vs {CASH_DOCUMENTS:,} open documents")
    m = _check(_step("cash_application", str(CASH_RECEIPTS), str(CASH_DOCUMENTS)), "cash_application")
    result = m.result()
    row = _row(
        f"cash application: {CASH_RECEIPTS:,} unapplied receipts vs {CASH_DOCUMENTS:,} open documents",
        m,
        target="< 30 s",
        note=f"work only (synthetic workload built first); matched {result.get('matched_receipts')} receipts, "
        f"by rule {result.get('by_rule')}",
    )
    return {**row, "ratio": None}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import numpy
    import pandas
    import pyarrow

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram / GiB, 1),
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "os": platform.platform(),
    }


def _fmt_s(value) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _fmt_mem(value) -> str:
    if not value:
        return ""
    return f"{value / GiB:.2f} GiB" if value >= GiB else f"{value / 1024**2:.0f} MiB"


def render(results: list[dict], info: dict, command: str, started: str, notes: str = "") -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {started} with `{command}` (`benchmarks/`, see the README). Every step ran in a process of its own.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; "
        f"Python {info['python']}, pandas {info['pandas']}, pyarrow {info['pyarrow']}, "
        f"numpy {info['numpy']}; {info['os']}.",
        "",
        "Columns: **seconds** is the step's own work (imports and process start excluded; for the "
        "demo, the notebooks and the whole run it is the wall time); **process wall** is the step's "
        "process from start to exit and **process CPU** its user + system time (a check on "
        "wall times taken while other work shared the machine); **peak RSS** is the largest single process "
        "(`ru_maxrss`) and, "
        "after the slash, the largest sum over the step's process tree seen by polling `/proc` every "
        "50 ms; **x floor** divides seconds by the floor named beside it.",
        "",
    ]
    for res in results:
        docs = res.get("documents")
        lines += [
            (f"## Scale {res['scale']:g}" + (f", group of {res['entities']} entities" if res.get("entities") else ""))
            + (f" ({docs:,} documents)" if docs else ""),
            "",
            "| step | seconds | process wall s | process CPU s | peak RSS (process / tree) | floor | x floor "
            "| target |",
            "|---|---:|---:|---:|---|---|---:|---|",
        ]
        for r in res["rows"]:
            mem = " / ".join(x for x in (_fmt_mem(r.get("max_rss")), _fmt_mem(r.get("peak_tree_rss"))) if x)
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else ""
            floor = (r.get("floor") or "").replace("floor: ", "")
            step = r["step"] + (f" ({r['note']})" if r.get("note") else "")
            lines.append(
                f"| {step} | {_fmt_s(r.get('seconds'))} | {_fmt_s(r.get('wall'))} | {_fmt_s(r.get('cpu'))} "
                f"| {mem} | {floor} "
                f"| {ratio} | {r.get('target', '')} |"
            )
        details = [
            f"{r['step']}: "
            + ", ".join(
                f"{k} {_fmt_s(v) if isinstance(v, float) else v}" for k, v in r["detail"].items() if k != "seconds"
            )
            for r in res["rows"]
            if r.get("detail") and len(r["detail"]) > 1
        ]
        if details:
            lines += ["", "Details: " + "; ".join(details) + "."]
        lines.append("")
    if notes:
        lines += [notes.rstrip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smallest book only (about 10k documents)")
    parser.add_argument("--scales", type=float, nargs="+", help=f"demo --scale values (default {SCALES})")
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV book (load and raw read of CSV)")
    parser.add_argument(
        "--no-demo-timing", action="store_true", help="do not re-time demo generation when the book is already cached"
    )
    parser.add_argument(
        "--group",
        nargs="+",
        metavar="SCALE:ENTITIES",
        help="also measure group books (close demo --scale S --entities N) closed by entity, e.g. 440:5",
    )
    parser.add_argument("--group-workers", type=int, default=2, help="workers of the by-entity close (default 2)")
    parser.add_argument("--period", default=PERIOD, help=f"period closed (default {PERIOD}, the demo's last)")
    parser.add_argument(
        "--run-timeout", type=float, default=1800, help="stop a close run after this many seconds (default 1800)"
    )
    parser.add_argument("--out", help="results file (default benchmarks/RESULTS.md; RESULTS-quick.md with --quick)")
    parser.add_argument("--json", help="also write the raw results as JSON here")
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="only re-write the results file from saved JSON (e.g. after editing benchmarks/NOTES.md)",
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text(encoding="utf-8"))
        if isinstance(saved, list):  # results saved without their header
            stamp = datetime.fromtimestamp(Path(args.render).stat().st_mtime, UTC)
            saved = {
                "results": saved,
                "machine": machine(),
                "command": "python -m benchmarks",
                "started": stamp.strftime("%Y-%m-%d %H:%M UTC") + " (finished)",
            }
        out = Path(args.out) if args.out else HERE / "RESULTS.md"
        notes_file = HERE / "NOTES.md"
        notes = notes_file.read_text(encoding="utf-8") if notes_file.is_file() else ""
        out.write_text(
            render(saved["results"], saved["machine"], saved["command"], saved["started"], notes), encoding="utf-8"
        )
        print(f"written to {out}")
        return 0
    scales = args.scales or (QUICK_SCALES if args.quick else () if args.group else SCALES)
    out = Path(args.out) if args.out else HERE / ("RESULTS-quick.md" if args.quick else "RESULTS.md")
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])

    def say(text: str) -> None:
        print(text, flush=True)

    results = []
    begin = time.perf_counter()
    for scale in scales:
        results.append(
            bench_scale(
                scale,
                say,
                with_csv=not args.no_csv,
                time_demo=not args.no_demo_timing,
                period=args.period,
                run_timeout=args.run_timeout,
            )
        )
    if results and not args.quick:
        results[-1]["rows"].append(cash_application(say))
    for spec in args.group or ():
        scale_text, _, entities_text = spec.partition(":")
        results.append(
            bench_group(
                float(scale_text), int(entities_text or 5), say, args.period, args.run_timeout, args.group_workers
            )
        )
    notes_file = HERE / "NOTES.md"
    notes = notes_file.read_text(encoding="utf-8") if notes_file.is_file() and out.name == "RESULTS.md" else ""
    info = machine()
    text = render(results, info, command.strip(), started, notes)
    out.write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"results": results, "machine": info, "command": command.strip(), "started": started},
                indent=1,
                default=str,
            ),
            encoding="utf-8",
        )
    print(text)
    print(f"written to {out} in {time.perf_counter() - begin:.0f} s")
    return 0
