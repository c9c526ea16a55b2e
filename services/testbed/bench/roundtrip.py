"""The physical limit of one hop here: raw aio-pika consume → publish (confirmed) → ack.

:func:`measure` fills a quorum queue A with ``count`` persistent ~300-byte messages, then consumes
A with ``prefetch`` unacknowledged deliveries at a time; each delivery publishes one message to a
quorum queue B, waits for the broker's confirm, then acks its delivery on A — what every Kiln
service does per event, minus Kiln. Deliveries per second from the first delivery to the last
ack, median of ``rounds`` rounds; the queues are deleted afterwards. No Kiln code is involved.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aio_pika
import aio_pika.abc

from services.broker import settings as broker_settings

BODY = b'{"specversion":"1.0","type":"image.changed","data":{"namespace":"bench","name":"app"}}'.ljust(
    300, b" "
)


async def measure(
    settings: broker_settings.BrokerSettings,
    *,
    count: int = 2000,
    prefetch: int = 64,
    rounds: int = 3,
    prefix: str = "kiln-bench-roundtrip",
) -> float:
    """Median deliveries per second of ``rounds`` rounds of ``count`` consume → publish → ack, on
    queues named ``<prefix>-<random>.a`` and ``.b``."""
    connection = await aio_pika.connect(
        settings.url.get_secret_value(), client_properties={"connection_name": "kiln-bench/roundtrip"}
    )
    try:
        return statistics.median(
            [await _round(connection, count=count, prefetch=prefetch, prefix=prefix) for _ in range(rounds)]
        )
    finally:
        await connection.close()


async def _round(
    connection: aio_pika.abc.AbstractConnection, *, count: int, prefetch: int, prefix: str
) -> float:
    consuming = await connection.channel(publisher_confirms=False)
    publishing = await connection.channel(publisher_confirms=True)
    await consuming.set_qos(prefetch_count=prefetch)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    source = await publishing.declare_queue(f"{name}.a", durable=True, arguments={"x-queue-type": "quorum"})
    target = await publishing.declare_queue(f"{name}.b", durable=True, arguments={"x-queue-type": "quorum"})
    try:
        await _fill(publishing, source.name, count=count)
        return await _relay(consuming, publishing, source=source.name, target=target.name, count=count)
    finally:
        for queue in (source, target):
            await queue.delete(if_unused=False, if_empty=False)
        await consuming.close()
        await publishing.close()


async def _fill(channel: aio_pika.abc.AbstractChannel, queue: str, *, count: int) -> None:
    window = asyncio.Semaphore(500)

    async def publish() -> None:
        async with window:
            await channel.default_exchange.publish(_message(), routing_key=queue)

    await asyncio.gather(*(publish() for _ in range(count)))


async def _relay(
    consuming: aio_pika.abc.AbstractChannel,
    publishing: aio_pika.abc.AbstractChannel,
    *,
    source: str,
    target: str,
    count: int,
) -> float:
    acked = 0
    done = asyncio.Event()
    started: float | None = None

    async def relay(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal acked, started
        started = started or time.perf_counter()
        await publishing.default_exchange.publish(_message(message.body), routing_key=target)
        await message.ack()
        acked += 1
        if acked == count:
            done.set()

    queue = await consuming.get_queue(source, ensure=False)
    tag = await queue.consume(relay)
    try:
        await asyncio.wait_for(done.wait(), timeout=max(60.0, count / 100))
    finally:
        await queue.cancel(tag)
    assert started is not None
    return count / (time.perf_counter() - started)


def _message(body: bytes = BODY) -> aio_pika.Message:
    return aio_pika.Message(
        body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, content_type="application/json"
    )
