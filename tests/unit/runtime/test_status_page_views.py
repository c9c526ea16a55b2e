"""What the live status page shows (``services.runtime.status_views``), as truth tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds, images
from services.runtime import status_views

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
BUILD_POD = ("prepare", "analyze", "detect", "restore", "build", "export", "completion")


def build(
    name: str = "app-build-2",
    *,
    image: str = "app",
    number: int = 2,
    reason: str = "COMMIT",
    succeeded: str | None = None,
    condition_reason: str = "",
    message: str = "",
    finished: str = "",
    pod_name: str = "",
    states: list[dict[str, Any]] | None = None,
    namespace: str = "apps",
) -> builds.Build:
    status: dict[str, Any] = {}
    if succeeded is not None:
        status["conditions"] = [
            {
                "type": "Succeeded",
                "status": succeeded,
                "reason": condition_reason or None,
                "message": message or None,
                "lastTransitionTime": finished or None,
            }
        ]
    if pod_name:
        status["podName"] = pod_name
    if states is not None:
        status["stepStates"] = states
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": "2026-12-06T11:59:00Z",
                "labels": {builds.IMAGE_LABEL: image, builds.BUILD_NUMBER_LABEL: str(number)},
                "annotations": {builds.REASON_ANNOTATION: reason},
            },
            "status": status,
        }
    )


def image(
    name: str = "app", *, latest: str = "", ready: str = "Unknown", namespace: str = "apps"
) -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"tag": f"registry.example/{name}"},
            "status": {
                "latestBuildRef": latest or None,
                "conditions": [{"type": "Ready", "status": ready}],
            },
        }
    )


def pod(
    build_name: str,
    *,
    init: list[tuple[str, dict[str, Any]]],
    main: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> dict[str, Any]:
    """A build pod of ``build_name`` whose step containers are in those states."""
    return {
        "metadata": {
            "namespace": "apps",
            "name": f"{build_name}-build-pod",
            "labels": {builds.BUILD_LABEL: build_name},
        },
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [{"name": n, "state": s} for n, s in init],
            "containerStatuses": [{"name": n, "state": s} for n, s in main],
        },
    }


DONE = {"terminated": {"exitCode": 0}}
RUNNING = {"running": {"startedAt": "2026-12-06T11:59:30Z"}}
TURN = {"waiting": {"reason": "PodInitializing"}}


@pytest.mark.parametrize(
    ("asked", "cached", "expected"),
    [
        (None, ("Image", "SourceResolver", "Build"), True),
        (None, ("Image",), False),
        (None, ("Build",), False),
        (None, (), False),
        (True, (), True),
        (False, ("Image", "Build"), False),
    ],
    ids=[
        "unset: served where Images and Builds are cached (the image-reconciler)",
        "unset: not where only Images are (triggers)",
        "unset: not where only Builds are (build-runner, image-state)",
        "unset: not where nothing is cached",
        "true: served anywhere",
        "false: served nowhere",
    ],
)
def test_which_processes_serve_the_page(asked: bool | None, cached: tuple[str, ...], expected: bool) -> None:
    assert status_views.enabled(asked, cached=cached) is expected


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (pod("b", init=[("prepare", DONE), ("analyze", RUNNING), ("detect", TURN)]), "analyze"),
        (pod("b", init=[("prepare", TURN), ("analyze", TURN)]), "pending"),
        (
            pod("b", init=[("prepare", DONE), ("analyze", {"waiting": {"reason": "ImagePullBackOff"}})]),
            "analyze (ImagePullBackOff)",
        ),
        (pod("b", init=[("prepare", DONE), ("export", DONE)], main=(("completion", RUNNING),)), "completion"),
        (pod("b", init=[("rebase", RUNNING)]), "rebase"),
        (pod("b", init=[("istio-init", RUNNING), ("prepare", TURN)]), "pending"),
        ({"metadata": {}}, "pending"),
    ],
    ids=[
        "the step running",
        "every step waiting its turn: pending",
        "a step waiting for another reason says why",
        "completion running after the init steps",
        "a rebase pod's one step",
        "a container that is not a step is not shown",
        "a pod without status: pending",
    ],
)
def test_the_step_a_running_build_pod_is_at(found: dict[str, Any], expected: str) -> None:
    assert status_views.pod_step(found) == expected


def failed_at(index: int, count: int, message: str = "") -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = [DONE] * index
    states.append({"terminated": {"exitCode": 1, "message": message}})
    return states + [{"waiting": {"reason": "PodInitializing"}}] * (count - index - 1)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (failed_at(4, 7, "Container build terminated with error"), "build"),
        (failed_at(4, 7, "go: compile error"), "build"),
        (failed_at(5, 7), "export"),
        (failed_at(0, 2, "registry unreachable"), "rebase"),
        (failed_at(1, 3, "no"), "step 2"),
        ([DONE] * 7, ""),
        ([], ""),
    ],
    ids=[
        "named by its message",
        "named by its place in a build pod when the message names none",
        "export, by place",
        "a rebase pod's first step",
        "a pod of another shape: by number",
        "no step failed",
        "no step states (canceled before its pod ran)",
    ],
)
def test_the_step_a_failed_build_failed_in(states: list[dict[str, Any]], expected: str) -> None:
    assert status_views.failed_step(build(succeeded="False", states=states)) == expected


@pytest.mark.parametrize(
    ("found", "running_pod", "watched", "expected"),
    [
        (build(), None, True, "waiting for a pod"),
        (build(pod_name="app-build-2-build-pod"), None, True, "pod starting"),
        (
            build(pod_name="p"),
            pod("app-build-2", init=[("prepare", DONE), ("detect", RUNNING)]),
            True,
            "detect",
        ),
        (build(pod_name="p"), None, False, "running"),
        (build(), None, False, "waiting for a pod"),
        (build(succeeded="True"), None, True, ""),
        (build(succeeded="False", states=failed_at(2, 7)), None, True, "detect"),
    ],
    ids=[
        "running without a pod: waiting for one",
        "its pod named, not watched yet: starting",
        "its pod's running step",
        "pods not watched (no permission): running",
        "pods not watched, no pod named yet: waiting for one",
        "succeeded: no step",
        "failed: the step that failed",
    ],
)
def test_where_a_build_is(
    found: builds.Build, running_pod: dict[str, Any] | None, watched: bool, expected: str
) -> None:
    assert status_views.build_step(found, running_pod, watched=watched) == expected


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (build(), "BUILDING"),
        (build(succeeded="Unknown"), "BUILDING"),
        (build(succeeded="True"), "SUCCEEDED"),
        (build(succeeded="False"), "FAILURE"),
        (build(succeeded="False", condition_reason=builds.CANCELED_REASON), "CANCELED"),
    ],
    ids=["no condition: building", "Unknown: building", "True: succeeded", "False: failure", "canceled"],
)
def test_a_builds_outcome(found: builds.Build, expected: str) -> None:
    assert status_views.outcome(found) == expected


def test_the_page_joins_each_image_to_its_latest_build_and_its_running_pod() -> None:
    found_images = [
        image("web", latest="web-build-3"),
        image("api", latest="api-build-1", ready="True"),
        image("new"),
    ]
    found_builds = [
        build("web-build-2", image="web", number=2, succeeded="True"),
        build("web-build-3", image="web", number=3, pod_name="p"),
        build("api-build-1", image="api", number=1, reason="CONFIG", succeeded="True"),
    ]
    latest = status_views.latest_builds(found_images, found_builds)
    running_pod = pod("web-build-3", init=[("prepare", DONE), ("build", RUNNING)])

    view = status_views.status_view(
        found_images, latest=latest, failed=[], pods=[running_pod], backlog=None, synced=True, now=NOW
    )

    assert [(row["name"], row["build"]) for row in view["images"]] == [
        ("api", {"name": "api-build-1", "number": 1, "reason": "CONFIG", "outcome": "SUCCEEDED", "step": ""}),
        ("new", None),
        (
            "web",
            {"name": "web-build-3", "number": 3, "reason": "COMMIT", "outcome": "BUILDING", "step": "build"},
        ),
    ]
    assert [(row["build"], row["step"]) for row in view["running"]] == [("web-build-3", "build")]
    assert view["imagesTotal"] == 3
    assert view["backlog"] == {"known": False, "total": 0, "lanes": {}}
    assert view["generatedAt"] == "2026-12-06T12:00:00Z"


def test_without_a_watch_of_pods_a_running_build_shows_no_step() -> None:
    found_images = [image("web", latest="web-build-3")]
    latest = {("apps", "web"): build("web-build-3", image="web", number=3, pod_name="p")}

    view = status_views.status_view(
        found_images, latest=latest, failed=[], pods=None, backlog=None, synced=True, now=NOW
    )

    assert view["images"][0]["build"]["step"] == "running"
    assert [row["step"] for row in view["running"]] == ["running"]


def test_recent_failures_are_the_newest_failed_builds_first_and_at_most_the_limit() -> None:
    failed = [
        build(
            f"app-build-{n}",
            number=n,
            succeeded="False",
            message=f"Error: {n}",
            finished=f"2026-12-06T11:0{n}:00Z",
        )
        for n in range(1, 6)
    ]
    succeeded = build("app-build-6", number=6, succeeded="True")

    rows = status_views.recent_failures([*failed, succeeded], limit=3)

    assert [(row["number"], row["message"]) for row in rows] == [
        (5, "Error: 5"),
        (4, "Error: 4"),
        (3, "Error: 3"),
    ]


def test_the_storm_backlog_adds_up_its_lanes() -> None:
    assert status_views.backlog_cell({"image-reconciler-storm": 7, "build-runner-storm": 5}) == {
        "known": True,
        "total": 12,
        "lanes": {"build-runner-storm": 5, "image-reconciler-storm": 7},
    }
