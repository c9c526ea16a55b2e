"""What ``kiln logs`` and ``--wait`` decide and print, from the Builds and pods they read (pure).

* which Build an argument means: an Image's newest Build by build number (or ``--build N``),
  else the Build of that name (`pick`);
* the steps of a build pod in the order they run (init containers, then ``completion``), and
  whether each has started (`steps`, `started`, `pod_over`);
* the header above each step's lines, ``===> PREPARE``, as ``kp build logs`` prints it (`header`);
* how a finished Build ended, in one line, and whether that is a success (`outcome`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from contracts import builds

CYAN, RESET = "\033[0;36m", "\033[0m"
FINISHED_PHASES = ("Succeeded", "Failed")


@dataclasses.dataclass(frozen=True)
class Picked:
    """The Build to show, or why there is none."""

    build: builds.Build | None = None
    problem: str = ""
    """Why there is no Build to show (printed on stderr, exit 1)."""


def newest(found: Sequence[builds.Build]) -> builds.Build | None:
    """The Build with the highest build number (then the newest), or None."""
    if not found:
        return None
    return max(found, key=lambda b: (b.build_number() or 0, b.metadata.creation_timestamp or ""))


def pick(
    name: str,
    *,
    namespace: str,
    image_builds: Sequence[builds.Build],
    named: builds.Build | None,
    number: int | None,
) -> Picked:
    """The Build ``name`` means: the newest of Image ``name``'s Builds (``image_builds``), or its
    ``number``; else the Build called ``name`` (``named``)."""
    where = f'in namespace "{namespace}"'
    if number is not None:
        chosen = next((b for b in image_builds if b.build_number() == number), None)
        if chosen is not None:
            return Picked(chosen)
        if image_builds:
            known = ", ".join(str(b.build_number()) for b in sorted(image_builds, key=_number))
            return Picked(problem=f'Image "{name}" {where} has no build {number} (its builds: {known})')
        return Picked(problem=f'no builds found for Image "{name}" {where}')
    chosen = newest(image_builds) or named
    if chosen is None:
        return Picked(problem=f'no Image with builds and no Build named "{name}" {where}')
    return Picked(chosen)


def _number(build: builds.Build) -> int:
    return build.build_number() or 0


def steps(pod: dict[str, Any]) -> list[str]:
    """The pod's step containers in the order they run."""
    spec = pod.get("spec") or {}
    return [
        str(c.get("name", "")) for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    ]


def state(pod: dict[str, Any], step: str) -> str:
    """``waiting``, ``running`` or ``terminated`` (``""`` when the pod reports nothing for it)."""
    status = pod.get("status") or {}
    for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if entry.get("name") == step:
            return next(iter(entry.get("state") or {}), "")
    return ""


def started(pod: dict[str, Any], step: str) -> bool:
    return state(pod, step) in ("running", "terminated")


def pod_over(pod: dict[str, Any]) -> bool:
    """Whether the pod has finished (no step will start any more)."""
    return (pod.get("status") or {}).get("phase") in FINISHED_PHASES


def uid(pod: dict[str, Any] | None) -> str:
    return str(((pod or {}).get("metadata") or {}).get("uid", ""))


def header(step: str, *, color: bool) -> str:
    """The line above a step's log."""
    text = f"===> {step.upper()}"
    return f"{CYAN}{text}{RESET}" if color else text


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a Build ended: a success or not, in one line."""

    succeeded: bool
    message: str


def outcome(build: builds.Build) -> Outcome:
    """The line that closes a followed build."""
    name = f'Build "{build.name}"'
    condition = build.status.condition("Succeeded")
    if build.succeeded():
        return Outcome(True, f"{name} succeeded: {build.status.latest_image or 'no image reported'}")
    detail = condition.message if condition is not None and condition.message else ""
    if build.canceled():
        return Outcome(False, f"{name} was canceled" + (f": {detail}" if detail else ""))
    reason = f" ({condition.reason})" if condition is not None and condition.reason else ""
    return Outcome(False, f"{name} failed{reason}" + (f": {detail}" if detail else ""))
