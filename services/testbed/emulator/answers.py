"""What the emulator answered: a count of responses by status code, verb and resource.

Tests read it to see how often the API refused a write, e.g. the 409s a run provoked::

    emulator.answers().count(code=409, verb="update", resource="images/status")

``resource`` is the plural, with ``/status`` for the status subresource; ``verb`` is the
Kubernetes verb (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``delete``,
``deletecollection``). A 409 on ``create`` is ``AlreadyExists``; on ``update``, ``patch`` and
``delete`` it is a ``Conflict`` (a stale ``resourceVersion`` or a failed precondition).

The requests are also counted as they arrive, by who sent them (their ``User-Agent``: Kiln's
name the services sending them, ``kiln/0.1.0 (bridge)``) and with the API group, so a test can
compare what each service asked for with what its RBAC role grants::

    emulator.answers().requested(agent="kiln/0.1.0 (bridge)")  # {Request(…, "watch", "kpack.io", "images"): 3, …}
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


@dataclasses.dataclass(frozen=True, order=True)
class Request:
    """One kind of request, counted when it arrives (a watch too, before it ends)."""

    agent: str
    """The ``User-Agent`` header ("" without one)."""
    verb: str
    """Kubernetes verb of the request."""
    group: str
    """API group of the resource ("" for the core group)."""
    resource: str
    """``<plural>`` or ``<plural>/status``."""


@dataclasses.dataclass(frozen=True)
class Tally:
    """A snapshot of the counts."""

    counts: dict[Answer, int]
    requests: dict[Request, int] = dataclasses.field(default_factory=dict)
    """The requests by agent, verb, group and resource."""

    def requested(self, *, agent: str | None = None) -> dict[Request, int]:
        """The requests sent by ``agent`` (every agent's when None)."""
        return {r: n for r, n in self.requests.items() if agent is None or r.agent == agent}

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
        self._requests: collections.Counter[Request] = collections.Counter()

    def add(self, code: int, *, verb: str, resource: str) -> None:
        self._counts[Answer(code, verb, resource)] += 1

    def request(self, agent: str, *, verb: str, group: str, resource: str) -> None:
        self._requests[Request(agent, verb, group, resource)] += 1

    def tally(self) -> Tally:
        return Tally(dict(self._counts), dict(self._requests))

    def clear(self) -> None:
        self._counts.clear()
        self._requests.clear()
