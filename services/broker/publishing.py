"""Publishing events with publisher confirms, pipelined.

Awaiting one broker round trip per message caps a publisher at ~1k msg/s here; so
:meth:`Publisher.publish_many` keeps up to ``max_in_flight`` publishes unconfirmed at once and
returns when every one is confirmed. :meth:`Publisher.publish` is for a single event off the hot
path. Every publish is ``mandatory`` and persistent: a nack, a return (no queue bound) or a
closed channel raises :class:`PublishError`, a temporary error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import aiormq.exceptions

from contracts import events
from services import errors
from services.broker import connecting, messages, topology
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)


class PublishError(errors.TemporaryError):
    """The broker did not confirm a publish: nacked, returned as unroutable, or channel closed."""


class Publisher:
    """Publishes events to an exchange on a confirming channel of its own, kept open.

    A channel lost with the connection or closed by the broker (a publish to a missing exchange
    does that) fails the publishes in flight on it and is replaced at once, and the next publish
    goes out on the new one; :meth:`health` says when there is none.
    """

    def __init__(
        self,
        channel: connecting.KeptChannel,
        *,
        exchange: str,
        max_in_flight: int = 1000,
    ) -> None:
        self._channel = channel
        self._exchange_name = exchange
        self._exchange: tuple[aio_pika.abc.AbstractChannel, aio_pika.abc.AbstractExchange] | None = None
        self._window = asyncio.Semaphore(max_in_flight)
        self.observe: Callable[[str], None] | None = None
        """Told the type of every event the broker confirmed (metrics)."""

    @classmethod
    async def open(
        cls,
        connection: aio_pika.abc.AbstractConnection,
        *,
        settings: broker_settings.BrokerSettings,
        exchange: str | None = None,
    ) -> Self:
        """A publisher on a new channel, to ``exchange`` (default: the events exchange)."""
        name = exchange or topology.Names(settings).events_exchange
        channel = await connecting.KeptChannel.open(
            connection, confirms=True, period=settings.resubscribe_seconds, name=f"publisher to {name}"
        )
        return cls(channel, exchange=name, max_in_flight=settings.max_in_flight)

    def health(self) -> str | None:
        """Why this publisher cannot publish now (connection down, channel closed), or ``None``."""
        return self._channel.health()

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def publish(self, event: events.Event[events.Payload]) -> None:
        """Publish one event and wait for its confirm."""
        async with self._window:
            await self._send(event)

    async def publish_many(self, batch: Iterable[events.Event[events.Payload]]) -> None:
        """Publish every event of ``batch`` with many in flight; return when all are confirmed.

        Raises :class:`PublishError` naming how many failed if any was not confirmed (the others
        are confirmed; events are idempotent, so publishing the whole batch again is safe).
        """
        results = await asyncio.gather(*(self.publish(event) for event in batch), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise PublishError(
                f"{len(failures)} of {len(results)} events not confirmed: {failures[0]}"
            ) from (failures[0])

    async def _target(self) -> aio_pika.abc.AbstractExchange:
        channel = await self._channel.get()
        if self._exchange is None or self._exchange[0] is not channel:
            self._exchange = (channel, await channel.get_exchange(self._exchange_name, ensure=False))
        return self._exchange[1]

    async def _send(self, event: events.Event[events.Payload]) -> None:
        try:
            target = await self._target()
            await target.publish(messages.to_message(event), routing_key=event.type, mandatory=True)
            if self.observe is not None:
                self.observe(event.type)
        except aio_pika.exceptions.DeliveryError as e:
            raise PublishError(f"event {event.id} ({event.type}) not delivered: {_describe(e)}") from e
        except (
            aiormq.exceptions.AMQPError,
            aio_pika.exceptions.ChannelInvalidStateError,
            TimeoutError,
        ) as e:
            raise PublishError(f"event {event.id} ({event.type}) not published: {e!r}") from e


def _describe(error: aio_pika.exceptions.DeliveryError) -> str:
    frame = error.frame
    if frame is None:
        return "returned"
    return type(frame).__name__
