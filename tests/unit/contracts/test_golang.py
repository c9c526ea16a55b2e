"""Go's standard library as kpack's answers depend on it: ``strconv.ParseInt``, ``strconv.Quote``
and ``encoding/json`` over the Kubernetes types of kpack's conversion annotations."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import golang

TOLERATIONS = golang.Slice(golang.TOLERATION)
AFFINITY = golang.Pointer(golang.AFFINITY)


@pytest.mark.parametrize(
    ("text", "value"),
    [("7", 7), ("+7", 7), ("-0", 0), ("-9223372036854775808", golang.INT64_MIN), ("007", 7)],
    ids=["digits", "a plus sign", "minus zero", "the smallest int64", "leading zeros"],
)
def test_parse_int64_accepts_what_go_accepts(text: str, value: int) -> None:
    assert golang.parse_int64(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("7_0", 'strconv.ParseInt: parsing "7_0": invalid syntax'),
        (" 7", 'strconv.ParseInt: parsing " 7": invalid syntax'),
        ("0x10", 'strconv.ParseInt: parsing "0x10": invalid syntax'),
        ("٣", 'strconv.ParseInt: parsing "٣": invalid syntax'),
        ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    ],
    ids=[
        "empty",
        "underscores need base 0",
        "spaces",
        "prefixes need base 0",
        "digits other than ASCII",
        "beyond int64",
    ],
)
def test_parse_int64_refuses_what_go_refuses(text: str, message: str) -> None:
    with pytest.raises(golang.GoError) as raised:
        golang.parse_int64(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("apm", '"apm"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        ("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'),
        ("é ü 名", '"é ü 名"'),
        ("\u200b\u00ad", '"\\u200b\\u00ad"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
    ids=[
        "plain",
        "quotes and backslashes escaped",
        "Go's short escapes",
        "other ASCII control characters as \\x",
        "printable non-ASCII kept",
        "non-printable characters as \\u",
        "non-printable beyond the BMP as \\U",
    ],
)
def test_quote_is_strconv_quote(text: str, quoted: str) -> None:
    assert golang.quote(text) == quoted


@pytest.mark.parametrize(
    ("go_type", "value", "written"),
    [
        (TOLERATIONS, None, None),
        (TOLERATIONS, [{}], [{}]),
        (TOLERATIONS, [{"tolerationSeconds": None, "key": None}], [{}]),
        (golang.StringMap(), {"b": None, "a": "x"}, {"a": "x", "b": ""}),
        (
            AFFINITY,
            {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"podAffinityTerm": None}]}},
            {
                "podAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "podAffinityTerm": {"topologyKey": ""}}
                    ]
                }
            },
        ),
        (
            AFFINITY,
            {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]}},
            {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {}}]
                }
            },
        ),
        (
            AFFINITY,
            {"NODEAFFINITY": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
            {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
        ),
    ],
    ids=[
        "a nil slice is null",
        "an empty struct is written as {}",
        "null leaves a string at its zero value and a pointer nil",
        "a null map value is an empty string; keys are sorted",
        "a null non-pointer struct is its zero value, with the fields that are not omitempty",
        "a preferred term writes its weight and preference even when zero",
        "keys match case-insensitively; an empty, non-nil list without omitempty stays []",
    ],
)
def test_canonical_is_what_go_writes_back(go_type: golang.GoType, value: Any, written: Any) -> None:
    assert golang.canonical(go_type, value) == written


@pytest.mark.parametrize(
    ("go_type", "value", "message"),
    [
        (TOLERATIONS, {"key": "k"}, "expected a list, got an object"),
        (TOLERATIONS, [["k"]], "[0]: expected an object, got a list"),
        (TOLERATIONS, [{"key": 1}], "[0].key: expected a string, got a number"),
        (
            TOLERATIONS,
            [{"tolerationSeconds": True}],
            "[0].tolerationSeconds: expected an integer, got a boolean",
        ),
        (
            TOLERATIONS,
            [{"tolerationSeconds": 2.5}],
            "[0].tolerationSeconds: expected an integer, got a number",
        ),
        (
            TOLERATIONS,
            [{"tolerationSeconds": 2**63}],
            f"[0].tolerationSeconds: {2**63} is out of range for int64",
        ),
        (golang.StringMap(), ["a"], "expected an object, got a list"),
        (golang.StringMap(), {"a": 1}, "a: expected a string, got a number"),
        (
            AFFINITY,
            {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 2**31}]}},
            "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
            f"{2**31} is out of range for int32",
        ),
        (golang.STRING, object(), "expected a string, got object"),
    ],
    ids=[
        "an object where a list belongs",
        "a list where an object belongs",
        "a number where a string belongs",
        "a boolean is no integer",
        "a fraction is no integer",
        "an int64 out of range",
        "a list where a map belongs",
        "a map value must be a string",
        "an int32 out of range",
        "a value no JSON holds",
    ],
)
def test_what_go_cannot_read_names_the_path(go_type: golang.GoType, value: Any, message: str) -> None:
    with pytest.raises(golang.GoError) as raised:
        golang.decode(go_type, value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": "<b>&c"}, '{"a":"\\u003cb\\u003e\\u0026c"}'),
        (["\u2028\u2029"], '["\\u2028\\u2029"]'),
        (["é", "\x01", "\n"], '["é","\\u0001","\\n"]'),
        ({"k": [1, None, True]}, '{"k":[1,null,true]}'),
    ],
    ids=[
        "HTML characters are escaped as Go's json.Marshal does",
        "line and paragraph separators are escaped",
        "non-ASCII is kept, control characters are escaped",
        "compact, no spaces",
    ],
)
def test_dumps_is_go_json_text(value: Any, text: str) -> None:
    assert golang.dumps(value) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "invalid JSON: invalid character 'N' looking for beginning of value"),
        ("[", "invalid JSON: Expecting value: line 1 column 2 (char 1)"),
    ],
    ids=["Go has no NaN", "truncated JSON"],
)
def test_unmarshal_refuses_what_is_not_json(text: str, message: str) -> None:
    with pytest.raises(golang.GoError) as raised:
        golang.unmarshal(TOLERATIONS, text)
    assert str(raised.value) == message


def test_lookup_reads_a_member_as_go_does() -> None:
    assert golang.lookup({"ValueFrom": 1, "valuefrom": 2}, "valueFrom") == 2
    assert golang.lookup({"other": 1}, "valueFrom") is None
    assert golang.lookup("not an object", "valueFrom") is None
