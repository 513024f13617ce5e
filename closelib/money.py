"""Money: exact amounts in integer minor units.

Every money column in closelib is an ``int64`` count of the currency's minor unit
(cents for USD, yen for JPY, fils for KWD), beside a ``currency`` column or with the
currency known from context. Sums are integer sums, so they are exact. Conversion to
and from text goes through :class:`decimal.Decimal`, never through binary floats.

Rounding rule (documented in the README): whenever a rate or an FX rate is applied to
an amount, the result is rounded **half-up (away from zero) to the minor unit, per
line**, and totals are the sums of the rounded lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closelib.errors import CloseError, clip

# ISO 4217 minor units (exponent). Currencies not listed here are rejected, because a
# wrong exponent silently scales every amount by a power of ten.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
    **dict.fromkeys(
        [
            "AED",
            "AFN",
            "ALL",
            "AMD",
            "ANG",
            "AOA",
            "ARS",
            "AUD",
            "AWG",
            "AZN",
            "BAM",
            "BBD",
            "BDT",
            "BGN",
            "BMD",
            "BND",
            "BOB",
            "BRL",
            "BSD",
            "BTN",
            "BWP",
            "BYN",
            "BZD",
            "CAD",
            "CDF",
            "CHF",
            "CNY",
            "COP",
            "CRC",
            "CUP",
            "CVE",
            "CZK",
            "DKK",
            "DOP",
            "DZD",
            "EGP",
            "ERN",
            "ETB",
            "EUR",
            "FJD",
            "FKP",
            "GBP",
            "GEL",
            "GHS",
            "GIP",
            "GMD",
            "GTQ",
            "GYD",
            "HKD",
            "HNL",
            "HTG",
            "HUF",
            "IDR",
            "ILS",
            "INR",
            "IRR",
            "JMD",
            "KES",
            "KGS",
            "KHR",
            "KPW",
            "KYD",
            "KZT",
            "LAK",
            "LBP",
            "LKR",
            "LRD",
            "LSL",
            "MAD",
            "MDL",
            "MGA",
            "MKD",
            "MMK",
            "MNT",
            "MOP",
            "MRU",
            "MUR",
            "MVR",
            "MWK",
            "MXN",
            "MYR",
            "MZN",
            "NAD",
            "NGN",
            "NIO",
            "NOK",
            "NPR",
            "NZD",
            "PAB",
            "PEN",
            "PGK",
            "PHP",
            "PKR",
            "PLN",
            "QAR",
            "RON",
            "RSD",
            "RUB",
            "SAR",
            "SBD",
            "SCR",
            "SDG",
            "SEK",
            "SGD",
            "SHP",
            "SLE",
            "SOS",
            "SRD",
            "SSP",
            "STN",
            "SVC",
            "SYP",
            "SZL",
            "THB",
            "TJS",
            "TMT",
            "TOP",
            "TRY",
            "TTD",
            "TWD",
            "TZS",
            "UAH",
            "USD",
            "UZS",
            "VES",
            "WST",
            "XCD",
            "YER",
            "ZAR",
            "ZMW",
            "ZWG",
        ],
        2,
    ),
}

# How a report shows an amount: (minor units, currency code) -> text, e.g. ``nb.fmt_money``.
# Passed in by the notebooks, so the areas do not depend on the notebook layer.
MoneyFormat = Callable[[int, str], str]

_DECIMAL_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"
# int64 holds 18 full digits; refuse anything that could overflow once scaled.
_MAX_DIGITS = 17
# The largest absolute total of one money column of a book, in minor units: a table's amounts
# summed (and the sums of a few such columns combined, and multiplied by a rate up to 10) stay
# far inside int64 (9.2e18). A book beyond it is refused at validation, never summed to a
# silently wrapped total.
MAX_COLUMN_TOTAL = 10**17


class MoneyError(CloseError):
    """An amount that cannot be represented exactly in its currency."""


def minor_digits(currency: str) -> int:
    """Number of decimals of ``currency`` (ISO 4217 exponent)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency code {clip(currency)} (expected an ISO 4217 code such as USD)") from None


