"""Broker throughput, measured in one run: raw aio-pika next to Kiln's publisher and consumer.

:func:`run` declares a throw-away topology (its own name prefix, one sharded service), measures

* raw aio-pika publish + confirm, awaiting each message (one round trip per message);
* raw aio-pika publish + confirm, pipelined (up to ``max_in_flight`` unconfirmed);
* :meth:`Publisher.publish_many` (confirmed, pipelined, building the messages from events);
* the consumer wrapper: decode, validate, a no-op handler, ack;

then deletes the topology. The two pipelined publishers run ``rounds`` times each, alternating
which goes first (the broker's queues grow as a run goes on), and the median of each is reported.
Counts are bounded and every wait has a deadline, so it stops by itself. Messages go to the
events exchange, so each also lands in the stream and a shard.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aio_pika
import aio_pika.abc

from contracts import events
from services.broker import connecting, consuming, messages, publishing, topology
from services.broker import settings as broker_settings

SERVICE = topology.Service("bench", (events.ImageChanged.event_type,))


@dataclasses.dataclass(frozen=True)
class Figures:
    """Messages per second of each scenario, and the counts they were measured over."""

    messages: int
    awaited_messages: int
    rounds: int
    raw_awaited_msg_s: float
    raw_pipelined_msg_s: float
    publisher_msg_s: float
    consume_msg_s: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


async def run(
    settings: broker_settings.BrokerSettings, *, count: int = 5000, awaited_count: int = 1000, rounds: int = 3
) -> Figures:
    """Measure each scenario once against the broker of ``settings``."""
    bench_settings = settings.model_copy(
        update={"prefix": f"{settings.prefix}-bench-{uuid.uuid4().hex[:8]}", "prefetch": 200}
    )
    connection = await connecting.connect(bench_settings, service="kiln-bench")
    try:
        channel = await connection.channel()
        names = await topology.declare(channel, settings=bench_settings, services=(SERVICE,))
        try:
            return await _measure(
                connection,
                settings=bench_settings,
                names=names,
                count=count,
                awaited_count=awaited_count,
                rounds=rounds,
            )
        finally:
            await topology.delete(channel, settings=bench_settings, services=(SERVICE,))
            await channel.close()
    finally:
        await connection.close()


async def _measure(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    names: topology.Names,
    count: int,
    awaited_count: int,
    rounds: int,
) -> Figures:
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(names.events_exchange, ensure=False)
    awaited = [_event(i) for i in range(awaited_count)]
    pipelined = [_event(i) for i in range(count)]

    async def publish_awaiting_each() -> None:
        for event in awaited:
            await exchange.publish(messages.to_message(event), routing_key=event.type)

    window = asyncio.Semaphore(settings.max_in_flight)

    async def publish_one(event: events.Event[events.Payload]) -> None:
        async with window:
            await exchange.publish(messages.to_message(event), routing_key=event.type)

    async def publish_pipelined() -> None:
        await asyncio.gather(*(publish_one(event) for event in pipelined))

    raw_awaited = await _rate(awaited_count, publish=publish_awaiting_each)
    raw: list[float] = []
    ours: list[float] = []
    async with await publishing.Publisher.open(connection, settings=settings) as publisher:
        for round_ in range(rounds):
            pair: list[tuple[list[float], Callable[[], Awaitable[None]]]] = [
                (raw, publish_pipelined),
                (ours, functools.partial(publisher.publish_many, pipelined)),
            ]
            for rates, publish in pair if round_ % 2 == 0 else reversed(pair):
                rates.append(await _rate(count, publish=publish))
    await channel.close()
    consumed = await _consume_rate(connection, settings=settings, total=awaited_count + 2 * rounds * count)
    return Figures(
        messages=count,
        awaited_messages=awaited_count,
        rounds=rounds,
        raw_awaited_msg_s=raw_awaited,
        raw_pipelined_msg_s=statistics.median(raw),
        publisher_msg_s=statistics.median(ours),
        consume_msg_s=consumed,
    )


async def _consume_rate(
    connection: aio_pika.abc.AbstractConnection, *, settings: broker_settings.BrokerSettings, total: int
) -> float:
    handled = 0
    done = asyncio.Event()

    async def handle(event: events.Event[events.Payload]) -> None:
        nonlocal handled
        handled += 1
        if handled >= total:
            done.set()

    started = time.perf_counter()
    async with consuming.consuming(connection, settings=settings, service=SERVICE, handler=handle):
        await asyncio.wait_for(done.wait(), timeout=max(30.0, total / 200))
    return total / (time.perf_counter() - started)


async def _rate(sent: int, *, publish: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await publish()
    return sent / (time.perf_counter() - started)


def _event(index: int) -> events.Event[events.Payload]:
    payload = events.ImageChanged(namespace="bench", name=f"image-{index}", resource_version=str(index))
    return events.new(payload, source="/kiln/bench", time=datetime.now(UTC), discriminator=str(index))
