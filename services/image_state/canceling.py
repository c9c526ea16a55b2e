"""Canceling a running Build (Kiln's extension, kpack#245): what image-state does on
``build.cancel.requested`` (pure).

A Build carrying ``kiln.dev/cancel: "true"`` while it runs ends ``Succeeded=False``, reason
``BuildCanceled``, with a message naming the annotation, and its pod is deleted; the Build itself
stays, with the steps its pod had completed, so its history is kept. image-state writes it, as it
writes every other Build outcome, and it handles the cancellation and the pod's own finish of one
Build in order (both events are keyed alike), so the two never race:

* a finished Build ignores the annotation (kpack never changes a finished Build);
* a Build whose pod terminated before the cancellation was handled keeps the pod's outcome:
  image-state records it from the pod, as on ``build.finished``;
* a Build canceled before whose pod still runs (the deletion failed after the status write, and
  the event came again) only has its pod deleted.

The build-runner never makes a pod for a Build whose cancellation was asked for, so a Build
canceled before its pod exists never gets one. The Image's next build reads the last good cache
as after a failure: a canceled Build is a failed one (``spec.lastBuild`` carried forward).

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import builds, meta
from services.image_state import build_status

MESSAGE = f"Build canceled by annotation {builds.CANCEL_ANNOTATION}"
"""The message of a canceled Build's ``Succeeded`` condition."""
TERMINATED_PHASES = ("Succeeded", "Failed")

Action = Literal["nothing", "cancel", "record", "clean up"]


class CancelPlan(BaseModel):
    """What to do for a cancellation request, as data."""

    model_config = ConfigDict(frozen=True)

    action: Action
    """``nothing``; ``cancel`` (write ``status``, then delete the pod if ``delete_pod``);
    ``record`` (the pod terminated first: its outcome, as on ``build.finished``); ``clean up``
    (canceled before: delete the pod if ``delete_pod``, announce the Build again if its Image was
    never told)."""
    status: builds.BuildStatus | None = None
    """The canceled status to write (``cancel`` only)."""
    delete_pod: bool = False
    """Whether to delete the Build's pod."""


NOTHING = CancelPlan(action="nothing")


def decide(build: builds.Build, *, pod: dict[str, Any] | None, now: datetime) -> CancelPlan:
    """What a cancellation request means for ``build``, whose pod is ``pod`` (None: it has none)."""
    if not build.cancel_requested():
        return NOTHING
    if build.canceled():
        return CancelPlan(action="clean up", delete_pod=_unterminated(pod))
    if not build.running():
        return NOTHING
    if pod is not None and not _unterminated(pod):
        return CancelPlan(action="record")
    return CancelPlan(
        action="cancel", status=canceled_status(build, pod=pod, now=now), delete_pod=pod is not None
    )


def canceled_status(build: builds.Build, *, pod: dict[str, Any] | None, now: datetime) -> builds.BuildStatus:
    """``Succeeded=False``, reason ``BuildCanceled``, with the pod's steps as they stood (if any)."""
    condition = meta.Condition(
        type=build_status.SUCCEEDED, status="False", reason=builds.CANCELED_REASON, message=MESSAGE
    )
    changes: dict[str, Any] = {
        "observed_generation": build.generation,
        "conditions": [
            meta.stamped(condition, previous=build.status.condition(build_status.SUCCEEDED), now=now)
        ],
    }
    if pod is not None:
        status = build_status.pod_status(pod)
        changes |= {
            "pod_name": (pod.get("metadata") or {}).get("name") or build.pod_name(),
            "step_states": build_status.step_states(status),
            "steps_completed": build_status.steps_completed(status),
        }
    return build.status.with_(**changes)


def _unterminated(pod: dict[str, Any] | None) -> bool:
    """A pod that exists and has not reached ``Succeeded`` or ``Failed``."""
    return pod is not None and (pod.get("status") or {}).get("phase") not in TERMINATED_PHASES
