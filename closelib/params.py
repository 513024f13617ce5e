"""Parameters: defaults, period overrides, a params file and ``-p`` overrides, merged and checked.

Order (later wins): ``parameters/defaults.yaml``, ``parameters/<PERIOD>.yaml``,
``--params FILE``, then each ``-p a.b=value``. Mappings merge key by key; lists and
scalars replace; a file's bucket-rate matrices and rating bands (:data:`WHOLE_MAPS`)
replace the earlier ones whole. The merged result is validated against :data:`SCHEMA`; every problem is
collected, and an unknown key names the nearest valid one.

YAML is read by :mod:`closelib.yamlfile` (bounded in size and alias expansion), which keeps
decimal numbers as :class:`~decimal.Decimal` built from their digits, so
``recon_tolerance: 1234.50`` is exact. The validated result is
JSON-safe (money as strings, rates as numbers), which is what papermill receives and the
manifest records; notebooks turn money back into minor units with :func:`money_minor`.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from closelib import money
from closelib.errors import ParameterError, RatingBandError, clip
from closelib.periods import PERIOD_PATTERN, Period
from closelib.yamlfile import load_yaml, read_yaml_file

# ---------------------------------------------------------------- schema


class Spec:
    def check(self, value: Any, path: str, problems: list[str]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Str(Spec):
    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        problems.append(f"{path}: expected text, got {clip(value)}")
        return value


class Bool(Spec):
    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if isinstance(value, bool):
            return value
        problems.append(f"{path}: expected true or false, got {clip(value)}")
        return value


class Int(Spec):
    def __init__(self, minimum: int | None = None, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            problems.append(f"{path}: expected a whole number, got {clip(value)}")
            return value
        try:
            number = Decimal(str(value))
        except Exception:
            problems.append(f"{path}: expected a whole number, got {clip(value)}")
            return value
        if not number.is_finite() or number != number.to_integral_value():
            problems.append(f"{path}: expected a whole number, got {clip(value)}")
            return value
        if number.adjusted() > 18:  # never turned into a Python int: 1e999999999 has a billion digits
            problems.append(f"{path}: {clip(value)} is outside {self.minimum}..{self.maximum}")
            return value
        whole = int(number)
        if (self.minimum is not None and whole < self.minimum) or (self.maximum is not None and whole > self.maximum):
            problems.append(f"{path}: {whole} is outside {self.minimum}..{self.maximum}")
        return whole


class Money(Spec):
    """Exact decimal amount, kept as a canonical string; ``None`` allowed when nullable."""

    def __init__(self, nullable: bool = False, minimum: Decimal | None = Decimal(0)):
        self.nullable, self.minimum = nullable, minimum

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if value is None and self.nullable:
            return None
        if isinstance(value, float):  # only reachable from Python callers, never from YAML
            problems.append(f"{path}: money must be exact; write {clip(value)} as a string")
            return value
        try:
            amount = money.to_decimal(value)
        except money.MoneyError as exc:
            problems.append(f'{path}: expected an amount such as "25.00": {exc}')
            return value
        if self.minimum is not None and amount < self.minimum:
            problems.append(f"{path}: must be at least {self.minimum}, got {clip(value)}")
        return format(amount, "f")  # plain digits as written: "1234.50", never "1.2345E+3"


class Rate(Spec):
    def __init__(self, minimum: float = 0.0, maximum: float | None = 1.0):
        self.minimum, self.maximum = minimum, maximum

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            problems.append(f"{path}: expected a rate such as 0.016, got {clip(value)}")
            return value
        try:
            number = float(Decimal(str(value)))
        except Exception:
            problems.append(f"{path}: expected a rate such as 0.016, got {clip(value)}")
            return value
        if number != number or number in (float("inf"), float("-inf")):
            problems.append(f"{path}: expected a rate such as 0.016, got {clip(value)}")
            return value
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            problems.append(f"{path}: {number} is outside {self.minimum}..{self.maximum}")
        return number


class Date(Spec):
    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        problems.append(f"{path}: expected a date YYYY-MM-DD, got {clip(value)}")
        return value


class PeriodText(Spec):
    """A ``YYYY-MM`` kept as text (parameters stay JSON-safe); the rule is :meth:`Period.parse`."""

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if not isinstance(value, str) or not re.fullmatch(PERIOD_PATTERN, value):
            problems.append(f"{path}: expected a period YYYY-MM, got {clip(value)}")
            return value
        try:
            Period.parse(value)
        except ParameterError as exc:
            problems.append(f"{path}: " + exc.problems[0].removeprefix("period: "))
        return value


class Enum(Spec):
    def __init__(self, *choices: str):
        self.choices = choices

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if value in self.choices:
            return value
        hint = _suggest(str(value)[:100], list(self.choices))
        problems.append(f"{path}: must be one of {', '.join(self.choices)}, got {clip(value)}{hint}")
        return value


class Optional(Spec):
    def __init__(self, inner: Spec):
        self.inner = inner

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        return None if value is None else self.inner.check(value, path, problems)


class ListOf(Spec):
    def __init__(self, item: Spec):
        self.item = item

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {clip(value)}")
            return value
        return [self.item.check(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]


class MapOf(Spec):
    """Open mapping: any text key (checked elsewhere when keys must be bucket labels)."""

    def __init__(self, value: Spec):
        self.value = value

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {clip(value)}")
            return value
        return {str(k): self.value.check(v, f"{path}.{k}", problems) for k, v in value.items()}


class Record(Spec):
    """Closed mapping: known keys only; ``optional`` keys may be absent."""

    def __init__(self, fields: dict[str, Spec], optional: tuple[str, ...] = ()):
        self.fields, self.optional = fields, set(optional)

    def check(self, value: Any, path: str, problems: list[str]) -> Any:
        if not isinstance(value, dict):
            problems.append(f"{path or 'parameters'}: expected a mapping, got {clip(value)}")
            return value
        result = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in self.fields:
                problems.append(f"{where}: unknown key{_suggest(str(key), list(self.fields))}")
                continue
            result[key] = self.fields[key].check(item, where, problems)
        for key in self.fields:
            if key not in value and key not in self.optional:
                problems.append(f"{path + '.' if path else ''}{key}: missing")
        return result


def _suggest(name: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


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


# ---------------------------------------------------------------- merge and check


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


def deep_merge(base: dict, override: dict, whole: frozenset[str] | set[str] = frozenset(), _path: str = "") -> dict:
    """``override`` over ``base``: mappings merge key by key, except those at a ``whole``
    path, which replace; lists and scalars replace."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        path = f"{_path}.{key}" if _path else str(key)
        if isinstance(value, dict) and isinstance(result.get(key), dict) and path not in whole:
            result[key] = deep_merge(result[key], value, whole, path)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_override(text: str) -> dict:
    """``a.b.c=value`` -> ``{"a": {"b": {"c": value}}}``, the value read as (exact) YAML."""
    if "=" not in text:
        raise ParameterError([f"-p {text!r}: expected key=value, e.g. -p reserve.method=fixed_rates"])
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ParameterError([f"-p {text!r}: empty key"])
    value = load_yaml(raw, f"-p {key}") if raw.strip() else ""
    nested: Any = value
    for part in reversed(parts):
        nested = {part: nested}
    return nested


