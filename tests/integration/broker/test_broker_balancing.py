"""Shard balancing against the real broker: the workers of a sharded service split its shards.

RabbitMQ 3.10 makes the first subscriber of a single-active-consumer queue its active consumer;
without balancing the worker that started first would take every shard. Each worker here runs on
a connection of its own, as separate processes would.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
from typing import TYPE_CHECKING

import aio_pika
import pytest

from contracts import events
from services.broker import connecting, consuming, membership, publishing, topology
from tests.integration.broker import broker_faults

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aio_pika.abc

    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration

SHARDS = 6


class Workers:
    """Worker consumers of the probe's sharded service, each recording the subjects it handled."""

    def __init__(self, probe: Probe, stack: contextlib.AsyncExitStack) -> None:
        self.probe = probe
        self.stack = stack
        self.settings = probe.settings.model_copy(update={"shards": SHARDS})
        self.consumers: list[consuming.Consumer] = []
        self.handled: list[list[str]] = []
        self.connections: list[aio_pika.abc.AbstractConnection] = []

    async def start(self, *, named: bool = False) -> consuming.Consumer:
        """A worker on a plain connection, or on a robust one named ``<prefix>/worker-<n>``."""
        if named:
            connection: aio_pika.abc.AbstractConnection = await connecting.connect(
                self.settings, service=f"worker-{len(self.consumers)}"
            )
        else:
            connection = await aio_pika.connect(self.settings.url.get_secret_value())
        self.stack.push_async_callback(connection.close)
        handled: list[str] = []

        async def handle(event: events.Event[events.Payload]) -> None:
            handled.append(event.subject)

        consumer = await self.stack.enter_async_context(
            consuming.consuming(connection, settings=self.settings, service=self.probe.worker, handler=handle)
        )
        self.consumers.append(consumer)
        self.handled.append(handled)
        self.connections.append(connection)
        return consumer

    def shards(self) -> tuple[str, ...]:
        return topology.Names(self.settings).queues(self.probe.worker)

    def owned(self) -> list[set[str]]:
        return [set(c.owned) for c in self.consumers]

    async def balanced(self, consumers: list[consuming.Consumer]) -> None:
        """Until ``consumers`` own disjoint shards covering all, as :func:`membership.assign` says."""
        shards = self.shards()
        expected = membership.assign(shards, [c.worker for c in consumers])
        roster = tuple(sorted(c.worker for c in consumers))
        await self.probe.eventually(lambda: all(c.settled == roster for c in consumers), within=15)
        assert [set(c.owned) for c in consumers] == [set(expected[c.worker]) for c in consumers]

    async def publish(self, count: int, *, round_: str) -> None:
        async with await publishing.Publisher.open(self.connections[0], settings=self.settings) as publisher:
            await publisher.publish_many(self.probe.event(i, discriminator=round_) for i in range(count))

    def delivered_by(self, consumer: consuming.Consumer) -> set[str]:
        return {queue for queue, count in consumer.delivered.items() if count}

    def _delivered_since(self, before: list[collections.Counter[str]], *, at_least: int) -> bool:
        return (
            sum(sum((c.delivered - b).values()) for c, b in zip(self.consumers, before, strict=True))
            >= at_least
        )

    async def serve_their_own_shards(self, *, within: float = 30.0) -> None:
        """Publish rounds of events until one is served by each worker on exactly its own shards.

        Rounds go on for ``within`` seconds, not a number of rounds: the others hand over only
        once they have heard the victim's new epoch for two heartbeats, and on an idle machine
        twenty rounds take less than that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        served: list[set[str]] = []
        attempt = 0
        while loop.time() < deadline:
            before = [collections.Counter(c.delivered) for c in self.consumers]
            await self.publish(60, round_=f"again-{attempt}")
            await self.probe.eventually(
                functools.partial(self._delivered_since, before, at_least=60), within=20
            )
            served = [set(c.delivered - b) for c, b in zip(self.consumers, before, strict=True)]
            if served == self.owned():
                return
            attempt += 1
            await asyncio.sleep(0.25)
        raise AssertionError(
            f"after {attempt} rounds in {within:.0f} s served {served}, owned {self.owned()}"
        )


@pytest.fixture
async def workers(probe: Probe) -> AsyncIterator[Workers]:
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(_delete_extra_shards, probe)
        channel = await probe.connection.channel()
        settings = probe.settings.model_copy(update={"shards": SHARDS})
        await topology.declare(channel, settings=settings, services=probe.services)
        await channel.close()
        yield Workers(probe, stack)


async def _delete_extra_shards(probe: Probe) -> None:
    channel = await probe.connection.channel()
    for index in range(probe.settings.shards, SHARDS):
        await channel.queue_delete(
            f"{probe.names.inbox(probe.worker)}.{index}", if_unused=False, if_empty=False
        )
    await channel.close()


async def test_three_workers_started_together_each_serve_their_own_two_shards(workers: Workers) -> None:
    started = [await workers.start() for _ in range(3)]
    await workers.balanced(started)

    await workers.publish(600, round_="1")
    await workers.probe.eventually(lambda: sum(len(h) for h in workers.handled) >= 600, within=20)

    owned = workers.owned()
    assert [len(shards) for shards in owned] == [2, 2, 2]
    assert set.union(*owned) == set(workers.shards())
    assert [workers.delivered_by(c) for c in started] == owned, "each worker served exactly its shards"
    assert sorted(s for h in workers.handled for s in set(h)) == sorted(f"ns/image-{i}" for i in range(600))


async def test_a_stopped_worker_s_shards_are_taken_over_and_a_new_one_gets_its_share(
    workers: Workers,
) -> None:
    first, second, third = [await workers.start() for _ in range(3)]
    await workers.balanced([first, second, third])

    await third.stop()  # leaves the roster at once
    await workers.balanced([first, second])
    before = [sum(c.delivered.values()) for c in (first, second)]
    await workers.publish(300, round_="2")
    await workers.probe.eventually(lambda: sum(len(h) for h in workers.handled[:2]) >= 300, within=20)
    assert [len(c.owned) for c in (first, second)] == [3, 3]
    assert all(sum(c.delivered.values()) > b for c, b in zip((first, second), before, strict=True))

    fourth = await workers.start()
    await workers.balanced([first, second, fourth])
    fourth_before = sum(fourth.delivered.values())
    await workers.publish(300, round_="3")
    await workers.probe.eventually(
        lambda: sum(len(h) for i, h in enumerate(workers.handled) if i != 2) >= 600, within=20
    )
    assert len(fourth.owned) == 2
    assert sum(fourth.delivered.values()) > fourth_before, "the newcomer serves its shards"
    assert set(fourth.delivered) == set(fourth.owned)


async def test_a_killed_worker_s_shards_fail_over_to_the_survivors(workers: Workers) -> None:
    first, second, third = [await workers.start() for _ in range(3)]
    await workers.balanced([first, second, third])

    await workers.connections[2].close()  # dies without leaving: its heartbeats just stop
    await workers.publish(300, round_="4")

    await workers.probe.eventually(lambda: sum(len(h) for h in workers.handled[:2]) >= 300, within=20)
    handled = {s for h in workers.handled[:2] for s in h}
    assert handled == {f"ns/image-{i}" for i in range(300)}


@pytest.mark.parametrize("fault", ["connection", "channel"])
async def test_workers_balance_again_after_one_loses_its_subscriptions(workers: Workers, fault: str) -> None:
    started = [await workers.start(named=True) for _ in range(3)]
    await workers.balanced(started)
    victim = started[2]
    if fault == "connection":
        await broker_faults.close_connections(workers.settings.prefix, service="worker-2")
    else:  # the broker closes the channel of one of the victim's own shards
        assert await broker_faults.break_consuming_channels(victim.owned[0], active_only=True) == 1

    # The victim subscribes again, behind the others on its own shards; its new epoch makes every
    # worker hand over what is not its own, so each one serves exactly its own shards again.
    await workers.serve_their_own_shards()
    assert all(c.health() is None for c in started)
    assert [len(c.owned) for c in started] == [2, 2, 2]
