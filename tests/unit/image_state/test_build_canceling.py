"""Canceling a Build (``kiln.dev/cancel``), as a truth table: what image-state does for each Build
and pod it may find."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds
from services.image_state import canceling

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
CANCEL = {builds.CANCEL_ANNOTATION: "true"}


def build(
    *, annotations: dict[str, str] | None = None, succeeded: str | None = None, reason: str | None = None
) -> builds.Build:
    status: dict[str, Any] = {}
    if succeeded is not None:
        condition = {"type": "Succeeded", "status": succeeded, "lastTransitionTime": "2024-05-06T07:00:00Z"}
        status["conditions"] = [condition | ({"reason": reason} if reason else {})]
    return builds.Build.model_validate(
        {
            "metadata": {
                "name": "app-build-2",
                "namespace": "ns",
                "generation": 1,
                "annotations": CANCEL if annotations is None else annotations,
            },
            "spec": {"tags": ["reg.io/app"]},
            "status": status,
        }
    )


def terminated(name: str, code: int = 0) -> dict[str, Any]:
    return {"name": name, "state": {"terminated": {"exitCode": code}}}


def pod(phase: str) -> dict[str, Any]:
    running = {"name": "build", "state": {"running": {"startedAt": "2024-05-06T07:08:00Z"}}}
    return {
        "metadata": {"name": "app-build-2-build-pod", "namespace": "ns", "uid": "pod-uid"},
        "status": {
            "phase": phase,
            "initContainerStatuses": [terminated("prepare"), terminated("analyze"), running],
            "containerStatuses": [{"name": "completion", "state": {"waiting": {}}}],
        },
    }


@pytest.mark.parametrize(
    ("observed", "found", "action", "delete_pod"),
    [
        (build(), pod("Pending"), "cancel", True),
        (build(), pod("Running"), "cancel", True),
        (build(succeeded="Unknown"), pod("Pending"), "cancel", True),
        (build(), None, "cancel", False),
        (build(), pod("Succeeded"), "record", False),
        (build(), pod("Failed"), "record", False),
        (build(annotations={}), pod("Running"), "nothing", False),
        (build(annotations={builds.CANCEL_ANNOTATION: "false"}), pod("Running"), "nothing", False),
        (build(succeeded="True", reason="Completed"), pod("Succeeded"), "nothing", False),
        (build(succeeded="False", reason="Failed"), pod("Failed"), "nothing", False),
        (build(succeeded="False", reason="PodGenerationFailed"), None, "nothing", False),
        (build(succeeded="False", reason=builds.CANCELED_REASON), pod("Running"), "clean up", True),
        (build(succeeded="False", reason=builds.CANCELED_REASON), None, "clean up", False),
        (build(succeeded="False", reason=builds.CANCELED_REASON), pod("Failed"), "clean up", False),
    ],
    ids=[
        "a pending build is canceled and its pod deleted",
        "a running build is canceled and its pod deleted",
        "a build whose status says Unknown is canceled",
        "a build without a pod yet is canceled and never gets one",
        "a pod that succeeded first keeps its outcome",
        "a pod that failed first keeps its outcome",
        "without the annotation nothing happens",
        "only the value true cancels",
        "a succeeded build ignores the annotation",
        "a failed build ignores the annotation",
        "a build that never got a pod ignores the annotation",
        "a canceled build whose pod still runs has its pod deleted",
        "a canceled build without a pod is only announced again",
        "a canceled build whose pod terminated keeps it",
    ],
)
def test_what_a_cancellation_does(
    observed: builds.Build, found: dict[str, Any] | None, action: str, delete_pod: bool
) -> None:
    plan = canceling.decide(observed, pod=found, now=NOW)

    assert (plan.action, plan.delete_pod) == (action, delete_pod)
    assert (plan.status is not None) == (action == "cancel")


def test_a_canceled_build_keeps_the_steps_its_pod_completed_and_names_the_annotation() -> None:
    plan = canceling.decide(build(), pod=pod("Pending"), now=NOW)

    assert plan.status is not None
    assert plan.status.dump() == {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "BuildCanceled",
                "message": "Build canceled by annotation kiln.dev/cancel",
                "lastTransitionTime": "2024-05-06T07:08:09Z",
            }
        ],
        "podName": "app-build-2-build-pod",
        "stepStates": [
            {"terminated": {"exitCode": 0, "message": "Container prepare terminated successfully"}},
            {"terminated": {"exitCode": 0, "message": "Container analyze terminated successfully"}},
            {"running": {"startedAt": "2024-05-06T07:08:00Z"}},
            {"waiting": {"message": "Container completion waiting"}},
        ],
        "stepsCompleted": ["prepare", "analyze"],
    }


def test_a_build_canceled_before_its_pod_has_no_steps_and_its_unknown_condition_moves_to_false() -> None:
    plan = canceling.decide(build(succeeded="Unknown"), pod=None, now=NOW)

    assert plan.status is not None
    assert plan.status.dump() == {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "BuildCanceled",
                "message": "Build canceled by annotation kiln.dev/cancel",
                "lastTransitionTime": "2024-05-06T07:08:09Z",
            }
        ],
    }
