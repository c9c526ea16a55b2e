"""Kiln's RabbitMQ topology, declared idempotently (declaring it twice changes nothing).

::

    publisher ──► <p>.events (topic, routing key = event type)
                    ├─ "#" ─────────────────────────► <p>.events.stream   (stream: the event log)
                    └─ per service, one binding per consumed type
                         ▼
                  <p>.<service>  (inbox exchange: x-consistent-hash on header ce-subject,
                         │        or fanout for an unsharded service)
                         ├──► <p>.<service>.0 … <p>.<service>.N-1   quorum shards, single active
                         │        consumer, x-delivery-limit, dead-letter → <p>.dead
                         │    (or one quorum queue <p>.<service> without single active consumer)
                         ▲
    <p>.<service>.retry.<i>  quorum, x-message-ttl = retry_delays[i], dead-letters back into the
                             inbox, so a retried event lands on the same shard (same key)
    <p>.dead (fanout) ──► <p>.dead                 quorum: what no retry can fix, with reasons
    <p>.<service>.members (fanout)  heartbeats of a sharded service's workers, each hearing them on
                             an exclusive queue of its own (see ``membership``: shard balancing)

Each service gets its own inbox and shards so that every service sees every event it consumes,
and, within a service, events about one image are handled by one worker at a time, in order.
Changing the shard count of a running system leaves old shards bound; drain and delete them.
RabbitMQ refuses to redeclare a queue with other arguments (``PRECONDITION_FAILED``), so a
changed delivery limit or retry delay needs its queues deleted and declared again (or, later,
moving those arguments into policies).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import aio_pika
import aio_pika.abc

from contracts import events
from services.broker import messages
from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Service:
    """A consuming service: the event types it handles and whether it needs per-key order."""

    name: str
    event_types: tuple[str, ...]
    sharded: bool = True
    wait_seconds: float | None = None
    """How long an event the handler defers (:class:`~services.errors.DeferredError`) waits in the
    service's wait queue before it is delivered again; None: the service defers nothing."""
    single_active: bool = False
    """One consumer at a time on each queue (the sharded services' shards always are), so that one
    process decides for all (the build-runners' admission of builds to a limited number of slots)."""
    runner: str = ""
    """The ``kiln run`` service that consumes it, when not ``name`` (a lane of another service)."""
    prefetch: int | None = None
    """Deliveries in flight per queue (shard), when not the broker settings' ``prefetch``: a
    storm lane takes a few at a time, so the service's CPU goes to its users' lane first."""

    @property
    def run_by(self) -> str:
        return self.runner or self.name


SERVICES: tuple[Service, ...] = (
    Service(
        "image-reconciler",
        (
            events.ImageChanged.event_type,
            events.SourceChanged.event_type,
            events.SourceImagePushed.event_type,
            events.BuilderChanged.event_type,
        ),
    ),
    Service(
        "image-reconciler-storm",
        (events.StormImageChanged.event_type,),
        runner="image-reconciler",
        prefetch=2,
    ),
    Service(
        "build-runner",
        (events.BuildScheduled.event_type,),
        sharded=False,
        wait_seconds=1.0,
        single_active=True,
    ),
    Service(
        "build-runner-storm",
        (events.StormBuildScheduled.event_type,),
        sharded=False,
        wait_seconds=5.0,
        single_active=True,
        runner="build-runner",
    ),
    Service(
        "image-state",
        (
            events.BuildFinished.event_type,
            events.BuildCancelRequested.event_type,
            events.CacheDigestUpdated.event_type,
        ),
    ),
    Service(
        "builder",
        (
            events.BuilderChanged.event_type,
            events.BuilderInputChanged.event_type,
            events.BuilderOutdated.event_type,
        ),
    ),
)
"""The services of ``design.md`` and what each consumes."""


def lanes() -> dict[str, tuple[Service, ...]]:
    """Each ``kiln run`` service and the :data:`SERVICES` it consumes (its lanes)."""
    found: dict[str, tuple[Service, ...]] = {}
    for service in SERVICES:
        found[service.run_by] = (*found.get(service.run_by, ()), service)
    return found


