"""The status a Build gets when its pod is created (spec §5.2 and 5.3, checklist item 41)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds
from services.build_runner import started

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
EARLIER = "2024-05-06T07:00:00Z"
POD = "build-name-build-pod"


def build(**status: Any) -> builds.Build:
    """A Build at generation 3 with ``status``."""
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {"name": "build-name", "namespace": "some-namespace", "generation": 3},
            "spec": {
                "tags": ["someimage/name"],
                "builder": {"image": "builderregistry.io/builder:tag"},
                "source": {"git": {"url": "giturl.com/git.git", "revision": "gitrev1234"}},
            },
            "status": status,
        }
    )


def unknown(**fields: str) -> dict[str, str]:
    return {"type": "Succeeded", "status": "Unknown", **fields}


def test_a_new_build_gets_its_pod_name_its_generation_and_succeeded_unknown_stamped_now() -> None:
    status = started.running_status(build(), pod_name=POD, now=NOW)

    assert status is not None
    assert status.dump() == {
        "observedGeneration": 3,
        "podName": POD,
        "conditions": [unknown(lastTransitionTime="2024-05-06T07:08:09Z")],
    }


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "Succeeded", "status": "True", "reason": "Completed"},
        {"type": "Succeeded", "status": "False", "reason": "Failed", "message": "boom"},
        {"type": "Succeeded", "status": "False", "reason": "BuildCanceled"},
    ],
    ids=[
        "a succeeded build is never changed",
        "a failed build is never changed",
        "a canceled build is never changed",
    ],
)
def test_a_finished_build_gets_nothing_written(condition: dict[str, str]) -> None:
    finished = build(conditions=[condition], podName=POD, observedGeneration=3)

    assert started.running_status(finished, pod_name=POD, now=NOW) is None


def test_a_build_already_running_in_that_pod_at_its_generation_gets_nothing_written() -> None:
    running = build(conditions=[unknown(lastTransitionTime=EARLIER)], podName=POD, observedGeneration=3)

    assert started.running_status(running, pod_name=POD, now=NOW) is None


@pytest.mark.parametrize(
    "status",
    [
        {
            "conditions": [unknown(lastTransitionTime=EARLIER)],
            "podName": "another-pod",
            "observedGeneration": 3,
        },
        {"conditions": [unknown(lastTransitionTime=EARLIER)], "observedGeneration": 3},
        {"conditions": [unknown(lastTransitionTime=EARLIER)], "podName": POD, "observedGeneration": 2},
    ],
    ids=[
        "a build running in another pod is told its new pod",
        "a build running without a pod name gets it",
        "a build running at an older generation gets its generation",
    ],
)
def test_a_running_build_whose_status_misses_something_keeps_its_transition_time(
    status: dict[str, Any],
) -> None:
    written = started.running_status(build(**status), pod_name=POD, now=NOW)

    assert written is not None
    assert written.dump() == {
        "observedGeneration": 3,
        "podName": POD,
        "conditions": [unknown(lastTransitionTime=EARLIER)],
    }


def test_the_rest_of_the_status_is_kept_and_another_condition_is_replaced() -> None:
    earlier = build(
        conditions=[{"type": "Ready", "status": "True"}],
        stepsCompleted=[],
        latestImage="kept",
    )

    status = started.running_status(earlier, pod_name=POD, now=NOW)

    assert status is not None
    assert status.dump() == {
        "observedGeneration": 3,
        "podName": POD,
        "latestImage": "kept",
        "stepsCompleted": [],
        "conditions": [unknown(lastTransitionTime="2024-05-06T07:08:09Z")],
    }
