"""One measured step, run as ``python -m benchmarks.steps STEP ARGS...`` in a process of its own.

Each step times its own work (``seconds``: the work only, after imports) and prints one
JSON line; :mod:`benchmarks.measure` adds the process wall time and peak memory.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def _params(period: str) -> dict:
    from closelib.params import load_parameters
    from closelib.paths import PARAMETERS_DIR

    return load_parameters(period, PARAMETERS_DIR, None, [])


def raw_parquet(book: str) -> dict:
    """Floor: every table of the book read with pyarrow (columnar, no checks, no conversion)."""
    import pyarrow.parquet as pq

    _warm(pq, book)
    start = time.perf_counter()
    rows = sum(pq.read_table(path).num_rows for path in sorted(Path(book).glob("*.parquet")))
    return {"seconds": time.perf_counter() - start, "rows": rows}


def _warm(pq, book: str) -> None:
    """First parquet read pays one-off imports (datasets, filesystems): not the floor's work."""
    files = sorted(Path(book).glob("*.parquet"), key=lambda p: p.stat().st_size)
    if files:
        pq.read_table(files[0])


def raw_csv(book: str) -> dict:
    """Floor: every table of the book read with pyarrow's CSV reader (types inferred)."""
    import pyarrow.csv as pacsv

    start = time.perf_counter()
    rows = sum(pacsv.read_csv(path).num_rows for path in sorted(Path(book).glob("*.csv")))
    return {"seconds": time.perf_counter() - start, "rows": rows}


def load(book: str, cache: str = "") -> dict:
    """load_book (read + parse + every rule), then optionally the typed cache a run writes."""
    import pyarrow.parquet as pq

    from closelib.book.load import load_book

    _warm(pq, book)
    start, cpu = time.perf_counter(), time.process_time()
    loaded = load_book(book)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "documents": len(loaded.documents)}
    if cache:
        from closelib.book.cache import write_book_cache

        start = time.perf_counter()
        write_book_cache(loaded, Path(cache))
        result["cache_write_seconds"] = time.perf_counter() - start
    return result


def cache_read(cache: str, source: str, entities: str = "") -> dict:
    """A notebook kernel's read of the typed book cache (``entities``: comma-separated, one
    entity's rows only), and the process's resident memory once it holds the book."""
    import os

    from closelib.book.cache import read_book_cache

    start, cpu = time.perf_counter(), time.process_time()
    chosen = entities.split(",") if entities else None
    book = read_book_cache(Path(cache), Path(source), entities=chosen)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    with open("/proc/self/statm", encoding="ascii") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_gib": rss / 2**30,
        "documents": len(book.documents),
    }


def _cached(cache: str, source: str):
    from closelib.book.cache import read_book_cache

    start = time.perf_counter()
    book = read_book_cache(Path(cache), Path(source))
    return book, time.perf_counter() - start


def _translated(book) -> float:
    """Seconds to translate the book's lines to the functional currency (once per book, reported
    apart: every as-of step after it reuses the translation)."""
    from closelib.book.fx import translation

    start = time.perf_counter()
    translation(book)
    return time.perf_counter() - start


def aging(cache: str, source: str, period: str) -> dict:
    """As-of aging of every document at the period end (open_items + age), from the typed cache;
    the book's translation to the functional currency is made first and timed apart."""
    from closelib.asof.aging import AgingPolicy, aging_at
    from closelib.periods import Period

    book, read_seconds = _cached(cache, source)
    translation_seconds = _translated(book)
    params = _params(period)
    policy = AgingPolicy(params["aging"]["basis"], list(params["aging"]["buckets"]))
    end = Period.parse(period).end
    start = time.perf_counter()
    aged = aging_at(book, end, policy)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    aging_at(book, end, policy)
    again = time.perf_counter() - start
    return {
        "seconds": seconds,
        "second_call_seconds": again,
        "translation_seconds": translation_seconds,
        "cache_read_seconds": read_seconds,
        "open_items": len(aged),
        "documents": len(book.documents),
    }


def rollrate(cache: str, source: str, period: str, months: str = "24") -> dict:
    """The roll-rate history: build_history over ``months`` month ends, then roll_rates (the
    book's translation to the functional currency made first and timed apart)."""
    from closelib.areas.reserve.compute import pools_of
    from closelib.asof.rollrate import build_history, roll_rates
    from closelib.periods import Period

    book, read_seconds = _cached(cache, source)
    translation_seconds = _translated(book)
    params = _params(period)
    start = time.perf_counter()
    history = build_history(book, Period.parse(period), int(months), pools_of(book, params["reserve"]["pool_by"]))
    built = time.perf_counter() - start
    rolls = roll_rates(history, params["aging"]["basis"], list(params["aging"]["buckets"]))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "build_history_seconds": built,
        "roll_rates_seconds": seconds - built,
        "translation_seconds": translation_seconds,
        "cache_read_seconds": read_seconds,
        "documents": len(history.docs),
        "rows": len(rolls),
    }


def kernel() -> dict:
    """Floor: papermill starting the python3 kernel and running one empty cell."""
    import nbformat
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "empty.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(""))
        nbformat.write(nb, path)
        start = time.perf_counter()
        papermill.execute_notebook(
            str(path), str(Path(tmp) / "out.ipynb"), kernel_name="python3", progress_bar=False, log_output=False
        )
        return {"seconds": time.perf_counter() - start}


def cash_application(receipts: str = "100000", documents: str = "1000000") -> dict:
    """Cash application proposals: ``receipts`` unapplied receipts against ``documents`` open
    documents (a synthetic workload, :mod:`benchmarks.cashbook`), every rule in order."""
    from benchmarks.cashbook import workload
    from closelib.areas.cashapp.candidates import Policy
    from closelib.areas.cashapp.match import propose

    sources, targets, customers = workload(int(receipts), int(documents))
    policy = Policy.from_params(_params("2026-10"))
    start = time.perf_counter()
    result = propose(sources, targets, customers, policy)
    seconds = time.perf_counter() - start
    rules = result.lines.groupby("rule")["src"].nunique().to_dict()
    matched = int((result.sources["remaining"] < result.sources["available"]).sum())
    return {
        "seconds": seconds,
        "receipts": len(sources),
        "documents": len(targets),
        "matched_receipts": matched,
        "by_rule": {k: int(v) for k, v in rules.items()},
        "problems": result.problems,
    }


STEPS = {
    "raw_parquet": raw_parquet,
    "raw_csv": raw_csv,
    "load": load,
    "cache_read": cache_read,
    "aging": aging,
    "rollrate": rollrate,
    "kernel": kernel,
    "cash_application": cash_application,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STEPS:
        print(f"usage: python -m benchmarks.steps {{{','.join(STEPS)}}} ARGS...", file=sys.stderr)
        return 2
    result = STEPS[argv[0]](*argv[1:])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
