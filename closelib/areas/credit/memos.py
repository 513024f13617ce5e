"""Executing the credit memos for the review queue, and their summary.

:func:`execute_memos` runs the memo template with papermill once per queued customer into
``<run_dir>/credit_memos/<name>.ipynb`` (and ``.html`` with the code hidden), through
:func:`closelib.nb.execute.execute_notebook` with kernel python3, ``run.workers`` spawned
processes at a time. ``<name>`` is the customer id made safe by :func:`closelib.safenames.safe_names`
(an id is data: it may hold a slash, ``..`` or 300 characters); the id -> name map is recorded
(manifest ``file_names.credit_memos``). Each memo receives the queue notebook's own parameters
(JSON-safe strings) plus ``customer_id``, ``customer_key`` (the safe name, also the id's part of
the memo's figure and check names) and ``result_path``, records its figures into the run's
``records/credit_memo_<name>.jsonl`` (merged into the manifest by the runner) and writes its
outcome to ``credit_memos/<name>.json`` for the summary. Outside a run (no run folder) the memos
go to the scratch folder and record nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from closelib.areas.credit.reviewrecord import write_result as write_result
from closelib.files import write_json_atomic
from closelib.nb.excel import Cover, Sheet, write_workbook
from closelib.nb.execute import NotebookJob, die_with_parent, execute_in_one_kernel
from closelib.nb.markup import md, md_code
from closelib.params import RunSettings
from closelib.paths import MEMO_TEMPLATE
from closelib.periods import Period
from closelib.safenames import inside, safe_names

TEMPLATE = MEMO_TEMPLATE
MEMO_FOLDER = "credit_memos"


def memo_folder(ctx) -> Path:
    folder = (ctx.run_dir / MEMO_FOLDER) if ctx.run_dir else ctx.output_path(MEMO_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def memo_jobs(ctx, customer_ids: list[str], template: Path = TEMPLATE) -> list[NotebookJob]:
    """papermill jobs (JSON-safe string parameters) for :func:`closelib.nb.execute.execute_notebook`;
    every file a memo writes is named by its customer's safe name and checked to stay inside
    the memo folder."""
    folder = memo_folder(ctx)
    params_json = json.dumps(ctx.params, sort_keys=True)
    names = safe_names(customer_ids)
    jobs = []
    for cid in customer_ids:
        key = names[str(cid)]
        jobs.append(
            NotebookJob(
                name=f"credit_memo_{key}",
                input=str(template),
                output=str(inside(folder, f"{key}.ipynb")),
                html=str(inside(folder, f"{key}.html")),
                cell_timeout=RunSettings.from_params(ctx.params).timeout_seconds,
                cwd=str(ctx.run_dir or folder),
                # No save after every cell (0.55 s a memo at 1M: nbformat validates and writes the
                # whole notebook each time). papermill writes the memo when it ends; after a timeout
                # or a dead kernel the shared-kernel engine writes how far it got.
                save_each_cell=False,
                parameters={
                    "notebook": f"credit_memo_{key}",
                    "period": str(ctx.period),  # papermill parameters stay JSON-safe text
                    "source": str(ctx.source),
                    "run_dir": str(ctx.run_dir or ""),
                    "run_id": ctx.run_id or "",
                    "params_json": params_json,
                    "customer_id": str(cid),
                    "customer_key": key,
                    "result_path": str(inside(folder, f"{key}.json")),
                },
            )
        )
    return jobs


def execute_memos(ctx, customer_ids: list[str], template: Path = TEMPLATE, workers: int | None = None) -> pd.DataFrame:
    """Execute the memo template once per customer into the run folder (``credit_memos/``);
    one row per customer with status and error. Never raises for a memo's failure: the
    caller records it as a failed check.

    The memos run one after another in one kernel per worker process (``workers``, default
    ``credit_review.memo_kernels``, 0 = :func:`auto_kernels`): a kernel start, the imports and the book read are paid
    once per kernel, not once per memo, which is what made memos cost seconds each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = memo_jobs(ctx, list(customer_ids), template)
    recorder = getattr(ctx, "recorder", None)
    if recorder is not None:  # the id -> file name map, for the manifest
        recorder.file_names(MEMO_FOLDER, {j.parameters["customer_id"]: j.parameters["customer_key"] for j in jobs})
    kernels = max(
        1, min(int(workers or ctx.params["credit_review"].get("memo_kernels", 0) or auto_kernels(ctx)), len(jobs) or 1)
    )
    results: list[dict] = []
    log = (ctx.run_dir / "logs" / "credit_memos.log") if ctx.run_dir else memo_folder(ctx) / "memos.log"
    if jobs:
        log.parent.mkdir(parents=True, exist_ok=True)
        # Contiguous shares in queue order, so the results come back in the jobs' order.
        shares = [list(share) for share in np.array_split(np.arange(len(jobs)), kernels)]
        with ProcessPoolExecutor(
            max_workers=kernels,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_quiet,
            initargs=(str(log),),
        ) as pool:
            futures = [pool.submit(execute_in_one_kernel, [jobs[i] for i in share]) for share in shares]
            for share, future in zip(shares, futures, strict=False):
                try:
                    results.extend(future.result())
                except Exception as exc:  # a worker process that died takes its share with it
                    results.extend(
                        {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": None, "html": None}
                        for _ in share
                    )
        write_timings(log.with_suffix(".json"), jobs, results, kernels)
    rows = []
    for job, res in zip(jobs, results, strict=False):
        cid = job.parameters["customer_id"]
        result_path = Path(job.parameters["result_path"])
        ok = res["status"] == "succeeded" and result_path.is_file()
        error = res["error"] or ("" if ok else "the memo wrote no result")  # text: never a missing cell
        rows.append(
            {
                "customer_id": cid,
                "file_name": job.parameters["customer_key"],
                "status": "succeeded" if ok else "failed",
                "error": error,
                "seconds": res["seconds"],
                "notebook": Path(job.output).name,
                "html": res["html"],
                "result": str(result_path),
            }
        )
    return pd.DataFrame(rows, columns=EXECUTED_COLUMNS)


def write_timings(path: Path, jobs: list[NotebookJob], results: list[dict], kernels: int) -> Path:
    """Each memo's seconds, for the benchmark (``make bench``), in the run's ``logs/`` (never in
    a pack or the manifest: a re-performance would differ). ``own_seconds`` is a memo's own work:
    from its start in the already running memo kernel to its HTML written; ``seconds`` is
    papermill's execution alone."""
    memos = [
        {
            "file_name": job.parameters["customer_key"],
            "status": res.get("status"),
            "seconds": res.get("seconds"),
            "own_seconds": res.get("own_seconds"),
        }
        for job, res in zip(jobs, results, strict=False)
    ]
    write_json_atomic(path, {"kernels": kernels, "memos": memos}, sort_keys=True)
    return path


EXECUTED_COLUMNS = ["customer_id", "file_name", "status", "error", "seconds", "notebook", "html", "result"]


# Below this many documents a book is small enough for one copy per memo kernel.
AUTO_KERNELS_BELOW_DOCUMENTS = 250_000


def auto_kernels(ctx) -> int:
    """``credit_review.memo_kernels: 0`` (automatic): one memo kernel per ``run.workers`` for a
    book under 250,000 documents, where memos are most of the run and the other workers are soon
    idle; a single kernel for a larger book, since every kernel holds its own copy of the book
    and the other notebooks keep the other cores busy. The count comes from the run's recorded
    input rows (the queue notebook may already have let go of its book). On 2 cores a second
    kernel measured neutral (10k close 58.2 s -> 55.9 s): the close is CPU-bound there; it is
    for machines with cores to spare."""
    documents = next(
        (
            entry.get("rows")
            for name, entry in (getattr(ctx, "run_info", None) or {}).get("inputs", {}).items()
            if name.split(".")[0] == "documents"
        ),
        None,
    )
    if documents is None or documents >= AUTO_KERNELS_BELOW_DOCUMENTS:
        return 1
    return RunSettings.from_params(ctx.params).workers


def _quiet(log: str) -> None:
    """In each memo worker: the kernels' chatter (transport warnings, shutdown notices) goes to
    the run's log, not into the queue notebook's output (the kernels inherit these descriptors).
    And the worker dies with the queue notebook's kernel (issue 17: no memo keeps writing into a
    run that was stopped)."""
    import os

    die_with_parent()

    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)


