"""Queue depths for ``/metrics`` (the storm backlog, the dead letters), read from the real broker with
passive declares: ready messages counted, a missing queue left out without spoiling the others."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import aio_pika.abc
import pytest

from services.broker import depths

pytestmark = pytest.mark.integration


@pytest.fixture
async def queue(connection: aio_pika.abc.AbstractConnection) -> AsyncIterator[str]:
    """A queue of this test's own, holding three messages; deleted afterwards."""
    name = f"test-depths-{uuid.uuid4().hex[:10]}"
    channel = await connection.channel()
    declared = await channel.declare_queue(name, durable=False, auto_delete=False)
    for number in range(3):
        await channel.default_exchange.publish(aio_pika.Message(str(number).encode()), routing_key=name)
    yield name
    await declared.delete(if_unused=False, if_empty=False)
    await channel.close()


async def test_ready_messages_are_counted_and_a_missing_queue_left_out(
    connection: aio_pika.abc.AbstractConnection, queue: str
) -> None:
    missing = f"test-depths-missing-{uuid.uuid4().hex[:10]}"

    found = await depths.ready_messages(connection, [missing, queue, missing])

    assert found == {queue: 3}


async def test_reading_depths_changes_nothing(
    connection: aio_pika.abc.AbstractConnection, queue: str
) -> None:
    await depths.ready_messages(connection, [queue])

    assert await depths.ready_messages(connection, [queue]) == {queue: 3}
