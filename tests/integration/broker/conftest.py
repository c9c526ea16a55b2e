"""The real broker on 127.0.0.1:5672: one session connection, a fresh topology per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aio_pika
import aio_pika.abc
import pytest

from contracts import events
from services.broker import connecting, topology
from services.broker import settings as broker_settings

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

WORKER = topology.Service("worker", tuple(events.TYPES))
"""A sharded test service consuming every event type."""
RUNNER = topology.Service("runner", (events.BuildScheduled.event_type,), sharded=False)
"""An unsharded test service."""
TEST_SERVICES = (WORKER, RUNNER)


@pytest.fixture(scope="session")
async def connection() -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    connection = await connecting.connect(broker_settings.BrokerSettings(), service="kiln-tests")
    yield connection
    await connection.close()


@pytest.fixture
async def settings(
    connection: aio_pika.abc.AbstractConnection,
) -> AsyncIterator[broker_settings.BrokerSettings]:
    """Settings with a unique prefix; whatever was declared under it is deleted afterwards."""
    settings = broker_settings.BrokerSettings(
        prefix=f"test-{uuid.uuid4().hex[:10]}",
        shards=4,
        delivery_limit=2,
        backoff=(0.01, 0.02),
        retry_delays=(0.2,),
        prefetch=50,
        heartbeat_seconds=0.2,
    )
    yield settings
    channel = await connection.channel()
    await topology.delete(channel, settings=settings, services=TEST_SERVICES)
    await channel.close()


@pytest.fixture
async def names(
    connection: aio_pika.abc.AbstractConnection, settings: broker_settings.BrokerSettings
) -> topology.Names:
    """The test topology, declared."""
    channel = await connection.channel()
    declared = await topology.declare(channel, settings=settings, services=TEST_SERVICES)
    await channel.close()
    return declared


class Probe:
    """What a test needs around the declared test topology: events, draining and counting queues."""

    worker = WORKER
    runner = RUNNER
    services = TEST_SERVICES

    def __init__(
        self,
        connection: aio_pika.abc.AbstractConnection,
        settings: broker_settings.BrokerSettings,
        names: topology.Names,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.names = names

    @staticmethod
    def event(index: int, *, discriminator: str = "1") -> events.Event[events.Payload]:
        """An ``image.changed`` event about ``ns/image-<index>``."""
        payload = events.ImageChanged(namespace="ns", name=f"image-{index}")
        return events.new(payload, source="/kiln/tests", time=NOW, discriminator=discriminator)

    async def drain(
        self, queue_name: str, *, expect: int, within: float = 10.0
    ) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Take ``expect`` messages off ``queue_name`` (acked), failing if they do not arrive in time."""
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=500)
        queue = await channel.get_queue(queue_name, ensure=False)
        taken: list[aio_pika.abc.AbstractIncomingMessage] = []
        done = asyncio.Event()

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            taken.append(message)
            await message.ack()
            if len(taken) >= expect:
                done.set()

        tag = await queue.consume(take)
        try:
            if expect:
                await asyncio.wait_for(done.wait(), within)
            else:
                await asyncio.sleep(0.3)
        finally:
            await queue.cancel(tag)
            await channel.close()
        return taken

    @staticmethod
    async def eventually(condition: Callable[[], bool], *, within: float = 10.0) -> None:
        """Wait until ``condition()`` holds, failing after ``within`` seconds."""
        for _ in range(round(within / 0.02)):
            if condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"not true within {within} s")

    async def count(self, queue_name: str) -> int:
        """Messages ready in a (non-stream) queue."""
        channel = await self.connection.channel()
        declared = await channel.declare_queue(queue_name, passive=True)
        await channel.close()
        return declared.declaration_result.message_count or 0


@pytest.fixture
def probe(
    connection: aio_pika.abc.AbstractConnection,
    settings: broker_settings.BrokerSettings,
    names: topology.Names,
) -> Probe:
    return Probe(connection, settings, names)
