"""The workpapers of a close: reference, title and file of each, in one place.

A reviewer (and an auditor's index) knows a workpaper by its reference: ``AR-1`` the
trial-balance reconciliation, ``AR-2`` the bad-debt reserve, and so on; each credit memo is
``AR-4.<n>``, numbered in the order of the review queue. The header of each notebook, the
title of its reviewer HTML, the period binder and every cross-reference between workpapers
read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Workpaper:
    name: str  # the notebook's name in the run (``tb_recon``): figures, records, manifest
    reference: str  # ``AR-1``
    title: str  # ``TB reconciliation``
    file: str  # the notebook's file stem in a run folder (``01_tb_recon``)
    # Tables the workpaper never reads: its kernel does not load them from the run's book cache
    # (the GL detail alone is 40 % of a 1M-document book in memory). A table read by mistake
    # fails the notebook (AttributeError), never a silently different figure.
    unread: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``AR-1 TB reconciliation``."""
        return f"{self.reference} {self.title}"

    @property
    def html(self) -> str:
        return f"{self.file}.html"


# The period notebooks, in notebook order (``NN_`` of their file names).
PERIOD_WORKPAPERS: tuple[Workpaper, ...] = (
    Workpaper("tb_recon", "AR-1", "TB reconciliation", "01_tb_recon", ("activities",)),
    Workpaper("reserve", "AR-2", "Bad-debt reserve", "02_reserve", ("gl_journal", "activities")),
    Workpaper("write_off", "AR-3", "Write-off", "03_write_off", ("gl_journal",)),
    Workpaper("credit_review", "AR-4", "Credit review", "04_credit_review", ("gl_journal",)),
    Workpaper("collections", "AR-5", "Collections", "05_collections", ("gl_journal",)),
    Workpaper("cash_application", "AR-6", "Cash application", "06_cash_application", ("gl_journal", "activities")),
    Workpaper("fx_revaluation", "AR-7", "FX revaluation", "07_fx_revaluation", ("gl_journal", "activities")),
)
BY_NAME: dict[str, Workpaper] = {w.name: w for w in PERIOD_WORKPAPERS}
# A figure's area (the part of its name before the first dot) -> the workpaper that records it.
AREAS: dict[str, str] = {
    "tb": "tb_recon",
    "reserve": "reserve",
    "write_off": "write_off",
    "credit": "credit_review",
    "kpi": "collections",
    "cash_app": "cash_application",
    "fx": "fx_revaluation",
}
MEMO_PREFIX = "credit_memo_"
INVESTIGATION = Workpaper("investigate", "AR-INV", "Dispute investigation", "investigate")


def memo_workpaper(key: str, number: int | None) -> Workpaper:
    """A credit memo: ``AR-4.<n>`` (``n`` its place in the review queue, from 1), or ``AR-4.x``
    for a memo opened by hand, which has no place in a run's queue."""
    reference = f"AR-4.{number}" if number else "AR-4.x"
    return Workpaper(f"{MEMO_PREFIX}{key}", reference, f"Credit memo {key}", key, ("gl_journal",))


def workpaper_of(notebook: str, memo_number: int | None = None) -> Workpaper:
    """The workpaper of a notebook name as the runner passes it; an unknown name (a notebook
    added without a reference) is shown by its name, never refused."""
    if notebook in BY_NAME:
        return BY_NAME[notebook]
    if notebook.startswith(MEMO_PREFIX):
        return memo_workpaper(notebook[len(MEMO_PREFIX) :], memo_number)
    if notebook == INVESTIGATION.name:
        return INVESTIGATION
    return Workpaper(notebook, notebook, notebook.replace("_", " "), notebook)


def notebook_order(name: str) -> tuple[int, str]:
    """Sort key putting period notebooks in notebook order, anything else after them by name."""
    order = {w.name: i for i, w in enumerate(PERIOD_WORKPAPERS)}
    return (order.get(name, len(order)), name)


def of_figure(figure: str) -> Workpaper | None:
    """The workpaper that records ``figure`` (``tb.US01.subledger_ar`` -> AR-1; an area alone,
    ``tb``, names the workpaper), if known."""
    name = AREAS.get(figure.split(".", 1)[0])
    return BY_NAME.get(name) if name else None


def href(target: Workpaper, from_memo: bool = False) -> str:
    """The relative link to a period workpaper's reviewer HTML from a page in the run folder
    (or, ``from_memo``, in its ``credit_memos/`` folder)."""
    return ("../" if from_memo else "") + quote(target.html)


def title(company: str, workpaper: Workpaper, period: str) -> str:
    """The browser tab title of a reviewer HTML: ``<company> - <workpaper> - <period>``."""
    return " - ".join(part for part in (company.strip(), workpaper.label, str(period)) if part)
