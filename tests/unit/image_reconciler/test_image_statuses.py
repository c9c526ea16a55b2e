"""Image status and conditions for every reconcile outcome (spec §4.1, §4.4, §4.6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import image_fixtures as fx
import pytest

from contracts import builders, builds, images
from services.image_reconciler import statuses

T = fx.NOW_TEXT
BUILDER_READY = {"type": "BuilderReady", "status": "True", "reason": "BuilderReady", "lastTransitionTime": T}
BUILDER_UP_TO_DATE = {
    "type": "BuilderUpToDate",
    "status": "True",
    "reason": "BuilderUpToDate",
    "lastTransitionTime": T,
}
NOT_UP_TO_DATE = "Builder is not up to date. The latest stack and buildpacks may not be in use."
NOT_READY_MESSAGE = "Error: Builder 'some-builder' is not ready in namespace 'some-namespace'"


def ready(status: str, reason: str, message: str | None = None) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        **({"message": message} if message else {}),
        "lastTransitionTime": T,
    }


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        pytest.param(fx.builder(), [BUILDER_READY, BUILDER_UP_TO_DATE], id="a ready, up-to-date builder"),
        pytest.param(
            fx.builder(ready=False, up_to_date=False),
            [
                {
                    "type": "BuilderReady",
                    "status": "False",
                    "reason": "BuilderNotReady",
                    "message": NOT_READY_MESSAGE,
                    "lastTransitionTime": T,
                },
                {
                    "type": "BuilderUpToDate",
                    "status": "False",
                    "reason": "BuilderNotUpToDate",
                    "message": NOT_UP_TO_DATE,
                    "lastTransitionTime": T,
                },
            ],
            id="a builder neither ready nor up to date",
        ),
        pytest.param(
            fx.builder(ready=False, ready_message="stack missing"),
            [
                {
                    "type": "BuilderReady",
                    "status": "False",
                    "reason": "BuilderNotReady",
                    "message": f"{NOT_READY_MESSAGE}; Message: stack missing",
                    "lastTransitionTime": T,
                },
                BUILDER_UP_TO_DATE,
            ],
            id="the builder's Ready message is appended",
        ),
    ],
)
def test_builder_conditions_while_a_build_runs(
    builder: builders.Builder, expected: list[dict[str, Any]]
) -> None:
    status = statuses.build_running(
        fx.image(), build=fx.build(2, succeeded=None), builder=builder, now=fx.NOW
    )
    assert status.dump()["conditions"][1:] == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            fx.build(2, succeeded=None),
            ready("Unknown", "BuildRunning", "Build 'image-name-build-2' is executing"),
            id="a build without a Succeeded condition is executing",
        ),
        pytest.param(
            fx.build(2, succeeded="Unknown", message="step analyze waiting"),
            ready("Unknown", "BuildRunning", "step analyze waiting"),
            id="a running build's own message is shown",
        ),
        pytest.param(
            fx.build(2, succeeded="Unknown"),
            ready("Unknown", "BuildRunning"),
            id="a running build's empty message stays empty",
        ),
    ],
)
def test_build_running_changes_only_the_conditions(build: builds.Build, expected: dict[str, Any]) -> None:
    previous = {
        "latestBuildRef": "image-name-build-1",
        "buildCounter": 1,
        "buildCacheName": "image-name-cache",
    }
    status = statuses.build_running(fx.image(status=previous), build=build, builder=fx.builder(), now=fx.NOW)
    assert status.dump() == {
        **previous,
        "observedGeneration": 1,
        "conditions": [expected, BUILDER_READY, BUILDER_UP_TO_DATE],
    }


def test_builder_not_found_changes_only_the_conditions() -> None:
    image = fx.image(
        {"builder": {"kind": "ClusterBuilder", "name": "gone", "namespace": "ns"}},
        status={"latestImage": "L", "conditions": [{"type": "BuilderReady", "status": "True"}]},
        generation=4,
    )
    assert statuses.builder_not_found(image, now=fx.NOW).dump() == {
        "latestImage": "L",
        "observedGeneration": 4,
        "conditions": [
            ready("False", "BuilderNotFound", "Error: Unable to find builder 'gone' in namespace 'ns'.")
        ],
    }


def no_build(**kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "required": "False",
        "builder": fx.builder(),
        "resolver_ready": True,
        "latest_build": fx.build(3),
        "counter": 3,
        "cache_name": "",
    }
    args.update(kwargs)
    image = args.pop("image", fx.image(status={"latestImage": "previous", "latestStack": "old"}))
    return statuses.no_build_scheduled(image, now=fx.NOW, **args).dump()


BUILT_3 = f"index.docker.io/some/image@sha256:{'9' * 63}3"
FAILED_3 = fx.build(3, succeeded="False", message="exit 1")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {},
            {
                "conditions": [ready("True", "UpToDate"), BUILDER_READY, BUILDER_UP_TO_DATE],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestBuildImageGeneration": 1,
                "latestImage": BUILT_3,
                "latestStack": fx.STACK_ID,
                "buildCounter": 3,
            },
            id="up to date after a success: the build's image and stack, no cache name",
        ),
        pytest.param(
            {"latest_build": fx.build(3, message="Build successful"), "cache_name": "image-name-cache"},
            {
                "conditions": [
                    ready("True", "UpToDate", "Build successful"),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestBuildImageGeneration": 1,
                "latestImage": BUILT_3,
                "latestStack": fx.STACK_ID,
                "buildCounter": 3,
                "buildCacheName": "image-name-cache",
            },
            id="up to date shows the build's own message and the cache name",
        ),
        pytest.param(
            {"latest_build": FAILED_3},
            {
                "conditions": [
                    ready(
                        "False",
                        "BuildFailed",
                        "Error: Build 'image-name-build-3' in namespace 'some-namespace' failed: exit 1",
                    ),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestBuildImageGeneration": 1,
                "latestImage": "previous",
                "buildCounter": 3,
            },
            id="a failed build keeps the previous image and clears the stack",
        ),
        pytest.param(
            {"latest_build": fx.build(3, succeeded="False", labels={"image.kpack.io/imageGeneration": "x"})},
            {
                "conditions": [
                    ready(
                        "False",
                        "BuildFailed",
                        "Error: Build 'image-name-build-3' in namespace 'some-namespace' failed: ",
                    ),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestImage": "previous",
                "buildCounter": 3,
            },
            id="a failure without a message ends with an empty detail and a bad generation label counts 0",
        ),
        pytest.param(
            {"required": "Unknown", "resolver_ready": False, "latest_build": None, "counter": 0},
            {
                "conditions": [
                    ready(
                        "Unknown",
                        "ResolverNotReady",
                        "Error: SourceResolver 'image-name-source' is not ready",
                    ),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestImage": "previous",
            },
            id="a resolver that is not ready and no builds",
        ),
        pytest.param(
            {"required": "Unknown"},
            {
                "conditions": [
                    ready("Unknown", "UnknownState", "Error: Build status unknown"),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestBuildImageGeneration": 1,
                "latestImage": BUILT_3,
                "latestStack": fx.STACK_ID,
                "buildCounter": 3,
            },
            id="Unknown with everything ready is an unknown state",
        ),
        pytest.param(
            {"required": "Unknown", "builder": fx.builder(ready=False), "resolver_ready": False},
            {
                "conditions": [
                    ready("False", "BuilderNotReady", NOT_READY_MESSAGE),
                    {
                        **BUILDER_READY,
                        "status": "False",
                        "reason": "BuilderNotReady",
                        "message": NOT_READY_MESSAGE,
                    },
                    BUILDER_UP_TO_DATE,
                ],
                "latestBuildRef": "image-name-build-3",
                "latestBuildReason": "CONFIG",
                "latestBuildImageGeneration": 1,
                "latestImage": BUILT_3,
                "latestStack": fx.STACK_ID,
                "buildCounter": 3,
            },
            id="a builder that is not ready wins over a resolver that is not ready",
        ),
        pytest.param(
            {"latest_build": None, "counter": 0},
            {
                "conditions": [
                    ready(
                        "Unknown",
                        "BuildFailed",
                        "Error: Build '' in namespace 'some-namespace' failed: unknown error",
                    ),
                    BUILDER_READY,
                    BUILDER_UP_TO_DATE,
                ],
                "latestImage": "previous",
            },
            id="no change and no build (an empty resolved source) is an unknown failure",
        ),
    ],
)
def test_no_build_scheduled(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert no_build(**kwargs) == {"observedGeneration": 1, **expected}


@pytest.mark.parametrize(
    ("previous", "expected_time"),
    [
        pytest.param(
            [{"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}],
            "2020-01-01T00:00:00Z",
            id="an unchanged condition status keeps its lastTransitionTime",
        ),
        pytest.param(
            [{"type": "Ready", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z"}],
            T,
            id="a changed condition status is stamped now",
        ),
        pytest.param(
            [{"type": "Ready", "status": "True"}],
            T,
            id="an unchanged condition without a time is stamped now",
        ),
    ],
)
def test_last_transition_time(previous: list[dict[str, Any]], expected_time: str) -> None:
    image = fx.image(status={"conditions": previous})
    conditions = no_build(image=image)["conditions"]
    assert conditions[0]["lastTransitionTime"] == expected_time


def test_an_image_without_generation_keeps_its_observed_generation() -> None:
    image = fx.image(status={"observedGeneration": 5}, generation=0)
    assert statuses.builder_not_found(image, now=fx.NOW).observed_generation == 5


def test_an_invalid_spec_is_ready_false_with_the_message_and_keeps_an_unchanged_transition_time() -> None:
    image = images.Image.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns", "generation": 3},
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "Other",
                        "lastTransitionTime": "2020-01-01T00:00:00Z",
                    }
                ]
            },
        }
    )

    status = statuses.invalid_spec(image, message="bad: spec.tag", now=datetime(2026, 1, 1, tzinfo=UTC))

    assert status.dump() == {
        "observedGeneration": 3,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "InvalidSpec",
                "message": "bad: spec.tag",
                "lastTransitionTime": "2020-01-01T00:00:00Z",
            }
        ],
    }


def _raw_image(*, generation: Any = 3, status: Any = None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "metadata": {"name": "app", "namespace": "ns", "resourceVersion": "41", "generation": generation},
        "spec": {"imageTaggingStrategy": "buildNumber"},
    }
    if status is not None:
        raw["status"] = status
    return raw


UNPARSEABLE = (
    "invalid value: buildNumber: spec.imageTaggingStrategy\nmust be one of 'None', 'BuildNumber' or ''"
)
LATER = datetime(2026, 1, 1, tzinfo=UTC)


def _invalid_ready(time: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "False",
        "reason": "InvalidSpec",
        "message": UNPARSEABLE,
        "lastTransitionTime": time,
    }


@pytest.mark.parametrize(
    ("raw", "expected_status"),
    [
        pytest.param(
            _raw_image(),
            {"conditions": [_invalid_ready("2026-01-01T00:00:00Z")], "observedGeneration": 3},
            id="an image without status gets Ready False naming the field, for its generation",
        ),
        pytest.param(
            _raw_image(
                status={
                    "latestImage": "kept",
                    "conditions": [
                        "not a condition",
                        {"type": "Ready", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z"},
                        {"type": "BuilderReady", "status": "True"},
                    ],
                }
            ),
            {"conditions": [_invalid_ready("2020-01-01T00:00:00Z")], "observedGeneration": 3},
            id="an image already not ready keeps its transition time and only its conditions are replaced",
        ),
        pytest.param(
            _raw_image(status={"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": 7}]}),
            {"conditions": [_invalid_ready("2026-01-01T00:00:00Z")], "observedGeneration": 3},
            id="an image that was ready transitions now",
        ),
        pytest.param(
            _raw_image(generation="3", status={"conditions": "broken"}),
            {"conditions": [_invalid_ready("2026-01-01T00:00:00Z")]},
            id="a status or generation of the wrong type is not read",
        ),
    ],
)
def test_an_unparseable_image_gets_a_status_merge_patch_conditional_on_its_version(
    raw: dict[str, Any], expected_status: dict[str, Any]
) -> None:
    patch = statuses.unparseable(raw, message=UNPARSEABLE, now=LATER)

    assert patch == {"metadata": {"resourceVersion": "41"}, "status": expected_status}


def test_an_unparseable_image_already_saying_so_needs_no_write() -> None:
    written = {"conditions": [_invalid_ready("2020-01-01T00:00:00Z")], "observedGeneration": 3}

    assert statuses.unparseable(_raw_image(status=written), message=UNPARSEABLE, now=LATER) is None
