"""The Build status read from its pod (spec §6 [HEAD], §10 items 60-64)."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds, completion
from services import errors
from services.image_state import build_status

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64
METADATA = completion.CompletionMetadata(
    buildpack_metadata=[
        builds.BuildpackInfo(id="io.buildpack.java", version="1.2.3", homepage="https://buildpack.io"),
        builds.BuildpackInfo(id="io.buildpack.node", version="4.5.6"),
    ],
    latest_cache_image="some-cache-image",
    latest_image=f"index.docker.io/someimage/name@{DIGEST}",
    stack_id="io.buildpacks.stacks.jammy",
    stack_run_image=f"builderregistry.io/run@{DIGEST}",
    lifecycle_version="0.20.1",
)


def terminated(name: str, *, code: int = 0, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
    if message:
        state["message"] = message
    return {"name": name, "state": {"terminated": state}}


def waiting(name: str, *, reason: str = "PodInitializing", message: str = "") -> dict[str, Any]:
    state = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "state": {"waiting": state}}


def running(name: str) -> dict[str, Any]:
    return {"name": name, "state": {"running": {"startedAt": "2024-05-06T07:00:00Z"}}}


def make_pod(
    phase: str,
    *,
    init: list[dict[str, Any]] | None = None,
    containers: list[dict[str, Any]] | None = None,
    reason: str = "",
    message: str = "",
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "initContainerStatuses": init or [],
        "containerStatuses": containers or [],
    }
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "build-name-build-pod"}, "status": status}


def succeeded_pod(metadata: completion.CompletionMetadata = METADATA) -> dict[str, Any]:
    message = completion.encode_completion_message(metadata)
    return make_pod(
        "Succeeded",
        init=[terminated("prepare"), terminated("analyze")],
        containers=[terminated("completion", message=message)],
    )


def running_build(**status: Any) -> builds.Build:
    """Build 12 of ``image-name``, at generation 3, with ``status``."""
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": "build-name",
                "namespace": "some-namespace",
                "generation": 3,
                "labels": {"image.kpack.io/buildNumber": "12", "image.kpack.io/image": "image-name"},
            },
            "spec": {
                "tags": ["someimage/name", "someimage/name:tag2"],
                "builder": {"image": "builderregistry.io/builder:tag"},
                "source": {"git": {"url": "giturl.com/git.git", "revision": "gitrev1234"}},
                "cache": {"volume": {"persistentVolumeClaimName": "some-cache-name"}},
            },
            "status": status,
        }
    )


def test_a_succeeded_pod_fills_the_metadata_and_completes_the_build() -> None:  # item 60
    status = build_status.build_status_from_pod(running_build(), succeeded_pod(), now=NOW)
    assert status.dump() == {
        "observedGeneration": 3,
        "conditions": [
            {
                "type": "Succeeded",
                "status": "True",
                "reason": "Completed",
                "lastTransitionTime": "2024-05-06T07:08:09Z",
            }
        ],
        "buildMetadata": [
            {"id": "io.buildpack.java", "version": "1.2.3", "homepage": "https://buildpack.io"},
            {"id": "io.buildpack.node", "version": "4.5.6"},
        ],
        "stack": {"runImage": f"builderregistry.io/run@{DIGEST}", "id": "io.buildpacks.stacks.jammy"},
        "lifecycleVersion": "0.20.1",
        "latestImage": f"index.docker.io/someimage/name@{DIGEST}",
        "latestCacheImage": "some-cache-image",
        "podName": "build-name-build-pod",
        "stepStates": [
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "message": "Container prepare terminated successfully",
                }
            },
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "message": "Container analyze terminated successfully",
                }
            },
            {"terminated": {"exitCode": 0, "reason": "Completed", "message": METADATA_MESSAGE}},
        ],
        "stepsCompleted": ["prepare", "analyze", "completion"],
    }


METADATA_MESSAGE = completion.encode_completion_message(METADATA)


@pytest.mark.parametrize(
    ("latest_cache_image", "expected"),
    [
        (f"reg.io/cacheimage/name@{DIGEST}", f"reg.io/cacheimage/name@{DIGEST}"),
        ("", ""),
    ],
    ids=[
        "a registry cache reports the cache tag's digest reference",
        "an unfetchable cache tag or no registry cache reports an empty cache image without error",
    ],
)
def test_the_cache_image_comes_from_the_completion_message(latest_cache_image: str, expected: str) -> None:
    # items 62-64
    pod = succeeded_pod(METADATA.model_copy(update={"latest_cache_image": latest_cache_image}))
    assert build_status.build_status_from_pod(running_build(), pod).latest_cache_image == expected


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "Succeeded", "status": "True", "reason": "Completed"},
        {"type": "Succeeded", "status": "False", "reason": "Failed", "message": "boom"},
    ],
    ids=["a succeeded build is never changed", "a failed build is never changed"],
)
def test_a_finished_build_keeps_its_status(condition: dict[str, str]) -> None:  # item 61
    build = running_build(conditions=[condition], latestImage="kept")
    assert build_status.build_status_from_pod(build, make_pod("Running"), now=NOW) is build.status


CONDITIONS = [
    pytest.param(
        succeeded_pod(), {"status": "True", "reason": "Completed"}, id="a succeeded pod completes the build"
    ),
    pytest.param(
        make_pod(
            "Failed",
            reason="DeadlineExceeded",
            init=[terminated("prepare")],
            containers=[terminated("completion", message=METADATA_MESSAGE)],
        ),
        {"status": "True", "reason": "Completed"},
        id="a deadline after completion finished completes the build",
    ),
    pytest.param(
        make_pod(
            "Failed", reason="DeadlineExceeded", message="Pod was active too long", init=[running("build")]
        ),
        {"status": "False", "reason": "Failed", "message": "Pod was active too long"},
        id="a deadline before completion fails with the pod message",
    ),
    pytest.param(
        make_pod(
            "Failed",
            init=[
                terminated("prepare"),
                terminated("analyze", code=1, message="no auth"),
                terminated("build", code=2, message="x"),
            ],
        ),
        {"status": "False", "reason": "Failed", "message": "Error: no auth"},
        id="a failed step with a message fails the build with the first such message",
    ),
    pytest.param(
        make_pod("Failed", message="pod says ", init=[terminated("prepare", code=1, message="bad source")]),
        {"status": "False", "reason": "Failed", "message": "Error: pod says bad source"},
        id="the pod message comes before the step message",
    ),
    pytest.param(
        make_pod("Failed", message="OOMKilled", init=[terminated("prepare", code=137)]),
        {"status": "False", "reason": "Failed", "message": "OOMKilled"},
        id="a failed step without a message fails with the pod message",
    ),
    pytest.param(
        make_pod("Failed"),
        {"status": "False", "reason": "Failed"},
        id="a failed pod without messages fails without a message",
    ),
    pytest.param(
        make_pod(
            "Pending",
            init=[running("prepare"), waiting("analyze", reason="ImagePullBackOff", message="no pull")],
        ),
        {"status": "Unknown", "reason": "ImagePullBackOff", "message": "no pull"},
        id="a pending pod reports the waiting step's reason and message",
    ),
    pytest.param(
        make_pod("Pending", init=[waiting("prepare")]),
        {"status": "Unknown", "reason": "PodInitializing"},
        id="a waiting step without message reports its reason only",
    ),
    pytest.param(
        make_pod("Pending", init=[running("prepare")]),
        {"status": "Unknown"},
        id="a pending pod without waiting step is unknown",
    ),
    pytest.param(
        make_pod("Running", init=[running("prepare")]), {"status": "Unknown"}, id="a running pod is unknown"
    ),
    pytest.param({"metadata": {"name": "p"}}, {"status": "Unknown"}, id="a pod without status is unknown"),
]


@pytest.mark.parametrize(("pod", "condition"), CONDITIONS)
def test_the_succeeded_condition(pod: dict[str, Any], condition: dict[str, str]) -> None:
    status = build_status.build_status_from_pod(running_build(), pod)
    assert [c.dump() for c in status.conditions or []] == [{"type": "Succeeded", **condition}]


def test_step_states_fill_empty_messages_and_skip_other_containers() -> None:
    pod = make_pod(
        "Running",
        init=[terminated("prepare"), terminated("analyze", code=3), waiting("detect"), running("restore")],
        containers=[terminated("istio-proxy"), waiting("completion", message="later")],
    )
    status = build_status.build_status_from_pod(running_build(), pod)
    assert status.step_states == [
        {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "message": "Container prepare terminated successfully",
            }
        },
        {
            "terminated": {
                "exitCode": 3,
                "reason": "Error",
                "message": "Container analyze terminated with error",
            }
        },
        {"waiting": {"reason": "PodInitializing", "message": "Container detect waiting"}},
        {"running": {"startedAt": "2024-05-06T07:00:00Z"}},
        {"waiting": {"reason": "PodInitializing", "message": "later"}},
    ]
    assert status.steps_completed == ["prepare"]
    assert status.pod_name == "build-name-build-pod"
    assert status.latest_image is None
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"] == {
        "exitCode": 0,
        "reason": "Completed",
    }


def test_the_pod_name_defaults_to_the_build_pod_name() -> None:
    status = build_status.build_status_from_pod(running_build(), {"status": {"phase": "Pending"}})
    assert status.pod_name == "build-name-build-pod"


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        (None, NOW, "2024-05-06T07:08:09Z"),
        (None, None, None),
        (
            {"type": "Succeeded", "status": "Unknown", "lastTransitionTime": "2024-01-01T00:00:00Z"},
            NOW,
            "2024-01-01T00:00:00Z",
        ),
        ({"type": "Succeeded", "status": "Unknown"}, NOW, "2024-05-06T07:08:09Z"),
        (
            {"type": "Succeeded", "status": "Unknown", "lastTransitionTime": "2024-01-01T00:00:00Z"},
            None,
            "2024-01-01T00:00:00Z",
        ),
    ],
    ids=[
        "a new condition is stamped now",
        "without now no time is stamped",
        "an unchanged status keeps its transition time",
        "an unchanged status without a time is stamped now",
        "an unchanged status keeps its time even without now",
    ],
)
def test_last_transition_time(
    previous: dict[str, str] | None, now: datetime | None, expected: str | None
) -> None:
    build = running_build(conditions=[previous] if previous else [])
    status = build_status.build_status_from_pod(build, make_pod("Running"), now=now)
    assert (status.conditions or [])[0].last_transition_time == expected


def test_a_changed_status_is_stamped_now() -> None:
    build = running_build(
        conditions=[{"type": "Succeeded", "status": "Unknown", "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    )
    status = build_status.build_status_from_pod(build, succeeded_pod(), now=NOW)
    assert (status.conditions or [])[0].last_transition_time == "2024-05-06T07:08:09Z"


@pytest.mark.parametrize(
    "message",
    [base64.b64encode(b"not gzip").decode(), base64.b64encode(gzip.compress(b"not json")).decode()],
    ids=["bad gzip", "bad JSON"],
)
def test_a_succeeded_pod_with_an_unreadable_completion_message_is_a_permanent_error(message: str) -> None:
    pod = make_pod("Succeeded", containers=[terminated("completion", message=message)])
    with pytest.raises(build_status.CompletionMessageError, match=r"^invalid completion message: ") as raised:
        build_status.build_status_from_pod(running_build(), pod)
    assert isinstance(raised.value, errors.PermanentError)


@pytest.mark.parametrize(
    "containers",
    [[], [terminated("completion")], [running("completion")], [terminated("other", message="x")]],
    ids=[
        "no completion container status",
        "a completion without message",
        "a completion still running",
        "only another container has a message",
    ],
)
def test_a_succeeded_pod_without_a_completion_message_is_an_error(containers: list[dict[str, Any]]) -> None:
    with pytest.raises(
        build_status.CompletionMessageError, match=r"^completion container has no termination message$"
    ):
        build_status.build_status_from_pod(running_build(), make_pod("Succeeded", containers=containers))


def test_an_unreadable_pod_status_is_an_invalid_message() -> None:
    with pytest.raises(errors.InvalidMessageError):
        build_status.build_status_from_pod(running_build(), {"status": {"initContainerStatuses": "nope"}})


@pytest.mark.parametrize(
    ("build", "pod", "ready"),
    [
        (running_build(conditions=[{"type": "Succeeded", "status": "True"}]), succeeded_pod(), False),
        (running_build(), succeeded_pod(), True),
        (
            running_build(),
            make_pod("Failed", reason="DeadlineExceeded", containers=[terminated("completion")]),
            True,
        ),
        (
            running_build(),
            make_pod("Failed", reason="DeadlineExceeded", containers=[terminated("completion", code=1)]),
            False,
        ),
        (running_build(), make_pod("Failed", containers=[terminated("completion")]), False),
        (running_build(), make_pod("Running"), False),
    ],
    ids=[
        "a succeeded build's metadata is not read again",
        "a succeeded pod has its metadata ready",
        "a deadline after completion exited 0 has its metadata ready",
        "a deadline after completion failed has none",
        "a failed pod has none",
        "a running pod has none",
    ],
)
def test_metadata_ready(build: builds.Build, pod: dict[str, Any], ready: bool) -> None:
    assert build_status.metadata_ready(build, build_status.pod_status(pod)) is ready
