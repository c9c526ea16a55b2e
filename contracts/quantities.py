"""Kubernetes resource quantities (``2G``, ``1.5Gi``, ``500M``, ``1e9``) as exact numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))((?:[eE][+-]?\d+)|[numkMGTPE]i?|)$")


class InvalidQuantityError(ValueError):
    """The string is not a resource quantity."""


def parse(value: str | int | float) -> Decimal:
    """The quantity's value in base units; ``2G`` < ``2Gi``."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None or match.group(2) in ("ni", "ui", "mi", "ki"):
        raise InvalidQuantityError(f"quantities must match the regular expression: {value}")
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only decimals
        raise InvalidQuantityError(str(value)) from e
    if suffix[:1] in ("e", "E"):
        return base * (Decimal(10) ** int(suffix[1:]))
    return base * _SUFFIXES[suffix]


def is_valid(value: str | int | float) -> bool:
    try:
        parse(value)
    except InvalidQuantityError:
        return False
    return True
