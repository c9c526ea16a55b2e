"""The one consumer wrapper: it owns acknowledgement, handlers never ack.

For every delivery:

* decode and validate into the typed event; undecodable or schema-invalid → dead-letter
  (reason ``invalid``);
* run the handler, events about one key one at a time and in delivery order;
* it returned → ack (its effects are written by then);
* :class:`~services.errors.TemporaryError` → retried in process with ``settings.backoff``, then
  republished to the service's delayed-retry queue with ``x-kiln-attempt`` counting the broker
  retries; after the last of ``settings.retry_delays`` → dead-letter (``retries-exhausted``);
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
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import aio_pika.abc

from contracts import events
from services import errors, retrying
from services.broker import messages, topology
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


class Consumer:
    """Consumes a service's work queues with ``handler``; start it, and stop it to drain."""

    def __init__(
        self,
        channel: aio_pika.abc.AbstractChannel,
        *,
        settings: broker_settings.BrokerSettings,
        service: topology.Service,
        handler: Handler,
    ) -> None:
        self._channel = channel
        self._settings = settings
        self._service = service
        self._handler = handler
        self._names = topology.Names(settings)
        self._locks = KeyLocks()
        self._tags: list[tuple[aio_pika.abc.AbstractQueue, str]] = []
        self._in_flight: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        """Start consuming every work queue of the service (shards: one active consumer each)."""
        await self._channel.set_qos(prefetch_count=self._settings.prefetch)
        for queue_name in self._names.queues(self._service):
            queue = await self._channel.get_queue(queue_name, ensure=False)
            tag = await queue.consume(self._on_message)
            self._tags.append((queue, tag))
        logger.info("consuming %s", self._names.queues(self._service))

    async def stop(self) -> None:
        """Stop taking deliveries and wait for the handlers in flight to finish."""
        for queue, tag in self._tags:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._tags.clear()
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await self._process(message)
        except Exception:
            # A retry or dead letter that was not confirmed: hand the message back; the broker
            # redelivers it, and x-delivery-limit bounds how often.
            logger.exception("could not settle message %s; requeueing", message.message_id)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
        finally:
            self._in_flight.discard(task)

    async def _process(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            event = messages.from_message(message)
        except errors.InvalidMessageError as e:
            await self._dead_letter(message, reason="invalid", error=e)
            return
        async with self._locks.hold(event.subject):
            try:
                await self._run_handler(event)
            except errors.TemporaryError as e:
                await self._retry_later(message, error=e)
            except errors.PermanentError as e:
                await self._dead_letter(message, reason="permanent", error=e)
            except Exception:
                logger.exception("handler failed on %s %s; requeueing", event.type, event.id)
                await message.nack(requeue=True)
            else:
                await message.ack()

    async def _run_handler(self, event: events.Event[events.Payload]) -> None:
        async for attempt in retrying.retrying(self._settings.backoff):
            with attempt:
                await self._handler(event)

    async def _retry_later(self, message: aio_pika.abc.AbstractIncomingMessage, *, error: Exception) -> None:
        attempt = _attempt_of(message)
        retry_queues = self._names.retry_queues(self._service)
        if attempt >= len(retry_queues):
            await self._dead_letter(message, reason="retries-exhausted", error=error)
            return
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
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            timestamp=message.timestamp,
        )
        target = await self._channel.get_exchange(exchange, ensure=False) if exchange else None
        if target is None:
            target = self._channel.default_exchange
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
) -> AsyncIterator[Consumer]:
    """Consume ``service``'s queues with ``handler`` on a new confirming channel until exit."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    consumer = Consumer(channel, settings=settings, service=service, handler=handler)
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()
        await channel.close()
