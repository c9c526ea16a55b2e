"""Fixtures of the builder service's integration tests: per test, an emulator reached by the real
kubernetes-asyncio client (ClusterBuildpacks feed every builder, so tests must not share one), a
registry client and a :class:`~builder_bed.Bed`."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import AsyncIterator

import pytest

from services.kube import client, resources, settings
from services.registry import client as registry_client
from services.testbed.emulator import Emulator
from services.testbed.registry import registry_process
from tests.integration.builder import builder_bed


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(bookmark_interval=1.0) as running:
        yield running


@pytest.fixture
async def kube(emulator: Emulator, tmp_path: pathlib.Path) -> AsyncIterator[resources.Kube]:
    path = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    kube_settings = settings.KubeSettings(kubeconfig=pathlib.Path(path), in_cluster=False)
    async with client.connected(kube_settings) as api:
        yield resources.Kube(api, settings=kube_settings)


@pytest.fixture
async def registry() -> AsyncIterator[registry_client.RegistryClient]:
    """A registry client of the test's own, so its ``stats`` count the test's writes only."""
    async with registry_client.RegistryClient(backoff=(0.05, 0.2)) as made:
        yield made


@pytest.fixture
def bed(
    kube: resources.Kube, emulator: Emulator, registry: registry_client.RegistryClient
) -> builder_bed.Bed:
    """The builder service, and a registry prefix, namespace and names this test alone uses."""
    return builder_bed.make_bed(kube=kube, emulator=emulator, registry=registry, suffix=uuid.uuid4().hex[:10])


@pytest.fixture(scope="module")
async def locked_registry() -> AsyncIterator[registry_process.RegistryProcess]:
    """A throw-away registry that wants basic auth (:data:`builder_bed.LOCKED_USERS`)."""
    async with registry_process.running_registry(users=builder_bed.LOCKED_USERS) as process:
        yield process
