"""The one consumer wrapper: it owns acknowledgement, handlers never ack.

For every delivery:

* decode and validate into the typed event; undecodable or schema-invalid → dead-letter
  (reason ``invalid``);
* run the handler, events about one key one at a time and in delivery order;
* it returned → ack (its effects are written by then);
* :class:`~services.errors.TemporaryError` → retried in process with ``settings.backoff``, then
  republished to the service's delayed-retry queue with ``x-kiln-attempt`` counting the broker
  retries; after the last of ``settings.retry_delays`` → dead-letter (``retries-exhausted``);
* :class:`~services.errors.DeferredError` → republished to the service's wait queue, from which
  the broker delivers it again after the service's ``wait_seconds``, uncounted, as often as it
  takes (a build waiting for a free slot);
* :class:`~services.errors.PermanentError` → dead-letter (``permanent``);
* anything else is a bug → logged and requeued; ``x-delivery-limit`` then dead-letters the
  poison message through the queue's dead-letter exchange (the broker's ``x-death`` says why).

A dead letter keeps the original body and headers and gains ``x-kiln-reason``,
``x-kiln-error``, ``x-kiln-service`` and ``x-kiln-queue``. Republishing (retry, dead letter) is
confirmed before the original is acked, so a message is never lost in between.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import aio_pika.abc
import aiormq.abc

from contracts import events
from services import errors, retrying
from services.broker import connecting, membership, messages, topology
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)

Handler = Callable[[events.Event[events.Payload]], Awaitable[None]]

REASON_HEADER = "x-kiln-reason"
ERROR_HEADER = "x-kiln-error"
ATTEMPT_HEADER = "x-kiln-attempt"
SERVICE_HEADER = "x-kiln-service"
QUEUE_HEADER = "x-kiln-queue"
MAX_ERROR_LENGTH = 1000


class KeyLocks:
    """One lock per ordering key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: collections.Counter[str] = collections.Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


Observe = Callable[[str, str, str, float], None]
"""Told of every settled delivery: (service, event type, outcome, seconds from delivery to settlement).
Outcomes: ``ok``, ``retry``, ``dead-letter``, ``invalid``, ``requeue``."""


@dataclasses.dataclass(eq=False)
class _Subscription:
    """One work queue consumed on a channel of its own, so that it can be handed over alone."""

    queue: str
    channel: aio_pika.abc.AbstractChannel | None = None
    consumer: tuple[aio_pika.abc.AbstractQueue, str] | None = None
    underlay: aiormq.abc.AbstractChannel | None = None
    """The protocol channel the consumer was registered on: it says whether the consumer still is."""
    leaving: bool = False
    """A handover or the stop is in progress: the subscription is not missing meanwhile."""
    draining: aio_pika.abc.AbstractChannel | None = None
    """The channel being left: its deliveries are not taken; left unacknowledged, they return to
    the queue when it closes."""
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    """Held while the subscription is made, handed over or put back: one of them at a time."""
    in_flight: set[asyncio.Task[object]] = dataclasses.field(default_factory=set)

    def active(self) -> bool:
        """Whether the broker still has this subscription's consumer, as it last told the process."""
        return self.consumer is not None and connecting.consumes(self.underlay, self.consumer[1])


