"""What the bridge announces for the Builds and build pods it sees, as truth tables."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builds, events, images
from services.bridge import build_changes, service

IMAGE_OWNER = {
    "apiVersion": "kpack.io/v1alpha2",
    "kind": "Image",
    "name": "app",
    "uid": "image-uid",
    "controller": True,
}
TRIGGER = {builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION: "2024-05-06T07:08:09Z"}
CANCEL = {builds.CANCEL_ANNOTATION: "true"}
TRIGGER_KEY = builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION


def build(
    *,
    image: str | None = None,
    owner: dict[str, Any] | None = None,
    succeeded: str | None = None,
    annotations: dict[str, str] | None = None,
) -> builds.Build:
    metadata: dict[str, Any] = {
        "name": "app-build-1",
        "namespace": "ns",
        "uid": "build-uid",
        "resourceVersion": "7",
        "labels": {builds.IMAGE_LABEL: image} if image else {},
        "annotations": annotations or {},
    }
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    status = {"conditions": [{"type": "Succeeded", "status": succeeded}]} if succeeded else {}
    return builds.Build.model_validate({"metadata": metadata, "spec": {}, "status": status})


def announced(found: list[build_changes.Announcement]) -> list[tuple[str, dict[str, Any], str]]:
    return [(a.model.event_type, a.fields, a.discriminator) for a in found]


SCHEDULED = events.BuildScheduled.event_type
CANCELED = events.BuildCancelRequested.event_type
CHANGED = events.ImageChanged.event_type
OF_NO_IMAGE = {"namespace": "ns", "image": "", "build": "app-build-1"}
OF_APP = {"namespace": "ns", "image": "app", "build": "app-build-1"}
APP = {"namespace": "ns", "name": "app"}


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        (build(), [(SCHEDULED, OF_NO_IMAGE, "rv:build-uid:7")]),
        (build(image="app"), [(SCHEDULED, OF_APP, "rv:build-uid:7")]),
        (build(succeeded="Unknown"), [(SCHEDULED, OF_NO_IMAGE, "rv:build-uid:7")]),
        (build(image="app", owner=IMAGE_OWNER), []),
        (
            build(image="app", owner=IMAGE_OWNER | {"controller": False}),
            [(SCHEDULED, OF_APP, "rv:build-uid:7")],
        ),
        (build(succeeded="True"), []),
        (build(succeeded="False"), []),
        (build(annotations=CANCEL), [(CANCELED, OF_NO_IMAGE, "cancel:build-uid")]),
        (build(image="app", owner=IMAGE_OWNER, annotations=CANCEL), [(CANCELED, OF_APP, "cancel:build-uid")]),
        (build(annotations={builds.CANCEL_ANNOTATION: "no"}), [(SCHEDULED, OF_NO_IMAGE, "rv:build-uid:7")]),
        (build(succeeded="True", annotations=CANCEL), []),
        (
            build(image="app", owner=IMAGE_OWNER, succeeded="True", annotations=TRIGGER),
            [(CHANGED, APP, "trigger:build-uid:2024-05-06T07:08:09Z")],
        ),
        (
            build(image="app", owner=IMAGE_OWNER, annotations=TRIGGER),
            [(CHANGED, APP, "trigger:build-uid:2024-05-06T07:08:09Z")],
        ),
        (
            build(image="app", owner=IMAGE_OWNER, succeeded="True", annotations={TRIGGER_KEY: ""}),
            [(CHANGED, APP, "trigger:build-uid:")],
        ),
        (build(succeeded="True", annotations=TRIGGER), []),
        (build().model_copy(update={"status": builds.BuildStatus(pod_name="app-build-1-build-pod")}), []),
    ],
    ids=[
        "a running build created directly is scheduled, keyed by itself",
        "a running build labelled with an image but made by no image is scheduled",
        "a build whose Succeeded is Unknown still runs",
        "a build an image made is the image-reconciler's to announce",
        "an owner that is not the controller made nothing",
        "a succeeded build is never run again",
        "a failed build is never run again",
        "a running build to cancel is canceled, not scheduled",
        "an image's running build to cancel is keyed by its image",
        "a cancel annotation other than true is no cancellation",
        "a finished build ignores the cancel annotation",
        "a trigger on an image's finished build announces the image",
        "a trigger on an image's running build announces the image all the same",
        "a trigger with an empty value still counts",
        "a trigger on a build of no image is inert",
        "a running build whose status names its pod has it already",
    ],
)
def test_what_a_build_seen_by_the_watch_announces(
    seen: builds.Build, expected: list[tuple[str, dict[str, Any], str]]
) -> None:
    assert announced(build_changes.seen(seen, announced_trigger=None)) == expected


def test_a_trigger_is_announced_once_per_value() -> None:
    triggered = build(image="app", owner=IMAGE_OWNER, succeeded="True", annotations=TRIGGER)
    value = build_changes.trigger_value(triggered)

    again = build_changes.seen(triggered, announced_trigger=value)
    newer = build_changes.seen(
        build(
            image="app",
            owner=IMAGE_OWNER,
            succeeded="True",
            annotations={TRIGGER_KEY: "later"},
        ),
        announced_trigger=value,
    )

    assert value == "2024-05-06T07:08:09Z"
    assert again == []
    assert announced(newer) == [(CHANGED, APP, "trigger:build-uid:later")]


def pod(
    *, image: str | None = "app", owner_uid: str | None = "build-uid", build_label: str = "app-build-1"
) -> dict[str, Any]:
    labels = {builds.BUILD_LABEL: build_label} if build_label else {}
    if image:
        labels[builds.IMAGE_LABEL] = image
    metadata: dict[str, Any] = {
        "name": "app-build-1-build-pod",
        "namespace": "ns",
        "uid": "pod-uid",
        "labels": labels,
    }
    if owner_uid is not None:
        metadata["ownerReferences"] = [
            {"kind": "Build", "name": "app-build-1", "uid": owner_uid, "controller": True}
        ]
    return {"metadata": metadata}


@pytest.mark.parametrize(
    ("deleted", "settled", "expected"),
    [
        (pod(), set(), [(SCHEDULED, OF_APP, "deleted:pod-uid")]),
        (pod(image=None), set(), [(SCHEDULED, OF_NO_IMAGE, "deleted:pod-uid")]),
        (pod(), {"build-uid"}, []),
        (pod(owner_uid=None), {"build-uid"}, [(SCHEDULED, OF_APP, "deleted:pod-uid")]),
        (pod(build_label=""), set(), []),
    ],
    ids=[
        "a deleted pod of a build that may run has its build looked at",
        "a build of no image is keyed by itself",
        "a deleted pod of a build seen finished or deleted is no news",
        "a pod without its owner is looked at",
        "a pod that is no build's is ignored",
    ],
)
def test_what_a_deleted_build_pod_announces(
    deleted: dict[str, Any], settled: set[str], expected: list[tuple[str, dict[str, Any], str]]
) -> None:
    found = build_changes.pod_deleted(deleted, settled_builds=settled)

    assert announced([found] if found is not None else []) == expected


def test_the_resync_announces_running_builds_without_pods_and_builds_to_cancel() -> None:
    def named(name: str, **fields: Any) -> builds.Build:
        return build(**fields).with_(metadata=build(**fields).metadata.with_(name=name))

    listed = [
        named("with-pod"),
        named("without-pod"),
        named("made-by-image", image="app", owner=IMAGE_OWNER),
        named("to-cancel", annotations=CANCEL),
        named("done", succeeded="True"),
        named("done-to-cancel", succeeded="False", annotations=CANCEL),
    ]

    found = build_changes.resynced(listed, pods={("ns", "with-pod-build-pod")}, stamp="T")

    assert [(a.model.event_type, a.fields["build"], a.discriminator) for a in found] == [
        (SCHEDULED, "without-pod", "resync:T"),
        (SCHEDULED, "made-by-image", "resync:T"),
        (CANCELED, "to-cancel", "resync:T"),
    ]


@pytest.mark.parametrize(
    ("phase", "labels", "expected"),
    [
        ("Succeeded", {builds.BUILD_LABEL: "b", builds.IMAGE_LABEL: "app"}, "app"),
        ("Failed", {builds.BUILD_LABEL: "b"}, ""),
        ("Running", {builds.BUILD_LABEL: "b"}, None),
        ("Succeeded", {builds.IMAGE_LABEL: "app"}, None),
    ],
    ids=[
        "a finished pod of an image's build names the image",
        "a finished pod of a build of no image names none",
        "a running pod has not finished",
        "a pod that is no build's is no build's finish",
    ],
)
def test_a_terminated_build_pod_is_a_build_finished(
    phase: str, labels: dict[str, str], expected: str | None
) -> None:
    fields = service.build_finished(
        {"metadata": {"name": "p", "namespace": "ns", "labels": labels}, "status": {"phase": phase}}
    )

    assert (fields["image"] if fields is not None else None) == expected


def image(
    name: str,
    *,
    generation: int = 2,
    observed: int | None = 2,
    ready: str = "True",
    reason: str = "",
    latest: str = "",
) -> images.Image:
    status: dict[str, Any] = {
        "latestBuildRef": latest,
        "conditions": [{"type": "Ready", "status": ready, "reason": reason}],
    }
    if observed is not None:
        status["observedGeneration"] = observed
    return images.Image.model_validate(
        {"metadata": {"name": name, "namespace": "ns", "generation": generation}, "status": status}
    )


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (image("a"), True),
        (image("a", ready="False"), True),
        (image("a", ready="Unknown", reason="BuildRunning"), False),
        (image("a", observed=1), False),
        (image("a", observed=None), False),
        (images.Image.model_validate({"metadata": {"name": "a", "generation": 1}}), False),
    ],
    ids=["ready", "failed", "a build running", "an older generation observed", "none observed", "no status"],
)
def test_which_images_are_settled(found: images.Image, expected: bool) -> None:
    assert found.settled() is expected


def test_the_finished_pods_still_news_are_those_of_running_builds_and_of_builds_not_told() -> None:
    running = build(image="app")
    finished = build(image="app", succeeded="True").model_copy(
        update={"metadata": build().metadata.with_(name="app-build-2")}
    )
    told = build(image="app", succeeded="True").model_copy(
        update={"metadata": build().metadata.with_(name="app-build-3")}
    )
    known = [
        image("app", ready="Unknown", reason="BuildRunning", latest="app-build-2"),
        image("other", ready="Unknown", reason="BuildRunning", latest=""),
        image("third", latest="app-build-3"),
    ]

    assert build_changes.unrecorded([running, finished, told], known) == {
        ("ns", "app-build-1"),
        ("ns", "app-build-2"),
    }
