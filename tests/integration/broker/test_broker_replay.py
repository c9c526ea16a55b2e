"""The event stream against the real broker: every event is logged and can be read again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aio_pika
import pytest

from services.broker import publishing, replay

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration


async def test_the_stream_can_be_read_again_from_first(probe: Probe) -> None:
    batch = [probe.event(i) for i in range(20)]
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)

    first_read = await replay.replay(probe.connection, settings=probe.settings, offset="first", idle=0.5)
    second_read = await replay.replay(probe.connection, settings=probe.settings, offset="first", idle=0.5)

    assert first_read == batch
    assert second_read == batch, "reading does not consume the log"


async def test_the_stream_is_read_from_an_offset_up_to_a_limit(probe: Probe) -> None:
    batch = [probe.event(i) for i in range(10)]
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)

    assert await replay.replay(probe.connection, settings=probe.settings, offset=6, idle=0.5) == batch[6:]
    assert (
        await replay.replay(probe.connection, settings=probe.settings, offset="first", limit=3) == batch[:3]
    )
    assert await replay.replay(probe.connection, settings=probe.settings, offset="next", idle=0.3) == []


async def test_an_undecodable_entry_is_skipped(probe: Probe) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish(probe.event(1))
        channel = await probe.connection.channel()
        exchange = await channel.get_exchange(probe.names.events_exchange, ensure=False)
        await exchange.publish(aio_pika.Message(b"garbage"), routing_key="kiln.image.changed")
        await channel.close()
        await publisher.publish(probe.event(2))

    assert await replay.replay(probe.connection, settings=probe.settings, idle=0.5) == [
        probe.event(1),
        probe.event(2),
    ]