def check_parameters(params: dict) -> dict:
    """Validate and normalise merged parameters (JSON-safe result); raise with every problem."""
    problems: list[str] = []
    result = SCHEMA.check(params, "", problems)
    if not problems:
        _check_consistency(result, problems)
    if problems:
        raise ParameterError(problems)
    return result


def _labels(bounds: list[int]) -> list[str]:

    return bucket_labels(bounds)


def _check_consistency(p: dict, problems: list[str]) -> None:
    bounds = p["aging"]["buckets"]
    if not bounds or bounds[0] != 0 or any(b <= a for a, b in itertools.pairwise(bounds)):
        problems.append(f"aging.buckets: must start at 0 and increase strictly, got {bounds}")
        return
    labels = _labels(bounds)
    # Only the table the method reads: fixed_rates needs a rate for every bucket; under roll_rate
    # the floors may leave buckets out (an absent floor is zero). The unused table is not read.
    key = "fixed_rates" if p["reserve"]["method"] == "fixed_rates" else "floor_rates"
    rates = p["reserve"][key]
    for label in rates:
        if label not in labels:
            problems.append(
                f"reserve.{key}.{label}: not a bucket label{_suggest(label, labels)} (labels: {', '.join(labels)})"
            )
    for label in labels if key == "fixed_rates" else ():
        if label not in rates:
            problems.append(f"reserve.{key}: no rate for bucket {label!r}")
    for label in p["reserve"]["overlay"]["per_bucket"]:
        if label not in labels:
            problems.append(f"reserve.overlay.per_bucket.{label}: not a bucket label{_suggest(label, labels)}")
    overlay = p["reserve"]["overlay"]
    if (overlay["overall"] != 1.0 or overlay["per_bucket"]) and not overlay["reason"].strip():
        problems.append("reserve.overlay.reason: an overlay needs its reason")
    for i, item in enumerate(p["reserve"]["specific"]):
        if ("rate" in item) == ("amount" in item):
            problems.append(f"reserve.specific[{i}]: give either rate or amount")
    for section in ("write_off", "credit_review"):
        tiers = p[section]["approval_matrix"]
        caps = [Decimal(t["up_to"]) for t in tiers if t["up_to"] is not None]
        if not tiers or tiers[-1]["up_to"] is not None or any(t["up_to"] is None for t in tiers[:-1]):
            problems.append(f"{section}.approval_matrix: the last tier (and only it) must have up_to: null")
        elif caps != sorted(caps) or len(set(caps)) != len(caps):
            problems.append(f"{section}.approval_matrix: up_to must increase")
    for i, item in enumerate(p["credit_review"].get("overrides") or []):
        if not str(item["reason"]).strip():
            problems.append(f"credit_review.overrides[{i}].reason: an override of a rating cap needs its reason")
    entities = p.get("entities")
    if entities is not None and not entities:
        problems.append("entities: name at least one entity, or leave the parameter out to close every entity")
    for entity in sorted({e for e in entities or [] if (entities or []).count(e) > 1}):
        problems.append(f"entities: {entity!r} is named more than once")
    for i, entity in enumerate(entities or []):
        if not str(entity).strip():
            problems.append(f"entities[{i}]: empty")
    days = [t["days"] for t in p["collections"]["timeline"]]
    if days != sorted(days):
        problems.append("collections.timeline: days must increase")
    for key in ("cycle_months",):
        _check_rating_bands(p["credit_review"][key], f"credit_review.{key}", problems)
    _check_rating_bands(
        p["credit_review"]["limit_policy"]["rating_factor"], "credit_review.limit_policy.rating_factor", problems
    )