SUMMARY_COLUMNS = [
    "customer_id",
    "name",
    "currency",
    "rating_now",
    "rating_proposed",
    "score",
    "altman_z2",
    "financials_stale",
    "signals",
    "capped_by",
    "overridden",
    "current_limit",
    "recommended_limit",
    "change",
    "decision",
    "approval_level",
    "opposite_reason",
    "memo",
]


def memo_checks(executed: pd.DataFrame, names: pd.Series) -> list[tuple[str, bool, str]]:
    """(check name, passed, detail) of each memo executed: produced, or why not. ``names``:
    customer id -> name. A missing error or name reads as empty text (pandas 3 makes a column
    of texts and Nones a text column with NaN: it must not turn one failed memo into a crash
    of the whole review)."""

    def text(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and value != value) else str(value)

    checks = []
    for row in executed.itertuples():
        passed = bool(row.status == "succeeded")
        who = " ".join(part for part in (text(row.customer_id), text(names.get(row.customer_id))) if part)
        detail = text(row.error) or (f"memo {text(row.html)}" if passed else "failed, no error recorded")
        checks.append((f"credit.memo.{row.file_name}.produced", passed, f"{who}: {detail}"))
    return checks


def summary(executed: pd.DataFrame) -> pd.DataFrame:
    """One row per memo produced, from the results the memos wrote."""
    rows = []
    for row in executed[executed["status"] == "succeeded"].itertuples():
        r = json.loads(Path(str(row.result)).read_text(encoding="utf-8"))
        rows.append({**{k: r.get(k) for k in SUMMARY_COLUMNS}, "memo": f"{MEMO_FOLDER}/{row.html or row.notebook!s}"})
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype({"current_limit": "int64", "recommended_limit": "int64", "change": "int64"})


