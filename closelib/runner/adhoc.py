"""Ad-hoc runs: the dispute investigation notebook for one subject, in a folder of its own.

``outputs/adhoc/<YYYYMMDD>-<subject>/`` holds the same manifest, stored inputs and provenance as a
period run; the folder is claimed exclusively and never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from closelib.areas.investigate import resolve_subject, subject_label
from closelib.book.load import load_book
from closelib.book.model import latest_period
from closelib.params import load_parameters
from closelib.paths import INVESTIGATION_NOTEBOOK, PARAMETERS_DIR
from closelib.periods import Period
from closelib.runner.run import RunResult, execute_run, resolve_source
from closelib.runner.runfolder import claim_folder, default_outputs
from closelib.safenames import inside


def adhoc_folder(outputs: Path, subject: dict[str, str]) -> tuple[str, Path]:
    """``outputs/adhoc/<YYYYMMDD>-<subject>``, never reused (``-2``, ``-3`` ... when taken). The
    subject part is its id made safe (:func:`closelib.areas.investigate.subject_label`); the raw
    ids are in the manifest's ``subject``. The folder is checked to stay inside ``outputs/adhoc``."""
    base = f"{datetime.now(UTC):%Y%m%d}-{subject_label(subject)}"
    parent = outputs / "adhoc"
    names = (base if n == 1 else f"{base}-{n}" for n in range(1, 1000))
    return claim_folder(parent, (inside(parent, name).name for name in names))


def run_investigation(
    customer: str | None,
    document: str | None,
    case: str | None,
    source: str | Path | None = None,
    outputs: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Resolve the subject in the source (an unknown id is an error naming close matches), then run
    the investigation notebook on the source's latest period into a new ad-hoc folder."""
    defaults = load_parameters(Period(2000, 1), PARAMETERS_DIR)
    source_path = resolve_source(source, defaults)
    book = load_book(source_path)
    subject = resolve_subject(book, customer, document, case)
    period = latest_period(book)
    outputs = Path(outputs).resolve() if outputs else default_outputs()
    folder = adhoc_folder(outputs, subject)
    return execute_run(
        period,
        source=source_path,
        outputs=outputs,
        notebooks=[("investigate", INVESTIGATION_NOTEBOOK)],
        run_folder=folder,
        subject=subject,
        progress=progress,
    )
