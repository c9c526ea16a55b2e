"""Consumers and publishers against a broker that closes their connection or one of their channels.

Each test runs on a robust connection of its own, named after the test's unique prefix, and only
that connection or its channels are broken, by the broker (see ``broker_faults``). What a user
sees is checked: events published afterwards are handled, the broker has exactly one consumer
per queue again, and the consumer's health went from ok to failing and back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest

from contracts import events
from services import errors
from services.broker import connecting, consuming, publishing, topology
from services.runtime import admin
from tests.integration.broker import broker_faults

if TYPE_CHECKING:
    import aio_pika.abc

    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration


class Recorder:
    """A handler recording the subjects it handled; ``fails`` subjects raise a permanent error."""

    def __init__(self, *fails: str) -> None:
        self.fails = set(fails)
        self.subjects: list[str] = []

    async def __call__(self, event: events.Event[events.Payload]) -> None:
        self.subjects.append(event.subject)
        if event.subject in self.fails:
            raise errors.InvalidError(f"{event.subject} is broken")


class Watch:
    """Samples a health check on every turn of the event loop while open; ``seen`` is the run of
    its states (ok or not), ``reasons`` the distinct reasons it gave."""

    def __init__(self, check: Callable[[], str | None]) -> None:
        self.check = check
        self.seen: list[bool] = [check() is None]
        self.reasons: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _sample(self) -> None:
        while True:
            reason = self.check()
            if (reason is None) != self.seen[-1]:
                self.seen.append(reason is None)
            if reason is not None and reason not in self.reasons:
                self.reasons.append(reason)
            await asyncio.sleep(0)


@pytest.fixture
async def own(probe: Probe) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    """A robust connection of the test's own: ``<prefix>/faults@<host>``."""
    connection = await connecting.connect(probe.settings, service="faults")
    yield connection
    await connection.close()


def _events(probe: Probe, service: topology.Service, *indexes: int) -> list[events.Event[events.Payload]]:
    """Events ``service`` consumes, one per index, each about an image of its own."""
    if service is probe.runner:
        return [
            events.new(
                events.BuildScheduled(namespace="ns", image=f"image-{i}", build=f"image-{i}-build-1"),
                source="/kiln/tests",
                time=probe.event(i).time,
                discriminator=str(i),
            )
            for i in indexes
        ]
    return [probe.event(i) for i in indexes]


async def _publish(probe: Probe, batch: list[events.Event[events.Payload]]) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)


def _subjects(batch: list[events.Event[events.Payload]]) -> list[str]:
    return sorted(event.subject for event in batch)


async def _consumers(probe: Probe, service: topology.Service) -> list[int]:
    return await broker_faults.consumers(probe.names.queues(service))


SERVICES = [pytest.param("worker", id="sharded"), pytest.param("runner", id="unsharded")]


@pytest.mark.parametrize("which", SERVICES)
async def test_a_consumer_consumes_again_after_the_broker_closes_its_connection(
    probe: Probe, own: aio_pika.abc.AbstractRobustConnection, which: str
) -> None:
    service = probe.worker if which == "worker" else probe.runner
    before, after = _events(probe, service, 1, 2), _events(probe, service, *range(3, 13))
    broken = after[-1].subject
    handler = Recorder(broken)
    async with consuming.consuming(
        own, settings=probe.settings, service=service, handler=handler
    ) as consumer:
        await _publish(probe, before)
        await probe.eventually(lambda: len(handler.subjects) == 2)
        async with Watch(consumer.health) as watch:
            await broker_faults.close_connections(probe.settings.prefix, service="faults")
            await probe.eventually(lambda: len(watch.seen) > 1)  # the loss is noticed
            await probe.eventually(lambda: consumer.health() is None)

        await _publish(probe, after)
        await probe.eventually(lambda: len(handler.subjects) == 12)
        [dead] = await probe.drain(probe.names.dead_queue, expect=1)
        consumers = await _consumers(probe, service)

    assert sorted(handler.subjects) == _subjects(before + after)
    assert dead.headers["x-kiln-reason"] == "permanent", "the republishing channel is back too"
    assert watch.seen == [True, False, True], watch.reasons
    assert any("not subscribed to" in reason for reason in watch.reasons)
    assert consumers == [1] * len(consumers), "one consumer per queue, not two"