def write_summary_workbook(
    path: Path,
    period: Period,
    summary_frame: pd.DataFrame,
    queue: pd.DataFrame,
    executed: pd.DataFrame,
    cover: Cover | None = None,
) -> Path:
    """The review summary (each customer linked to its memo, a relative link beside the workbook),
    the queue, what is carried over and which memos were executed. Nothing machine-dependent (the
    seconds each memo took) goes in: a re-performance writes the same workbook."""
    carried = queue[~queue["memo"]]
    title = [f"Credit review {period}", f"{len(summary_frame)} memo(s) produced, {len(carried)} carried over"]
    # dates stay dates; a missing one is a blank cell, explained in the sheet's title
    q = queue.assign(utilisation=queue["utilisation"].replace([np.inf], np.nan))
    sheets = [
        Sheet(
            "Summary",
            summary_frame.assign(altman_z2=summary_frame["altman_z2"].astype("float64")),
            money_columns=["current_limit", "recommended_limit", "change"],
            currency_column="currency",
            title=[*title, "Each customer id links to its memo (credit_memos/, beside this workbook)"],
            links={"customer_id": "memo"},
        ),
        Sheet(
            "Queue",
            q.drop(columns=["exposure_change"]),
            money_columns=["credit_limit", "exposure", "exposure_before"],
            currency_column="credit_currency",
            rate_columns=["utilisation"],
            title=[
                f"Review queue {period}",
                "last_review_date blank: never reviewed; next_review_due blank: due now; "
                "utilisation blank: no credit limit",
            ],
        ),
        Sheet(
            "Carried over",
            q[~q["memo"]][["priority", "customer_id", "name", "risk_rating", "reasons"]],
            title=["Due but beyond credit_review.max_memos: carried to the next period"],
        ),
        Sheet(
            "Execution",
            executed.drop(columns=["result", "seconds"]),
            title=["Memo notebooks executed"],
        ),
    ]
    return write_workbook(path, sheets, as_of=period.end.to_pydatetime(), cover=cover)


def queue_conclusion(summary_frame: pd.DataFrame, queue: pd.DataFrame, executed: pd.DataFrame, workbook: str) -> str:
    failed = executed[executed["status"] != "succeeded"]
    failed_text = f", {len(failed)} failed ({', '.join(md(c) for c in failed['customer_id'])})" if len(failed) else ""
    text = (
        f"{len(queue)} customer(s) are due for review; **{len(summary_frame)} memo(s)** were produced"
        f"{failed_text}"
        f" and {int((~queue['memo']).sum())} are carried over. "
    )
    if len(summary_frame):
        counts = summary_frame["decision"].value_counts()
        text += "Recommendations: " + ", ".join(f"{n} {md(d)}" for d, n in counts.items()) + ". "
        text += caps_summary(summary_frame)
        levels = summary_frame["approval_level"].value_counts()
        text += "Approvals needed: " + ", ".join(f"{n} by {md(lvl)}" for lvl, n in levels.items()) + ". "
        links = " · ".join(f"[{md(r.customer_id)}]({r.memo})" for r in summary_frame.itertuples())
        text += f"Memos: {links}. "
    return text + f"Summary workbook: {md_code(workbook)}."


def caps_summary(summary_frame: pd.DataFrame) -> str:
    """How many memos hard signals capped (and by which), overrides, stale financials and opposite moves."""
    held = summary_frame["signals"].fillna("")
    by_signal = pd.Series([n for names in held for n in names.split(", ") if n]).value_counts()
    text = f"{int((held != '').sum())} memo(s) show hard signals"
    text += (" (" + ", ".join(f"{md(n)} {k}" for n, k in by_signal.items()) + ")") if len(by_signal) else ""
    capped = int((summary_frame["capped_by"].fillna("") != "").sum())
    text += f"; {capped} proposed rating(s) are worse than the score's because of them. "
    overridden = int((summary_frame["overridden"].fillna("") != "").sum())
    if overridden:
        text += f"{overridden} memo(s) carry a cap lifted by `credit_review.overrides`, with its reason. "
    stale = int(summary_frame["financials_stale"].fillna(False).astype(bool).sum())
    if stale:
        text += f"{stale} memo(s) rest on stale financials, shown but not scored. "
    opposite = int((summary_frame["opposite_reason"].fillna("") != "").sum())
    if opposite:
        text += f"{opposite} memo(s) move rating and limit in opposite directions and say why. "
    return text
