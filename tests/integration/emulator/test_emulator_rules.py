"""The emulator's pure rules as truth tables: selectors and patches."""

from __future__ import annotations

from typing import Any

import pytest

from services.testbed.emulator import patching, selectors

POD = {
    "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app=api", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("app in (api, web)", True),
        ("app notin (api,web)", False),
        ("missing notin (a)", True),
        ("tier,!missing", True),
        ("!tier", False),
        ("app in (web),tier=back", False),
    ],
    ids=lambda value: str(value),
)
def test_label_selector(selector: str, matches: bool) -> None:
    assert selectors.label_selector(selector)(POD) is matches


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=p", True),
        ("metadata.namespace==other", False),
        ("status.phase!=Running", False),
        ("metadata.name=p,status.phase=Running", True),
    ],
    ids=lambda value: str(value),
)
def test_field_selector(selector: str, matches: bool) -> None:
    assert selectors.field_selector(selector)(POD) is matches


@pytest.mark.parametrize("selector", ["app in web", "app=(x", "=x"], ids=lambda value: str(value))
def test_malformed_selectors_are_refused(selector: str) -> None:
    with pytest.raises(selectors.SelectorError):
        selectors.label_selector(selector)


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": {"b": "c", "d": "e"}}, {"a": {"b": None}}, {"a": {"d": "e"}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": "b"}, {"a": {"c": None}}, {"a": {}}),
    ],
    ids=["replace", "add", "delete", "nested delete", "lists replace", "scalar becomes object"],
)
def test_merge_patch_follows_rfc_7386(
    target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert patching.apply(patching.MERGE, target, patch) == expected


def test_strategic_patch_merges_named_lists_and_drops_directives() -> None:
    target = {
        "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2", "args": ["x"]}]}
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "3"}, {"name": "c", "image": "4"}],
        }
    }

    patched = patching.apply(patching.STRATEGIC, target, patch)

    assert patched == {
        "spec": {
            "containers": [
                {"name": "a", "image": "1"},
                {"name": "b", "image": "3", "args": ["x"]},
                {"name": "c", "image": "4"},
            ]
        }
    }


def test_a_patch_never_changes_its_target() -> None:
    target = {"spec": {"tags": {"a": "1"}}}

    patching.apply(patching.MERGE, target, {"spec": {"tags": {"a": None}}})
    patching.apply(patching.JSON_PATCH, target, [{"op": "remove", "path": "/spec/tags/a"}])

    assert target == {"spec": {"tags": {"a": "1"}}}
