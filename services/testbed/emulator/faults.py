"""Fault injection: make chosen requests fail the way a sick API server or network does.

A `Fault` matches requests by verb (get, list, watch, create, update, patch, delete,
deletecollection), resource (plural, ``images`` or ``images/status``), namespace and name — any
left as None matches everything — less the resources it ``spares``, and then either answers
``status`` (500, 429 with ``Retry-After: <retry_after>``, 503…) or, with ``action="timeout"``,
hangs for ``hang_seconds`` and closes the connection without an answer. ``count`` bounds how
many requests it hits (None: until removed); ``probability`` fails only that fraction of the
matching requests (seeded, so reproducible). ``hit_at`` records when each hit arrived
(``time.monotonic()``), so a test can see how long a client waited before it retried.

Set from tests with `Emulator.add_fault` or over HTTP: ``POST /_emulator/faults`` with the fields
of `Fault` as JSON, ``GET`` to list them, ``DELETE`` to clear them.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from typing import Any, Literal

Action = Literal["error", "timeout"]
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclasses.dataclass
class Fault:
    """One rule; mutable only for its remaining ``count``."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    action: Action = "error"
    status: int = 500
    count: int | None = None
    probability: float = 1.0
    hang_seconds: float = 30.0
    retry_after: int = 1
    spares: tuple[str, ...] = ()
    """Resources (as ``resource`` names them: ``pods/status``) this rule never fails."""
    hits: int = 0
    hit_at: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verb is not None and self.verb not in VERBS:
            raise ValueError(f"unknown verb {self.verb!r}; one of {', '.join(VERBS)}")
        if self.action not in ("error", "timeout"):
            raise ValueError(f"unknown fault action {self.action!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")

    def matches(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return (
            (self.verb is None or self.verb == verb)
            and (self.resource is None or self.resource == resource)
            and (self.namespace is None or self.namespace == namespace)
            and (self.name is None or self.name == name)
            and resource not in self.spares
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Faults:
    """The active rules; safe to change from another thread than the server's."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, verb: str, resource: str, namespace: str | None, name: str | None) -> Fault | None:
        """The rule that fails this request, if any; counts the hit and retires spent rules."""
        if not self._rules:
            return None
        with self._lock:
            for fault in self._rules:
                if not fault.matches(verb, resource, namespace, name):
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                fault.hits += 1
                fault.hit_at.append(time.monotonic())
                if fault.count is not None and fault.hits >= fault.count:
                    self._rules.remove(fault)
                return fault
        return None