@pytest.mark.parametrize("which", SERVICES)
async def test_a_consumer_consumes_again_after_the_broker_closes_one_of_its_channels(
    probe: Probe, own: aio_pika.abc.AbstractRobustConnection, which: str
) -> None:
    service = probe.worker if which == "worker" else probe.runner
    queues = probe.names.queues(service)
    batch = _events(probe, service, *range(40))
    handler = Recorder()
    async with consuming.consuming(
        own, settings=probe.settings, service=service, handler=handler
    ) as consumer:
        async with Watch(consumer.health) as watch:
            assert await broker_faults.break_consuming_channels(queues[0]) == 1
            await probe.eventually(lambda: len(watch.seen) > 1)
            await probe.eventually(lambda: consumer.health() is None)

        await _publish(probe, batch)
        await probe.eventually(lambda: len(handler.subjects) == len(batch))
        consumers = await _consumers(probe, service)
        delivered = dict(consumer.delivered)

    assert sorted(handler.subjects) == _subjects(batch)
    assert delivered[queues[0]] > 0, "the broken queue's deliveries are handled again"
    assert watch.seen == [True, False, True], watch.reasons
    assert watch.reasons == [f"{service.name}: not subscribed to {[queues[0]]}"]
    assert consumers == [1] * len(queues)
    assert own.connected.is_set(), "only the channel was closed"


async def test_a_consumer_whose_queue_is_gone_is_unready_and_then_not_live_until_it_is_back(
    probe: Probe, own: aio_pika.abc.AbstractRobustConnection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=connecting.__name__)
    [queue] = probe.names.queues(probe.runner)
    handler = Recorder()
    health = admin.Health()
    async with consuming.consuming(
        own, settings=probe.settings, service=probe.runner, handler=handler
    ) as consumer:
        health.add("runner", consumer.health, liveness=False, fatal_after=0.5)
        assert (health.ready(), health.live()) == ({"runner": "ok"}, {})
        channel = await probe.connection.channel()
        await channel.queue_delete(queue)  # the broker cancels the consumer; subscribing fails

        await probe.eventually(lambda: health.ready()["runner"] != "ok")
        assert health.live() == {}, "not dead yet"
        await probe.eventually(lambda: "runner" in health.live(), within=5)
        unready, dead = health.ready()["runner"], health.live()["runner"]

        tries = [r for r in caplog.records if "restoring failed" in r.getMessage()]
        await topology.declare(channel, settings=probe.settings, services=probe.services)
        await channel.close()
        await probe.eventually(lambda: health.ready() == {"runner": "ok"})
        live_again = health.live()
        await _publish(probe, _events(probe, probe.runner, 1))
        await probe.eventually(lambda: handler.subjects == ["ns/image-1"])

    assert unready == f"runner: not subscribed to {[queue]}"
    assert dead.startswith(f"runner: not subscribed to {[queue]} (for ")
    assert live_again == {}
    assert 1 <= len(tries) <= 3, (
        "a failed subscription is tried again every resubscribe_seconds, not in a loop"
    )


async def test_the_publisher_publishes_again_after_the_broker_closes_its_connection(
    probe: Probe, own: aio_pika.abc.AbstractRobustConnection
) -> None:
    [runner_queue] = probe.names.queues(probe.runner)
    async with await publishing.Publisher.open(own, settings=probe.settings) as publisher:
        await publisher.publish_many(_events(probe, probe.runner, 1))
        async with Watch(publisher.health) as watch:
            await broker_faults.close_connections(probe.settings.prefix, service="faults")
            await probe.eventually(lambda: len(watch.seen) == 3)
        await publisher.publish_many(_events(probe, probe.runner, *range(2, 12)))

    assert watch.seen == [True, False, True], watch.reasons
    closed = f"publisher to {probe.names.events_exchange}: its channel is closed; reopening"
    assert watch.reasons, "the publisher said why it could not publish"
    assert set(watch.reasons) <= {connecting.CONNECTION_DOWN, closed}
    taken = await probe.drain(runner_queue, expect=11)
    assert len(taken) == 11


async def test_the_publisher_publishes_again_after_the_broker_closes_its_channel(probe: Probe) -> None:
    missing = f"{probe.settings.prefix}.late"
    async with await publishing.Publisher.open(
        probe.connection, settings=probe.settings, exchange=missing
    ) as publisher:
        with pytest.raises(publishing.PublishError, match="NOT_FOUND"):
            await publisher.publish(probe.event(1))  # the broker closes the channel: no such exchange
        channel = await probe.connection.channel()
        late = await channel.declare_exchange(missing, "topic", auto_delete=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(late, routing_key="#")
        await probe.eventually(lambda: publisher.health() is None)
        await publisher.publish(probe.event(2))
        got = await queue.get(timeout=5)

    assert got.headers["ce-id"] == probe.event(2).id
    await late.delete()
    await channel.close()
