"""The parameters' schema (every key, its type and bounds) and the mappings a file gives whole."""

from __future__ import annotations

from closelib.params.spec import Bool, Date, Enum, Int, ListOf, MapOf, Money, Optional, PeriodText, Rate, Record, Str

_APPROVAL = ListOf(Record({"up_to": Money(nullable=True), "role": Str()}))

SCHEMA = Record(
    {
        "company": Str(),
        "source": Str(),
        "gl": Record(
            {
                "ar_control_accounts": ListOf(Str()),
                "unapplied_cash_account": Str(),
                "unapplied_cash_in_control": Bool(),
                "allowance_account": Str(),
                "bad_debt_expense_account": Str(),
                "recon_tolerance": Money(),
                "max_item_age_months": Int(0, 120),
                "item_owners": ListOf(
                    Record({"entity": Str(), "reference": Str(), "owner": Str(), "expected_clearance": Date()})
                ),
                "exception_severity": Enum("warning", "error"),
                "correction_offsets": Record(
                    {
                        "invoices and debit memos": Str(),
                        "credit memos": Str(),
                        "cash received": Str(),
                        "adjustments": Str(),
                    }
                ),
                "reconciling_items": ListOf(
                    Record(
                        {
                            "id": Str(),
                            "entity": Str(),
                            "amount": Money(minimum=None),
                            "explanation": Str(),
                            "owner": Str(),
                            "expected_clearance": Date(),
                            "opened": PeriodText(),
                        },
                        optional=("owner", "expected_clearance", "opened"),
                    )
                ),
            }
        ),
        "fx": Record(
            {
                "unrealised_account": Str(),
                "realised_account": Str(),
                "revaluation_prefix": Str(),
            }
        ),
        "aging": Record({"basis": Enum("due_date", "document_date"), "buckets": ListOf(Int(0, 100000))}),
        "reserve": Record(
            {
                "method": Enum("roll_rate", "fixed_rates"),
                "pool_by": Enum("none", "segment"),
                "lookback_months": Int(1, 60),
                "fixed_rates": MapOf(Rate()),
                "floor_rates": MapOf(Rate()),
                "min_exposure_months": Int(1, 60),
                "overlay": Record({"overall": Rate(0.0, 10.0), "per_bucket": MapOf(Rate(0.0, 10.0)), "reason": Str()}),
                "specific": ListOf(
                    Record(
                        {"customer_id": Str(), "rate": Rate(), "amount": Money(), "reason": Str()},
                        optional=("rate", "amount"),
                    )
                ),
                "bankrupt_rate": Rate(),
            }
        ),
        "write_off": Record(
            {
                "min_days_past_due": Int(0),
                "customer_statuses": ListOf(
                    Enum("active", "on_hold", "suspended", "closed", "bankrupt", "in_collections")
                ),
                "bankrupt_any_age": Bool(),
                "small_balance_threshold": Money(),
                "small_balance_min_days": Int(0),
                "approval_matrix": _APPROVAL,
                "preparer_role": Str(),
                "plan_kept_days": Int(1, 3650),
            }
        ),
        "credit_review": Record(
            {
                "cycle_months": MapOf(Int(1, 120)),
                "max_memos": Int(0, 10000),
                "statuses": ListOf(Enum("active", "on_hold", "suspended", "closed", "bankrupt", "in_collections")),
                "triggers": Record(
                    {
                        "utilisation_above": Rate(0.0, 10.0),
                        "days_beyond_terms_increase": Int(0),
                        "broken_promises": Int(0),
                        "exposure_jump": Rate(0.0, 100.0),
                    }
                ),
                "windows": Record(
                    {
                        "behaviour_months": Int(1, 120),
                        "recent_months": Int(1, 60),
                        "prior_months": Int(1, 60),
                        "promise_months": Int(1, 60),
                        "jump_months": Int(1, 60),
                        "billing_months": Int(1, 60),
                        "suspension_months": Int(1, 60),
                        "referral_months": Int(1, 120),
                    },
                    optional=(
                        "behaviour_months",
                        "recent_months",
                        "prior_months",
                        "promise_months",
                        "jump_months",
                        "billing_months",
                        "suspension_months",
                        "referral_months",
                    ),
                ),
                "caps": Record(
                    {
                        "altman_distress": Record({"rating": Int(1, 10)}),
                        "referral": Record({"rating": Int(1, 10)}),
                        "broken_promises": Record({"at_least": Int(1, 1000), "rating": Int(1, 10)}),
                        "suspensions": Record({"at_least": Int(1, 1000), "rating": Int(1, 10)}),
                        "past_due_over_90": Record({"above": Rate(0.0, 1.0), "rating": Int(1, 10)}),
                    },
                    optional=("altman_distress", "referral", "broken_promises", "suspensions", "past_due_over_90"),
                ),
                "overrides": ListOf(
                    Record(
                        {
                            "customer_id": Str(),
                            "signal": Enum(
                                "altman_distress", "referral", "broken_promises", "suspensions", "past_due_over_90"
                            ),
                            "reason": Str(),
                        }
                    )
                ),
                "max_financials_age_months": Int(1, 120),
                "limit_policy": Record(
                    {
                        "months_of_billing": Int(0, 60),
                        "round_to": Money(),
                        "max_increase": Rate(0.0, 100.0),
                        "rating_factor": MapOf(Rate(0.0, 10.0)),
                        "hold_within": Rate(0.0, 1.0),
                    },
                    optional=("hold_within",),
                ),
                "approval_matrix": _APPROVAL,
                "memo_kernels": Int(0, 64),
            },
            optional=("statuses", "windows", "memo_kernels", "caps", "overrides", "max_financials_age_months"),
        ),
        "collections": Record(
            {
                "timeline": ListOf(
                    Record(
                        {
                            "days": Int(-365, 3650),
                            "action": Enum(
                                "reminder", "call", "suspension_warning", "suspension", "agency_referral", "legal"
                            ),
                        }
                    )
                ),
                "promise_grace_days": Int(0, 365),
                "dispute_sla_days": MapOf(Int(0, 3650)),
                "top_customers": Int(1, 1000),
                "min_action_balance": MapOf(Money()),
            },
            optional=("min_action_balance",),
        ),
        "run": Record({"timeout_seconds": Int(1, 86400), "workers": Int(1, 64)}),
        "cash_application": Record(
            {
                "max_combination": Int(1, 8),
                "combination_candidates": Int(2, 16),
                "tolerance": Record({"absolute": MapOf(Money()), "percent": Rate(0.0, 0.2)}),
                "bank_charge_max": MapOf(Money()),
                "name_threshold": Int(50, 100),
                "exclude_names": ListOf(Str()),
            },
            optional=("combination_candidates", "bank_charge_max", "name_threshold", "exclude_names"),
        ),
        # An entity close: the notebooks see only these entities' share of the book
        # (closelib.book.slice); absent or null: every entity. Checked against the book by the runner.
        "entities": Optional(ListOf(Str())),
    },
    optional=("cash_application", "entities"),
)


# Mappings a parameters *file* gives whole: bucket-label rate matrices (a period that
# changes aging.buckets must be able to drop the default labels) and rating bands (which
# must cover 1..10 exactly once). A ``-p a.b.c=value`` override still sets a single key.
WHOLE_MAPS = frozenset(
    {
        "reserve.fixed_rates",
        "reserve.floor_rates",
        "reserve.overlay.per_bucket",
        "credit_review.cycle_months",
        "credit_review.limit_policy.rating_factor",
    }
)
