"""How many messages wait in some queues, read with passive declares (for ``/metrics``).

A passive declare answers a queue's ready messages (not those delivered and not yet settled) and
changes nothing; one of a missing queue closes its channel, so each read opens a channel of its
own, and a missing queue is left out of the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aio_pika.abc
import aio_pika.exceptions
import aiormq.exceptions

logger = logging.getLogger(__name__)


async def ready_messages(
    connection: aio_pika.abc.AbstractConnection, queues: Sequence[str]
) -> dict[str, int]:
    """Ready messages in each of ``queues`` that exists, on a channel opened for the read."""
    found: dict[str, int] = {}
    channel: aio_pika.abc.AbstractChannel | None = None
    try:
        for name in dict.fromkeys(queues):
            if channel is None or channel.is_closed:
                channel = await connection.channel(publisher_confirms=False)
            try:
                queue = await channel.declare_queue(name, passive=True)
            except (aio_pika.exceptions.ChannelClosed, aiormq.exceptions.ChannelNotFoundEntity):
                logger.debug("queue %s not found", name)
                continue
            found[name] = int(queue.declaration_result.message_count or 0)
    finally:
        if channel is not None and not channel.is_closed:
            await channel.close()
    return found
