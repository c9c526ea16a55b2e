"""Named, self-healing connections to the broker, and channels whose owners keep them alive.

The robust connection reconnects by itself. What runs on it does not rely on aio-pika restoring
it: a robust channel restores only what was declared through it, and a consumer of a queue it
did not declare (Kiln's work queues are declared once, by the topology) silently stays gone.
So Kiln's consumers and publishers open plain channels (:func:`open_channel`: once closed — by
the broker, with the connection, or by us — they stay closed) and each owner runs a
:class:`Keeper` that puts back what is missing: at once when a channel closes, a consumer is
cancelled or the connection is back, and every ``settings.resubscribe_seconds`` as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping

import aio_pika
import aio_pika.abc
import aiormq.abc
import aiormq.exceptions

from services import errors
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)

CONNECTION_DOWN = "the broker connection is down; reconnecting"
RPC_SECONDS = 10.0
"""Bound on opening a channel or subscribing on it: a broker that does not answer is a failed try."""


def connection_name(service: str, *, prefix: str, host: str | None = None) -> str:
    """``<prefix>/<service>@<host>``: what the management UI and ``rabbitmqctl list_connections``
    show; the prefix tells the deployments (and test runs) sharing a broker apart."""
    return f"{prefix}/{service}@{host or socket.gethostname()}"


async def connect(
    settings: broker_settings.BrokerSettings, *, service: str
) -> aio_pika.abc.AbstractRobustConnection:
    """A robust connection (reconnects every ``settings.reconnect_seconds``) named after ``service``.

    A first connect that fails or is cancelled closes what it opened: an unclosed connection left
    to the garbage collector tries to schedule its own close, outside any running loop.
    """
    name = connection_name(service, prefix=settings.prefix)
    connection = aio_pika.RobustConnection(
        aio_pika.connection.make_url(settings.url.get_secret_value()),
        client_properties={"connection_name": name},
        reconnect_interval=settings.reconnect_seconds,
    )
    try:
        await connection.connect()
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(connection.close())
        raise
    logger.info("connected to the broker as %s", name)
    return connection


def usable(connection: aio_pika.abc.AbstractConnection) -> bool:
    """Whether channels can be opened on ``connection`` now (connected, and not being closed)."""
    return connection.connected.is_set() and not connection.close_called and not connection.is_closed


def consumes(underlay: aiormq.abc.AbstractChannel | None, tag: str | None) -> bool:
    """Whether the consumer ``tag`` still consumes on the protocol channel ``underlay``.

    The protocol channel drops a consumer tag when the broker cancels the consumer, and is closed
    when the broker closes the channel or the connection is lost: so this is what the broker last
    told the process, without a round trip.
    """
    if underlay is None or tag is None or underlay.is_closed:
        return False
    consumers: Mapping[str, object] = getattr(underlay, "consumers", {})
    return tag in consumers


async def open_channel(
    connection: aio_pika.abc.AbstractConnection,
    *,
    confirms: bool = False,
    on_close: Callable[..., object] | None = None,
) -> aio_pika.abc.AbstractChannel:
    """A plain channel on ``connection``: nothing but its owner reopens it.

    ``confirms`` turns on publisher confirms and raising on returned mandatory publishes;
    ``on_close`` is called when the channel closes, whoever closed it.
    """
    channel = aio_pika.Channel(connection, publisher_confirms=confirms, on_return_raises=confirms)
    async with asyncio.timeout(RPC_SECONDS):
        await channel.initialize()
    if on_close is not None:
        channel.close_callbacks.add(on_close)
    return channel


async def close_quietly(channel: aio_pika.abc.AbstractChannel | None) -> None:
    """Close ``channel`` if there is one, whatever state it is in."""
    if channel is not None and not channel.is_closed:
        with contextlib.suppress(Exception):
            await channel.close()


class Keeper:
    """Runs ``restore`` when woken and every ``period`` seconds, while the connection is usable.

    ``restore`` puts back whatever its owner finds missing; an error is logged (a warning the
    first time, then quietly) and the round after the next ``period`` tries again.
    """

    def __init__(
        self,
        connection: aio_pika.abc.AbstractConnection,
        restore: Callable[[], Awaitable[None]],
        *,
        period: float,
        name: str,
    ) -> None:
        self._connection = connection
        self._restore = restore
        self._period = period
        self._name = name
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self, *_: object) -> None:
        """Restore soon (a channel closed, a consumer was cancelled, the connection is back)."""
        self._woken.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)
        reconnects = getattr(self._connection, "reconnect_callbacks", None)
        if reconnects is not None:
            reconnects.add(self.wake)

    async def stop(self) -> None:
        reconnects = getattr(self._connection, "reconnect_callbacks", None)
        if reconnects is not None:
            reconnects.discard(self.wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def health(self) -> str | None:
        """Why the keeper is not keeping anything (it stopped), or ``None``."""
        if self._task is not None and self._task.done():
            return f"{self._name} stopped"
        return None

    async def _run(self) -> None:
        failing = False
        while True:
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that comes just after a
            # wake (a channel closed by the broker wakes the keeper), and stop() then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._period):
                    await self._woken.wait()
            self._woken.clear()
            if not usable(self._connection):
                continue
            try:
                await self._restore()
            except Exception as e:  # e.g. the connection dropped again meanwhile: next round
                (logger.debug if failing else logger.warning)("%s: restoring failed: %r", self._name, e)
                failing = True
                # Not at once, even if woken: a failed try closes channels, which wakes the keeper.
                await asyncio.sleep(self._period)
            else:
                failing = False


class ChannelUnavailableError(errors.TemporaryError):
    """No channel could be opened in time: the connection is down or the broker does not answer."""


class KeptChannel:
    """One channel of an owner that wants it open at all times (a publisher's confirm channel)."""

    def __init__(
        self, connection: aio_pika.abc.AbstractConnection, *, confirms: bool, period: float, name: str
    ) -> None:
        self._connection = connection
        self._confirms = confirms
        self._name = name
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._keeper = Keeper(connection, self._reopen, period=period, name=f"keeping {name}")

    @classmethod
    async def open(
        cls, connection: aio_pika.abc.AbstractConnection, *, confirms: bool, period: float, name: str
    ) -> KeptChannel:
        """The channel opened, and kept open until :meth:`close`."""
        kept = cls(connection, confirms=confirms, period=period, name=name)
        await kept.get()
        kept._keeper.start()
        return kept

    async def get(self) -> aio_pika.abc.AbstractChannel:
        """The open channel, opened again first if it was lost.

        Raises :class:`ChannelUnavailableError` if none is open within :data:`RPC_SECONDS`, the
        wait for the lock included: callers queued behind a failing open fail together, not one
        :data:`RPC_SECONDS` after another.
        """
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        try:
            async with asyncio.timeout(RPC_SECONDS), self._lock:
                if self._channel is None or self._channel.is_closed:
                    self._channel = await open_channel(
                        self._connection, confirms=self._confirms, on_close=self._keeper.wake
                    )
                    logger.debug("%s: channel opened", self._name)
                return self._channel
        except (TimeoutError, RuntimeError, aiormq.exceptions.AMQPError) as e:
            # RuntimeError: aio-pika's word for a connection closed or being closed.
            down = CONNECTION_DOWN if not usable(self._connection) else "the broker did not open it"
            raise ChannelUnavailableError(f"{self._name}: no channel ({down}): {e!r}") from e

    def health(self) -> str | None:
        """Why the channel cannot be used now, or ``None``."""
        if not usable(self._connection):
            return CONNECTION_DOWN
        if self._channel is None or self._channel.is_closed:
            return f"{self._name}: its channel is closed; reopening"
        return self._keeper.health()

    async def close(self) -> None:
        await self._keeper.stop()
        channel, self._channel = self._channel, None
        await close_quietly(channel)

    async def _reopen(self) -> None:
        await self.get()
