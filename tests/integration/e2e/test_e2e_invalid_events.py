"""Events validated as strictly as webhooks are, end to end: a body nested ten thousand levels deep,
a ``source.changed`` whose revision is not a commit, and an integer ``ce-id`` are each dead-lettered
on their first delivery with ``x-kiln-reason: invalid``, and build nothing.

Published straight to the sandbox's events exchange on the real broker, as any other publisher
could; every Kiln service consumes them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aio_pika
import pytest
from test_e2e_bad_input import dead_letter
from test_e2e_late_pushes import resolved_revision

from services.broker import consuming, topology
from services.broker import settings as broker_settings

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

COMMIT = "c3" * 20


@pytest.fixture
async def connection(run: Run) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    settings = broker_settings.BrokerSettings(prefix=run.sb.prefix)
    connection = await aio_pika.connect(settings.url.get_secret_value())
    yield connection
    await connection.close()


def attributes(run: Run, event_type: str, **changes: object) -> dict[str, Any]:
    return {
        "ce-specversion": "1.0",
        "ce-id": f"{event_type}-{run.name}",
        "ce-source": "/e2e/test",
        "ce-type": event_type,
        "ce-subject": f"{run.namespace}/{run.name}",
        "ce-time": datetime.now(UTC).isoformat(),
        **changes,
    }


async def publish(
    run: Run, connection: aio_pika.abc.AbstractConnection, body: bytes, headers: dict[str, Any]
) -> Any:
    """Publish ``body`` with ``headers``; the dead letter it became."""
    names = topology.Names(broker_settings.BrokerSettings(prefix=run.sb.prefix))
    channel = await connection.channel()
    exchange = await channel.get_exchange(names.events_exchange)
    await exchange.publish(
        aio_pika.Message(body=body, headers=headers, content_type="application/json"),
        routing_key=headers["ce-type"],
        mandatory=True,
    )
    return await dead_letter(names, connection)


def source_changed(run: Run, revision: str) -> bytes:
    url = run.image("volume-cache")["spec"]["source"]["git"]["url"]
    return json.dumps(
        {"namespace": run.namespace, "image": run.name, "url": url, "revision": revision}
    ).encode()


def assert_dead_lettered_at_once(message: Any, *, error: str) -> None:
    """Dead-lettered by the image-reconciler on the first delivery, the reason and error said."""
    headers = message.headers
    assert headers[consuming.REASON_HEADER] == "invalid"
    assert headers[consuming.SERVICE_HEADER] == "image-reconciler"
    assert error in str(headers[consuming.ERROR_HEADER])
    assert headers.get("x-delivery-count", 0) == 0, "requeued before it was dead-lettered"


async def test_an_event_nested_ten_thousand_levels_deep_is_dead_lettered_at_once_with_its_reason(
    run: Run, connection: aio_pika.abc.AbstractConnection
) -> None:
    body = b"[" * 10_000 + b"]" * 10_000

    message = await publish(run, connection, body, attributes(run, "kiln.image.changed"))

    assert message.body == body
    assert_dead_lettered_at_once(message, error="data: arrays and objects nested more than 64 levels deep")


async def built_once(run: Run) -> str:
    """The Image built once from its branch; the resolver's revision."""
    await run.sb.apply(run.image("volume-cache"))
    [build] = await run.wait_finished(1)
    assert build.succeeded()
    return resolved_revision(run)


@pytest.mark.parametrize(
    ("revision", "changes", "error"),
    [
        pytest.param("not-a-sha", {}, "data.revision: String should match pattern", id="not a commit"),
        pytest.param(
            COMMIT, {"ce-id": 42}, "id: 42 is a int; event attributes are strings", id="integer ce-id"
        ),
    ],
)
async def test_a_source_changed_that_is_not_valid_is_dead_lettered_and_builds_nothing(
    run: Run, connection: aio_pika.abc.AbstractConnection, revision: str, changes: dict[str, Any], error: str
) -> None:
    before = await built_once(run)

    message = await publish(
        run, connection, source_changed(run, revision), attributes(run, "kiln.source.changed", **changes)
    )

    assert_dead_lettered_at_once(message, error=error)
    assert len(run.builds()) == 1
    assert resolved_revision(run) == before
