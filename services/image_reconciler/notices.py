"""The Kubernetes Events the image-reconciler records about its decisions (pure).

``BuildScheduled`` on the Image, the Build related: ``Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7``
— the build number and each reason of the ``image.kpack.io/buildChanges`` annotation, with the
old and new value where one is short enough to read (a commit, a run image's digest, a lifecycle
version); CONFIG, BUILDPACK and TRIGGER name the reason only (``kiln build status`` shows the diff).

Recorded once, when the Build is created: a Build found already there (a redelivered event, a
retried reconcile) is not scheduled again, and says nothing.

And a Warning when an Image stops being buildable — its ``Ready`` condition turns ``False`` for a
reason of its own (``InvalidSpec``, ``BuilderNotFound``, ``BuilderNotReady``), the note the
condition's message — only when the status written changes that condition: an Image reconciled
again in the same state says nothing more (a build's failure is told on the Build).
"""

from __future__ import annotations

import json
from typing import Any

from contracts import builds, images, kube_events

REASON = "BuildScheduled"
ACTION = "Schedule"
READY = "Ready"
NOT_READY_REASONS = frozenset({"InvalidSpec", "BuilderNotFound", "BuilderNotReady"})
"""Why an Image cannot build that is the Image's own (not a build's outcome)."""
SHORT = 7
"""Characters of a commit or a digest shown."""


def scheduled(image: images.Image, build: builds.Build) -> kube_events.Notice:
    """``BuildScheduled`` on ``image`` for the ``build`` just created."""
    number = build.build_number()
    which = f"build {number}" if number is not None else f"build {build.name}"
    summary = changes_summary(build) or build.reason() or "no reason given"
    return kube_events.Notice(
        regarding=kube_events.regarding_image(image),
        related=kube_events.regarding_build(build),
        reason=REASON,
        action=ACTION,
        note=f"Scheduled {which}: {summary}",
    )


def changes_summary(build: builds.Build) -> str:
    """``COMMIT 1a2b3c4 → 4d5e6f7, CONFIG`` from the Build's changes annotation ("" without one)."""
    raw = build.annotations.get(builds.CHANGES_ANNOTATION, "")
    try:
        changes = json.loads(raw) if raw else []
    except ValueError:
        return ""
    if not isinstance(changes, list):
        return ""
    return ", ".join(_change(change) for change in changes if isinstance(change, dict))


def _change(change: dict[str, Any]) -> str:
    reason = str(change.get("reason", ""))
    if reason not in ("COMMIT", "STACK", "LIFECYCLE"):
        return reason
    old, new = _short(change.get("old")), _short(change.get("new"))
    if not new:
        return reason
    return f"{reason} {old} → {new}" if old else f"{reason} {new}"


def _short(value: Any) -> str:
    """A commit or a digest cut to :data:`SHORT` characters; another short string as it is."""
    if not isinstance(value, str):
        return ""
    digest = value.rpartition("@")[2]
    if digest.startswith("sha256:"):
        return digest.removeprefix("sha256:")[:SHORT]
    if len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:SHORT]
    return value if len(value) <= 40 else ""


def not_ready(image: images.Image, status: images.ImageStatus) -> kube_events.Notice | None:
    """A Warning on ``image`` whose status (as observed) becomes ``status``: its ``Ready`` turned
    ``False`` for one of :data:`NOT_READY_REASONS`, or changed its message; None otherwise."""
    ready = status.condition(READY)
    if ready is None or ready.status != "False" or ready.reason not in NOT_READY_REASONS:
        return None
    before = image.status.condition(READY)
    if before is not None and (before.status, before.reason, before.message) == (
        ready.status,
        ready.reason,
        ready.message,
    ):
        return None
    return kube_events.Notice(
        regarding=kube_events.regarding_image(image),
        reason=ready.reason,
        type=kube_events.WARNING,
        action="Reconcile",
        note=ready.message or ready.reason,
    )
