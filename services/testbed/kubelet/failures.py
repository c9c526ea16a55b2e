"""Failure injection: which builds fail, at which step, with what (pure).

A :data:`FailurePlan` looks at the pod and returns a :class:`Failure` or None. The default reads
annotations, which a build pod inherits from its Build (so a test can annotate the Build):

* ``kubelet.kiln.dev/fail-at``: the step to fail (``prepare`` … ``export``, ``completion``);
* ``kubelet.kiln.dev/fail-message``: the failed container's termination message (optional);
* ``kubelet.kiln.dev/hold-at``: the step that hangs: it runs until the pod is deleted (a build to
  cancel, or whose pod a test deletes mid-run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

FAIL_AT_ANNOTATION = "kubelet.kiln.dev/fail-at"
FAIL_MESSAGE_ANNOTATION = "kubelet.kiln.dev/fail-message"
HOLD_AT_ANNOTATION = "kubelet.kiln.dev/hold-at"


@dataclasses.dataclass(frozen=True)
class Failure:
    """Fail ``step`` with ``exit_code`` and ``message`` (the container's termination message), or,
    with ``hold``, let ``step`` run until the pod is deleted."""

    step: str
    exit_code: int = 1
    message: str = ""
    hold: bool = False

    def termination_message(self) -> str:
        return self.message or f"simulated failure of step {self.step}"


FailurePlan = Callable[[dict[str, Any]], Failure | None]
"""Given a build pod, how it fails, or None for success."""


def from_annotations(pod: dict[str, Any]) -> Failure | None:
    """The failure the pod's annotations ask for, if any."""
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    if notes.get(HOLD_AT_ANNOTATION):
        return Failure(step=notes[HOLD_AT_ANNOTATION], hold=True)
    step = notes.get(FAIL_AT_ANNOTATION, "")
    return Failure(step=step, message=notes.get(FAIL_MESSAGE_ANNOTATION, "")) if step else None


def never(pod: dict[str, Any]) -> Failure | None:
    return None
