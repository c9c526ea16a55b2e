"""The triggers service served on 127.0.0.1 over the real broker and the Kubernetes emulator.

Per test: Kiln's topology under a unique prefix (deleted afterwards), a probe queue bound to its
events exchange with ``#`` to read back what was published, and the app served on a free port.
The emulator is shared by the module; every test uses its own repository names, so Images and
builders of other tests never match its pushes.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import AsyncIterator

import aio_pika.abc
import pytest
import triggers_support as support

from services.broker import connecting, publishing, topology
from services.broker import settings as broker_settings
from services.kube import client, cluster, resources
from services.kube import settings as kube_settings
from services.testbed.emulator import Emulator
from services.triggers import service


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
async def kube(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[resources.Kube]:
    path = emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    configured = kube_settings.KubeSettings(
        kubeconfig=pathlib.Path(path), in_cluster=False, request_timeout=2.0
    )
    async with client.connected(configured) as api:
        yield resources.Kube(api, settings=configured)


@pytest.fixture(scope="module")
async def connection() -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    connection = await connecting.connect(broker_settings.BrokerSettings(), service="kiln-triggers-tests")
    yield connection
    await connection.close()


@pytest.fixture
async def broker(
    connection: aio_pika.abc.AbstractConnection,
) -> AsyncIterator[broker_settings.BrokerSettings]:
    """Kiln's topology under a unique prefix, deleted (with the probe queue) afterwards."""
    settings = broker_settings.BrokerSettings(prefix=f"test-{uuid.uuid4().hex[:10]}")
    channel = await connection.channel()
    await topology.declare(channel, settings=settings)
    yield settings
    await channel.queue_delete(f"{settings.prefix}.probe")
    await topology.delete(channel, settings=settings)
    await channel.close()


@pytest.fixture
async def probe(
    connection: aio_pika.abc.AbstractConnection, broker: broker_settings.BrokerSettings
) -> AsyncIterator[support.Probe]:
    channel = await connection.channel()
    queue = await channel.declare_queue(f"{broker.prefix}.probe", durable=False)
    await queue.bind(topology.Names(broker).events_exchange, routing_key="#")
    yield support.Probe(queue)
    await channel.close()


@pytest.fixture
async def served(
    connection: aio_pika.abc.AbstractConnection,
    broker: broker_settings.BrokerSettings,
    kube: resources.Kube,
    probe: support.Probe,
) -> AsyncIterator[support.Served]:
    """Triggers publishing to the test topology with confirms, over the emulator's objects."""
    async with await publishing.Publisher.open(connection, settings=broker) as publisher:
        triggers = service.Triggers(
            cluster.KubeCluster(kube), publisher, settings=support.settings(), clock=lambda: support.NOW
        )
        async with support.serve(triggers) as running:
            yield running