def is_currency(code: str) -> bool:
    return code in MINOR_UNITS


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a decimal string (or int/Decimal) exactly. Floats are refused, and so is an amount
    beyond :data:`_MAX_DIGITS` digits before or after the point (``1e999999999`` would take a
    gigabyte to write out): see :func:`_bounded`."""
    if isinstance(value, float):
        raise MoneyError(f"money must not be a binary float: {clip(value)}; write it as a string")
    if isinstance(value, bool):
        raise MoneyError(f"money must be a number, not {clip(value)}")
    if isinstance(value, (int, Decimal)):
        if isinstance(value, int) and value.bit_length() > 4 * _MAX_DIGITS:
            raise MoneyError(f"{clip(value)} is out of range: at most {_MAX_DIGITS} digits before the point")
        result = Decimal(value)
        if not result.is_finite():
            raise MoneyError(f"{clip(value)} is not a finite amount")
        return _bounded(result, value)
    text = str(value).strip()
    if len(text) > _MAX_TEXT:
        raise MoneyError(f"{clip(value)} is out of range: {len(text):,} characters long")
    try:
        result = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{clip(value)} is not a decimal number") from None
    if not result.is_finite():
        raise MoneyError(f"{clip(value)} is not a finite amount")
    return _bounded(result, value)


# Longest text taken as an amount: 17 digits each side of the point, a sign, a point, an exponent.
_MAX_TEXT = 2 * _MAX_DIGITS + 8


def _bounded(amount: Decimal, value: object) -> Decimal:
    """``amount`` unless its digits reach past :data:`_MAX_DIGITS` before or after the point."""
    if amount and amount.adjusted() >= _MAX_DIGITS:
        raise MoneyError(f"{clip(value)} is out of range: at most {_MAX_DIGITS} digits before the point")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_DIGITS:
        raise MoneyError(f"{clip(value)} has more than {_MAX_DIGITS} digits after the point")
    return amount


def to_minor(value: str | int | Decimal, currency: str) -> int:
    """Exact conversion to minor units; too many decimals for the currency is an error."""
    digits = minor_digits(currency)
    amount = to_decimal(value)
    # Enough precision that scaling never rounds (the default context keeps 28 digits,
    # which would silently round a long amount to an integral, wrong, value).
    with localcontext() as ctx:
        ctx.prec = max(28, len(amount.as_tuple().digits) + digits + 2)
        scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{clip(value)} has more decimals than {currency} allows ({digits})")
    if abs(scaled) >= 10**_MAX_DIGITS:  # as in the extracts: int64 sums of such amounts stay exact
        raise MoneyError(f"{clip(value)} is out of range in {currency}: at most {_MAX_DIGITS} digits in minor units")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """The Decimal amount for ``minor`` units of ``currency``, with the currency's exponent."""
    return Decimal(int(minor)).scaleb(-minor_digits(currency))


def format_minor(minor: int, currency: str) -> str:
    """Plain decimal string, e.g. ``"580000.00"``: the manifest's money format."""
    digits = minor_digits(currency)
    return f"{from_minor(minor, currency):.{digits}f}"


def display(minor: int, currency: str) -> str:
    """How a person reads an amount: ``1234550, "USD"`` -> ``"12,345.50"`` (thousands separators, the
    currency's decimals; display only, figures keep :func:`format_minor`'s plain text)."""
    digits = minor_digits(currency)
    return f"{from_minor(int(minor), currency):,.{digits}f}"


