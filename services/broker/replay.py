"""Reading the event log back: the stream queue that receives a copy of every event.

A stream is read with a consumer that names its start (``x-stream-offset``: ``"first"``,
``"last"``, ``"next"``, an offset number, or a timestamp); it needs a prefetch limit and manual
acks. A stream never ends, so a read stops after ``limit`` events or when nothing arrives for
``idle`` seconds. Undecodable entries are logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import aio_pika.abc

from contracts import events
from services import errors
from services.broker import messages, topology
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)

Offset = int | str | datetime
PREFETCH = 500


async def replay(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    offset: Offset = "first",
    limit: int | None = None,
    idle: float = 1.0,
) -> list[events.Event[events.Payload]]:
    """The events of the stream from ``offset`` on, in order (at most ``limit``)."""
    if limit is not None and limit <= 0:
        return []
    channel = await connection.channel()
    arrived: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    try:
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(topology.Names(settings).stream, ensure=False)
        await queue.consume(arrived.put, arguments={"x-stream-offset": offset})
        return await _collect(arrived, limit=limit, idle=idle)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def _collect(
    arrived: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage], *, limit: int | None, idle: float
) -> list[events.Event[events.Payload]]:
    found: list[events.Event[events.Payload]] = []
    while limit is None or len(found) < limit:
        try:
            message = await asyncio.wait_for(arrived.get(), timeout=idle)
        except TimeoutError:
            break
        try:
            found.append(messages.from_message(message))
        except errors.InvalidMessageError as e:
            offset = (message.headers or {}).get("x-stream-offset")
            logger.warning("skipping stream entry at offset %s: %s", offset, e)
        await message.ack()
    return found
