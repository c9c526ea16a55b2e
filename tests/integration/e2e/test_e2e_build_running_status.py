"""The build-runner's running status (``podName``, ``Succeeded=Unknown``, kpack spec §5.2, item 41)
never costs a Build its outcome or its pod: it is written once, conditionally on the Build the
build-runner read, so an outcome recorded meanwhile is kept; a write the API refuses leaves the pod
running.

The build-runner runs here as the test calls it, on the sandbox's emulator and registry; no other
Kiln service reacts to the Build (image-state only hears of pods from the bridge, which is not run).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds as build_models
from services.build_runner import service as build_runner_service
from services.kube import cluster as kube_cluster
from services.kube import resources as kube_resources
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"


class OutcomeRecordedMeanwhile(kube_cluster.KubeCluster):
    """The cluster as the build-runner sees it when the Build's outcome is written between its read
    of the Build and its own status write (image-state recording a pod that ended at once)."""

    def __init__(self, kube: kube_resources.Kube, *, build: str, outcome: build_models.BuildStatus) -> None:
        super().__init__(kube)
        self.build = build
        self.outcome = outcome

    async def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        created = await super().create_pod(pod)
        found = await self.kube.builds.find(self.build, namespace=pod["metadata"]["namespace"])
        assert found is not None
        await self.kube.builds.replace_status(found.with_(status=self.outcome))
        return created


@pytest.fixture
async def sb() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.02, services=("image-state",)) as box:
        await box.add_builder()
        yield box


@pytest.fixture
def namespace() -> str:
    return f"running-{uuid.uuid4().hex[:10]}"


def runner(sb: harness.Sandbox, cluster: kube_cluster.KubeCluster) -> build_runner_service.BuildRunner:
    return build_runner_service.BuildRunner(
        cluster,
        sb.wiring.publisher,
        sb.wiring.registry,
        keychains=sb.wiring.keychains,
        clock=lambda: datetime.now(UTC),
    )


async def apply_build(sb: harness.Sandbox, namespace: str, name: str) -> None:
    """A Build created directly: tags, the sandbox's builder image, a git source."""
    await sb.apply(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "tags": [f"{REGISTRY}/sandbox/{namespace}"],
                "builder": {"image": sb.builder_image},
                "source": {"git": {"url": examples.GIT_URL, "revision": examples.commit(1)}},
            },
        }
    )


def status_writes(sb: harness.Sandbox, code: int) -> int:
    return sb.emulator.answers().count(code=code, verb="update", resource="builds/status")


async def test_the_running_status_is_written_with_the_first_pod_and_not_again_for_a_new_one(
    sb: harness.Sandbox, namespace: str
) -> None:
    await apply_build(sb, namespace, "once")
    before = status_writes(sb, 200)
    await runner(sb, sb.wiring.cluster).run(namespace, "once")
    first = sb.emulator.get("pods", "once-build-pod", namespace)
    assert first is not None
    await sb.wiring.kube.pods.delete("once-build-pod", namespace=namespace)

    await runner(sb, sb.wiring.cluster).run(namespace, "once")  # a running Build whose pod was deleted

    [build] = sb.builds(namespace)
    second = sb.pod(build)
    assert second is not None
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert build.status.pod_name == "once-build-pod"
    assert build.status.observed_generation == build.generation
    condition = build.status.condition("Succeeded")
    assert condition is not None
    assert (condition.status, condition.reason) == ("Unknown", None)
    assert status_writes(sb, 200) - before == 1


async def test_an_outcome_recorded_after_the_build_runner_read_the_build_is_kept(
    sb: harness.Sandbox, namespace: str
) -> None:
    await apply_build(sb, namespace, "raced")
    outcome = build_models.BuildStatus.model_validate(
        {
            "observedGeneration": 1,
            "podName": "raced-build-pod",
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "False",
                    "reason": "BuildCanceled",
                    "message": "Build canceled by user",
                    "lastTransitionTime": "2024-05-06T07:08:09Z",
                }
            ],
        }
    )
    racing = OutcomeRecordedMeanwhile(sb.wiring.kube, build="raced", outcome=outcome)
    refused = status_writes(sb, 409)

    await runner(sb, racing).run(namespace, "raced")

    [build] = sb.builds(namespace)
    assert build.status.dump() == outcome.dump()
    assert sb.pod(build) is not None
    assert status_writes(sb, 409) - refused == 1, "the running status was sent, and refused"


async def test_a_running_status_the_api_refuses_leaves_the_pod_and_a_warning(
    sb: harness.Sandbox, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    await apply_build(sb, namespace, "refused")
    sb.emulator.fail_next(status=403, verb="update", resource="builds/status")

    with caplog.at_level(logging.WARNING, logger=build_runner_service.__name__):
        await runner(sb, sb.wiring.cluster).run(namespace, "refused")

    [build] = sb.builds(namespace)
    assert sb.pod(build) is not None
    assert build.status.pod_name is None
    assert any(
        "build" in r.message and "refused-build-pod" in r.message and "not written" in r.message
        for r in caplog.records
    ), [r.message for r in caplog.records]