def format_minor_array(minor: Iterable[int] | pd.Series, currency: str | pd.Series) -> pd.Series:
    """Vectorised :func:`format_minor` (currency scalar or per row), for writing extracts."""
    series = pd.Series(minor)
    values = series.astype("int64").to_numpy()
    if isinstance(currency, str):
        digits = np.full(len(values), minor_digits(currency), dtype="int64")
    else:
        digits = pd.Series(currency).map(MINOR_UNITS).astype("int64").to_numpy()
    sign = np.where(values < 0, "-", "")
    absolute = np.abs(values)
    result = np.empty(len(values), dtype=object)
    # One pass per exponent present (a handful), never a loop over rows.
    for d in np.unique(digits):
        mask = digits == d
        scale = 10 ** int(d)
        text = np.char.add(sign[mask], (absolute[mask] // scale).astype(str))
        if d:
            frac = np.char.zfill((absolute[mask] % scale).astype(str), int(d))
            text = np.char.add(np.char.add(text, "."), frac)
        result[mask] = text
    return pd.Series(result, index=series.index, dtype=object)


def display_array(minor: Iterable[int] | pd.Series, currency: str | pd.Series) -> pd.Series:
    """Vectorised :func:`display`: ``"1,234,567.89"`` per row (currency scalar or per row)."""
    plain = format_minor_array(minor, currency)
    if plain.empty:
        return plain
    whole_and_fraction = plain.str.partition(".")
    whole = whole_and_fraction[0].str.replace(r"(\d)(?=(\d{3})+$)", r"\1,", regex=True)
    return whole + whole_and_fraction[1] + whole_and_fraction[2]


def round_half_up(value: Decimal) -> int:
    """Round a Decimal number of minor units half-up (away from zero) to an integer."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_to_decimal(rate: float | int | str | Decimal) -> Decimal:
    """A rate as the Decimal a person wrote: floats go through their shortest repr."""
    if isinstance(rate, bool):
        raise MoneyError(f"a rate must be a number, not {clip(rate)}")
    result = Decimal(repr(rate)) if isinstance(rate, float) else to_decimal(rate)
    if not result.is_finite():
        raise MoneyError(f"rate {clip(rate)} is not a finite number")
    return result


def apply_rate(minor: int, rate: float | int | str | Decimal) -> int:
    """``minor * rate`` rounded half-up to the minor unit (one line of a schedule)."""
    return round_half_up(Decimal(int(minor)) * rate_to_decimal(rate))


def apply_rate_array(minor: pd.Series | np.ndarray, rate: float | int | str | Decimal) -> np.ndarray:
    """Vectorised :func:`apply_rate`, exact: integer arithmetic on the rate's decimal digits.

    The rate ``p / 10**k`` is applied as ``(2*m*p + sign*10**k) // (2*10**k)``, which is
    half-up away from zero, in Python integers when int64 could overflow.
    """
    dec = rate_to_decimal(rate)
    sign_, digits, exponent = dec.as_tuple()
    numerator = int("".join(map(str, digits)) or "0") * (-1 if sign_ else 1)
    k = max(-int(exponent), 0)
    if int(exponent) > 0:
        numerator *= 10 ** int(exponent)
    denominator = 10**k
    values = np.asarray(minor, dtype="int64")
    if len(values) == 0:
        return values.copy()
    bound = int(np.abs(values).max()) * abs(numerator) * 2 + denominator
    if bound < 2**62:
        prod = values * (2 * numerator)
        sign = np.where(prod < 0, -1, 1)
        return (sign * ((np.abs(prod) + denominator) // (2 * denominator))).astype("int64")
    out = [round_half_up(Decimal(int(v)) * dec) for v in values]  # rare: huge amounts x precise rate
    return np.asarray(out, dtype="int64")


def total(minor: pd.Series | np.ndarray | Iterable[int]) -> int:
    """Exact sum of minor units. Refuses float input, which would mean money went binary."""
    arr = np.asarray(minor if not isinstance(minor, pd.Series) else minor.to_numpy())
    if arr.dtype.kind == "f":
        raise MoneyError("refusing to sum money held as binary floats")
    if arr.dtype == object:
        return sum(int(v) for v in arr)
    return int(arr.sum(dtype="int64"))


def parse_money_array(values: pd.Series, currency: pd.Series | str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse decimal strings to minor units, vectorised in Arrow (no Python loop, no floats).

    Returns ``(minor, not_a_number, too_many_decimals)``: ``minor`` is int64 (0 where a row
    is invalid), and the two boolean masks say which rows broke which rule. Empty strings
    count as not-a-number; callers treat "required" separately.
    """
    n = len(values)
    text = pa.array(values.astype("string").fillna("").str.strip().to_numpy(dtype=object), type=pa.string())
    if isinstance(currency, str):
        digits = np.full(n, minor_digits(currency), dtype="int64")
    else:
        digits = pd.Series(currency).map(MINOR_UNITS).fillna(0).astype("int64").to_numpy()
    ok = pc.match_substring_regex(text, _DECIMAL_PATTERN).to_numpy(zero_copy_only=False)
    length = pc.utf8_length(text).to_numpy(zero_copy_only=False)
    dot = pc.find_substring(text, ".").to_numpy(zero_copy_only=False)
    frac_len = np.where(dot >= 0, length - dot - 1, 0)
    sign_len = pc.match_substring_regex(text, r"^[+-]").to_numpy(zero_copy_only=False).astype("int64")
    int_len = np.where(dot >= 0, dot, length) - sign_len
    too_long = ok & (int_len + digits > _MAX_DIGITS)
    not_number = ~ok | too_long
    too_many = ok & ~too_long & (frac_len > digits)
    good = ~not_number & ~too_many
    cleaned = pc.replace_substring(pc.replace_substring(text, ".", ""), "+", "")
    cleaned = pc.if_else(pa.array(good), cleaned, pa.scalar("0"))
    unscaled = pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False)
    minor = unscaled * (10 ** np.clip(digits - frac_len, 0, 18))
    minor = np.where(good, minor, 0).astype("int64")
    return minor, not_number, too_many


def _rate_fractions(rates: np.ndarray) -> tuple[np.ndarray, int]:
    """Each rate as an exact integer numerator over a common ``10**k``: ``(numerators, k)``.

    A rate is taken as the decimal a person wrote (a float through its shortest repr, so a
    published rate of up to 15 significant digits is exact); one Decimal per distinct rate."""
    distinct, inverse = np.unique(np.asarray(rates, dtype="float64"), return_inverse=True)
    decimals = [rate_to_decimal(float(r)) for r in distinct]
    k = max([max(0, -int(d.as_tuple().exponent)) for d in decimals] or [0])
    numerators = np.array([int(d.scaleb(k)) for d in decimals], dtype=object)
    return numerators[inverse.reshape(-1)], k


def translate_array(
    minor: np.ndarray | pd.Series,
    rate: np.ndarray | pd.Series,
    from_digits: np.ndarray | pd.Series | int,
    to_digits: np.ndarray | pd.Series | int,
) -> np.ndarray:
    """``minor`` units of a currency with ``from_digits`` decimals times ``rate`` (units of the
    target currency per unit), in minor units of a currency with ``to_digits`` decimals, each
    line rounded half away from zero. Exact: integer arithmetic on the rates' decimal digits
    (int64 when the products are bounded well inside it, Python integers otherwise), never a
    binary float product. A rate of 1 between currencies of the same exponent returns
    ``minor`` unchanged."""
    values = np.asarray(minor, dtype="int64")
    n = len(values)
    if n == 0:
        return values.copy()
    numerators, k = _rate_fractions(np.broadcast_to(np.asarray(rate, dtype="float64"), (n,)))
    shift = np.broadcast_to(np.asarray(to_digits, dtype="int64") - np.asarray(from_digits, dtype="int64"), (n,))
    up = np.maximum(shift, 0)
    down = k + np.maximum(-shift, 0)
    largest = max(abs(v) for v in set(numerators.tolist()))  # over the distinct rates, not every line
    bound = int(np.abs(values).max()) * int(largest) * 10 ** int(up.max()) * 2
    if bound + 10 ** int(down.max()) < 2**62:
        num = values * numerators.astype("int64") * (10**up)
        den = (10**down).astype("int64")
        magnitude = (2 * np.abs(num) + den) // (2 * den)
        return np.where(num < 0, -magnitude, magnitude).astype("int64")
    # Rare (huge amounts times precise rates): the same arithmetic on Python integers.
    num_o = values.astype(object) * numerators * np.array([10 ** int(u) for u in up], dtype=object)
    den_o = np.array([10 ** int(d) for d in down], dtype=object)
    mag_o = (2 * np.abs(num_o) + den_o) // (2 * den_o)
    result = np.where(num_o < 0, -mag_o, mag_o)
    if any(abs(int(v)) >= 2**63 for v in result):
        raise MoneyError("a translated amount does not fit in 64-bit minor units")
    return result.astype("int64")
