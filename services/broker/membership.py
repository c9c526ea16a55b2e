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
import aio_pika.exceptions
import aiormq.abc

from services.broker import connecting

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
    """The live workers as heard so far, with their epochs (pure apart from the injected clock).

    A worker's epoch counts how often it has had to subscribe again after losing subscriptions
    (a reconnect, a channel closed by the broker): such a worker waits at the back of its shards'
    lines, behind workers that took them over meanwhile, so a new epoch anywhere is a change of
    the roster's :meth:`view` that makes every worker balance again, as a new worker would.
    """

    def __init__(self, me: str, *, heartbeat: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.me = me
        self.epoch = 0
        """This worker's epoch; its consumer raises it after subscribing again."""
        self._timeout = heartbeat * MISSED_HEARTBEATS
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}

    def heard(self, worker: str, *, leaving: bool = False, epoch: int = 0) -> None:
        if leaving:
            self._seen.pop(worker, None)
        else:
            self._seen[worker] = (self._clock(), epoch)

    def workers(self) -> tuple[str, ...]:
        """The live workers, sorted, this one included."""
        return tuple(worker for worker, _ in self.view())

    def view(self) -> tuple[tuple[str, int], ...]:
        """The live workers, sorted, each with its last heard epoch; this one included."""
        now = self._clock()
        alive = {w: epoch for w, (at, epoch) in self._seen.items() if now - at <= self._timeout}
        alive[self.me] = self.epoch
        return tuple(sorted(alive.items()))


class Announcer:
    """This worker's voice and ears in the roster; see :func:`announcing`.

    It hears the others on an exclusive queue of its own, consumed on a channel that a
    :class:`~services.broker.connecting.Keeper` opens again whenever that queue is found no
    longer consumed (a reconnect, the channel closed by the broker, a cancel)."""

    def __init__(
        self, connection: aio_pika.abc.AbstractConnection, *, exchange: str, roster: Roster, heartbeat: float
    ) -> None:
        self._connection = connection
        self._exchange = exchange
        self._roster = roster
        self._heartbeat = heartbeat
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._members: aio_pika.abc.AbstractExchange | None = None
        self._listening: tuple[aiormq.abc.AbstractChannel, str] | None = None
        self.keeper = connecting.Keeper(
            connection, self._listen_again, period=heartbeat, name=f"keeping the roster inbox of {roster.me}"
        )

    def health(self) -> str | None:
        """Why this worker hears nobody now (its inbox is not consumed), or ``None``."""
        if not self._listens():
            return f"{self._roster.me}: not listening on {self._exchange}"
        return self.keeper.health()

    async def beat(self) -> None:
        """Say "alive" every heartbeat."""
        failing = False
        while True:
            try:
                await self.say(leaving=False)
            except Exception as e:  # a broker outage: the next beat tries again
                (logger.debug if failing else logger.warning)(
                    "membership heartbeat of %s not sent: %r", self._roster.me, e
                )
                failing = True
            else:
                failing = False
            await asyncio.sleep(self._heartbeat)

    async def say(self, *, leaving: bool) -> None:
        if self._members is None:
            raise aio_pika.exceptions.ChannelInvalidStateError("not listening")
        body = json.dumps({"worker": self._roster.me, "leaving": leaving, "epoch": self._roster.epoch})
        await self._members.publish(
            aio_pika.Message(body.encode(), content_type="application/json"), routing_key=""
        )

    async def close(self) -> None:
        channel, self._channel, self._members, self._listening = self._channel, None, None, None
        await connecting.close_quietly(channel)

    def _listens(self) -> bool:
        return self._listening is not None and connecting.consumes(*self._listening)

    async def listen(self) -> None:
        """Consume this worker's inbox on a new channel (the old one closed first)."""
        await self.close()
        channel = await connecting.open_channel(self._connection, on_close=self.keeper.wake)
        self._channel = channel
        self._members = await channel.get_exchange(self._exchange, ensure=False)
        async with asyncio.timeout(connecting.RPC_SECONDS):
            inbox = await channel.declare_queue(
                f"{self._exchange}.{self._roster.me}",
                exclusive=True,
                auto_delete=True,
                arguments={"x-message-ttl": round(self._heartbeat * MISSED_HEARTBEATS * 1000)},
            )
            await inbox.bind(self._members)
            underlay = await channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(self.keeper.wake)
            self._listening = (underlay, await inbox.consume(self._on_message, no_ack=True))

    async def _listen_again(self) -> None:
        if not self._listens():
            await self.listen()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            body = json.loads(message.body)
            epoch = body.get("epoch", 0)
            self._roster.heard(
                str(body["worker"]),
                leaving=bool(body.get("leaving", False)),
                epoch=epoch if isinstance(epoch, int) else 0,
            )


@contextlib.asynccontextmanager
async def announcing(
    connection: aio_pika.abc.AbstractConnection, *, exchange: str, roster: Roster, heartbeat: float
) -> AsyncIterator[Announcer]:
    """Announce ``roster.me`` on ``exchange`` and record the others into ``roster`` until exit."""
    announcer = Announcer(connection, exchange=exchange, roster=roster, heartbeat=heartbeat)
    await announcer.listen()
    announcer.keeper.start()
    task = asyncio.create_task(announcer.beat(), name=f"heartbeat {roster.me}")
    try:
        yield announcer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await announcer.keeper.stop()
        with contextlib.suppress(Exception):
            await announcer.say(leaving=True)
        await announcer.close()
