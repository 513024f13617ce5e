"""The allowance for expected credit losses on trade receivables (CONTRACT ``reserve.*``).

:mod:`.compute` computes it (aged receivables, specific reserves, loss rates, the provision
matrix, the allowance roll-forward, the true-up); :mod:`.report` shows it (figures, tables,
charts, checks, the Excel pack, the conclusion); :mod:`.customers` is the customer aged trial
balance; :mod:`.backtest` the backtest over the last month ends and the prior-period
comparison; :mod:`.window` the roll-rate histories (one built and kept on the book by
:func:`compute`, the others cut from it; :func:`release_history` lets it go, as
:func:`prior_comparison` does). Notebooks use ``from closelib.areas import reserve`` and the
names below.
"""

from closelib.areas.reserve.backtest import (
    BACKTEST_MONTHS,
    backtest,
    backtest_chart,
    backtest_summary,
    past_due_over,
    prior_comparison,
)
from closelib.areas.reserve.compute import (
    ReserveResult,
    aged_receivables,
    allowance_roll_forward,
    collective_rates,
    compute,
    floor_note,
    floors_in_use,
    pools_of,
    provision_matrix,
    specific_reserves,
    true_up_journals,
)
from closelib.areas.reserve.customers import customer_aged_listing, listing_caption, listing_ties
from closelib.areas.reserve.report import (
    FIGURES,
    SUMMARY_LINES,
    aging_by_bucket,
    booked_matches,
    bucket_figures,
    conclusion,
    gross_ties,
    loss_curve_chart,
    no_journal_reasons,
    roll_forward_check,
    roll_matrix,
    write_pack,
)
from closelib.areas.reserve.window import release_history

__all__ = [
    "BACKTEST_MONTHS",
    "FIGURES",
    "SUMMARY_LINES",
    "ReserveResult",
    "aged_receivables",
    "aging_by_bucket",
    "allowance_roll_forward",
    "backtest",
    "backtest_chart",
    "backtest_summary",
    "booked_matches",
    "bucket_figures",
    "collective_rates",
    "compute",
    "conclusion",
    "customer_aged_listing",
    "floor_note",
    "floors_in_use",
    "gross_ties",
    "listing_caption",
    "listing_ties",
    "loss_curve_chart",
    "no_journal_reasons",
    "past_due_over",
    "pools_of",
    "prior_comparison",
    "provision_matrix",
    "release_history",
    "roll_forward_check",
    "roll_matrix",
    "specific_reserves",
    "true_up_journals",
    "write_pack",
]