@dataclasses.dataclass(frozen=True)
class Names:
    """Every exchange and queue name, derived from the settings (pure)."""

    settings: broker_settings.BrokerSettings

    @property
    def events_exchange(self) -> str:
        return f"{self.settings.prefix}.events"

    @property
    def stream(self) -> str:
        return f"{self.settings.prefix}.events.stream"

    @property
    def dead_exchange(self) -> str:
        return f"{self.settings.prefix}.dead"

    @property
    def dead_queue(self) -> str:
        return f"{self.settings.prefix}.dead"

    def inbox(self, service: Service) -> str:
        return f"{self.settings.prefix}.{service.name}"

    def members(self, service: Service) -> str:
        """The fanout exchange on which the workers of a sharded service announce themselves."""
        return f"{self.inbox(service)}.members"

    def queues(self, service: Service) -> tuple[str, ...]:
        """The work queues of ``service``: its shards, or its single queue."""
        if not service.sharded:
            return (self.inbox(service),)
        return tuple(f"{self.inbox(service)}.{index}" for index in range(self.settings.shards))

    def wait_queue(self, service: Service) -> str | None:
        """Where the events ``service`` defers wait (:attr:`Service.wait_seconds`), if it defers."""
        return f"{self.inbox(service)}.wait" if service.wait_seconds is not None else None

    def retry_queues(self, service: Service) -> tuple[str, ...]:
        """One delayed-retry queue per step of ``settings.retry_delays``."""
        return tuple(f"{self.inbox(service)}.retry.{step}" for step in range(len(self.settings.retry_delays)))

    def all_queues(self, services: Sequence[Service]) -> tuple[str, ...]:
        names = [self.stream, self.dead_queue]
        for service in services:
            waiting = self.wait_queue(service)
            names += [*self.queues(service), *self.retry_queues(service), *([waiting] if waiting else [])]
        return tuple(names)

    def all_exchanges(self, services: Sequence[Service]) -> tuple[str, ...]:
        members = [self.members(s) for s in services if s.sharded]
        return (self.events_exchange, self.dead_exchange, *(self.inbox(s) for s in services), *members)


async def declare(
    channel: aio_pika.abc.AbstractChannel,
    *,
    settings: broker_settings.BrokerSettings,
    services: Sequence[Service] = SERVICES,
) -> Names:
    """Declare everything (a no-op where it exists with the same arguments); return the names."""
    names = Names(settings)
    events_exchange = await channel.declare_exchange(
        names.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead_exchange = await channel.declare_exchange(
        names.dead_exchange, aio_pika.ExchangeType.FANOUT, durable=True
    )
    dead_queue = await channel.declare_queue(
        names.dead_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead_queue.bind(dead_exchange)
    stream = await channel.declare_queue(
        names.stream,
        durable=True,
        arguments={"x-queue-type": "stream", "x-max-age": settings.stream_max_age},
    )
    await stream.bind(events_exchange, routing_key="#")
    for service in services:
        await _declare_service(channel, names, service=service, events_exchange=events_exchange)
    logger.info("declared topology %s for %s", settings.prefix, [s.name for s in services])
    return names


async def _declare_service(
    channel: aio_pika.abc.AbstractChannel,
    names: Names,
    *,
    service: Service,
    events_exchange: aio_pika.abc.AbstractExchange,
) -> None:
    settings = names.settings
    if service.sharded:
        inbox = await channel.declare_exchange(
            names.inbox(service),
            "x-consistent-hash",
            durable=True,
            arguments={"hash-header": messages.KEY_HEADER},
        )
    else:
        inbox = await channel.declare_exchange(
            names.inbox(service), aio_pika.ExchangeType.FANOUT, durable=True
        )
    for event_type in service.event_types:
        await inbox.bind(events_exchange, routing_key=event_type)
    if service.sharded:
        await channel.declare_exchange(names.members(service), aio_pika.ExchangeType.FANOUT, durable=True)
    work_arguments: aio_pika.abc.HeadersType = {
        "x-queue-type": "quorum",
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": names.dead_exchange,
    }
    if service.sharded or service.single_active:
        work_arguments["x-single-active-consumer"] = True
    for queue_name in names.queues(service):
        queue = await channel.declare_queue(queue_name, durable=True, arguments=work_arguments)
        # The consistent-hash exchange reads the binding key as the shard's weight.
        await queue.bind(inbox, routing_key="1" if service.sharded else "")
    waiting = names.wait_queue(service)
    if waiting is not None and service.wait_seconds is not None:
        await channel.declare_queue(
            waiting,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": round(service.wait_seconds * 1000),
                "x-dead-letter-exchange": names.inbox(service),
            },
        )
    for queue_name, delay in zip(names.retry_queues(service), settings.retry_delays, strict=True):
        await channel.declare_queue(
            queue_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": round(delay * 1000),
                "x-dead-letter-exchange": names.inbox(service),
            },
        )


async def delete(
    channel: aio_pika.abc.AbstractChannel,
    *,
    settings: broker_settings.BrokerSettings,
    services: Sequence[Service] = SERVICES,
) -> None:
    """Delete everything :func:`declare` made (tests, benchmarks, teardown of a sandbox)."""
    names = Names(settings)
    for queue_name in names.all_queues(services):
        # if_unused=True would make RabbitMQ 3.10 close the connection for a quorum queue.
        await channel.queue_delete(queue_name, if_unused=False, if_empty=False)
    for exchange_name in names.all_exchanges(services):
        await channel.exchange_delete(exchange_name, if_unused=False)
