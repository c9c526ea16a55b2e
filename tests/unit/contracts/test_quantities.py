"""Kubernetes resource quantities: exact values, numeric comparison, canonical printing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import quantities


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("2G", Decimal("2e9")),
        ("2Gi", Decimal(2 * 2**30)),
        ("1.5Gi", Decimal("1.5") * 2**30),
        ("1Ki", Decimal(1024)),
        ("500m", Decimal("0.5")),
        ("100n", Decimal("1e-7")),
        ("3u", Decimal("3e-6")),
        ("1k", Decimal(1000)),
        ("4T", Decimal("4e12")),
        ("1P", Decimal("1e15")),
        ("3E", Decimal("3e18")),
        ("1Ei", Decimal(2**60)),
        ("1e9", Decimal("1e9")),
        ("1.5E3", Decimal(1500)),
        ("-2M", Decimal("-2e6")),
        (".5", Decimal("0.5")),
        (5, Decimal(5)),
        (" 7 ", Decimal(7)),
    ],
    ids=[
        "G is decimal giga",
        "Gi is binary gibi",
        "binary with a fraction",
        "Ki is a capital K",
        "m is milli",
        "n is nano",
        "u is micro",
        "k is kilo",
        "T is tera",
        "P is peta",
        "E alone is exa, not an exponent",
        "Ei is exbi",
        "e followed by digits is an exponent",
        "capital E followed by digits is an exponent",
        "a sign is allowed",
        "a leading dot is allowed",
        "an integer from YAML",
        "surrounding spaces are ignored",
    ],
)
def test_parse(value: str | int, amount: Decimal) -> None:
    assert quantities.parse(value) == amount
    assert quantities.is_valid(value)


@pytest.mark.parametrize(
    "value",
    ["", "lots", "2GB", "1ki", "1K", "2 G", "1e", "Gi"],
    ids=[
        "an empty string",
        "a word",
        "a unit Kubernetes does not know",
        "lower-case ki",
        "capital K without i",
        "a space before the suffix",
        "an exponent without digits",
        "a suffix without number",
    ],
)
def test_invalid(value: str) -> None:
    assert not quantities.is_valid(value)
    with pytest.raises(
        quantities.InvalidQuantityError, match=r"^quantities must match the regular expression: "
    ):
        quantities.parse(value)


def test_comparison_is_numeric() -> None:
    assert quantities.parse("2G") < quantities.parse("2Gi")
    assert quantities.parse("5G") == quantities.parse("5000M")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2G", "2G"),
        ("5G", "5G"),
        ("2000M", "2G"),
        ("1500M", "1500M"),
        ("1000", "1k"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("0", "0"),
        ("0Gi", "0"),
        (5, "5"),
        ("1Gi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("1024Ki", "1Mi"),
        ("1023Ki", "1023Ki"),
        ("1.5Ki", "1536"),
        ("0.1Ki", "102400m"),
        ("-2Gi", "-2Gi"),
        ("1024Ei", "1024Ei"),
        ("1e9", "1e9"),
        ("1.5e9", "1500e6"),
        ("5e0", "5"),
        ("1e21", "1e21"),
        ("1e-12", "1e-9"),
        ("1.0000000001", "1000000001n"),
        ("1000E", "1000E"),
    ],
    ids=[
        "2G stays 2G",
        "5G stays 5G",
        "2000M is 2G",
        "1500M cannot be shortened",
        "a plain thousand is 1k",
        "a half is 500m",
        "a fraction keeps milli",
        "zero is 0",
        "binary zero is 0",
        "an integer prints plainly",
        "1Gi stays 1Gi",
        "1.5Gi is 1536Mi",
        "1024Ki is 1Mi",
        "1023Ki stays",
        "a binary value with a fraction of Ki prints in decimal SI",
        "a binary value below 1Ki prints in decimal SI",
        "a negative binary value keeps its sign",
        "nothing is bigger than Ei",
        "an exponent form stays an exponent",
        "exponents are multiples of three",
        "a zero exponent prints plainly",
        "exponents above exa are fine",
        "values round up to a nano unit",
        "nano precision is kept",
        "nothing is bigger than E",
    ],
)
def test_canonical(value: str | int, text: str) -> None:
    assert quantities.canonical(value) == text
