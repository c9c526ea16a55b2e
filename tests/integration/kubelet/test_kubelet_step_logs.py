"""Each step of a simulated build writes its log, read back as a user reads it: the pod log endpoint
of the emulator, one container at a time, through the real kubernetes-asyncio client."""

from __future__ import annotations

import asyncio
import uuid

from kubernetes_asyncio import client

from services import registry
from services.kube import resources
from services.testbed.kubelet import failures, kubelet
from tests.integration.kubelet import kubelet_support as support

STEPS = ["prepare", "analyze", "detect", "restore", "build", "export", "completion"]


async def step_log(kube: resources.Kube, pod: str, namespace: str, step: str) -> list[str]:
    text: str = await client.CoreV1Api(kube.api).read_namespaced_pod_log(pod, namespace, container=step)
    return text.splitlines()


async def test_every_step_of_a_build_writes_what_its_lifecycle_phase_prints(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    app = f"{registry_host}/kiln-kubelet/logs-{uuid.uuid4().hex[:8]}"
    cache = f"{app}-cache"
    notes = {"image.kpack.io/reason": "CONFIG"}
    new = support.build(
        "b1",
        namespace,
        tag=app,
        builder_image=builder_image,
        cache={"registry": {"tag": cache}},
        annotations=notes,
    )
    _, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)
    name = pod["metadata"]["name"]
    async with asyncio.timeout(10):
        record = await running_kubelet.wait_finished(namespace, name)

    logs = {step: await step_log(kube, name, namespace, step) for step in STEPS}

    assert record.pushed is not None
    digest = await registry_client.resolve_digest(app)
    assert logs["prepare"] == [
        "Build reason(s): CONFIG",
        'Cloning "https://github.com/example/app" @ "abc123"...',
        'Successfully cloned "https://github.com/example/app" @ "abc123" in path "/workspace"',
    ]
    assert logs["detect"] == ["1 of 1 buildpacks participating", "paketo-buildpacks/go 4.1.0"]
    assert logs["restore"] == [f'Restoring data from cache image "{cache}"']
    assert logs["build"][0] == "paketo-buildpacks/go 4.1.0"
    assert logs["export"][-1] == f"*** Digest: {digest}"
    assert f"      {app}" in logs["export"]
    assert logs["completion"] == ["Build successful"]


async def test_a_failing_step_ends_its_log_with_the_error_and_later_steps_write_none(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    app = f"{registry_host}/kiln-kubelet/logs-{uuid.uuid4().hex[:8]}"
    notes = {failures.FAIL_AT_ANNOTATION: "build", failures.FAIL_MESSAGE_ANNOTATION: "go: compile error"}
    new = support.build("b1", namespace, tag=app, builder_image=builder_image, annotations=notes)
    _, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)
    name = pod["metadata"]["name"]
    async with asyncio.timeout(10):
        await running_kubelet.wait_finished(namespace, name)

    built = await step_log(kube, name, namespace, "build")

    assert built == [
        "paketo-buildpacks/go 4.1.0",
        '  Contributing layer "paketo-buildpacks/go:app"',
        "ERROR: go: compile error",
    ]
