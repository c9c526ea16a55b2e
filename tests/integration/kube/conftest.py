"""An emulator for the module, and the Kube adapter on the real kubernetes-asyncio client over HTTP."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import AsyncIterator

import pytest

from services.kube import client, resources, settings
from services.testbed.emulator import Emulator


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(bookmark_interval=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def kube_settings(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> settings.KubeSettings:
    path = emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    return settings.KubeSettings(
        kubeconfig=pathlib.Path(path),
        in_cluster=False,
        request_timeout=1.0,
        backoff=(0.01, 0.02, 0.05),
        watch_timeout_seconds=2,
    )


@pytest.fixture(scope="module")
async def kube(kube_settings: settings.KubeSettings) -> AsyncIterator[resources.Kube]:
    async with client.connected(kube_settings) as api:
        yield resources.Kube(api, settings=kube_settings)


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses (the emulator does not require it to exist)."""
    return f"kube-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def no_faults_left(emulator: Emulator) -> object:
    yield
    emulator.clear_faults()
