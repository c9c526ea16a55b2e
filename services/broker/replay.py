"""Reading the event log back, and publishing a saved log again.

A stream is read with a consumer that names its start (``x-stream-offset``: ``"first"``,
``"last"``, ``"next"``, an offset number, or a timestamp); it needs a prefetch limit and manual
acks. A stream never ends, so a read stops after ``limit`` events, when nothing arrives for
``idle`` seconds, or, following it (``idle=None``), when its reader stops. Undecodable entries are
logged and skipped by :func:`replay`; :func:`entries` hands them over with the reason.

:func:`republish` publishes saved events through Kiln's publisher at the times
:func:`services.broker.event_log.schedule` set, as they were (same ids: the services' dedup holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

import aio_pika.abc
import aiormq.exceptions

from contracts import events
from services import errors
from services.broker import event_log, messages, publishing, topology
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)

Offset = int | str | datetime
PREFETCH = 500
BATCH = 500
"""Most events :func:`republish` keeps in flight at once."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry of the stream: its offset and its event, or why it cannot be decoded."""

    offset: int | None
    event: events.Event[events.Payload] | None
    problem: str = ""


async def replay(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    offset: Offset = "first",
    limit: int | None = None,
    idle: float = 1.0,
) -> list[events.Event[events.Payload]]:
    """The events of the stream from ``offset`` on, in order (at most ``limit``)."""
    found: list[events.Event[events.Payload]] = []
    if limit is not None and limit <= 0:
        return found
    async with contextlib.aclosing(entries(connection, settings=settings, offset=offset, idle=idle)) as read:
        async for entry in read:
            if entry.event is None:
                logger.warning("skipping stream entry at offset %s: %s", entry.offset, entry.problem)
                continue
            found.append(entry.event)
            if limit is not None and len(found) >= limit:
                break
    return found


async def entries(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    offset: Offset = "first",
    idle: float | None = 1.0,
) -> AsyncGenerator[Entry, None]:
    """Every entry of the stream from ``offset`` on, in order, until none arrives for ``idle``
    seconds (None: for as long as the caller reads). Close it (``contextlib.aclosing``) when done.

    Raises :class:`~services.errors.NotFoundError` when there is no stream (no topology declared).
    """
    name = topology.Names(settings).stream
    channel = await connection.channel()
    arrived: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    try:
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(name, ensure=False)
        try:
            await queue.consume(arrived.put, arguments={"x-stream-offset": offset})
        except aiormq.exceptions.ChannelNotFoundEntity as e:
            raise errors.NotFoundError(f"no event stream {name} on the broker: {e}") from e
        while True:
            try:
                async with asyncio.timeout(idle):  # not wait_for: it may swallow a cancel (3.11)
                    message = await arrived.get()
            except TimeoutError:
                return
            await message.ack()
            yield _entry(message)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


def _entry(message: aio_pika.abc.AbstractIncomingMessage) -> Entry:
    position = (message.headers or {}).get("x-stream-offset")
    offset = position if isinstance(position, int) else None
    try:
        return Entry(offset, messages.from_message(message))
    except errors.InvalidMessageError as e:
        return Entry(offset, None, str(e))


async def require_events_exchange(
    connection: aio_pika.abc.AbstractConnection, *, settings: broker_settings.BrokerSettings
) -> None:
    """Raise :class:`~services.errors.NotFoundError` unless the events exchange exists: publishes in
    flight to a missing exchange make the broker close the channel, and then the connection."""
    name = topology.Names(settings).events_exchange
    channel = await connection.channel()
    try:
        await channel.declare_exchange(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity as e:
        raise errors.NotFoundError(f"no events exchange {name} on the broker: {e}") from e
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def republish(
    publisher: publishing.Publisher,
    saved: Sequence[events.Event[events.Payload]],
    *,
    due: Sequence[float],
    batch: int = BATCH,
) -> AsyncGenerator[int, None]:
    """Publish ``saved`` in order, each not before its ``due`` second after the start, those due
    together in one confirmed batch; yields how many are confirmed after each batch.

    Raises :class:`~services.broker.publishing.PublishError` if a batch is not confirmed (the
    events before it are)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    index = 0
    while index < len(saved):
        wait = due[index] - (loop.time() - started)
        if wait > 0:
            await asyncio.sleep(wait)
        end = event_log.due_batch(due, start=index, elapsed=loop.time() - started, most=batch)
        await publisher.publish_many(saved[index:end])
        index = end
        yield index
