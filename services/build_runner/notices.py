"""The Kubernetes Event the build-runner records when a Build fails before its pod (pure).

``BuildFailed`` (Warning) on the Build, its Image related: ``Build failed before its pod: <why>``
— a windows builder, an unsupported platform API, a missing builder image, a forbidden binding, a
spec kpack's admission refuses. Recorded when the failure is written (a finished Build is never
rendered again, so a redelivered ``build.scheduled`` tells nothing more).
"""

from __future__ import annotations

from contracts import builds, kube_events

REASON = "BuildFailed"
ACTION = "CreatePod"


def failed_before_pod(build: builds.Build, *, message: str) -> kube_events.Notice:
    return kube_events.Notice(
        regarding=kube_events.regarding_build(build),
        related=kube_events.image_of_build(build),
        reason=REASON,
        type=kube_events.WARNING,
        action=ACTION,
        note=f"Build failed before its pod: {message}",
    )
