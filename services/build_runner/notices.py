"""The Kubernetes Event the build-runner records when a Build fails before its pod (pure).

``BuildFailed`` (Warning) on the Build, its Image related: ``Build failed before its pod: <why>``
— a windows builder, an unsupported platform API, a missing builder image, a forbidden binding, a
spec kpack's admission refuses. Recorded when the failure is written (a finished Build is never
rendered again, so a redelivered ``build.scheduled`` tells nothing more).
"""

from __future__ import annotations

from contracts import builds, images, kube_events, meta

REASON = "BuildFailed"
ACTION = "CreatePod"


def failed_before_pod(build: builds.Build, *, message: str) -> kube_events.Notice:
    related = None
    image = build.image_name()
    if image:
        uid = next(
            (ref.uid or "" for ref in build.metadata.owner_references or () if ref.kind == images.KIND),
            "",
        )
        related = kube_events.Regarding(
            api_version=meta.V1ALPHA2, kind=images.KIND, namespace=build.namespace, name=image, uid=uid
        )
    return kube_events.Notice(
        regarding=kube_events.Regarding(
            api_version=build.api_version or meta.V1ALPHA2,
            kind=builds.KIND,
            namespace=build.namespace,
            name=build.name,
            uid=build.metadata.uid or "",
        ),
        related=related,
        reason=REASON,
        type=kube_events.WARNING,
        action=ACTION,
        note=f"Build failed before its pod: {message}",
    )
