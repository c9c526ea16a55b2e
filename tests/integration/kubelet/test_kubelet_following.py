"""The simulated kubelet follows a watch of the build pods still to run: it runs those made while it
was down, those made while it runs, and never a pod that has already run; what every pod of one
builder reads of it is read once."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from contracts import completion
from services import registry
from services.kube import resources
from services.testbed.kubelet import kubelet
from tests.integration.kubelet import kubelet_support as support


def _tag(registry_host: str) -> str:
    return f"{registry_host}/kiln-kubelet/following-{uuid.uuid4().hex[:8]}"


async def test_pods_made_while_the_kubelet_was_down_and_while_it_runs_are_all_run_once(
    kube: resources.Kube,
    registry_client: registry.RegistryClient,
    registry_host: str,
    builder_image: str,
    namespace: str,
) -> None:
    made_before = support.build("before", namespace, tag=_tag(registry_host), builder_image=builder_image)
    _, before = await support.create_build_and_pod(kube, made_before, builder_image=builder_image)
    config = kubelet.KubeletConfig(step_seconds=0.01, namespace=namespace)

    async with kubelet.Kubelet(kube, registry_client, config=config) as first:
        made_during = support.build("during", namespace, tag=_tag(registry_host), builder_image=builder_image)
        _, during = await support.create_build_and_pod(kube, made_during, builder_image=builder_image)
        async with asyncio.timeout(10):
            ran = [await first.wait_finished(namespace, pod["metadata"]["name"]) for pod in (before, during)]
    async with kubelet.Kubelet(kube, registry_client, config=config) as second:
        await asyncio.sleep(0.3)

    assert [record.phase for record in ran] == ["Succeeded", "Succeeded"]
    assert second.records == {}, "a pod that already ran is not run again"


class _CountingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, noting the path of every request."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_builders_config_is_read_once_for_all_its_build_pods(
    kube: resources.Kube, registry_host: str, builder_image: str, namespace: str
) -> None:
    counting = _CountingTransport()
    config = kubelet.KubeletConfig(step_seconds=0.01, namespace=namespace)
    async with (
        registry.RegistryClient(backoff=(0.02,), transport=counting) as client,
        kubelet.Kubelet(kube, client, config=config) as running,
    ):
        for name in ("one", "two"):
            made = support.build(name, namespace, tag=_tag(registry_host), builder_image=builder_image)
            _, pod = await support.create_build_and_pod(kube, made, builder_image=builder_image)
            async with asyncio.timeout(10):
                record = await running.wait_finished(namespace, pod["metadata"]["name"])
            assert record.phase == "Succeeded"
            assert "paketo-buildpacks/go" in str(
                completion.decode_completion_message(record.termination_message)
            )

    builder_manifest = f"/v2/kiln-kubelet/builder/manifests/{builder_image.rpartition('@')[2]}"
    assert counting.paths.count(builder_manifest) == 1
