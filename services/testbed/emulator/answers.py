"""What the emulator answered: a count of responses by status code, verb and resource.

Tests read it to see how often the API refused a write, e.g. the 409s a run provoked::

    emulator.answers().count(code=409, verb="update", resource="images/status")

``resource`` is the plural, with ``/status`` for the status subresource; ``verb`` is the
Kubernetes verb (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``delete``,
``deletecollection``). A 409 on ``create`` is ``AlreadyExists``; on ``update``, ``patch`` and
``delete`` it is a ``Conflict`` (a stale ``resourceVersion`` or a failed precondition).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, order=True)
class Answer:
    """One kind of response."""

    code: int
    """HTTP status code."""
    verb: str
    """Kubernetes verb of the request."""
    resource: str
    """``<plural>`` or ``<plural>/status``."""


@dataclasses.dataclass(frozen=True)
class Tally:
    """A snapshot of the counts."""

    counts: dict[Answer, int]

    def count(self, *, code: int, verb: str | None = None, resource: str | None = None) -> int:
        """How many answers had ``code`` (and ``verb``, ``resource`` when given)."""
        return sum(
            n
            for answer, n in self.counts.items()
            if answer.code == code
            and (verb is None or answer.verb == verb)
            and (resource is None or answer.resource == resource)
        )

    def of(self, code: int) -> dict[str, int]:
        """``{"<verb> <resource>": count}`` of the answers with ``code``, for a report."""
        return {
            f"{answer.verb} {answer.resource}": n
            for answer, n in sorted(self.counts.items())
            if answer.code == code
        }

    def as_list(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(answer) | {"count": n} for answer, n in sorted(self.counts.items())]


class Answers:
    """The running count; touched only on the emulator's loop."""

    def __init__(self) -> None:
        self._counts: collections.Counter[Answer] = collections.Counter()

    def add(self, code: int, *, verb: str, resource: str) -> None:
        self._counts[Answer(code, verb, resource)] += 1

    def tally(self) -> Tally:
        return Tally(dict(self._counts))

    def clear(self) -> None:
        self._counts.clear()
