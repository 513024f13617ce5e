"""What a runner's notebook worker runs (the spawn target, :func:`worker_main`): the notebooks it
is handed, one after another in one python3 kernel, without the libraries papermill and nbformat
import only for what a run never does.

A notebook worker drives one kernel at a time: it reads and writes local notebook files and
renders their HTML. papermill imports, when it can, the readers and writers of remote stores (HDFS
through ``pyarrow.fs``, which brings pyarrow and numpy: about 40 MB of the process's 110).
Marking those modules absent before papermill is imported leaves papermill's ``try: import`` to
skip them, exactly as on a machine without them: local paths, the only ones a run uses, work as
before.

jsonschema's ``iri`` grammar (``rfc3987_syntax``) is not kept out here but by the lazy stand-in
of :mod:`closelib.nb.lazyimports`, the one guard for it: it serves every process that imports
``closelib.nb`` (this one does, below, before nbformat brings jsonschema), the kernels too, and
keeps the ``iri`` check working should anything use it.

Only these processes are touched: the kernels they start are new interpreters, and import
whatever their notebooks need.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

# Optional imports of papermill (remote stores) and jsonschema (``rfc3987``, its other IRI checker,
# when installed) a run never uses; ``rfc3987_syntax``: see the module's docstring.
NOT_NEEDED = ("pyarrow", "rfc3987", "gcsfs", "github", "boto3", "botocore", "azure")


def skip_optional_imports() -> None:
    """Mark :data:`NOT_NEEDED` absent (an import of one raises ImportError), unless imported."""
    for name in NOT_NEEDED:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def _starting_a_notebook_process() -> bool:
    """Whether this module is being imported as a spawned process's target: the interpreter was
    started by multiprocessing (``--multiprocessing-fork`` ends its own command line, which
    ``sys.orig_argv`` keeps: ``sys.argv`` is already the parent's again, multiprocessing restores it
    before it imports the target) and not through the runner's machinery (``runner.jobs``, which
    imports this module, in a process that may run a close and need pyarrow)."""
    return sys.orig_argv[-1:] == ["--multiprocessing-fork"] and "closelib.runner.jobs" not in sys.modules


# Done as this module is imported, before papermill (below) is: only in a notebook process, so
# the runner, a test or anything else importing this module is left as it is.
if _starting_a_notebook_process():
    skip_optional_imports()

from closelib.errors import RunError  # noqa: E402
from closelib.files import write_json_atomic  # noqa: E402
from closelib.nb.execute import (  # noqa: E402
    NotebookJob,
    SharedKernel,
    die_with_parent,
    execute_in_one_kernel,
    html_exporter,
)
from closelib.runner.processes import start_token  # noqa: E402

# The kernels' glibc gives large freed blocks back to the system at once: blocks over 128 KiB
# get their own mapping (glibc's default threshold grows up to 32 MiB after such frees, after
# which a notebook's freed frames stay in its heap, counted in its memory, until it ends).
KERNEL_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "131072"}


# What a worker tells the runner: a notebook started or ended (its name), a kernel started (its pid
# and start time).
STARTED, ENDED, KERNEL = "started", "ended", "kernel"

# Run in a worker's kernel as it starts, before the first notebook is known (the runner is still
# validating the book): the imports every workpaper's first cell makes (:func:`closelib.nb.context.start`
# loads matplotlib for its chart settings), and the charts every workpaper but one draws.
WARM_UP = "import closelib.nb.context, closelib.nb.charts, matplotlib"


def worker_main(conn: Connection, log: str, cwd: str) -> None:
    """Entry point of a notebook worker: its own process group, its output (and its kernels')
    to ``log``; then each :class:`NotebookJob` received on ``conn`` is run (see
    :func:`closelib.nb.execute.execute_in_one_kernel`: an empty namespace for each, the kernel
    replaced after a failure), its result written to its status file and its name sent back.
    ``None`` (or the runner gone) ends the worker, its kernel shut down first."""
    skip_optional_imports()  # (already done on import in a worker)
    for name, value in KERNEL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # the kernels inherit it; this process started without it
    die_with_parent()
    with contextlib.suppress(OSError):
        os.setpgrp()
    # The kernels' own chatter (transport warnings, shutdown notices) goes to the run's log,
    # not the user's terminal: the kernels inherit these file descriptors.
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    serve(conn, cwd)
    # Everything the worker made is written (each notebook, its HTML and status file) and its
    # kernel is stopped: leave without the interpreter's teardown of pandas, zmq and the rest
    # (over a second, spent after the last notebook, when the run waits for nothing else).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve(conn: Connection, cwd: str) -> None:
    """The worker's loop (see :func:`worker_main`)."""

    def jobs() -> Iterator[NotebookJob]:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):  # the runner is gone
                return
            if job is None:
                return
            conn.send((STARTED, job.name))  # its clock starts now: this worker's start-up is behind it
            yield job

    def report(job: NotebookJob, result: dict) -> None:
        if job.status_file is None:  # the runner's jobs always have one: it is how a worker reports
            raise RunError(f"notebook job {job.name!r} has no status file to report to")
        write_json_atomic(Path(job.status_file), result, sort_keys=True)
        conn.send((ENDED, job.name))

    def started(kernel: SharedKernel) -> None:
        # so that the runner can stop the kernel should this worker die without stopping it
        if kernel.pid is not None:
            conn.send((KERNEL, (kernel.pid, start_token(kernel.pid))))

    # the period notebooks hold much: each starts after the previous one's garbage is collected
    execute_in_one_kernel(
        jobs(), cwd, warm_up=WARM_UP, exporter=html_exporter(), collect=True, report=report, started=started
    )