class Consumer:
    """Consumes a service's work queues with ``handler``; start it, and stop it to drain.

    Each work queue has its own channel. The consumer owns its subscriptions' lifecycle: a
    subscription lost with the connection, with its channel (closed by the broker) or by a
    broker-side cancel is made again on a new channel by a :class:`~connecting.Keeper`, at once
    on the close, cancel or reconnect and every ``settings.resubscribe_seconds`` as a safety net;
    :meth:`health` names the subscriptions missing meanwhile. Handlers still running for
    deliveries of a lost channel finish; their acks fail and the broker redelivers those messages
    (events are idempotent), behind the same key's lock when they come back here.

    For a sharded service with ``settings.balance``, the workers keep a roster
    (:mod:`services.broker.membership`); whenever it settles on a new set of workers, each worker
    hands over the shards that are not its own by closing that shard's channel once its handlers
    in flight are done (the broker then makes the next waiting consumer active, the owner among
    them) and subscribing again, at the back of the line. Deliveries that arrive meanwhile are left
    unacknowledged and return to the shard with the closed channel. A worker that had to subscribe
    again after a loss is at the back of its own shards' lines too, so it raises its epoch in the
    roster, and every worker balances again.
    """

    def __init__(
        self,
        connection: aio_pika.abc.AbstractConnection,
        *,
        settings: broker_settings.BrokerSettings,
        service: topology.Service,
        handler: Handler,
        observe: Observe | None = None,
        worker: str | None = None,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._service = service
        self._handler = handler
        self._observe = observe
        self._names = topology.Names(settings)
        self._locks = KeyLocks()
        self._subscriptions = {name: _Subscription(name) for name in self._names.queues(service)}
        self._republisher: connecting.KeptChannel | None = None
        self._keeper = connecting.Keeper(
            connection,
            self._resubscribe_lost,
            period=settings.resubscribe_seconds,
            name=f"keeping the subscriptions of {service.name}",
        )
        self._members = contextlib.AsyncExitStack()
        self._announcer: membership.Announcer | None = None
        self._roster: membership.Roster | None = None
        self._balancer: asyncio.Task[None] | None = None
        self.settled: tuple[str, ...] | None = None
        """The roster this worker last balanced for (its handovers done), None before the first."""
        self._settled_view: tuple[tuple[str, int], ...] | None = None
        """That roster with each worker's epoch (see :meth:`membership.Roster.view`)."""
        self.worker = worker or membership.new_worker_id(service.name)
        """This worker's id in the service's roster."""
        self.owned: tuple[str, ...] = tuple(self._subscriptions)
        """The work queues this worker should be the active consumer of (all until balanced)."""
        self.delivered: collections.Counter[str] = collections.Counter()
        """Deliveries handled so far, by work queue."""

    @property
    def balancing(self) -> bool:
        return self._service.sharded and self._settings.balance and len(self._subscriptions) > 1

    async def start(self) -> None:
        """Subscribe to every work queue of the service; join the roster when balancing."""
        self._republisher = await connecting.KeptChannel.open(
            self._connection,
            confirms=True,
            period=self._settings.resubscribe_seconds,
            name=f"{self._service.name} republisher",
        )
        for subscription in self._subscriptions.values():
            async with subscription.lock:
                await self._subscribe(subscription)
        self._keeper.start()
        if self.balancing:
            heartbeat = self._settings.heartbeat_seconds
            self._roster = membership.Roster(self.worker, heartbeat=heartbeat)
            self._announcer = await self._members.enter_async_context(
                membership.announcing(
                    self._connection,
                    exchange=self._names.members(self._service),
                    roster=self._roster,
                    heartbeat=heartbeat,
                )
            )
            self._balancer = asyncio.create_task(self._balance(self._roster), name=f"balance {self.worker}")
        logger.info("consuming %s as %s", list(self._subscriptions), self.worker)

    async def stop(self) -> None:
        """Stop taking deliveries, wait for the handlers in flight, leave the roster."""
        await self._keeper.stop()
        if self._balancer is not None:
            self._balancer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._balancer
            self._balancer = None
        for subscription in self._subscriptions.values():
            subscription.leaving, subscription.draining = True, subscription.channel
            if subscription.consumer is not None and subscription.active():
                queue, tag = subscription.consumer
                with contextlib.suppress(Exception):
                    await queue.cancel(tag)
        for subscription in self._subscriptions.values():
            await self._drained(subscription)
            await self._unsubscribe(subscription)
        await self._members.aclose()
        if self._republisher is not None:
            await self._republisher.close()
            self._republisher = None

    def missing(self) -> list[str]:
        """The work queues this consumer should be subscribed to and is not."""
        return [s.queue for s in self._subscriptions.values() if not s.leaving and not s.active()]

    def health(self) -> str | None:
        """Why this consumer cannot work now (subscriptions or channels missing), or ``None``."""
        missing = self.missing()
        if missing:
            down = "" if connecting.usable(self._connection) else "; the broker connection is down"
            return f"{self._service.name}: not subscribed to {missing}{down}"
        if self._republisher is None:
            return f"{self._service.name}: stopped"
        problems = [
            self._republisher.health(),
            self._keeper.health(),
            self._announcer.health() if self._announcer is not None else None,
        ]
        if self._balancer is not None and self._balancer.done():
            problems.append("shard balancing stopped")
        found = [problem for problem in problems if problem is not None]
        return f"{self._service.name}: {'; '.join(found)}" if found else None

    async def _subscribe(self, subscription: _Subscription) -> None:
        """Consume ``subscription``'s queue on a new channel (its lock held)."""
        await self._unsubscribe(subscription)
        channel = await connecting.open_channel(self._connection, on_close=self._keeper.wake)
        subscription.channel = channel
        async with asyncio.timeout(connecting.RPC_SECONDS):
            await channel.set_qos(prefetch_count=self._service.prefetch or self._settings.prefetch)
            # Not declared through this channel (the topology declared it): nothing but this
            # consumer restores the subscription.
            queue = await channel.get_queue(subscription.queue, ensure=False)

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                await self._on_message(subscription, channel, message)

            underlay = await channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(self._keeper.wake)
            subscription.consumer = (queue, await queue.consume(on_message))
            subscription.underlay = underlay

    async def _unsubscribe(self, subscription: _Subscription) -> None:
        channel = subscription.channel
        subscription.channel, subscription.consumer, subscription.underlay = None, None, None
        await connecting.close_quietly(channel)

    async def _resubscribe_lost(self) -> None:
        """Subscribe again to every queue whose subscription is missing (the keeper's round)."""
        lost = 0
        for subscription in self._subscriptions.values():
            if subscription.leaving or subscription.active():
                continue
            async with subscription.lock:
                if subscription.leaving or subscription.active():
                    continue
                await self._subscribe(subscription)
                lost += 1
                logger.warning("%s: subscribed to %s again", self.worker, subscription.queue)
        if lost and self._roster is not None:
            self._roster.epoch += 1

    async def _balance(self, roster: membership.Roster) -> None:
        """Hand over foreign shards whenever the roster settles (same for two heartbeats) anew."""
        previous: tuple[tuple[str, int], ...] | None = None
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            view = roster.view()
            if view == previous and view != self._settled_view:
                workers = tuple(worker for worker, _ in view)
                try:
                    await self._rebalance(workers)
                except Exception:  # e.g. a channel that could not be opened: try again next beat
                    logger.exception(
                        "%s: balancing for %d worker(s) failed; retrying", self.worker, len(workers)
                    )
                else:
                    self._settled_view = view
            previous = view

    async def _rebalance(self, workers: tuple[str, ...]) -> None:
        owned = membership.assign(tuple(self._subscriptions), workers)[self.worker]
        foreign = [s for name, s in self._subscriptions.items() if name not in owned]
        logger.info(
            "%s: %d worker(s); owning %s, handing over %d shard(s)",
            self.worker,
            len(workers),
            list(owned),
            len(foreign),
        )
        self.owned = owned
        await asyncio.gather(*(self._hand_over(s) for s in foreign))
        self.settled = workers

    async def _hand_over(self, subscription: _Subscription) -> None:
        """Let the next waiting consumer of ``subscription``'s shard take it; wait in line again."""
        async with subscription.lock:
            subscription.leaving, subscription.draining = True, subscription.channel
            try:
                await self._drained(subscription)
                await self._subscribe(subscription)
            finally:  # if subscribing failed, the keeper subscribes again
                subscription.leaving, subscription.draining = False, None

    async def _drained(self, subscription: _Subscription) -> None:
        while subscription.in_flight:
            await asyncio.wait(set(subscription.in_flight))

    async def _on_message(
        self,
        subscription: _Subscription,
        channel: aio_pika.abc.AbstractChannel,
        message: aio_pika.abc.AbstractIncomingMessage,
    ) -> None:
        if channel is subscription.draining:
            return  # stays unacknowledged; returns to the shard when the channel closes
        task = asyncio.current_task()
        assert task is not None
        subscription.in_flight.add(task)
        self.delivered[subscription.queue] += 1
        started = time.monotonic()
        outcome = "requeue"
        try:
            outcome = await self._process(message)
        except Exception:
            # A retry or dead letter that was not confirmed: hand the message back; the broker
            # redelivers it, and x-delivery-limit bounds how often.
            logger.exception("could not settle message %s; requeueing", message.message_id)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
        finally:
            subscription.in_flight.discard(task)
            if self._observe is not None:
                event_type = message.type or "unknown"
                self._observe(self._service.name, event_type, outcome, time.monotonic() - started)

    async def _process(self, message: aio_pika.abc.AbstractIncomingMessage) -> str:
        """Handle and settle ``message``; return the outcome."""
        try:
            event = messages.from_message(message)
        except errors.InvalidMessageError as e:
            await self._dead_letter(message, reason="invalid", error=e)
            return "invalid"
        async with self._locks.hold(event.subject):
            try:
                await self._run_handler(event)
            except errors.DeferredError as e:
                return await self._defer(message, reason=e)
            except errors.TemporaryError as e:
                return await self._retry_later(message, error=e)
            except errors.PermanentError as e:
                await self._dead_letter(message, reason="permanent", error=e)
                return "dead-letter"
            except Exception:
                logger.exception("handler failed on %s %s; requeueing", event.type, event.id)
                await message.nack(requeue=True)
                return "requeue"
            await message.ack()
            return "ok"

    async def _run_handler(self, event: events.Event[events.Payload]) -> None:
        async for attempt in retrying.retrying(self._settings.backoff):
            with attempt:
                await self._handler(event)

    async def _defer(self, message: aio_pika.abc.AbstractIncomingMessage, *, reason: Exception) -> str:
        waiting = self._names.wait_queue(self._service)
        if waiting is None:  # a handler bug: this service has no wait queue
            error = errors.PermanentError(f"{self._service.name} cannot defer an event: {reason}")
            await self._dead_letter(message, reason="permanent", error=error)
            return "dead-letter"
        logger.debug("event %s deferred: %s", message.message_id, reason)
        await self._republish(message, headers=dict(message.headers or {}), exchange="", routing_key=waiting)
        await message.ack()
        return "deferred"

    async def _retry_later(self, message: aio_pika.abc.AbstractIncomingMessage, *, error: Exception) -> str:
        attempt = _attempt_of(message)
        retry_queues = self._names.retry_queues(self._service)
        if attempt >= len(retry_queues):
            await self._dead_letter(message, reason="retries-exhausted", error=error)
            return "dead-letter"
        headers = {**(message.headers or {}), ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: _text(error)}
        logger.warning(
            "event %s failed temporarily; retry %d/%d in %.1f s: %s",
            message.message_id,
            attempt + 1,
            len(retry_queues),
            self._settings.retry_delays[attempt],
            error,
        )
        await self._republish(message, headers=headers, exchange="", routing_key=retry_queues[attempt])
        await message.ack()
        return "retry"

    async def _dead_letter(
        self, message: aio_pika.abc.AbstractIncomingMessage, *, reason: str, error: Exception
    ) -> None:
        logger.error("dead-lettering %s (%s): %s", message.message_id, reason, error)
        headers = {
            **(message.headers or {}),
            REASON_HEADER: reason,
            ERROR_HEADER: _text(error),
            SERVICE_HEADER: self._service.name,
            QUEUE_HEADER: message.routing_key or "",
        }
        await self._republish(
            message,
            headers=headers,
            exchange=self._names.dead_exchange,
            routing_key=message.routing_key or "",
        )
        await message.ack()

    async def _republish(
        self,
        message: aio_pika.abc.AbstractIncomingMessage,
        *,
        headers: aio_pika.abc.HeadersType,
        exchange: str,
        routing_key: str,
    ) -> None:
        """Publish a copy on the confirming channel; return once the broker confirmed it."""
        if self._republisher is None:
            raise errors.TemporaryError("the consumer is stopped")
        channel = await self._republisher.get()
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            timestamp=message.timestamp,
        )
        target = await channel.get_exchange(exchange, ensure=False) if exchange else channel.default_exchange
        await target.publish(copy, routing_key=routing_key, mandatory=True)


def _attempt_of(message: aio_pika.abc.AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    return value if isinstance(value, int) else 0


def _text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]


@contextlib.asynccontextmanager
async def consuming(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    service: topology.Service,
    handler: Handler,
    observe: Observe | None = None,
) -> AsyncIterator[Consumer]:
    """Consume ``service``'s queues with ``handler`` until exit (then drain)."""
    consumer = Consumer(connection, settings=settings, service=service, handler=handler, observe=observe)
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()
