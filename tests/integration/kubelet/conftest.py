"""The simulated kubelet against the emulator (over HTTP, through services.kube) and a real registry.

The registry is the one on 127.0.0.1:5000 when it answers, else one started for the module.
"""

from __future__ import annotations

import contextlib
import pathlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services import registry
from services.kube import client, resources, settings
from services.testbed.emulator import Emulator
from services.testbed.kubelet import kubelet
from services.testbed.registry import registry_process
from tests.integration.kubelet import kubelet_support as support

LOCAL_REGISTRY = "127.0.0.1:5000"


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
async def kube(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[resources.Kube]:
    path = emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    configured = settings.KubeSettings(
        kubeconfig=pathlib.Path(path), in_cluster=False, request_timeout=2.0, backoff=(0.02, 0.05, 0.1)
    )
    async with client.connected(configured) as api:
        yield resources.Kube(api, settings=configured)


@pytest.fixture(scope="module")
async def registry_host() -> AsyncIterator[str]:
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            await http.get(f"http://{LOCAL_REGISTRY}/v2/")
        yield LOCAL_REGISTRY
    except httpx.HTTPError:
        async with registry_process.running_registry() as started:
            yield started.host


@pytest.fixture
async def registry_client() -> AsyncIterator[registry.RegistryClient]:
    async with registry.RegistryClient(backoff=(0.02, 0.05)) as opened:
        yield opened


@pytest.fixture(scope="module")
async def builder_image(registry_host: str) -> str:
    """A fake CNB builder in the registry, by digest, as a Builder's status would name it."""
    async with registry.RegistryClient(backoff=()) as pushing:
        return await support.push_builder(
            pushing, f"{registry_host}/kiln-kubelet/builder:{uuid.uuid4().hex[:8]}"
        )


@pytest.fixture
def namespace() -> str:
    return f"kubelet-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def running_kubelet(
    kube: resources.Kube, registry_client: registry.RegistryClient, namespace: str
) -> AsyncIterator[kubelet.Kubelet]:
    config = kubelet.KubeletConfig(step_seconds=0.01, namespace=namespace)
    async with contextlib.AsyncExitStack() as stack:
        yield await stack.enter_async_context(kubelet.Kubelet(kube, registry_client, config=config))