def _check_rating_bands(bands: dict, path: str, problems: list[str]) -> None:
    """Keys like "1-4" or "10" must cover ratings 1..10 exactly once."""
    covered: list[int] = []
    for key in bands:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", key)
        if not match:
            problems.append(f"{path}.{key}: expected a rating band such as '1-4' or '10'")
            return
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        covered.extend(range(low, high + 1))
    if sorted(covered) != list(range(1, 11)):
        problems.append(f"{path}: rating bands must cover 1..10 exactly once, got {', '.join(bands)}")


def rating_band_value(bands: dict, rating: int) -> Any:
    for key, value in bands.items():
        low, _, high = key.partition("-")
        if int(low) <= rating <= int(high or low):
            return value
    raise RatingBandError(rating, list(bands))


@dataclass(frozen=True)
class RunSettings:
    """The ``run`` section, typed once: the runner and the memo executor read it in several places."""

    timeout_seconds: int  # papermill's limit for each cell of a notebook (the wall limit is a multiple)
    workers: int  # notebooks (or memo kernels) executed at a time, at least 1

    @classmethod
    def from_params(cls, params: dict) -> RunSettings:
        run = params["run"]
        return cls(timeout_seconds=int(run["timeout_seconds"]), workers=max(1, int(run["workers"])))


def load_parameters(
    period: Period | str,
    parameters_dir: str | Path = "parameters",
    params_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> dict:
    """The merged, validated parameters for ``period`` (JSON-safe); a malformed period raises."""
    period = Period.parse(period)
    folder = Path(parameters_dir)
    merged = read_yaml_file(folder / "defaults.yaml")
    period_file = folder / f"{period}.yaml"
    if period_file.is_file():
        merged = deep_merge(merged, read_yaml_file(period_file), WHOLE_MAPS)
    if params_file is not None:
        merged = deep_merge(merged, read_yaml_file(Path(params_file)), WHOLE_MAPS)
    for text in overrides:
        merged = deep_merge(merged, parse_override(text))
    return check_parameters(merged)


def money_minor(value: str | None, currency: str) -> int | None:
    """A parameter amount in minor units of ``currency`` (exact; too many decimals is an error)."""
    return None if value is None else money.to_minor(value, currency)


def bucket_labels(bounds: list[int]) -> list[str]:
    """Labels per CONTRACT §2: ``[0, 30, 60, 90]`` -> current, 1-30, 31-60, 61-90, 90+."""
    labels = ["current"]
    for low, high in itertools.pairwise(bounds):
        labels.append(f"{low + 1}-{high}")
    labels.append(f"{bounds[-1]}+")
    return labels
