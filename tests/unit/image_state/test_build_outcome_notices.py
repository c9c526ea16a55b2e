"""What image-state tells and counts once it records a Build's outcome, as a truth table: the Events
(succeeded with its image digest, failed naming the step, canceled, the cache digest pinned) and
the outcome, queue wait, run time and cache it counts."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builds
from services.image_state import outcomes

DIGEST = "sha256:" + "c" * 64
CACHE = f"reg.io/app-cache@{DIGEST}"
IMAGE_DIGEST = "reg.io/app@sha256:" + "d" * 64


def build(*, cache: str = "", last_cache: str = "") -> builds.Build:
    spec: dict[str, Any] = {"tags": ["reg.io/app"]}
    if cache == "registry":
        spec["cache"] = {"registry": {"tag": "reg.io/app-cache"}}
    elif cache == "volume":
        spec["cache"] = {"volume": {"persistentVolumeClaimName": "app-cache"}}
    if last_cache or cache == "volume":
        spec["lastBuild"] = {"image": "reg.io/app@sha256:" + "e" * 64, "cache": {"image": last_cache}}
    owner = {"apiVersion": "kpack.io/v1alpha2", "kind": "Image", "name": "app", "uid": "image-uid"}
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": "app-build-7",
                "namespace": "ns",
                "uid": "build-uid",
                "creationTimestamp": "2026-12-06T17:00:00Z",
                "labels": {builds.IMAGE_LABEL: "app", builds.BUILD_NUMBER_LABEL: "7"},
                "ownerReferences": [owner],
            },
            "spec": spec,
            "status": {"conditions": [{"type": "Succeeded", "status": "Unknown"}]},
        }
    )


def step(name: str, *, code: int = 0, start: str = "17:00:05", end: str = "17:00:20") -> dict[str, Any]:
    times = {"startedAt": f"2026-12-06T{start}Z", "finishedAt": f"2026-12-06T{end}Z"}
    return {"name": name, "state": {"terminated": {"exitCode": code, **times}}}


def pod(*, failing: str = "") -> dict[str, Any]:
    steps = [
        step("prepare", start="17:00:05", end="17:00:06"),
        step("export", code=1 if failing else 0, end="17:01:05"),
    ]
    completion = step("completion", start="17:01:05", end="17:01:10")
    return {
        "metadata": {"name": "app-build-7-build-pod"},
        "status": {
            "phase": "Failed" if failing else "Succeeded",
            "startTime": "2026-12-06T17:00:04Z",
            "initContainerStatuses": steps,
            "containerStatuses": [] if failing else [completion],
        },
    }


def status(value: str, *, reason: str = "", message: str = "", cache_image: str = "") -> builds.BuildStatus:
    condition = {"type": "Succeeded", "status": value, "lastTransitionTime": "2026-12-06T17:02:00Z"}
    condition |= {"reason": reason} if reason else {}
    condition |= {"message": message} if message else {}
    given: dict[str, Any] = {"conditions": [condition], "latestImage": IMAGE_DIGEST}
    if cache_image:
        given["latestCacheImage"] = cache_image
    return builds.BuildStatus.model_validate(given)


@pytest.mark.parametrize(
    ("observed", "recorded", "found_pod", "outcome", "events"),
    [
        pytest.param(
            build(),
            status("True", reason="Completed"),
            pod(),
            "succeeded",
            [("Build", "BuildSucceeded", "Normal", f"Build succeeded: {IMAGE_DIGEST}")],
            id="a build that succeeded tells its image digest",
        ),
        pytest.param(
            build(),
            status("False", reason="Failed", message="Error: exit status 1 in export"),
            pod(failing="export"),
            "failed",
            [
                (
                    "Build",
                    "BuildFailed",
                    "Warning",
                    "Build failed in step export: Error: exit status 1 in export",
                )
            ],
            id="a build that failed is a warning naming the step",
        ),
        pytest.param(
            build(),
            status("False", reason=builds.CANCELED_REASON, message="canceled by a user"),
            None,
            "canceled",
            [("Build", "BuildCanceled", "Normal", "Build canceled")],
            id="a canceled build says so",
        ),
        pytest.param(
            build(cache="registry"),
            status("True", reason="Completed", cache_image=CACHE),
            pod(),
            "succeeded",
            [
                ("Build", "BuildSucceeded", "Normal", f"Build succeeded: {IMAGE_DIGEST}"),
                ("Image", "CacheDigestPinned", "Normal", f"Cache digest pinned: {DIGEST} (build 7)"),
            ],
            id="a registry cache's digest pinned is told on the Image",
        ),
        pytest.param(
            build(cache="registry"),
            status("False", reason="Failed", message="boom"),
            pod(failing="export"),
            "failed",
            [("Build", "BuildFailed", "Warning", "Build failed in step export: boom")],
            id="a failed build pins no cache",
        ),
    ],
)
def test_an_outcome_is_told_as_events(
    observed: builds.Build,
    recorded: builds.BuildStatus,
    found_pod: dict[str, Any] | None,
    outcome: str,
    events: list[tuple[str, str, str, str]],
) -> None:
    found = outcomes.finished(observed, recorded, pod=found_pod)

    assert found is not None
    assert found.outcome == outcome
    assert [(n.regarding.kind, n.reason, n.type, n.note) for n in found.notices] == events
    assert all(n.regarding.uid for n in found.notices)


def test_a_build_still_running_tells_and_counts_nothing() -> None:
    assert outcomes.finished(build(), status("Unknown"), pod=pod()) is None


def test_queue_wait_runs_from_creation_to_the_pod_start_and_run_time_to_the_last_step() -> None:
    found = outcomes.finished(build(), status("True", reason="Completed"), pod=pod())

    assert found is not None
    assert (found.queue_seconds, found.run_seconds) == (4.0, 66.0)


def test_a_build_that_never_started_has_no_times() -> None:
    found = outcomes.finished(build(), status("False", reason=builds.CANCELED_REASON), pod=None)

    assert found is not None
    assert (found.queue_seconds, found.run_seconds) == (None, None)


@pytest.mark.parametrize(
    ("observed", "cache", "restored"),
    [
        pytest.param(build(), "", False, id="no cache"),
        pytest.param(
            build(cache="registry"), "registry", False, id="a first registry cache build restores nothing"
        ),
        pytest.param(
            build(cache="registry", last_cache=CACHE),
            "registry",
            True,
            id="a pinned cache is handed to restore",
        ),
        pytest.param(build(cache="volume"), "volume", True, id="a volume a previous build ran on"),
    ],
)
def test_the_cache_handed_to_restore_is_counted(observed: builds.Build, cache: str, restored: bool) -> None:
    found = outcomes.finished(observed, status("True", reason="Completed"), pod=pod())

    assert found is not None
    assert (found.cache, found.cache_restored) == (cache, restored)


def test_a_pod_too_malformed_to_read_still_tells_the_outcome_without_times_or_step() -> None:
    malformed = {"metadata": {"name": "p"}, "status": {"initContainerStatuses": "not a list"}}

    found = outcomes.finished(build(), status("False", reason="Failed", message="boom"), pod=malformed)

    assert found is not None
    assert (found.outcome, found.queue_seconds, found.run_seconds) == ("failed", None, None)
    assert [n.note for n in found.notices] == ["Build failed: boom"]
