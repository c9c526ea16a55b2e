"""Label and field selectors, parsed once per request into predicates over raw objects.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``,
comma-separated (all must hold). Field selectors: ``path=v``, ``path==v``, ``path!=v`` over dotted
paths such as ``metadata.name``, ``metadata.namespace``, ``status.phase``, ``spec.nodeName``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_KEY = r"([A-Za-z0-9][-A-Za-z0-9_./]*)"
_VALUE = r"([-A-Za-z0-9_.]*)"
_SET_TERM = re.compile(rf"^\s*{_KEY}\s+(in|notin)\s+\(([-A-Za-z0-9_., ]*)\)\s*$")
_EQ_TERM = re.compile(rf"^\s*{_KEY}\s*(==|=|!=)\s*{_VALUE}\s*$")
_EXISTS_TERM = re.compile(rf"^\s*(!?)\s*{_KEY}\s*$")
_FIELD_TERM = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^,]*?)\s*$")


class SelectorError(ValueError):
    """The selector text cannot be parsed."""


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( … )``."""
    terms: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [term for term in terms if term.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_TERM.match(term):
        key, op, values_text = match.groups()
        values = {value.strip() for value in values_text.split(",") if value.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_TERM.match(term):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_TERM.match(term):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


def label_selector(text: str | None) -> Predicate:
    """A predicate over objects for a ``labelSelector`` query parameter."""
    if not text:
        return lambda obj: True
    terms = [_label_term(term) for term in _split_terms(text)]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def field_selector(text: str | None) -> Predicate:
    """A predicate over objects for a ``fieldSelector`` query parameter."""
    if not text:
        return lambda obj: True
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        match = _FIELD_TERM.match(term)
        if not match:
            raise SelectorError(f"invalid field selector: {term.strip()!r}")
        path, op, value = match.groups()
        terms.append((path, op != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches
