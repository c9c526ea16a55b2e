"""Which workers of a sharded service are alive, and which shards each one should hold.

RabbitMQ 3.10's single active consumer makes the *first* subscriber of a shard its active
consumer, so workers that subscribe to every shard leave one worker doing all the work and the
rest as standbys. Balancing therefore needs to know the workers: each one announces itself on the
service's members exchange (fanout) every ``heartbeat`` seconds, hears the others on an exclusive
queue, and counts a worker alive while it was heard from within three heartbeats. A worker that
stops cleanly says so, and is forgotten at once.

:func:`assign` (pure) spreads the shards over the sorted live workers round-robin; each worker
then hands over the shards it does not own (see :class:`services.broker.consuming.Consumer`).
Single active consumer stays the guarantee that one worker at a time handles a shard: the
membership only decides who should, and two workers briefly disagreeing costs a handover, never
two handlers of one image.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import aio_pika
import aio_pika.abc

logger = logging.getLogger(__name__)

MISSED_HEARTBEATS = 3
"""A worker not heard from for this many heartbeats is gone."""


def assign(shards: Sequence[str], workers: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each worker → its shards: shard ``i`` to the ``i mod n``-th of the sorted workers."""
    ordered = sorted(set(workers))
    if not ordered:
        return {}
    owned: dict[str, list[str]] = {worker: [] for worker in ordered}
    for index, shard in enumerate(shards):
        owned[ordered[index % len(ordered)]].append(shard)
    return {worker: tuple(found) for worker, found in owned.items()}


def new_worker_id(name: str) -> str:
    """A worker id unique across restarts: ``<name>/<random>`` (the name helps reading logs)."""
    return f"{name}/{uuid.uuid4().hex[:12]}"


class Roster:
    """The live workers as heard so far (pure apart from the injected clock)."""

    def __init__(self, me: str, *, heartbeat: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.me = me
        self._timeout = heartbeat * MISSED_HEARTBEATS
        self._clock = clock
        self._seen: dict[str, float] = {}

    def heard(self, worker: str, *, leaving: bool = False) -> None:
        if leaving:
            self._seen.pop(worker, None)
        else:
            self._seen[worker] = self._clock()

    def workers(self) -> tuple[str, ...]:
        """The live workers, sorted, this one included."""
        now = self._clock()
        alive = {w for w, at in self._seen.items() if now - at <= self._timeout}
        return tuple(sorted(alive | {self.me}))


@contextlib.asynccontextmanager
async def announcing(
    connection: aio_pika.abc.AbstractConnection, *, exchange: str, roster: Roster, heartbeat: float
) -> AsyncIterator[Roster]:
    """Announce ``roster.me`` on ``exchange`` and record the others into ``roster`` until exit."""
    channel = await connection.channel()
    members = await channel.get_exchange(exchange, ensure=False)
    # Named (not server-named) so that a robust channel can declare it again after a reconnect.
    inbox = await channel.declare_queue(
        f"{exchange}.{roster.me}",
        exclusive=True,
        auto_delete=True,
        arguments={"x-message-ttl": round(heartbeat * MISSED_HEARTBEATS * 1000)},
    )
    await inbox.bind(members)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            body = json.loads(message.body)
            roster.heard(str(body["worker"]), leaving=bool(body.get("leaving", False)))

    async def say(*, leaving: bool) -> None:
        body = json.dumps({"worker": roster.me, "leaving": leaving}).encode()
        await members.publish(aio_pika.Message(body, content_type="application/json"), routing_key="")

    async def beat() -> None:
        while True:
            try:
                await say(leaving=False)
            except Exception as e:  # a broker outage: the robust connection restores the channel
                logger.warning("membership heartbeat of %s not sent: %r", roster.me, e)
            await asyncio.sleep(heartbeat)

    await inbox.consume(on_message, no_ack=True)
    task = asyncio.create_task(beat(), name=f"heartbeat {roster.me}")
    try:
        yield roster
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await say(leaving=True)
        with contextlib.suppress(Exception):
            await channel.close()
