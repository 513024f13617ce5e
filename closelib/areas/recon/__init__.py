"""Trial-balance reconciliation: AR control accounts against the subledger (CONTRACT ``tb.*``).

The method, per entity and in its functional currency:

* every subledger transaction has an *effect* on the AR control accounts and on the
  unapplied-cash account; summed to D the effects *are* the subledger balances
  (:mod:`.sides`, coded; balances in :mod:`.ledger`);
* the GL detail (``gl_journal``) is matched to those effects by reference. What differs is
  a reconciling item with its cause: a manual journal, a transaction posted in another
  period (cut-off), one never posted, a posting that differs (:mod:`.items`);
* every item has a class (timing, correction required, documented), an owner and an
  expected clearance; open exceptions and correcting journals follow (:mod:`.classes`);
* what remains, the GL balance that the journal detail does not support less the items the
  preparer documents in the parameters, is ``tb.unexplained`` (:mod:`.reconcile`); the
  period rolls forward on both sides (:mod:`.rollforward`); :mod:`.bridge` shows what makes
  up the difference.

Notebooks use ``from closelib.areas import recon`` and the names below.
"""

from closelib.areas.recon.bridge import bridge, bridge_chart, items_by_cause
from closelib.areas.recon.classes import CLASSES, ItemPolicy, correcting_journals, items_by_class
from closelib.areas.recon.items import parameter_items, reconciling_items
from closelib.areas.recon.ledger import gl_balance, subledger_position, trial_balance_totals, unapplied_by_age
from closelib.areas.recon.reconcile import (
    FIGURES,
    FX_SUMMARY_LINES,
    SUMMARY_LINES,
    UNAPPLIED_LINES,
    Reconciliation,
    conclusion,
    first_to_investigate,
    reconcile,
)
from closelib.areas.recon.rollforward import ROLL_LINES, UNAPPLIED_ROLL_LINES, roll_forward
from closelib.areas.recon.sides import CONTROL, UNAPPLIED, GLPolicy, Sides, ledger_sides

__all__ = [
    "CLASSES",
    "CONTROL",
    "FIGURES",
    "FX_SUMMARY_LINES",
    "ROLL_LINES",
    "SUMMARY_LINES",
    "UNAPPLIED",
    "UNAPPLIED_LINES",
    "UNAPPLIED_ROLL_LINES",
    "GLPolicy",
    "ItemPolicy",
    "Reconciliation",
    "Sides",
    "bridge",
    "bridge_chart",
    "conclusion",
    "correcting_journals",
    "first_to_investigate",
    "gl_balance",
    "items_by_cause",
    "items_by_class",
    "ledger_sides",
    "parameter_items",
    "reconcile",
    "reconciling_items",
    "roll_forward",
    "subledger_position",
    "trial_balance_totals",
    "unapplied_by_age",
]
