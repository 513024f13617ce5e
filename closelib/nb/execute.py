"""Execute notebooks with papermill, in a kernel of their own or one after another in a shared
one, and judge the result.

papermill's ``cwd`` is process-wide and a timed-out or dead kernel can leave an output
notebook that looks completed, so the runner never trusts papermill alone: notebooks run in
worker processes of the runner's (:mod:`closelib.runner.pool`; each its own process group, its
kernel killed with it), each notebook's result goes to a status file, and
:func:`inspect_notebook` reads the executed notebook back to find the first cell that failed
or never ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from closelib.nb.engine import ENGINE, CloselibEngine
from closelib.nb.engine import register as register_engine
from closelib.nb.htmlexport import render_reviewer_html, reviewer_exporter

KERNEL = "python3"


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute: what to run, where to write it and with which parameters.

    Built by the runner (a period notebook in a child process of its own) and by the credit
    memos (many in one kernel); a plain record of strings and numbers, so it pickles into a
    ``multiprocessing`` spawn child as it is."""

    name: str  # the notebook's name in the run (``tb_recon``, ``credit_memo_C000005``)
    input: str  # the notebook (template) executed
    output: str  # where the executed notebook is written
    html: str | None = None  # where its reviewer HTML (code hidden) goes; None: no HTML
    status_file: str | None = None  # where a child process reports its result (see :func:`child_main`)
    cell_timeout: int | None = None  # papermill's limit for each cell, seconds; None: no limit
    wall_timeout: int | None = None  # the runner's limit for the whole notebook, seconds
    cwd: str | None = None  # the notebook's working folder
    # papermill parameters, JSON-safe strings only: closelib parses them, papermill's type
    # guessing never runs.
    parameters: dict[str, str] = field(default_factory=dict)
    # the notebook is written as each code cell starts (:mod:`closelib.nb.engine`), so
    # one killed mid-way shows how far it got.
    save_each_cell: bool = True


def inspect_notebook(path: Path) -> str | None:
    """``None`` when every code cell ran and none raised; otherwise what went wrong, naming the cell.

    Cell numbers count every cell of the *executed* notebook from 1, papermill's injected
    parameters cell included, so they match what a reviewer opening it sees."""
    if not path.is_file():
        return "no executed notebook was written"
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # a half-written file from a killed process
        return f"executed notebook unreadable: {exc}"
    return first_problem(nb)


