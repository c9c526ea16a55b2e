"""What ``kiln trigger`` and ``kiln cancel`` write: one annotation on one Build, or why not (pure).

* ``kiln trigger IMAGE`` does what ``kp image trigger`` does: it annotates the Image's newest Build
  (the one the image-reconciler reads: by ``creationTimestamp``) with
  ``image.kpack.io/additionalBuildNeeded`` set to the time; the Image then builds again, reason
  ``TRIGGER``, as soon as that build has finished. No build at all is an error (kp: ``no builds
  found``), naming whether the Image itself exists.
* ``kiln cancel BUILD`` annotates a running Build with ``kiln.dev/cancel: "true"``; a finished Build
  is refused (it would ignore the annotation), a missing one too.

Each is a JSON merge patch of the Build's annotations, so nothing else of the Build is touched and
a concurrent writer loses nothing.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import builds, meta
from services.image_reconciler import reconcile


class Annotation(BaseModel):
    """One annotation to set on one Build, and what to tell the user."""

    model_config = ConfigDict(frozen=True)

    build: str
    """Name of the Build to annotate."""
    key: str
    """The annotation's key."""
    value: str
    """Its value."""
    message: str
    """The line printed once it is written."""

    def patch(self) -> dict[str, Any]:
        """The JSON merge patch that sets it."""
        return {"metadata": {"annotations": {self.key: self.value}}}


class Refusal(BaseModel):
    """Nothing to annotate, and why (exit 1)."""

    model_config = ConfigDict(frozen=True)

    message: str
    """The line printed on stderr."""


def trigger(
    image: str, *, namespace: str, found: Sequence[builds.Build], image_exists: bool, now: datetime
) -> Annotation | Refusal:
    """The annotation ``kiln trigger`` sets on the newest of the Image's Builds ``found``."""
    newest = reconcile.newest_build(found, image_name=image)
    if newest is None:
        where = f'Image "{image}" in namespace "{namespace}"'
        if not image_exists:
            return Refusal(message=f"{where} not found")
        return Refusal(
            message=f"no builds found for {where}: a trigger annotates the Image's newest Build, "
            "and its first build comes once its builder and source are ready"
        )
    message = (
        f'"{image}" triggered: annotated build {newest.name} with {builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION}'
    )
    if newest.running():
        message += "; it is still running, so the new build starts once it has finished"
    return Annotation(
        build=newest.name,
        key=builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION,
        value=meta.rfc3339(now),
        message=message,
    )


def cancel(name: str, *, namespace: str, build: builds.Build | None) -> Annotation | Refusal:
    """The annotation ``kiln cancel`` sets on Build ``name`` (``build`` as read, None: missing)."""
    where = f'Build "{name}" in namespace "{namespace}"'
    if build is None:
        return Refusal(message=f"{where} not found")
    succeeded = build.status.condition("Succeeded")
    if succeeded is not None and not build.running():
        outcome = f"Succeeded={succeeded.status}" + (
            f", reason {succeeded.reason}" if succeeded.reason else ""
        )
        return Refusal(message=f"{where} has already finished ({outcome}): there is nothing to cancel")
    return Annotation(
        build=name,
        key=builds.CANCEL_ANNOTATION,
        value="true",
        message=f'"{name}" cancel requested: annotated with {builds.CANCEL_ANNOTATION}=true; '
        f"it ends Succeeded=False, reason {builds.CANCELED_REASON}, and its pod is deleted",
    )
