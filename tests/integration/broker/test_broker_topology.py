"""Topology against the real broker: idempotent declaration, consistent-hash sharding, SAC fail-over."""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING

import aio_pika
import aio_pika.abc
import pytest

from contracts import events
from services.broker import consuming, publishing, topology

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration


async def test_declaring_the_topology_twice_changes_nothing(probe: Probe) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish(probe.event(1))
        channel = await probe.connection.channel()
        again = await topology.declare(channel, settings=probe.settings, services=probe.services)
        await channel.close()
        await publisher.publish(probe.event(2))

    assert again == probe.names
    counts = [await probe.count(shard) for shard in probe.names.queues(probe.worker)]
    assert sum(counts) == 2, f"each event once in the worker's shards, got {counts}"
    assert await probe.count(probe.names.dead_queue) == 0
    assert await probe.count(probe.names.queues(probe.runner)[0]) == 0, "the runner takes only builds"


async def test_consistent_hash_spreads_keys_and_keeps_each_key_on_one_shard(probe: Probe) -> None:
    keys = 1000
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        for round_ in ("1", "2"):
            await publisher.publish_many(probe.event(i, discriminator=round_) for i in range(keys))

    shards_of: dict[str, set[str]] = collections.defaultdict(set)
    per_shard: collections.Counter[str] = collections.Counter()
    for shard in probe.names.queues(probe.worker):
        for message in await probe.drain(shard, expect=await probe.count(shard)):
            shards_of[str(message.headers["ce-subject"])].add(shard)
            per_shard[shard] += 1

    assert len(shards_of) == keys, "every key arrived"
    assert all(len(shards) == 1 for shards in shards_of.values()), "a key always lands on the same shard"
    assert sum(per_shard.values()) == 2 * keys
    assert len(per_shard) == probe.settings.shards
    assert min(per_shard.values()) >= 2 * keys / probe.settings.shards / 3, f"uneven spread: {per_shard}"


async def test_a_standby_consumer_takes_over_when_the_active_ones_connection_dies(probe: Probe) -> None:
    settings = probe.settings
    url = settings.url.get_secret_value()
    first, second = await aio_pika.connect(url), await aio_pika.connect(url)
    handled: dict[str, list[str]] = {"first": [], "second": []}
    release = asyncio.Event()

    def handler(who: str) -> consuming.Handler:
        async def handle(event: events.Event[events.Payload]) -> None:
            handled[who].append(event.subject)
            if who == "first":
                await release.wait()  # stuck: holds its message unacknowledged

        return handle

    try:
        async with (
            consuming.consuming(
                first, settings=settings, service=probe.worker, handler=handler("first")
            ) as active,
            consuming.consuming(second, settings=settings, service=probe.worker, handler=handler("second")),
        ):
            async with await publishing.Publisher.open(second, settings=settings) as publisher:
                await publisher.publish(probe.event(7))
            await probe.eventually(lambda: handled["first"] == ["ns/image-7"])
            await first.close()  # the active worker dies with the message unacknowledged
            release.set()
            await active.stop()
            await probe.eventually(lambda: handled["second"] == ["ns/image-7"])
    finally:
        release.set()
        await first.close()
        await second.close()

    assert handled == {"first": ["ns/image-7"], "second": ["ns/image-7"]}
