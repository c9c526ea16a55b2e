"""The simulated kubelet follows a watch of the build pods still to run: it runs those made while it
was down, those made while it runs, and never a pod that has already run."""

from __future__ import annotations

import asyncio
import uuid

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
