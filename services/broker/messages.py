"""Events on AMQP: the CloudEvents binary content mode, attributes as ``ce-*`` headers.

The body is the payload JSON; ``ce-id``, ``ce-type``, ``ce-source``, ``ce-subject``,
``ce-time`` and ``ce-specversion`` carry the context attributes; ``message_id`` is the event id
and ``type`` the event type, so broker tools show them too. ``ce-subject`` (the ordering key) is
also the header the consistent-hash exchanges hash on.
"""

from __future__ import annotations

from collections.abc import Mapping

import aio_pika
import aio_pika.abc

from contracts import events
from services import errors

HEADER_PREFIX = "ce-"
KEY_HEADER = "ce-subject"
ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "time")
JSON = "application/json"


def to_message(event: events.Event[events.Payload]) -> aio_pika.Message:
    """The persistent AMQP message of ``event``."""
    attributes = event.attributes()
    return aio_pika.Message(
        body=event.body(),
        headers={HEADER_PREFIX + name: attributes[name] for name in ATTRIBUTES},
        content_type=event.datacontenttype,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.id,
        type=event.type,
        timestamp=event.time,
    )


def attributes_of(headers: Mapping[str, object]) -> dict[str, object]:
    """The CloudEvents attributes found in AMQP ``headers`` (``ce-`` prefix removed), as they came:
    a header of another type than a string stays so, for :func:`contracts.events.parse` to refuse
    (byte strings are decoded as UTF-8)."""
    found: dict[str, object] = {}
    for name in ATTRIBUTES:
        value = headers.get(HEADER_PREFIX + name)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if value is not None:
            found[name] = value
    return found


def from_message(message: aio_pika.abc.AbstractMessage) -> events.Event[events.Payload]:
    """The typed event of ``message``; :class:`InvalidMessageError` says which field is wrong.

    The content type, when the message has one, is the event's ``datacontenttype``: JSON."""
    content_type = (message.content_type or JSON).partition(";")[0].strip().lower()
    if content_type != JSON:
        raise errors.InvalidMessageError(
            f"datacontenttype: {message.content_type!r}; Kiln's events are {JSON}"
        )
    try:
        return events.parse(message.body, attributes=attributes_of(message.headers or {}))
    except events.InvalidEventError as e:
        raise errors.InvalidMessageError(str(e)) from e
