"""JSON bounded before it is parsed: too large, too deep and too long numbers are refused by name;
anything within the bounds parses as ``json.loads`` would."""

from __future__ import annotations

import json

import pytest

from contracts import json_bounds


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        pytest.param("1", 0, id="a scalar is not nested"),
        pytest.param("{}", 1, id="an empty object is one level"),
        pytest.param('{"a": [1, {"b": []}]}', 4, id="the deepest path counts"),
        pytest.param("[[]] [[[]]]", 3, id="siblings do not add up"),
        pytest.param('{"a": "[[[{{{"}', 1, id="brackets inside a string do not count"),
        pytest.param('{"a": "\\"[[["}', 1, id="an escaped quote does not end the string"),
        pytest.param('["\\\\", [[]]]', 3, id="an escaped backslash before the closing quote ends it"),
        pytest.param('["[[[', 1, id="an unterminated string runs to the end"),
        pytest.param("]]]]", 0, id="closing brackets alone go nowhere deeper"),
    ],
)
def test_the_depth_counts_nested_arrays_and_objects_outside_strings(text: str, depth: int) -> None:
    assert json_bounds.depth(text, limit=64) == depth


def test_counting_stops_once_past_the_limit() -> None:
    assert json_bounds.depth("[" * 10_000, limit=64) == 65


@pytest.mark.parametrize(
    ("document", "max_bytes", "error", "message"),
    [
        pytest.param(
            "[" * 10_000 + "]" * 10_000,
            1024 * 1024,
            json_bounds.TooDeepError,
            "arrays and objects nested more than 64 levels deep",
            id="ten thousand levels are refused before parsing",
        ),
        pytest.param(
            b'{"a": ' * 65 + b"1" + b"}" * 65,
            1024,
            json_bounds.TooDeepError,
            "arrays and objects nested more than 64 levels deep",
            id="one level over the bound is refused",
        ),
        pytest.param(
            b"[" + b"0," * 600 + b"0]",
            1024,
            json_bounds.TooLargeError,
            "1203 bytes, more than the 1024 accepted",
            id="a document over max_bytes is refused",
        ),
        pytest.param(
            '"' + "é" * 600 + '"',
            1024,
            json_bounds.TooLargeError,
            "1202 bytes, more than the 1024 accepted",
            id="text is measured in UTF-8 bytes",
        ),
        pytest.param(
            "1" * 5000,
            8192,
            json_bounds.BoundsError,
            "a number too long to convert (Exceeds the limit (4300 digits)",
            id="an integer too long to convert is refused",
        ),
    ],
)
def test_a_document_over_a_bound_is_refused_naming_it(
    document: str | bytes, max_bytes: int, error: type[json_bounds.BoundsError], message: str
) -> None:
    with pytest.raises(error) as raised:
        json_bounds.loads(document, max_bytes=max_bytes)

    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('{"a": [1, 2, {"b": null}], "c": "[{"}', id="text"),
        pytest.param(b'{"a": "\xc3\xa9"}', id="UTF-8 bytes"),
        pytest.param("[" * 64 + "]" * 64, id="exactly the deepest nesting allowed"),
    ],
)
def test_a_document_within_the_bounds_parses_as_json_would(document: str | bytes) -> None:
    assert json_bounds.loads(document, max_bytes=1024) == json.loads(document)


def test_malformed_json_and_bytes_that_are_not_utf8_raise_as_json_does() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_bounds.loads('{"a": ', max_bytes=1024)
    with pytest.raises(UnicodeDecodeError):
        json_bounds.loads(b"\xff{}", max_bytes=1024)
