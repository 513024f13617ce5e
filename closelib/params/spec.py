"""The parameter schema's building blocks: each :class:`Spec` checks one value, appends every
problem it finds (named by its dotted path) and returns the value normalised and JSON-safe
(money as canonical strings, rates as numbers, dates and periods as text)."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from decimal import Decimal
from typing import Any

from closelib import money
from closelib.errors import ParameterError, clip
from closelib.periods import PERIOD_PATTERN, Period


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
        hint = suggest(str(value)[:100], list(self.choices))
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
                problems.append(f"{where}: unknown key{suggest(str(key), list(self.fields))}")
                continue
            result[key] = self.fields[key].check(item, where, problems)
        for key in self.fields:
            if key not in value and key not in self.optional:
                problems.append(f"{path + '.' if path else ''}{key}: missing")
        return result


def suggest(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` naming the nearest of ``choices``, or nothing."""
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""
