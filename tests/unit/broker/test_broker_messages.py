"""Events on AMQP: attributes travel as ``ce-*`` string headers, and a header of another type is
refused as an invalid message instead of being turned into a string."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aio_pika
import pytest

from contracts import events
from services import errors
from services.broker import messages

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EVENT = events.new(
    events.SourceChanged(namespace="ns", image="app", url="https://git.example/app", revision="a" * 40),
    source="/kiln/tests",
    time=NOW,
    discriminator="1",
)


def test_an_event_survives_the_message() -> None:
    assert messages.from_message(messages.to_message(EVENT)) == EVENT


def test_byte_string_headers_are_read_as_text() -> None:
    headers = {f"ce-{name}": value.encode() for name, value in EVENT.attributes().items()}

    assert messages.attributes_of(headers) == {
        name: value for name, value in EVENT.attributes().items() if name in messages.ATTRIBUTES
    }


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        pytest.param("ce-id", 42, "id: 42 is a int; event attributes are strings", id="an integer id"),
        pytest.param("ce-subject", ["ns", "app"], "subject: ['ns', 'app'] is a list", id="a list as subject"),
    ],
)
def test_a_header_that_is_not_a_string_is_an_invalid_message(
    header: str, value: object, message: str
) -> None:
    sent = messages.to_message(EVENT)
    mistyped = aio_pika.Message(body=sent.body, headers={**sent.headers, header: value})

    with pytest.raises(errors.InvalidMessageError, match=re.escape(message)):
        messages.from_message(mistyped)
