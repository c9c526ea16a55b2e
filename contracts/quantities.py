"""Kubernetes resource quantities (``2G``, ``1.5Gi``, ``500M``, ``1e9``) as exact numbers."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))((?:[eE][+-]?\d+)|[KMGTPE]i|[numkMGTPE]|)$")


class InvalidQuantityError(ValueError):
    """The string is not a resource quantity."""


def parse(value: str | int | float) -> Decimal:
    """The quantity's value in base units; ``2G`` < ``2Gi``."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise InvalidQuantityError(f"quantities must match the regular expression: {value}")
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only decimals
        raise InvalidQuantityError(str(value)) from e
    if suffix in _SUFFIXES:
        return base * _SUFFIXES[suffix]
    return base * (Decimal(10) ** int(suffix[1:]))


def is_valid(value: str | int | float) -> bool:
    try:
        parse(value)
    except InvalidQuantityError:
        return False
    return True


_NANO = Decimal("1e-9")
_WIDE = Context(prec=120)
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def canonical(value: str | int | float) -> str:
    """The quantity as Kubernetes prints it (``Quantity.String()``): ``2000M`` is ``2G``.

    ``1.5Gi`` is ``1536Mi``. The format follows the input's suffix family (binary, decimal SI or
    ``e`` exponent); a binary quantity below 1Ki or with a fraction prints in decimal SI, as
    Kubernetes does. Values are rounded up to whole nano units first.
    """
    amount = parse(value).quantize(_NANO, rounding=ROUND_CEILING, context=_WIDE)
    if amount == 0:
        return "0"
    suffix = _QUANTITY.match(str(value).strip()).group(2)  # type: ignore[union-attr]
    if suffix.endswith("i") and abs(amount) >= 1024 and amount == amount.to_integral_value():
        return _binary(int(amount))
    if suffix in _SUFFIXES:
        mantissa, exponent = _decimal_mantissa(amount, largest=18)
        return f"{mantissa}{_DECIMAL_SUFFIXES[exponent]}"
    mantissa, exponent = _decimal_mantissa(amount, largest=None)
    return f"{mantissa}e{exponent}" if exponent else str(mantissa)


def _binary(amount: int) -> str:
    power = 0
    while amount % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
        amount //= 1024
        power += 1
    return f"{amount}{_BINARY_SUFFIXES[power]}"


def _decimal_mantissa(amount: Decimal, *, largest: int | None) -> tuple[int, int]:
    """``amount`` as ``mantissa * 10**exponent``: integer mantissa, exponent a multiple of 3 (≥ -9)."""
    exponent = -9
    mantissa = int(amount.scaleb(9, context=_WIDE))
    while (largest is None or exponent < largest) and mantissa % 1000 == 0:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent
