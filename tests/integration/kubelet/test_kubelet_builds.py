"""The simulated kubelet drives real build pods, writes real images, and fails builds on demand."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from contracts import completion
from services import errors, registry
from services.image_state import build_status
from services.kube import resources
from services.testbed.kubelet import failures, kubelet
from tests.integration.kubelet import kubelet_support as support

STEPS = ["prepare", "analyze", "detect", "restore", "build", "export"]


def _repo(registry_host: str, what: str) -> str:
    return f"{registry_host}/kiln-kubelet/{what}-{uuid.uuid4().hex[:8]}"


async def _finished(k: kubelet.Kubelet, namespace: str, pod: str) -> kubelet.PodRecord:
    async with asyncio.timeout(10):
        return await k.wait_finished(namespace, pod)


async def test_a_registry_cache_build_succeeds_and_reports_the_cache_digest_the_registry_holds(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    app, cache = _repo(registry_host, "app"), _repo(registry_host, "cache") + ":cache"
    new = support.build(
        "b1", namespace, tag=app, builder_image=builder_image, cache={"registry": {"tag": cache}}
    )
    build, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)

    record = await _finished(running_kubelet, namespace, pod["metadata"]["name"])
    finished = await kube.pods.get(pod["metadata"]["name"], namespace=namespace)
    message = finished["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    metadata = completion.decode_completion_message(message)

    assert finished["status"]["phase"] == "Succeeded"
    assert support.states(finished, "initContainerStatuses") == [(s, "terminated", 0) for s in STEPS]
    assert support.states(finished, "containerStatuses") == [("completion", "terminated", 0)]
    assert metadata.latest_image == f"{app}@{await registry_client.resolve_digest(app)}"
    assert (
        metadata.latest_cache_image
        == f"{cache[: -len(':cache')]}@{await registry_client.resolve_digest(cache)}"
    )
    assert record.pushed is not None
    assert metadata.latest_cache_image.endswith(f"@{record.pushed.cache_digest}")
    assert metadata.stack_id == support.STACK_ID
    assert metadata.stack_run_image == support.RUN_IMAGE
    assert metadata.lifecycle_version == support.LIFECYCLE
    assert [(bp.id, bp.version) for bp in metadata.buildpack_metadata] == [("paketo-buildpacks/go", "4.1.0")]
    assert record.cache_args() == {
        "prepare": [],
        "analyze": [f"-cache-image={cache}"],
        "detect": [],
        "restore": [f"-cache-image={cache}"],
        "build": [],
        "export": [f"-cache-image={cache}"],
    }
    status = build_status.build_status_from_pod(build, finished)
    assert status.is_true("Succeeded")
    assert status.latest_cache_image == metadata.latest_cache_image


async def test_the_next_build_reads_the_pinned_digest_and_writes_a_new_cache_image(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    app, cache = _repo(registry_host, "app"), _repo(registry_host, "cache") + ":cache"
    registry_cache = {"registry": {"tag": cache}}
    first = support.build("b1", namespace, tag=app, builder_image=builder_image, cache=registry_cache)
    _, pod1 = await support.create_build_and_pod(kube, first, builder_image=builder_image)
    await _finished(running_kubelet, namespace, pod1["metadata"]["name"])
    pinned = await registry_client.digest_ref(cache)
    last = {"image": await registry_client.digest_ref(app), "cache": {"image": pinned}}
    second = support.build(
        "b2", namespace, tag=app, builder_image=builder_image, cache=registry_cache, last_build=last
    )

    _, pod2 = await support.create_build_and_pod(kube, second, builder_image=builder_image)
    record = await _finished(running_kubelet, namespace, pod2["metadata"]["name"])

    metadata = completion.decode_completion_message(record.termination_message)
    assert record.cache_args()["analyze"] == [f"-cache-image={pinned}"]
    assert record.cache_args()["restore"] == [f"-cache-image={pinned}"]
    assert record.cache_args()["export"] == [f"-cache-image={cache}"]
    assert metadata.latest_cache_image != pinned, "every build writes a new cache image"
    assert metadata.latest_cache_image == await registry_client.digest_ref(cache)


async def test_a_volume_cache_build_reports_no_cache_image(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    volume = {"volume": {"persistentVolumeClaimName": "b1-cache"}}
    new = support.build(
        "b1", namespace, tag=_repo(registry_host, "app"), builder_image=builder_image, cache=volume
    )
    _, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)

    record = await _finished(running_kubelet, namespace, pod["metadata"]["name"])

    assert record.phase == "Succeeded"
    assert record.cache_args()["restore"] == ["-cache-dir=/cache"]
    assert record.cache_args()["export"] == ["-cache-dir=/cache"]
    assert record.cache_args()["analyze"] == []
    assert completion.decode_completion_message(record.termination_message).latest_cache_image == ""


async def test_a_build_annotated_to_fail_fails_at_that_step_with_its_message(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    app = _repo(registry_host, "app")
    notes = {failures.FAIL_AT_ANNOTATION: "build", failures.FAIL_MESSAGE_ANNOTATION: "go: compile error"}
    new = support.build("b1", namespace, tag=app, builder_image=builder_image, annotations=notes)
    build, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)

    record = await _finished(running_kubelet, namespace, pod["metadata"]["name"])
    failed = await kube.pods.get(pod["metadata"]["name"], namespace=namespace)

    assert failed["status"]["phase"] == "Failed"
    assert support.states(failed, "initContainerStatuses") == [
        ("prepare", "terminated", 0),
        ("analyze", "terminated", 0),
        ("detect", "terminated", 0),
        ("restore", "terminated", 0),
        ("build", "terminated", 1),
        ("export", "waiting", None),
    ]
    assert (
        failed["status"]["initContainerStatuses"][4]["state"]["terminated"]["message"] == "go: compile error"
    )
    assert [s.name for s in record.steps] == STEPS[:5]
    with pytest.raises(errors.NotFoundError):
        await registry_client.resolve_digest(app)
    status = build_status.build_status_from_pod(build, failed)
    assert status.is_false("Succeeded")


async def test_a_failure_plan_can_fail_the_completion_step(
    kube: resources.Kube,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    def fail_completion(pod: dict[str, object]) -> failures.Failure | None:
        return failures.Failure(step="completion", exit_code=3, message="no metadata")

    config = kubelet.KubeletConfig(step_seconds=0.01, namespace=namespace, fail=fail_completion)
    new = support.build("b1", namespace, tag=_repo(registry_host, "app"), builder_image=builder_image)
    async with kubelet.Kubelet(kube, registry_client, config=config) as running:
        _, pod = await support.create_build_and_pod(kube, new, builder_image=builder_image)
        record = await _finished(running, namespace, pod["metadata"]["name"])
    failed = await kube.pods.get(pod["metadata"]["name"], namespace=namespace)

    assert record.phase == "Failed"
    assert support.states(failed, "containerStatuses") == [("completion", "terminated", 3)]
    assert support.states(failed, "initContainerStatuses") == [(s, "terminated", 0) for s in STEPS]


async def test_the_pod_moves_pending_then_running_then_succeeded(
    kube: resources.Kube,
    running_kubelet: kubelet.Kubelet,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    new = support.build("b1", namespace, tag=_repo(registry_host, "app"), builder_image=builder_image)
    phases: list[str] = []
    async with contextlib.aclosing(kube.pods.watch(namespace=namespace)) as events:
        await support.create_build_and_pod(kube, new, builder_image=builder_image)
        async with asyncio.timeout(10):
            async for event in events:
                phase = (event.object.get("status") or {}).get("phase", "")
                if phase and (not phases or phases[-1] != phase):
                    phases.append(phase)
                if phase == "Succeeded":
                    break

    assert phases == ["Pending", "Running", "Succeeded"]


async def test_pods_that_are_not_new_build_pods_are_left_alone(
    kube: resources.Kube, registry_client: registry.RegistryClient, namespace: str
) -> None:
    plain = {
        "metadata": {"name": "plain", "namespace": namespace},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    done = {
        "metadata": {"name": "done", "namespace": namespace, "labels": {"kpack.io/build": "old"}},
        "spec": {"containers": [{"name": "completion", "image": "x"}]},
    }
    await kube.pods.create(plain)
    await kube.pods.create(done)
    await kube.pods.patch_status("done", {"status": {"phase": "Succeeded"}}, namespace=namespace)

    config = kubelet.KubeletConfig(step_seconds=0.01, namespace=namespace)
    async with kubelet.Kubelet(kube, registry_client, config=config) as running:
        await kube.pods.create({**plain, "metadata": {"name": "plain-2", "namespace": namespace}})
        await asyncio.sleep(0.3)

    assert running.records == {}
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in await kube.pods.list(namespace=namespace)}
    assert phases == {"plain": "Pending", "plain-2": "Pending", "done": "Succeeded"}
