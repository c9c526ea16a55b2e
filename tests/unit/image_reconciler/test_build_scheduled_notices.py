"""The Event of a build scheduled: ``Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7`` on the Image."""

from __future__ import annotations

import json

import pytest

from contracts import builds, images
from services.image_reconciler import notices

OLD, NEW = "1a2b3c4d" + "0" * 32, "4d5e6f70" + "1" * 32
IMAGE = images.Image.model_validate(
    {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "metadata": {"name": "app", "namespace": "ns", "uid": "image-uid"},
        "spec": {"tag": "reg.io/app", "builder": {"kind": "ClusterBuilder", "name": "default"}},
    }
)


def build(
    changes: list[dict[str, object]] | None, *, reason: str = "COMMIT", number: str = "7"
) -> builds.Build:
    annotations = {builds.REASON_ANNOTATION: reason}
    if changes is not None:
        annotations[builds.CHANGES_ANNOTATION] = json.dumps(changes)
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": f"app-build-{number}",
                "namespace": "ns",
                "uid": "build-uid",
                "labels": {builds.IMAGE_LABEL: "app", builds.BUILD_NUMBER_LABEL: number},
                "annotations": annotations,
            },
            "spec": {"tags": ["reg.io/app"]},
        }
    )


@pytest.mark.parametrize(
    ("changes", "note"),
    [
        pytest.param(
            [{"reason": "COMMIT", "old": OLD, "new": NEW}],
            "Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7",
            id="a new commit shows the old and new commit",
        ),
        pytest.param(
            [
                {"reason": "COMMIT", "old": OLD, "new": NEW},
                {"reason": "CONFIG", "old": {}, "new": {"env": []}},
            ],
            "Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7, CONFIG",
            id="a config change is named, its diff left to kiln build status",
        ),
        pytest.param(
            [
                {
                    "reason": "STACK",
                    "old": "reg.io/run@sha256:" + "a" * 64,
                    "new": "reg.io/run@sha256:" + "b" * 64,
                }
            ],
            "Scheduled build 7: STACK aaaaaaa → bbbbbbb",
            id="a new run image shows its digests",
        ),
        pytest.param(
            [{"reason": "LIFECYCLE", "old": "0.17.0", "new": "0.18.1"}],
            "Scheduled build 7: LIFECYCLE 0.17.0 → 0.18.1",
            id="a new lifecycle shows its versions",
        ),
        pytest.param(
            [
                {
                    "reason": "TRIGGER",
                    "old": "",
                    "new": "A new build was manually triggered on Sun, 06 Dec 2026",
                }
            ],
            "Scheduled build 7: TRIGGER",
            id="a trigger is named",
        ),
        pytest.param(None, "Scheduled build 7: COMMIT", id="a build without changes names its reasons"),
    ],
)
def test_the_scheduled_note_names_the_build_and_its_changes(
    changes: list[dict[str, object]] | None, note: str
) -> None:
    assert notices.scheduled(IMAGE, build(changes)).note == note


def test_the_event_is_on_the_image_with_the_build_related() -> None:
    found = notices.scheduled(IMAGE, build(None))

    assert (found.regarding.kind, found.regarding.name, found.regarding.uid) == ("Image", "app", "image-uid")
    assert found.related is not None
    assert (found.related.kind, found.related.name, found.related.uid) == (
        "Build",
        "app-build-7",
        "build-uid",
    )
    assert (found.reason, found.type, found.action) == ("BuildScheduled", "Normal", "Schedule")
