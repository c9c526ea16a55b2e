"""Publishing against the real broker: confirms, CloudEvents headers, failures surface as errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from contracts import events
from services import errors
from services.broker import messages, publishing, replay

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration


async def test_a_confirmed_event_arrives_with_its_cloudevents_headers(probe: Probe) -> None:
    event = probe.event(3)

    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish(event)

    [shard] = [q for q in probe.names.queues(probe.worker) if await probe.count(q)]
    [message] = await probe.drain(shard, expect=1)
    assert message.body == event.body()
    assert message.message_id == event.id
    assert message.delivery_mode == 2, "persistent"
    assert message.headers["ce-id"] == event.id
    assert message.headers["ce-type"] == "kiln.image.changed"
    assert message.headers["ce-subject"] == "ns/image-3"
    assert message.headers["ce-source"] == "/kiln/tests"
    assert message.headers["ce-time"] == event.time.isoformat()
    assert messages.from_message(message) == event


async def test_many_events_are_pipelined_and_all_confirmed(probe: Probe) -> None:
    batch = [probe.event(i) for i in range(300)]

    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)

    assert sum([await probe.count(q) for q in probe.names.queues(probe.worker)]) == 300
    logged = await replay.replay(probe.connection, settings=probe.settings, idle=0.5)
    assert logged == batch, "the stream holds every event, in publishing order"


async def test_a_publish_to_a_missing_exchange_raises(probe: Probe) -> None:
    async with await publishing.Publisher.open(
        probe.connection, settings=probe.settings, exchange=f"{probe.settings.prefix}.missing"
    ) as publisher:
        with pytest.raises(publishing.PublishError, match="not published") as raised:
            await publisher.publish(probe.event(1))

    assert isinstance(raised.value, errors.TemporaryError)


async def test_an_unroutable_publish_is_returned_and_raises(probe: Probe) -> None:
    channel = await probe.connection.channel()
    lonely = await channel.declare_exchange(f"{probe.settings.prefix}.lonely", "topic", auto_delete=True)
    try:
        async with await publishing.Publisher.open(
            probe.connection, settings=probe.settings, exchange=lonely.name
        ) as publisher:
            with pytest.raises(publishing.PublishError, match="not delivered"):
                await publisher.publish(probe.event(1))
            with pytest.raises(publishing.PublishError, match="3 of 3 events not confirmed"):
                await publisher.publish_many([probe.event(i) for i in range(3)])
    finally:
        await lonely.delete()
        await channel.close()


async def test_the_publisher_keeps_working_after_a_failed_batch(probe: Probe) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish(probe.event(1))
        good = events.new(
            events.BuildScheduled(namespace="ns", image="app", build="app-build-1"),
            source="/kiln/tests",
            time=probe.event(1).time,
            discriminator="1",
        )
        await publisher.publish_many([good])

    [runner_queue] = probe.names.queues(probe.runner)
    [message] = await probe.drain(runner_queue, expect=1)
    assert message.headers["ce-type"] == "kiln.build.scheduled"
