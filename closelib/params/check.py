"""Merged parameters checked against the schema and against each other (bucket labels, approval
tiers, rating bands); every problem collected, then raised together."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

from closelib.errors import ParameterError, RatingBandError
from closelib.params.schema import SCHEMA
from closelib.params.spec import suggest


def check_parameters(params: dict) -> dict:
    """Validate and normalise merged parameters (JSON-safe result); raise with every problem."""
    problems: list[str] = []
    result = SCHEMA.check(params, "", problems)
    if not problems:
        _check_consistency(result, problems)
    if problems:
        raise ParameterError(problems)
    return result


def _check_consistency(p: dict, problems: list[str]) -> None:
    bounds = p["aging"]["buckets"]
    if not bounds or bounds[0] != 0 or any(b <= a for a, b in itertools.pairwise(bounds)):
        problems.append(f"aging.buckets: must start at 0 and increase strictly, got {bounds}")
        return
    labels = bucket_labels(bounds)
    # Only the table the method reads: fixed_rates needs a rate for every bucket; under roll_rate
    # the floors may leave buckets out (an absent floor is zero). The unused table is not read.
    key = "fixed_rates" if p["reserve"]["method"] == "fixed_rates" else "floor_rates"
    rates = p["reserve"][key]
    for label in rates:
        if label not in labels:
            problems.append(
                f"reserve.{key}.{label}: not a bucket label{suggest(label, labels)} (labels: {', '.join(labels)})"
            )
    for label in labels if key == "fixed_rates" else ():
        if label not in rates:
            problems.append(f"reserve.{key}: no rate for bucket {label!r}")
    for label in p["reserve"]["overlay"]["per_bucket"]:
        if label not in labels:
            problems.append(f"reserve.overlay.per_bucket.{label}: not a bucket label{suggest(label, labels)}")
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


def bucket_labels(bounds: list[int]) -> list[str]:
    """Labels per CONTRACT §2: ``[0, 30, 60, 90]`` -> current, 1-30, 31-60, 61-90, 90+."""
    labels = ["current"]
    for low, high in itertools.pairwise(bounds):
        labels.append(f"{low + 1}-{high}")
    labels.append(f"{bounds[-1]}+")
    return labels
