"""The consumer wrapper against the real broker: who acks, retries and dead-letters, and why."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aio_pika
import pytest

from contracts import events
from services import errors
from services.broker import consuming, publishing

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration


class Recorder:
    """A handler that fails as told, recording every call."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls: list[events.Event[events.Payload]] = []

    async def __call__(self, event: events.Event[events.Payload]) -> None:
        self.calls.append(event)
        if self.failures:
            raise self.failures.pop(0)


async def _publish(probe: Probe, *batch: events.Event[events.Payload]) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)


async def _work_left(probe: Probe) -> int:
    queues = [*probe.names.queues(probe.worker), *probe.names.retry_queues(probe.worker)]
    return sum([await probe.count(queue) for queue in queues])


async def test_a_handled_event_is_acked(probe: Probe) -> None:
    handler = Recorder()
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, probe.event(1), probe.event(2))
        await probe.eventually(lambda: len(handler.calls) == 2)

    assert sorted(e.subject for e in handler.calls) == ["ns/image-1", "ns/image-2"]
    assert await _work_left(probe) == 0
    assert await probe.count(probe.names.dead_queue) == 0


async def test_events_about_one_image_are_handled_one_at_a_time_in_order(probe: Probe) -> None:
    running: list[str] = []
    overlaps: list[str] = []
    seen: list[str] = []

    async def handler(event: events.Event[events.Payload]) -> None:
        if event.subject in running:
            overlaps.append(event.subject)
        running.append(event.subject)
        await asyncio.sleep(0.005)
        seen.append(event.id)
        running.remove(event.subject)

    batch = [probe.event(i % 3, discriminator=str(i)) for i in range(30)]
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, *batch)
        await probe.eventually(lambda: len(seen) == 30)

    assert not overlaps
    for key in ("ns/image-0", "ns/image-1", "ns/image-2"):
        assert [i for i in seen if i in {e.id for e in batch if e.subject == key}] == [
            e.id for e in batch if e.subject == key
        ]


async def test_a_temporary_error_is_retried_and_then_succeeds(probe: Probe) -> None:
    in_process_attempts = len(probe.settings.backoff) + 1
    handler = Recorder(*(errors.TemporaryError("registry timed out") for _ in range(in_process_attempts)))
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, probe.event(1))
        await probe.eventually(lambda: len(handler.calls) == in_process_attempts + 1)

    assert {e.id for e in handler.calls} == {probe.event(1).id}
    assert await _work_left(probe) == 0
    assert await probe.count(probe.names.dead_queue) == 0


async def test_a_temporary_error_that_never_passes_is_dead_lettered_after_the_retries(probe: Probe) -> None:
    handler = Recorder(*(errors.TemporaryError("still down") for _ in range(100)))
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, probe.event(1))
        [dead] = await probe.drain(probe.names.dead_queue, expect=1)

    expected_calls = (len(probe.settings.backoff) + 1) * (len(probe.settings.retry_delays) + 1)
    assert len(handler.calls) == expected_calls
    assert dead.headers["x-kiln-reason"] == "retries-exhausted"
    assert dead.headers["x-kiln-error"] == "TemporaryError: still down"
    assert dead.headers["x-kiln-attempt"] == len(probe.settings.retry_delays)
    assert dead.body == probe.event(1).body()


async def test_a_permanent_error_is_dead_lettered_at_once_with_its_reason(probe: Probe) -> None:
    handler = Recorder(errors.InvalidError("spec.tag: invalid reference"))
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, probe.event(1))
        [dead] = await probe.drain(probe.names.dead_queue, expect=1)

    assert len(handler.calls) == 1
    assert dead.headers["x-kiln-reason"] == "permanent"
    assert dead.headers["x-kiln-error"] == "InvalidError: spec.tag: invalid reference"
    assert dead.headers["x-kiln-service"] == "worker"
    assert dead.headers["ce-id"] == probe.event(1).id
    assert dead.body == probe.event(1).body()
    assert await _work_left(probe) == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x00 not json", "data: not JSON"),
        (b'{"namespace": "ns"}', "data.name: Field required"),
    ],
    ids=["an undecodable body", "a body failing its schema"],
)
async def test_an_invalid_message_goes_straight_to_the_dead_letters(
    probe: Probe, body: bytes, error: str
) -> None:
    headers = {f"ce-{name}": value for name, value in probe.event(1).attributes().items()}
    handler = Recorder()
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        channel = await probe.connection.channel()
        exchange = await channel.get_exchange(probe.names.events_exchange, ensure=False)
        await exchange.publish(aio_pika.Message(body, headers=headers), routing_key="kiln.image.changed")
        await channel.close()
        [dead] = await probe.drain(probe.names.dead_queue, expect=1)

    assert handler.calls == []
    assert dead.body == body, "the original body, intact"
    assert dead.headers["x-kiln-reason"] == "invalid"
    assert error in str(dead.headers["x-kiln-error"])


async def test_a_poison_message_is_dead_lettered_after_the_delivery_limit(probe: Probe) -> None:
    handler = Recorder(*(RuntimeError("bug") for _ in range(100)))
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ):
        await _publish(probe, probe.event(1))
        [dead] = await probe.drain(probe.names.dead_queue, expect=1)

    assert len(handler.calls) == probe.settings.delivery_limit + 1
    [death] = dead.headers["x-death"]
    assert death["reason"] == "delivery_limit"
    assert death["queue"] in probe.names.queues(probe.worker)
    assert dead.body == probe.event(1).body()
    assert await _work_left(probe) == 0


async def test_an_unsharded_service_retries_through_its_own_retry_queue(probe: Probe) -> None:
    in_process_attempts = len(probe.settings.backoff) + 1
    handler = Recorder(*(errors.TemporaryError("api server busy") for _ in range(in_process_attempts)))
    scheduled = events.new(
        events.BuildScheduled(namespace="ns", image="app", build="app-build-1"),
        source="/kiln/tests",
        time=probe.event(1).time,
        discriminator="1",
    )
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.runner, handler=handler
    ):
        await _publish(probe, scheduled)
        await probe.eventually(lambda: len(handler.calls) == in_process_attempts + 1)

    assert handler.calls == [scheduled] * (in_process_attempts + 1)
    assert [await probe.count(q) for q in (*probe.names.queues(probe.runner), probe.names.dead_queue)] == [
        0,
        0,
    ]
