"""Malformed and adversarial events straight into the work queues, against the real broker and the
real consumer: each ends in the dead-letter queue with its reason, the consumer keeps consuming,
and a valid event published right behind the bad ones is handled.

The bad events are generated (hypothesis): bodies of any bytes, JSON of the wrong shape or types,
CloudEvents attributes missing, of the wrong type or value, unknown event types, content types
other than JSON; plus the fixed set ``kiln chaos`` tries (:mod:`services.testbed.badinput`).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import events
from services.broker import consuming, messages
from services.testbed import badinput

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration

SUBJECT = "ns/image-1"
CHANGED = events.ImageChanged.event_type

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
attribute_values = st.one_of(
    st.none(),  # the header missing
    int64,
    st.booleans(),
    st.text(max_size=30),
    st.lists(int64, max_size=3),
)
"""Header values the AMQP client can send (it encodes no byte strings)."""


@st.composite
def bad_bodies(draw: st.DrawFn) -> bytes:
    """A body that is no valid ``image.changed`` payload."""
    return draw(
        st.one_of(
            st.binary(max_size=200).filter(lambda b: not _valid_body(b)),
            json_values.map(lambda v: json.dumps(v).encode()).filter(lambda b: not _valid_body(b)),
            st.fixed_dictionaries(
                {"namespace": st.just("ns"), "name": st.one_of(st.integers(), st.none(), st.text(max_size=0))}
            ).map(lambda v: json.dumps(v).encode()),
            st.integers(min_value=65, max_value=2000).map(lambda n: b"[" * n + b"]" * n),
            st.integers(min_value=65 * 1024, max_value=300 * 1024).map(
                lambda n: json.dumps({"namespace": "ns", "name": "a" * n}).encode()
            ),
        )
    )


def _valid_body(body: bytes) -> bool:
    try:
        events.parse(body, attributes=badinput.ce_headers(CHANGED, SUBJECT) | {})
    except (events.InvalidEventError, TypeError):
        return False
    return True


@st.composite
def bad_events(draw: st.DrawFn) -> badinput.BadEvent:
    """A valid body with broken attributes, or a broken body with valid attributes."""
    valid_body = json.dumps({"namespace": "ns", "name": "image-1"}).encode()
    if draw(st.booleans()):
        attribute = draw(st.sampled_from(messages.ATTRIBUTES))
        value = draw(attribute_values.filter(lambda v: not _fits(attribute, v)))
        headers = badinput.ce_headers(CHANGED, SUBJECT, **{attribute: value})
        return badinput.BadEvent(f"ce-{attribute}={value!r}", valid_body, headers)
    if draw(st.booleans()):
        content_type = draw(
            st.sampled_from(["application/xml", "text/plain", "application/cloudevents+json"])
        )
        return badinput.BadEvent(
            f"content type {content_type}", valid_body, badinput.ce_headers(CHANGED, SUBJECT), content_type
        )
    body = draw(bad_bodies())
    return badinput.BadEvent(f"body {body[:40]!r}", body, badinput.ce_headers(CHANGED, SUBJECT))


def _fits(attribute: str, value: Any) -> bool:
    """Whether ``value`` would be a valid ``attribute`` of the valid event (a missing
    ``specversion`` is read as the one version there is)."""
    if value is None:
        return attribute == "specversion"
    return (
        value == badinput.ce_headers(CHANGED, SUBJECT)[f"ce-{attribute}"]
        or (attribute in {"id", "source"} and isinstance(value, str) and value != "")
        or (attribute == "time" and isinstance(value, str) and _is_time(value))
    )


def _is_time(value: str) -> bool:
    try:
        events.parse(b'{"namespace": "ns", "name": "image-1"}', attributes={**_attrs(), "time": value})
    except events.InvalidEventError:
        return False
    return True


def _attrs() -> dict[str, str]:
    return {k.removeprefix("ce-"): v for k, v in badinput.ce_headers(CHANGED, SUBJECT).items()}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[events.Event[events.Payload]] = []

    async def __call__(self, event: events.Event[events.Payload]) -> None:
        self.calls.append(event)


async def _valid_behind(probe: Probe, queue: str, handler: Recorder) -> None:
    """A valid event put into ``queue`` behind the bad ones is handled."""
    event = probe.event(1, discriminator=uuid.uuid4().hex)
    channel = await probe.connection.channel()
    await channel.default_exchange.publish(messages.to_message(event), routing_key=queue, mandatory=True)
    await channel.close()
    await probe.eventually(lambda: event.id in {e.id for e in handler.calls})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(bad_events(), min_size=1, max_size=6))
async def test_generated_bad_events_are_dead_lettered_with_a_reason_and_a_valid_one_behind_is_handled(
    probe: Probe, batch: list[badinput.BadEvent]
) -> None:
    handler = Recorder()
    shard = probe.names.queues(probe.worker)[0]
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ) as consumer:
        outcomes = await badinput.try_bad_events(
            probe.connection, settings=probe.settings, queue=shard, inputs=batch
        )
        await _valid_behind(probe, shard, handler)
        assert consumer.health() is None

    for outcome in outcomes:
        assert outcome.ended == "dead-letter", outcome
        assert outcome.detail.startswith("invalid: "), outcome
    assert [e.subject for e in handler.calls] == ["ns/image-1"], "nothing bad reached the handler"
    await probe.drain(probe.names.dead_queue, expect=len(batch))


async def test_the_chaos_set_of_bad_events_ends_in_the_dead_letters_each_with_its_reason(
    probe: Probe,
) -> None:
    handler = Recorder()
    shard = probe.names.queues(probe.worker)[1]
    inputs = badinput.bad_events(namespace="ns", name="image-1")
    async with consuming.consuming(
        probe.connection, settings=probe.settings, service=probe.worker, handler=handler
    ) as consumer:
        outcomes = await badinput.try_bad_events(
            probe.connection, settings=probe.settings, queue=shard, inputs=inputs
        )
        await _valid_behind(probe, shard, handler)
        assert consumer.health() is None

    ended = {outcome.name: (outcome.ended, outcome.detail) for outcome in outcomes}
    valid = "a valid event about an Image that does not exist"
    assert ended.pop(valid)[0] == "ignored", "the recording handler takes it: a valid event"
    assert all(end == "dead-letter" and detail.startswith("invalid: ") for end, detail in ended.values()), (
        ended
    )
    assert "data: not JSON" in ended["a body that is not JSON"][1]
    assert "type: unknown event type 'kiln.image.exploded'" in ended["an unknown event type"][1]
    assert "application/xml" in ended["a content type other than JSON"][1]
    assert "more than the 65536 accepted" in ended["a 1 MiB payload"][1]
    assert "id: 42 is a int" in ended["an integer ce-id"][1]
    assert badinput.unhandled(outcomes) == []
    assert len(handler.calls) == 2, "the valid event and the one behind them"
