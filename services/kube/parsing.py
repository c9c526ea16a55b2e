"""Objects the API holds that do not fit Kiln's model of their kind, and what is wrong with them.

A cluster can hold objects that the contracts refuse: stored under an older CRD, before a schema
change, or in a cluster whose CRDs have no schema. Such an object must never stop a list or a
watch of its kind, so :class:`services.kube.resources.Resource` turns a failed validation into an
:class:`Unparsed` record (its key is in the raw metadata, which the API server always checks)
instead of raising, and reports it once per object and problem (:class:`SkipLog`).

:func:`problems` words a ``pydantic.ValidationError`` as kpack's field errors: the path the way
kpack prints it (``spec.imageTaggingStrategy``, ``spec.additionalTags[1]``) and what the value must
be, e.g.::

    invalid value: buildNumber: spec.imageTaggingStrategy
    must be one of 'None', 'BuildNumber' or ''

No requests: the adapter calls these on what it read.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any

import pydantic

from contracts import fielderrors

logger = logging.getLogger(__name__)

EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
}
"""What a value must be, by pydantic error type."""
SHOWN_VALUE_LENGTH = 80
SKIP_LOG_SIZE = 10_000
"""Objects whose problem :class:`SkipLog` remembers (the oldest is forgotten first)."""


@dataclasses.dataclass(frozen=True)
class Unparsed:
    """An object of ``kind`` as the API holds it (``raw``) that does not fit its model."""

    kind: str
    raw: dict[str, Any]
    problems: fielderrors.FieldError

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.raw.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def key(self) -> str:
        """``namespace/name`` (``name`` for a cluster-scoped kind)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def resource_version(self) -> str:
        return str(self.metadata.get("resourceVersion") or "")

    @property
    def generation(self) -> int | None:
        generation = self.metadata.get("generation")
        return generation if isinstance(generation, int) else None

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def deletion_timestamp(self) -> str | None:
        stamp = self.metadata.get("deletionTimestamp")
        return str(stamp) if stamp else None

    @property
    def message(self) -> str:
        """The problems, one kpack-style field error (and its fix) after another."""
        return str(self.problems)

    def describe(self) -> str:
        """``Image ns/name (resourceVersion 12) does not fit its schema: …`` on one line."""
        where = f"{self.kind} {self.key} (resourceVersion {self.resource_version or '?'})"
        return f"{where} does not fit its schema: {'; '.join(self.message.splitlines())}"


def problems(error: pydantic.ValidationError, raw: Any) -> fielderrors.FieldError:
    """``error`` (from validating ``raw``) as field errors: one per path, naming the fix."""
    by_path: dict[str, tuple[Any, list[str]]] = {}
    missing: list[str] = []
    for detail in error.errors(include_url=False):
        path, value, found = _located(detail["loc"], raw, missing=detail["type"] == "missing")
        if not found:
            missing.append(path)
            continue
        _, fixes = by_path.setdefault(path, (value, []))
        fix = _expected(detail)
        if fix not in fixes:
            fixes.append(fix)
    found_errors = [
        fielderrors.invalid_value(_shown(value), path, f"must be {' or '.join(fixes)}")
        for path, (value, fixes) in by_path.items()
    ]
    combined = fielderrors.also(*found_errors, fielderrors.missing_field(*missing) if missing else None)
    return combined or fielderrors.generic("does not validate")


def _located(loc: Sequence[int | str], raw: Any, *, missing: bool) -> tuple[str, Any, bool]:
    """The kpack-style path of ``loc`` in ``raw``, the value there, and whether it is there.

    ``loc`` may go past the data (a union's member names, a missing field): the path stops at the
    last part that is in ``raw``, plus the missing field's name.
    """
    parts: list[str] = []
    value = raw
    for part in loc:
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            parts.append(f"[{part}]")
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            parts.append(part)
            value = value[part]
        elif missing and isinstance(part, str) and isinstance(value, dict) and part == loc[-1]:
            parts.append(part)
            return _joined(parts), None, False
        else:
            break
    return _joined(parts), value, True


def _joined(parts: list[str]) -> str:
    path = ""
    for part in parts:
        path += part if part.startswith("[") or not path else f".{part}"
    return path


def _expected(detail: Any) -> str:
    kind = str(detail["type"])
    if kind == "literal_error":
        return f"one of {detail.get('ctx', {}).get('expected', '')}"
    if kind in EXPECTED:
        return EXPECTED[kind]
    message = str(detail["msg"])
    return message.removeprefix("Input should be ").removeprefix("Value error, ")


def _shown(value: Any) -> str:
    """The value as kpack's messages print it: strings as they are, the rest as compact JSON."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


class SkipLog:
    """Warns once per object and problem that an object is skipped; repeats go to DEBUG.

    A relist or a status write shows the same object again; only a new object, a new uid or a
    different problem is news.
    """

    def __init__(self, *, size: int = SKIP_LOG_SIZE) -> None:
        self._seen: dict[str, tuple[str, str]] = {}
        self._size = size

    def skipped(self, unparsed: Unparsed, *, where: str) -> None:
        """Log that ``unparsed`` was left out of ``where`` (a list, a watch)."""
        seen = (str(unparsed.metadata.get("uid") or ""), unparsed.message)
        key = f"{unparsed.kind}/{unparsed.key}"
        if self._seen.get(key) == seen:
            logger.debug("%s; skipped again in %s", unparsed.describe(), where)
            return
        self._seen.pop(key, None)
        self._seen[key] = seen
        while len(self._seen) > self._size:
            del self._seen[next(iter(self._seen))]
        logger.warning("%s; skipped in %s until it is fixed", unparsed.describe(), where)

    def forget(self, unparsed: Unparsed) -> None:
        """The object is gone: a new one of that name is news again."""
        self._seen.pop(f"{unparsed.kind}/{unparsed.key}", None)
