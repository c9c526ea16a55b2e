"""What ``kiln logs`` decides and prints, as truth tables: which Build a name means, the steps of a
build pod in order and which have started, the header above a step, how a Build ended."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builds
from services.cli import log_views


def build(
    name: str, number: int | None, *, succeeded: str | None = None, reason: str = "", message: str = ""
) -> builds.Build:
    labels = {builds.IMAGE_LABEL: "app"} | ({builds.BUILD_NUMBER_LABEL: str(number)} if number else {})
    status: dict[str, Any] = {}
    if succeeded is not None:
        status["conditions"] = [
            {"type": "Succeeded", "status": succeeded, "reason": reason, "message": message}
        ]
        status["latestImage"] = "registry.example/app@sha256:1" if succeeded == "True" else None
    return builds.Build.model_validate(
        {"metadata": {"name": name, "namespace": "ns", "labels": labels}, "status": status}
    )


ONE, TWO, TEN = build("app-build-1", 1), build("app-build-2", 2), build("app-build-10", 10)


@pytest.mark.parametrize(
    ("image_builds", "named", "number", "chosen", "problem"),
    [
        ([ONE, TEN, TWO], None, None, "app-build-10", ""),
        ([ONE, TWO], None, 1, "app-build-1", ""),
        ([ONE, TWO], None, 7, None, 'Image "app" in namespace "ns" has no build 7 (its builds: 1, 2)'),
        ([], ONE, None, "app-build-1", ""),
        ([], None, 3, None, 'no builds found for Image "app" in namespace "ns"'),
        ([], None, None, None, 'no Image with builds and no Build named "app" in namespace "ns"'),
    ],
    ids=[
        "an Image means its highest build number, not the newest name",
        "--build picks that number",
        "a number the Image has not is refused listing its numbers",
        "a name that is no Image's is a Build's",
        "--build of a name with no builds is refused",
        "neither an Image with builds nor a Build is refused naming both",
    ],
)
def test_which_build_a_name_means(
    image_builds: list[builds.Build],
    named: builds.Build | None,
    number: int | None,
    chosen: str | None,
    problem: str,
) -> None:
    picked = log_views.pick("app", namespace="ns", image_builds=image_builds, named=named, number=number)

    assert (picked.build.name if picked.build else None, picked.problem) == (chosen, problem)


POD = {
    "spec": {
        "initContainers": [{"name": "prepare"}, {"name": "analyze"}, {"name": "build"}],
        "containers": [{"name": "completion"}],
    },
    "status": {
        "phase": "Pending",
        "initContainerStatuses": [
            {"name": "prepare", "state": {"terminated": {"exitCode": 0}}},
            {"name": "analyze", "state": {"running": {}}},
            {"name": "build", "state": {"waiting": {"reason": "PodInitializing"}}},
        ],
        "containerStatuses": [{"name": "completion", "state": {"waiting": {}}}],
    },
}


def test_the_steps_run_init_containers_first_and_only_started_ones_have_logs() -> None:
    assert log_views.steps(POD) == ["prepare", "analyze", "build", "completion"]
    assert [log_views.started(POD, s) for s in log_views.steps(POD)] == [True, True, False, False]
    assert not log_views.pod_over(POD)
    assert log_views.pod_over({"status": {"phase": "Failed"}})


@pytest.mark.parametrize(
    ("color", "shown"),
    [(False, "===> PREPARE"), (True, "\033[0;36m===> PREPARE\033[0m")],
    ids=["plain when piped", "cyan on a terminal, as kp prints it"],
)
def test_a_step_is_headed_by_its_name(color: bool, shown: str) -> None:
    assert log_views.header("prepare", color=color) == shown


@pytest.mark.parametrize(
    ("ended", "outcome"),
    [
        (
            build("b", 1, succeeded="True"),
            log_views.Outcome(True, 'Build "b" succeeded: registry.example/app@sha256:1'),
        ),
        (
            build("b", 1, succeeded="False", reason="BuildFailed", message="step build failed"),
            log_views.Outcome(False, 'Build "b" failed (BuildFailed): step build failed'),
        ),
        (
            build("b", 1, succeeded="False", reason=builds.CANCELED_REASON, message="canceled by a user"),
            log_views.Outcome(False, 'Build "b" was canceled: canceled by a user'),
        ),
    ],
    ids=["a success names the image", "a failure names its reason and message", "a cancel says so"],
)
def test_how_a_build_ended_in_one_line(ended: builds.Build, outcome: log_views.Outcome) -> None:
    assert log_views.outcome(ended) == outcome