def first_problem(nb: nbformat.NotebookNode) -> str | None:
    """:func:`inspect_notebook` of a notebook in memory (papermill's, as it has just written it)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1}: {output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip()
        state = cell.get("metadata", {}).get("papermill", {}).get("status")
        if cell.get("execution_count") is None or (state is not None and state != "completed"):
            return f"cell {index + 1} did not complete (status {state or 'not run'})"
    return None


def html_exporter():
    """The reviewer HTML exporter (:mod:`closelib.nb.htmlexport`): code hidden, offline, titled.
    Building one loads its templates; reuse it for a batch of notebooks."""
    return reviewer_exporter()


def render_html(notebook: Path, html_path: Path, exporter=None, nb=None) -> None:
    """Reviewer HTML with the code hidden (:func:`closelib.nb.htmlexport.render_reviewer_html`);
    ``nb``: the executed notebook in memory, not read again."""
    render_reviewer_html(notebook, html_path, exporter, nb)


def execute_notebook(
    job: NotebookJob, kernel: SharedKernel | None = None, exporter=None, collect: bool = False
) -> dict:
    """Run ``job.input`` into ``job.output`` with ``job.parameters``; never raises.

    With ``kernel``, the notebook runs in that already started kernel (see
    :func:`execute_in_one_kernel`) instead of a kernel of its own. ``job.save_each_cell``
    (default true) writes the notebook as each code cell starts, so a notebook killed
    mid-way still shows how far it got."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output = Path(job.output)
    started = time.monotonic()
    status, error = "succeeded", None
    executed = None  # the notebook papermill wrote, when it returned normally
    register_engine()
    shared = (
        {"engine_name": ENGINE}
        if kernel is None
        else {
            "engine_name": SHARED_ENGINE,
            "shared_kernel": kernel,
            "shared_cwd": job.cwd,
            "shared_output": str(output),
            "shared_collect": collect,
        }
    )
    try:
        executed = papermill.execute_notebook(
            job.input,
            str(output),
            parameters=job.parameters,
            kernel_name=KERNEL,
            execution_timeout=job.cell_timeout,
            progress_bar=False,
            log_output=False,
            cwd=None if kernel else job.cwd,
            request_save_on_cell_execute=job.save_each_cell,
            **shared,
        )
    except PapermillExecutionError as exc:
        first_line = (exc.source or "").strip().splitlines()[0][:60] if (exc.source or "").strip() else ""
        status, error = "failed", f"cell {exc.cell_index + 1} `{first_line}`: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # timeout, dead kernel, unreadable notebook...
        status, error = "failed", f"{type(exc).__name__}: {exc}".strip()
    seconds = round(time.monotonic() - started, 3)
    # papermill returned normally: what it returns is what it has just written (a failure or a
    # killed kernel goes to the file on disk, which shows how far the notebook got)
    found = first_problem(executed) if executed is not None and output.is_file() else inspect_notebook(output)
    if found and status == "succeeded":
        status, error = "failed", found
    elif found and error and "cell" not in error:
        error = f"{error} ({found})"
    html = None
    if output.is_file() and job.html:
        try:
            render_html(output, Path(job.html), exporter, executed)
            html = Path(job.html).name
        except Exception as exc:  # the notebook stands without its HTML, but say so
            status, error = "failed", error or f"HTML rendering failed: {type(exc).__name__}: {exc}"
    # own_seconds: the notebook's own work, from its start to its HTML written (a shared kernel's
    # start-up is not in it); seconds: papermill's execution alone
    own = round(time.monotonic() - started, 3)
    return {"status": status, "error": error, "seconds": seconds, "html": html, "own_seconds": own}


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """A notebook process (or a memo worker) never outlives the process that started it.

    Called first thing in each. The runner stops its children itself when it is interrupted;
    this covers a runner killed outright (SIGKILL, the out-of-memory killer): on Linux the kernel
    sends this process SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and elsewhere
    a thread polls the parent.
    The notebook's kernel and the memo kernels it starts follow by ipykernel's own parent poll.
    Ctrl-C at the terminal is the runner's to handle: here SIGINT is ignored (the runner
    started this process with SIGINT, SIGTERM and SIGHUP blocked so that none can arrive
    half-way through start-up; they are unblocked here)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    parent = multiprocessing.parent_process()
    parent_pid = parent.pid if parent is not None and parent.pid else os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc to call: the polling thread still guards
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="close-parent-watch", daemon=True).start()


# ------------------------------------------------------------------ many notebooks, one kernel

SHARED_ENGINE = "closelib-shared-kernel"

# Run before each notebook in a shared kernel: an empty namespace (the previous notebook's
# variables must not leak into the next) and prompt numbers from 1, as in a kernel of its
# own. Imported modules stay loaded, which is the point: their import cost is paid once.
# The attributes a fresh kernel's ``__main__`` has (``__spec__`` and its kind, which
# multiprocessing reads to start a process: the credit review's memo workers) are put back.
# What else a notebook could leave behind is cleared too: open pyplot figures, and the record of
# warnings already shown (a warning a notebook raises is shown in it, as in a kernel of its own).
# With ``collect`` (the period notebooks, which hold much) what the collected garbage freed is
# given back to the system too (Arrow's pool and glibc's heap keep it otherwise). What stays is
# what is meant to: imported modules and the run's book the kernel holds (nb.bookload).
# IPython's reset ends with a full gc.collect() (0.1 to 0.4 s a memo, over every object the
# imported libraries hold); for memos it is skipped (``collect=False``): their garbage is left
# to Python's own collector, and no name of it survives in the namespace.
_GIVE_BACK = (
    "def _closelib_give_back(sys):\n"
    "    if 'pyarrow' in sys.modules:\n"
    "        sys.modules['pyarrow'].default_memory_pool().release_unused()\n"
    "    if sys.platform.startswith('linux'):\n"
    "        try:\n"
    "            __import__('ctypes').CDLL('libc.so.6').malloc_trim(0)\n"
    "        except (OSError, AttributeError):\n"
    "            pass\n"
)
_RESET = _GIVE_BACK + (
    "def _closelib_reset(ip=get_ipython(), gc=__import__('gc'), sys=__import__('sys'), collect_too={collect},\n"
    "                    give_back=_closelib_give_back):\n"
    "    names = ('__doc__', '__loader__', '__package__', '__spec__')\n"
    "    module = {{k: ip.user_ns[k] for k in names if k in ip.user_ns}}\n"
    "    collect = gc.collect\n"
    "    if not collect_too:\n"
    "        gc.collect = lambda generation=2: 0\n"
    "    try:\n"
    "        ip.run_line_magic('reset', '-f')\n"
    "    finally:\n"
    "        gc.collect = collect\n"
    "    ip.user_ns.update(module)\n"
    "    ip.execution_count = 1\n"
    "    if 'matplotlib.pyplot' in sys.modules:\n"
    "        sys.modules['matplotlib.pyplot'].close('all')\n"
    "    warnings = sys.modules['warnings']\n"
    "    warnings.onceregistry.clear()\n"
    "    if hasattr(warnings, '_filters_mutated'):\n"
    "        warnings._filters_mutated()\n"
    "    if collect_too:\n"
    "        give_back(sys)\n"
    "_closelib_reset()"
)
# ...and the working folder the notebook was given, whatever the previous one changed it to.
_CHDIR = "import os as _os\n_os.chdir({cwd!r})\ndel _os"


class SharedKernel:
    """One python3 kernel, started once, in which several notebooks run one after another.

    Built from nbclient's own start-up (async kernel manager and client, as papermill uses),
    so papermill's client can drive it through :class:`SharedKernelEngine`."""

    def __init__(self, cwd: str | None, startup_timeout: int = 60) -> None:
        from nbclient import NotebookClient

        self._starter = NotebookClient(
            nbformat.v4.new_notebook(), kernel_name=KERNEL, startup_timeout=startup_timeout, timeout=startup_timeout
        )
        self._starter.km = self._starter.create_kernel_manager()
        self._starter.start_new_kernel(cwd=cwd)
        self._starter.start_new_kernel_client()

    @property
    def km(self):
        return self._starter.km

    @property
    def pid(self) -> int | None:
        """The kernel's process id (``None`` when the provisioner does not tell)."""
        provisioner = getattr(self._starter.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return pid if isinstance(pid, int) else None

    @property
    def kc(self):
        return self._starter.kc

    def reset(self, cwd: str | None = None, collect: bool = False) -> None:
        self.run(_RESET.format(collect=collect) + ("\n" + _CHDIR.format(cwd=str(cwd)) if cwd else ""))

    def run(self, code: str) -> None:
        """Execute ``code`` in the kernel, outside any notebook (nothing of it is recorded)."""
        cell = nbformat.v4.new_code_cell(code)
        self._starter.nb.cells = [cell]
        self._starter.execute_cell(cell, 0, store_history=False)

    def alive(self) -> bool:
        from jupyter_core.utils import ensure_async, run_sync

        try:  # nbclient's kernel manager is asynchronous: is_alive() gives a coroutine
            return self._starter.km is not None and bool(run_sync(ensure_async)(self._starter.km.is_alive()))
        except Exception:
            return False

    def close(self) -> None:
        """Stop the kernel at once (SIGKILL, then reaped): each notebook's outputs were all
        received before it ended, so a graceful shutdown (0.4-0.6 s) would keep nothing more."""
        self._starter.shutdown_kernel = "immediate"
        with contextlib.suppress(Exception):  # already dead: nothing left to stop
            self._starter._cleanup_kernel()


def _shared_engine():
    """papermill's nbclient engine, handed the caller's kernel manager and client (papermill
    registers engines by name; this one is registered on first use)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import papermill_engines

    class SharedKernelEngine(CloselibEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kernel: SharedKernel = kwargs["shared_kernel"]
            kernel.reset(kwargs.get("shared_cwd"), collect=bool(kwargs.get("shared_collect")))
            client = PapermillNotebookClient(
                nb_man,
                km=kernel.km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client.kc = kernel.kc  # not owned by the client: it neither restarts nor stops it
            try:
                return client.execute()
            except BaseException:
                # A timeout or a dead kernel leaves the engine before papermill's final write
                # (and without per-cell saves nothing was written yet): keep how far it got.
                if kwargs.get("shared_output"):
                    nbformat.write(nb_man.nb, kwargs["shared_output"])
                raise

    papermill_engines.register(SHARED_ENGINE, SharedKernelEngine)


def execute_in_one_kernel(
    jobs: Iterable[NotebookJob],
    cwd: str | None = None,
    *,
    warm_up: str | None = None,
    exporter=None,
    collect: bool = False,
    report: Callable[[NotebookJob, dict], None] | None = None,
    started: Callable[[SharedKernel], None] | None = None,
) -> list[dict]:
    """Run several notebooks one after another in one kernel, so the kernel start-up, the
    imports and any per-process cache (the run's book) are paid once, not per notebook.

    Each notebook starts from an empty namespace (``collect``: and the previous notebook's
    garbage collected first, for notebooks that hold much). After a notebook fails (a raised
    cell, a timeout, a dead kernel) the kernel is replaced, so a half-finished cell can never
    leak into the next notebook. Never raises; one result per job, as :func:`execute_notebook`.

    ``jobs`` may be a queue (a runner's notebook worker): each job is taken when the one before
    has ended, and ``report(job, result)`` hears of each as it ends. With ``warm_up`` the kernel
    starts (in ``cwd``) and runs that code before the first job is taken: imports paid while
    the jobs are not yet known. ``exporter``: the reviewer HTML exporter, else built when a job
    first needs one. ``started(kernel)`` hears of each kernel as it starts."""
    _shared_engine()
    results: list[dict] = []
    kernel: SharedKernel | None = None
    if warm_up is not None:
        try:
            kernel = SharedKernel(cwd)
            if started is not None:
                started(kernel)
            kernel.run(warm_up)
        except Exception:  # the first notebook starts a kernel of its own, and says what fails
            if kernel is not None:
                kernel.close()
            kernel = None
    try:
        for job in jobs:
            if kernel is None or not kernel.alive():
                if kernel is not None:
                    kernel.close()
                try:
                    kernel = SharedKernel(cwd or job.cwd)
                    if started is not None:
                        started(kernel)
                except Exception as exc:  # no kernel: this notebook fails, the next one tries again
                    kernel = None
                    failed = {
                        "status": "failed",
                        "error": f"kernel did not start: {type(exc).__name__}: {exc}",
                        "seconds": None,
                        "html": None,
                    }
                    results.append(failed)
                    if report is not None:
                        report(job, failed)
                    continue
            if job.html and exporter is None:
                exporter = html_exporter()
            result = execute_notebook(job, kernel=kernel, exporter=exporter, collect=collect)
            results.append(result)
            if result["status"] != "succeeded":
                kernel.close()
                kernel = None
            if report is not None:
                report(job, result)
    finally:
        if kernel is not None:
            kernel.close()
    return results
