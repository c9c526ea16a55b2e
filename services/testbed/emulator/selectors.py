"""Label and field selectors, parsed once per request into predicates over raw objects.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``,
comma-separated (all must hold), parsed into a `LabelSelector` of `Requirement` terms, so that the
store answers ``k=v``, ``k in (…)`` and ``k`` from its label index instead of a scan. Field
selectors: ``path=v``, ``path==v``, ``path!=v`` over dotted paths such as ``metadata.name``,
``metadata.namespace``, ``status.phase``, ``spec.nodeName``.
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One term of a label selector: ``key`` ``op`` ``values``.

    ``op`` is ``in`` (``k=v``, ``k==v``, ``k in (…)``), ``notin`` (``k!=v``, ``k notin (…)``),
    ``exists`` (``k``) or ``!exists`` (``!k``)."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "in":
            return labels.get(self.key) in self.values
        if self.op == "notin":
            return labels.get(self.key) not in self.values
        if self.op == "exists":
            return self.key in labels
        return self.key not in labels

    @property
    def narrows(self) -> bool:
        """Whether only objects carrying ``key`` can match: what an index by label can answer."""
        return self.op in ("in", "exists")


@dataclasses.dataclass(frozen=True)
class LabelSelector:
    """A parsed ``labelSelector``: every requirement must hold. Called on an object, it says whether
    the object matches; the store answers the narrowing requirements from its label index."""

    requirements: tuple[Requirement, ...] = ()

    def __call__(self, obj: Mapping[str, Any]) -> bool:
        if not self.requirements:
            return True
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement.matches(labels) for requirement in self.requirements)


def _label_term(term: str) -> Requirement:
    if match := _SET_TERM.match(term):
        key, op, values_text = match.groups()
        return Requirement(key, op, frozenset(v.strip() for v in values_text.split(",") if v.strip()))
    if match := _EQ_TERM.match(term):
        key, op, value = match.groups()
        return Requirement(key, "notin" if op == "!=" else "in", frozenset((value,)))
    if match := _EXISTS_TERM.match(term):
        negate, key = match.groups()
        return Requirement(key, "!exists" if negate else "exists")
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


def label_selector(text: str | None) -> LabelSelector:
    """The selector of a ``labelSelector`` query parameter (empty: every object)."""
    if not text:
        return LabelSelector()
    return LabelSelector(tuple(_label_term(term) for term in _split_terms(text)))


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
