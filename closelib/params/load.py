"""Parameters for a period: ``parameters/defaults.yaml``, ``parameters/<PERIOD>.yaml``, a
``--params`` file and ``-p`` overrides, merged in that order (later wins) and checked."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closelib import money
from closelib.errors import ParameterError
from closelib.params.check import check_parameters
from closelib.params.schema import WHOLE_MAPS
from closelib.periods import Period
from closelib.yamlfile import load_yaml, read_yaml_file


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
