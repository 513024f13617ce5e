"""What a runner's notebook process runs (the spawn target): :func:`closelib.nb.execute.child_main`,
without the libraries papermill and nbformat import only for what a run never does.

A notebook process drives one kernel: it reads and writes local notebook files and renders
their HTML. papermill imports, when it can, the readers and writers of remote stores (HDFS
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

import os
import sys

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

from closelib.nb.execute import NotebookJob, child_main  # noqa: E402

# The kernels' glibc gives large freed blocks back to the system at once: blocks over 128 KiB
# get their own mapping (glibc's default threshold grows up to 32 MiB after such frees, after
# which a notebook's freed frames stay in its heap, counted in its memory, until it ends).
KERNEL_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def notebook_main(job: NotebookJob) -> None:
    """Entry point of a notebook process (see :func:`closelib.nb.execute.child_main`)."""
    skip_optional_imports()  # (already done on import in a notebook process)
    for name, value in KERNEL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # the kernel inherits it; this process started without it
    child_main(job)
