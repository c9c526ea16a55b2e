"""Publishing events with publisher confirms, pipelined.

Awaiting one broker round trip per message caps a publisher at ~1k msg/s here; so
:meth:`Publisher.publish_many` keeps up to ``max_in_flight`` publishes unconfirmed at once and
returns when every one is confirmed. :meth:`Publisher.publish` is for a single event off the hot
path. Every publish is ``mandatory`` and persistent: a nack, a return (no queue bound), a closed
channel or no confirm within ``confirm_seconds`` raises :class:`PublishError`, a temporary error.

The exchange is looked up (a passive declare) once on each new channel before anything is
published on it. A publish to a missing exchange makes the broker close the channel, and the
publishes already in flight behind it reach the broker on a channel it has closed, which it
answers by closing the whole connection, every other channel on it included; so a missing
exchange fails the publishes with :class:`MissingExchangeError` naming it, and publishes nothing.
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


CONFIRM_SECONDS = 30.0
"""Bound on one publish, from queueing on the channel to the broker's confirm."""


class PublishError(errors.TemporaryError):
    """The broker did not confirm a publish: nacked, returned as unroutable, channel closed, or
    no confirm in time."""


class MissingExchangeError(PublishError):
    """The exchange to publish to does not exist (the topology is not declared, or was deleted);
    temporary, since declaring the topology mends it."""


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
        confirm_seconds: float = CONFIRM_SECONDS,
    ) -> None:
        self._channel = channel
        self._exchange_name = exchange
        self._exchange: tuple[aio_pika.abc.AbstractChannel, aio_pika.abc.AbstractExchange] | None = None
        self._window = asyncio.Semaphore(max_in_flight)
        self._confirm_seconds = confirm_seconds
        self._checking = asyncio.Lock()
        self._missing: tuple[int, MissingExchangeError | None] = (0, None)
        """How many lookups found the exchange missing, and the last such error."""
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
        are confirmed; events are idempotent, so publishing the whole batch again is safe), the
        :class:`MissingExchangeError` subclass if the exchange is missing.
        """
        batch = list(batch)
        if not batch:
            return
        try:
            await self._target()  # a missing exchange fails the batch before anything is sent
        except PublishError as e:
            raise type(e)(f"{len(batch)} of {len(batch)} events not confirmed: {e}") from e
        results = await asyncio.gather(*(self.publish(event) for event in batch), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            missing = any(isinstance(failure, MissingExchangeError) for failure in failures)
            kind = MissingExchangeError if missing else PublishError
            raise kind(f"{len(failures)} of {len(results)} events not confirmed: {failures[0]}") from (
                failures[0]
            )

    async def _target(self) -> aio_pika.abc.AbstractExchange:
        """The exchange on the open channel, looked up once per channel; the publishes waiting
        for a lookup that finds the exchange missing all fail with it."""
        channel = await self._open_channel()
        if self._exchange is not None and self._exchange[0] is channel:
            return self._exchange[1]
        found_missing = self._missing[0]
        async with self._checking:
            count, missing = self._missing
            if count != found_missing and missing is not None:
                raise MissingExchangeError(str(missing))
            channel = await self._open_channel()
            if self._exchange is None or self._exchange[0] is not channel:
                self._exchange = (channel, await self._look_up(channel))
            return self._exchange[1]

    async def _open_channel(self) -> aio_pika.abc.AbstractChannel:
        try:
            return await self._channel.get()
        except connecting.ChannelUnavailableError as e:
            raise PublishError(f"nothing published to {self._exchange_name!r}: {e}") from e

    async def _look_up(self, channel: aio_pika.abc.AbstractChannel) -> aio_pika.abc.AbstractExchange:
        try:
            async with asyncio.timeout(connecting.RPC_SECONDS):
                return await channel.get_exchange(self._exchange_name, ensure=True)
        except aiormq.exceptions.ChannelNotFoundEntity as e:
            # The broker closed this channel for the lookup; the next publish opens another one.
            missing = MissingExchangeError(
                f"not published: no exchange {self._exchange_name!r} on the broker ({e})"
            )
            self._missing = (self._missing[0] + 1, missing)
            raise missing from e
        except (aiormq.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError, TimeoutError) as e:
            raise PublishError(f"exchange {self._exchange_name!r} not looked up: {e!r}") from e

    async def _send(self, event: events.Event[events.Payload]) -> None:
        try:
            target = await self._target()
            await target.publish(
                messages.to_message(event),
                routing_key=event.type,
                mandatory=True,
                timeout=self._confirm_seconds,
            )
            if self.observe is not None:
                self.observe(event.type)
        except aio_pika.exceptions.DeliveryError as e:
            raise PublishError(
                f"event {event.id} ({event.type}) not delivered to {self._exchange_name!r}: {_describe(e)}"
            ) from e
        except aiormq.exceptions.ChannelNotFoundEntity as e:  # deleted since it was looked up
            raise MissingExchangeError(
                f"event {event.id} ({event.type}) not published: no exchange {self._exchange_name!r}: {e}"
            ) from e
        except (
            aiormq.exceptions.AMQPError,
            aio_pika.exceptions.ChannelInvalidStateError,
            TimeoutError,
            RuntimeError,  # aio-pika's word for a connection closed or being closed
        ) as e:
            raise PublishError(
                f"event {event.id} ({event.type}) not published to {self._exchange_name!r}: {e!r}"
            ) from e


def _describe(error: aio_pika.exceptions.DeliveryError) -> str:
    frame = error.frame
    if frame is None:
        return "returned"
    return type(frame).__name__
