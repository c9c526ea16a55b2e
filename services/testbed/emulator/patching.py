"""PATCH bodies applied to stored objects: JSON merge patch, JSON patch, strategic merge patch.

* ``application/merge-patch+json`` — RFC 7386: objects merge, ``null`` deletes, lists replace.
* ``application/strategic-merge-patch+json`` — treated like a merge patch, except that
  ``$``-directives (``$setElementOrder/…``, ``$retainKeys``, ``$patch``) are dropped and lists of
  objects that all carry a ``name`` (containers, env, volumes…) merge item by item on that name,
  which covers what client-side ``kubectl apply`` sends. Not the full strategic semantics.
* ``application/json-patch+json`` — RFC 6902 via ``jsonpatch``.
* ``application/apply-patch+yaml`` — server-side apply, approximated as a merge patch.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import yaml

from services.testbed.emulator import encoding

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE, STRATEGIC, JSON_PATCH, APPLY)


class PatchError(ValueError):
    """The patch cannot be decoded or applied."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new value and never mutates its inputs."""
    if not isinstance(patch, dict):
        return _copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _copy(value: Any) -> Any:
    """A deep copy of a patch value: through JSON (several times faster than ``copy.deepcopy``),
    unless it holds what JSON cannot (a YAML timestamp in an apply patch)."""
    if not isinstance(value, list | dict):
        return value
    try:
        return encoding.copy_of(value)
    except TypeError:
        return copy.deepcopy(value)


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) and "name" in item for item in value)


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """A merge patch that merges named lists item by item and ignores ``$`` directives."""
    if not isinstance(patch, dict):
        return _copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif _is_named_list(value) and _is_named_list(result.get(key)) and value:
            result[key] = _merge_named(result[key], value)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_named(current: list[dict[str, Any]], patch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {item["name"]: item for item in current}
    merged = list(current)
    for item in patch:
        if item.get("$patch") == "delete":
            merged = [entry for entry in merged if entry["name"] != item["name"]]
        elif item["name"] in by_name:
            index = next(i for i, entry in enumerate(merged) if entry["name"] == item["name"])
            merged[index] = strategic_merge_patch(merged[index], item)
        else:
            merged.append(strategic_merge_patch({}, item))
    return merged


def decode(content_type: str, body: bytes) -> Any:
    """Parse a PATCH body of ``content_type`` (a YAML superset parser serves JSON too)."""
    try:
        return yaml.safe_load(body) if content_type == APPLY else encoding.loads(body)
    except (ValueError, yaml.YAMLError) as e:
        raise PatchError(f"the patch body is not valid: {e}") from e


def apply(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a decoded patch of ``content_type`` to ``target``; returns a new object."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise PatchError("a JSON patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(target, patch, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as e:
            raise PatchError(f"the JSON patch cannot be applied: {e}") from e
    elif content_type == STRATEGIC:
        result = strategic_merge_patch(target, patch)
    else:
        result = merge_patch(target, patch)
    if not isinstance(result, dict):
        raise PatchError("the patched value is not an object")
    return result
