"""A publisher whose exchange is missing, or deleted under publishes in flight, against the real broker.

A publish to a missing exchange makes the broker close the channel; the publishes in flight behind
it then reach the broker on a closed channel, and it closes the whole connection. A batch to a
missing exchange must fail at once with an error naming the exchange, without taking the
connection (and every other publisher and consumer on it) down; a batch in flight when the
exchange is deleted must fail within a bounded time; and the publisher works again once the
exchange is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING

import aio_pika
import aio_pika.abc
import pytest

from services import errors
from services.broker import connecting, publishing

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration

BOUND_SECONDS = 15.0
"""Longer than the publisher's own bounds on a channel open plus a lookup; far below "never"."""


@pytest.fixture
async def own_connection(probe: Probe) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    """A connection of this test's own: the broker may close it, and no other test shares it."""
    connection = await connecting.connect(probe.settings, service="missing-exchange")
    yield connection
    await connection.close()


async def _declare_routed(connection: aio_pika.abc.AbstractConnection, name: str) -> None:
    """``name`` as a topic exchange with a queue bound to every key, so mandatory publishes route."""
    channel = await connection.channel()
    exchange = await channel.declare_exchange(name, "topic", auto_delete=False)
    queue = await channel.declare_queue(f"{name}.all", auto_delete=False)
    await queue.bind(exchange, routing_key="#")
    await channel.close()


async def _delete(connection: aio_pika.abc.AbstractConnection, name: str) -> None:
    channel = await connection.channel()
    await channel.exchange_delete(name)
    await channel.queue_delete(f"{name}.all")
    await channel.close()


async def _fails_within(publish: Awaitable[None], *, bound: float) -> publishing.PublishError:
    started = time.monotonic()
    with pytest.raises(publishing.PublishError) as raised:
        await asyncio.wait_for(publish, bound)
    assert time.monotonic() - started < bound
    return raised.value


async def test_a_batch_to_a_missing_exchange_fails_at_once_naming_it_and_the_connection_stays_up(
    probe: Probe, own_connection: aio_pika.abc.AbstractRobustConnection
) -> None:
    missing = f"{probe.settings.prefix}.missing"
    async with await publishing.Publisher.open(
        own_connection, settings=probe.settings, exchange=missing
    ) as publisher:
        for size in (1, 50, 2500):
            error = await _fails_within(
                publisher.publish_many([probe.event(i) for i in range(size)]), bound=BOUND_SECONDS
            )
            assert isinstance(error, publishing.MissingExchangeError)
            assert isinstance(error, errors.TemporaryError)
            assert f"{size} of {size} events not confirmed" in str(error)
            assert f"no exchange '{missing}'" in str(error)
            assert connecting.usable(own_connection), "the broker did not close the connection"
        with pytest.raises(publishing.MissingExchangeError, match=f"no exchange '{missing}'"):
            await publisher.publish(probe.event(1))


async def test_publishers_sharing_the_connection_are_not_disturbed_by_one_to_a_missing_exchange(
    probe: Probe, own_connection: aio_pika.abc.AbstractRobustConnection
) -> None:
    missing = f"{probe.settings.prefix}.missing"
    good = await publishing.Publisher.open(own_connection, settings=probe.settings)
    bad = await publishing.Publisher.open(own_connection, settings=probe.settings, exchange=missing)
    confirmed = 0
    async with good, bad:
        for round_ in range(5):
            batch = [probe.event(i, discriminator=f"{round_}") for i in range(200)]
            results = await asyncio.gather(
                bad.publish_many([probe.event(i) for i in range(300)]),
                good.publish_many(batch),
                return_exceptions=True,
            )
            assert isinstance(results[0], publishing.MissingExchangeError)
            assert results[1] is None, f"round {round_}: the good batch failed: {results[1]!r}"
            confirmed += len(batch)

    queued = sum([await probe.count(q) for q in probe.names.queues(probe.worker)])
    assert queued == confirmed == 1000


async def test_the_publisher_recovers_once_the_exchange_is_declared(
    probe: Probe, own_connection: aio_pika.abc.AbstractRobustConnection
) -> None:
    name = f"{probe.settings.prefix}.late"
    async with await publishing.Publisher.open(
        own_connection, settings=probe.settings, exchange=name
    ) as publisher:
        await _fails_within(publisher.publish_many([probe.event(i) for i in range(100)]), bound=BOUND_SECONDS)
        await _declare_routed(probe.connection, name)
        try:
            await asyncio.wait_for(
                publisher.publish_many([probe.event(i) for i in range(100)]), BOUND_SECONDS
            )
            assert await probe.count(f"{name}.all") == 100
        finally:
            await _delete(probe.connection, name)


async def test_batches_in_flight_when_the_exchange_is_deleted_fail_in_bounded_time_and_the_next_works(
    probe: Probe, own_connection: aio_pika.abc.AbstractRobustConnection
) -> None:
    name = f"{probe.settings.prefix}.deleted"
    await _declare_routed(probe.connection, name)
    try:
        async with await publishing.Publisher.open(
            own_connection, settings=probe.settings, exchange=name
        ) as publisher:
            for round_ in range(4):
                await asyncio.wait_for(
                    publisher.publish(probe.event(0, discriminator=f"{round_}")), BOUND_SECONDS
                )
                batch = [probe.event(i, discriminator=f"{round_}") for i in range(1500)]
                in_flight = asyncio.ensure_future(publisher.publish_many(batch))
                await asyncio.sleep(0.005 * round_)
                await _delete(probe.connection, name)
                error = await _fails_within(in_flight, bound=BOUND_SECONDS)
                assert name in str(error)
                await _declare_routed(probe.connection, name)
                await asyncio.wait_for(own_connection.connected.wait(), BOUND_SECONDS)
    finally:
        await _delete(probe.connection, name)


async def test_a_publisher_closed_right_after_the_broker_closed_its_channel_closes(
    probe: Probe, own_connection: aio_pika.abc.AbstractRobustConnection
) -> None:
    missing = f"{probe.settings.prefix}.missing"
    for _ in range(30):
        publisher = await publishing.Publisher.open(own_connection, settings=probe.settings, exchange=missing)
        with pytest.raises(publishing.PublishError):
            await publisher.publish_many([probe.event(i) for i in range(5)])
        # The broker closed the channel, which woke the channel's keeper: closing stops it anyway.
        await asyncio.wait_for(publisher.close(), BOUND_SECONDS)
