"""The periods of a batch: ``2026-03`` or a range ``2026-01..2026-10`` (both ends included).

Every argument is checked and every problem reported at once: a malformed period or range, a
range whose end comes before its start, a period given twice (two closes of one period in one
batch is a typing slip, not a plan), and more periods than :data:`MAX_PERIODS` (a range of
decades is a slip too; the count is worked out before any range is expanded).
"""

from __future__ import annotations

from closelib.errors import ParameterError, RunError, clip
from closelib.periods import Period

RANGE = ".."
# Twenty years of month ends: more in one batch is almost certainly a mistyped year.
MAX_PERIODS = 240


def _parse_one(text: str, where: str, problems: list[str]) -> Period | None:
    try:
        return Period.parse(text)
    except ParameterError as exc:
        problems.append(f"{where}: " + exc.problems[0].removeprefix("period: "))
        return None


def _index(period: Period) -> int:
    return period.year * 12 + period.month - 1


def parse_periods(arguments: list[str], limit: int = MAX_PERIODS) -> list[Period]:
    """The periods named by ``arguments`` in the order given (a range in calendar order).

    Raises :class:`RunError` listing every problem: ``2026-13`` (not a month), ``2026-05..2026-01``
    (reversed), ``2026-01..`` (an open end), a period given twice, more than ``limit`` periods."""
    problems: list[str] = []
    spans: list[tuple[Period, Period]] = []
    if not arguments:
        problems.append("no period given: name one or more periods YYYY-MM or ranges YYYY-MM..YYYY-MM")
    for text in arguments:
        where = f"period {clip(text)}"
        if RANGE in text:
            first_text, _, last_text = text.partition(RANGE)
            if not first_text or not last_text or RANGE in last_text:
                problems.append(f"{where}: a range is FIRST..LAST, e.g. 2026-01..2026-10")
                continue
            first = _parse_one(first_text.strip(), where, problems)
            last = _parse_one(last_text.strip(), where, problems)
            if first is None or last is None:
                continue
            if last < first:
                problems.append(f"{where}: the range ends before it starts (write {last}..{first})")
                continue
            spans.append((first, last))
        else:
            single = _parse_one(text.strip(), where, problems)
            if single is not None:
                spans.append((single, single))
    count = sum(_index(last) - _index(first) + 1 for first, last in spans)
    if count > limit:
        problems.append(
            f"{count} periods in one batch, more than {limit}: split them into several batches"
            " (or check the years of each range)"
        )
    if problems:
        raise RunError("cannot plan the batch:\n" + "\n".join(f"  - {p}" for p in problems))
    periods = [first.shift(k) for first, last in spans for k in range(_index(last) - _index(first) + 1)]
    repeated = sorted({p for p in periods if periods.count(p) > 1})
    if repeated:
        raise RunError(
            "cannot plan the batch:\n"
            + "\n".join(f"  - period {p} is given more than once (a batch closes each period once)" for p in repeated)
        )
    return periods
