"""What the status commands show, made from Images and Builds: rows, the changes diff, step timings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds, images
from services.cli import status_views

NOW = datetime(2024, 5, 6, 7, 10, 0, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64
CACHE_DIGEST = "sha256:" + "c" * 64
COMMIT_1, COMMIT_2 = "1" * 40, "2" * 40


def image(*, cache: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> images.Image:
    spec: dict[str, Any] = {
        "tag": "reg/app",
        "source": {"git": {"url": "https://git.example/app", "revision": "main"}},
    }
    if cache is not None:
        spec["cache"] = cache
    return images.Image.model_validate(
        {"metadata": {"name": "app", "namespace": "ns"}, "spec": spec, "status": status or {}}
    )


def build(
    number: int,
    *,
    succeeded: str | None = "True",
    reason: str = "Completed",
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
) -> builds.Build:
    conditions = []
    if succeeded is not None:
        conditions = [
            {
                "type": "Succeeded",
                "status": succeeded,
                "reason": reason,
                "lastTransitionTime": "2024-05-06T07:01:30Z",
            }
        ]
    return builds.Build.model_validate(
        {
            "metadata": {
                "name": f"app-build-{number}",
                "namespace": "ns",
                "creationTimestamp": "2024-05-06T07:00:00Z",
                "labels": {builds.IMAGE_LABEL: "app", builds.BUILD_NUMBER_LABEL: str(number)},
                "annotations": annotations or {},
            },
            "spec": {
                "builder": {"image": "reg/builder@" + DIGEST},
                "source": {"git": {"url": "https://git.example/app", "revision": COMMIT_2}},
            },
            "status": {"conditions": conditions} | (status or {}),
        }
    )


@pytest.mark.parametrize(
    ("cache", "kind"),
    [
        pytest.param(
            {"registry": {"tag": "reg/app-cache"}}, "registry", id="a registry tag is a registry cache"
        ),
        pytest.param({"volume": {"size": "2G"}}, "volume", id="a sized volume is a volume cache"),
        pytest.param({"registry": {"tag": ""}}, "none", id="an empty registry tag is no cache"),
        pytest.param(None, "none", id="no cache asked for is none"),
    ],
)
def test_the_cache_kind_is_what_the_image_asks_for(cache: dict[str, Any] | None, kind: str) -> None:
    assert status_views.cache_kind(image(cache=cache)) == kind


def test_an_image_row_shows_readiness_the_newest_build_and_the_cache() -> None:
    found = image(
        cache={"registry": {"tag": "reg/app-cache"}},
        status={
            "conditions": [{"type": "Ready", "status": "True", "reason": "UpToDate"}],
            "latestBuildRef": "app-build-2",
            "latestBuildReason": "COMMIT",
            "latestImage": f"reg/app@{DIGEST}",
        },
    )

    assert status_views.image_row(found) == {
        "name": "app",
        "namespace": "ns",
        "ready": "True",
        "latestBuild": "app-build-2",
        "latestBuildReason": "COMMIT",
        "latestImage": f"reg/app@{DIGEST}",
        "cache": "registry",
    }


def test_an_image_without_a_ready_condition_is_unknown() -> None:
    assert status_views.image_row(image())["ready"] == "Unknown"


@pytest.mark.parametrize(
    ("image_status", "expected"),
    [
        pytest.param(
            {"latestCacheImage": f"reg/app-cache@{CACHE_DIGEST}", "latestCacheBuildNumber": 1},
            (f"reg/app-cache@{CACHE_DIGEST}", 1),
            id="the image's recorded cache image comes first",
        ),
        pytest.param(
            {},
            ("reg/app-cache@sha256:two", 2),
            id="else the newest successful build's cache image",
        ),
    ],
)
def test_the_pinned_cache_is_the_image_s_else_the_newest_successful_build_s(
    image_status: dict[str, Any], expected: tuple[str, int]
) -> None:
    found = [
        build(1, status={"latestCacheImage": "reg/app-cache@sha256:one"}),
        build(2, status={"latestCacheImage": "reg/app-cache@sha256:two"}),
        build(3, succeeded="False", reason="Failed"),
    ]
    assert status_views.pinned_cache(image(status=image_status), found) == expected


def test_no_cache_image_pins_nothing() -> None:
    assert status_views.pinned_cache(image(), [build(1)]) == (None, None)


def test_image_status_carries_the_pinned_digest_conditions_and_the_built_commit() -> None:
    found = image(
        cache={"registry": {"tag": "reg/app-cache"}},
        status={
            "conditions": [{"type": "Ready", "status": "True", "reason": "UpToDate"}],
            "latestBuildReason": "CONFIG,COMMIT",
            "latestCacheImage": f"reg/app-cache@{CACHE_DIGEST}",
            "latestCacheBuildNumber": 2,
        },
    )

    view = status_views.image_status(found, [build(1), build(2)])

    assert view["cache"] == {
        "kind": "registry",
        "tag": "reg/app-cache",
        "image": f"reg/app-cache@{CACHE_DIGEST}",
        "digest": CACHE_DIGEST,
        "buildNumber": 2,
    }
    assert view["latestBuildReasons"] == ["CONFIG", "COMMIT"]
    assert view["conditions"] == [{"type": "Ready", "status": "True", "reason": "UpToDate", "message": ""}]
    assert view["source"] == {"type": "git", "url": "https://git.example/app", "revision": COMMIT_2}


def test_image_status_without_builds_shows_the_source_the_image_asks_for() -> None:
    assert status_views.image_status(image(), [])["source"]["revision"] == "main"


@pytest.mark.parametrize(
    ("succeeded", "reason", "state"),
    [
        pytest.param("True", "Completed", "SUCCEEDED", id="succeeded true is SUCCEEDED"),
        pytest.param("False", "Failed", "FAILURE", id="succeeded false is FAILURE"),
        pytest.param("False", builds.CANCELED_REASON, "CANCELED", id="canceled is CANCELED"),
        pytest.param("Unknown", "", "BUILDING", id="succeeded unknown is BUILDING"),
        pytest.param(None, "", "BUILDING", id="no succeeded condition is BUILDING"),
    ],
)
def test_a_build_s_state_is_read_from_its_succeeded_condition(
    succeeded: str | None, reason: str, state: str
) -> None:
    assert status_views.build_state(build(1, succeeded=succeeded, reason=reason)) == state


def test_a_finished_build_row_lasts_until_its_condition_turned() -> None:
    found = build(
        2,
        annotations={builds.REASON_ANNOTATION: "COMMIT"},
        status={"latestImage": f"reg/app@{DIGEST}"},
    )

    assert status_views.build_row(found, now=NOW) == {
        "buildNumber": 2,
        "name": "app-build-2",
        "image": "app",
        "status": "SUCCEEDED",
        "reason": "COMMIT",
        "imageDigest": DIGEST,
        "started": "2024-05-06T07:00:00Z",
        "duration": "1m30s",
    }


def test_a_running_build_row_lasts_until_now() -> None:
    assert status_views.build_row(build(1, succeeded=None), now=NOW)["duration"] == "10m00s"


def test_builds_are_ordered_by_number_and_the_newest_is_the_highest() -> None:
    found = [build(10), build(2), build(1)]
    assert [b.build_number() for b in status_views.ordered_builds(found)] == [1, 2, 10]
    newest = status_views.newest_build(found)
    assert newest is not None
    assert newest.build_number() == 10
    assert status_views.newest_build([]) is None


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        pytest.param(
            json.dumps([{"reason": "COMMIT", "old": COMMIT_1, "new": COMMIT_2}]),
            [{"reason": "COMMIT", "old": COMMIT_1, "new": COMMIT_2}],
            id="kpack's list of reason old new is read",
        ),
        pytest.param("", [], id="no annotation is no changes"),
        pytest.param("not json", [], id="an unreadable annotation is no changes"),
        pytest.param('{"reason": "COMMIT"}', [], id="an object instead of a list is no changes"),
    ],
)
def test_the_changes_annotation_is_read(annotation: str, expected: list[dict[str, Any]]) -> None:
    assert status_views.changes(annotation) == expected


def test_a_scalar_change_reads_as_old_and_new_lines() -> None:
    found = [{"reason": "COMMIT", "old": COMMIT_1, "new": COMMIT_2}]
    assert status_views.changes_diff(found) == ["COMMIT:", f"  - {COMMIT_1}", f"  + {COMMIT_2}"]


def test_an_object_change_reads_as_a_line_diff_with_context() -> None:
    found = [
        {
            "reason": "CONFIG",
            "old": {"env": [{"name": "A", "value": "1"}], "source": {"subPath": ""}},
            "new": {"env": [{"name": "A", "value": "2"}], "source": {"subPath": ""}},
        }
    ]

    lines = status_views.changes_diff(found)

    assert lines[0] == "CONFIG:"
    assert '  -      "value": "1"' in lines
    assert '  +      "value": "2"' in lines
    assert '         "name": "A",' in lines
    assert not any(line.startswith(("  ---", "  +++", "  @@")) for line in lines)


def test_a_first_config_change_shows_the_new_config_added() -> None:
    lines = status_views.changes_diff([{"reason": "CONFIG", "old": None, "new": {"a": 1}}])
    assert lines == ["CONFIG:", "  +{", '  +  "a": 1', "  +}"]


def test_each_step_s_duration_comes_from_its_start_and_finish() -> None:
    states: list[dict[str, Any]] = [
        {
            "terminated": {
                "exitCode": 0,
                "startedAt": "2024-05-06T07:00:00Z",
                "finishedAt": "2024-05-06T07:00:02Z",
                "message": "Container prepare terminated successfully",
            }
        },
        {
            "terminated": {
                "exitCode": 0,
                "startedAt": "2024-05-06T07:00:02Z",
                "finishedAt": "2024-05-06T07:01:05Z",
            }
        },
        {"running": {"startedAt": "2024-05-06T07:01:05Z"}},
        {"waiting": {"reason": "PodInitializing"}},
    ]

    timings = status_views.step_timings(states, completed=["prepare", "analyze"])

    assert [(t["step"], t["state"], t["duration"], t["seconds"]) for t in timings] == [
        ("prepare", "terminated", "2.0s", 2.0),
        ("analyze", "terminated", "1m03s", 63.0),
        ("step 3", "running", "", None),
        ("step 4", "waiting", "", None),
    ]
    assert timings[0]["exitCode"] == 0


def test_build_status_shows_reasons_changes_pod_steps_builder_run_image_and_buildpacks() -> None:
    found = build(
        2,
        annotations={
            builds.REASON_ANNOTATION: "COMMIT",
            builds.CHANGES_ANNOTATION: json.dumps([{"reason": "COMMIT", "old": COMMIT_1, "new": COMMIT_2}]),
        },
        status={
            "podName": "app-build-2-build-pod",
            "stack": {"runImage": f"reg/run@{DIGEST}", "id": "io.buildpacks.stacks.jammy"},
            "buildMetadata": [{"id": "paketo-buildpacks/go", "version": "4.13.0"}],
            "stepStates": [
                {
                    "terminated": {
                        "exitCode": 0,
                        "startedAt": "2024-05-06T07:00:00Z",
                        "finishedAt": "2024-05-06T07:00:01Z",
                        "message": "Container prepare terminated successfully",
                    }
                }
            ],
        },
    )

    view = status_views.build_status(found, now=NOW)

    assert view["reasons"] == ["COMMIT"]
    assert view["changes"] == [{"reason": "COMMIT", "old": COMMIT_1, "new": COMMIT_2}]
    assert view["podName"] == "app-build-2-build-pod"
    assert [(s["step"], s["duration"]) for s in view["steps"]] == [("prepare", "1.0s")]
    assert view["builder"] == f"reg/builder@{DIGEST}"
    assert view["runImage"] == f"reg/run@{DIGEST}"
    assert view["buildpacks"] == [{"id": "paketo-buildpacks/go", "version": "4.13.0"}]
    assert view["status"] == "SUCCEEDED"
    json.dumps(view)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        pytest.param(0.25, "0.2s", id="under a minute in tenths of a second"),
        pytest.param(125, "2m05s", id="minutes and seconds"),
        pytest.param(3 * 3600 + 120, "3h02m", id="hours and minutes"),
    ],
)
def test_durations_read_at_a_glance(seconds: float, shown: str) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = datetime.fromtimestamp(start.timestamp() + seconds, tz=UTC)
    assert status_views.duration(start, end) == shown


def test_an_unknown_end_has_no_duration_and_a_reference_without_digest_none() -> None:
    assert status_views.duration(None, NOW) == ""
    assert status_views.digest_of("reg/app:latest") == ""
    assert status_views.digest_of(f"reg/app@{DIGEST}") == DIGEST
