"""One emulator for the session, the real kubernetes-asyncio client configured from its kubeconfig."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio import client, config

from services.testbed.emulator import Emulator


@pytest.fixture(scope="session")
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator(bookmark_interval=0.2)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(scope="session")
def kubeconfig(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="session")
async def api_client(kubeconfig: pathlib.Path) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace() -> str:
    """A fresh namespace name per test (the emulator does not require namespaces to exist)."""
    return f"t-{uuid.uuid4().hex[:10]}"
