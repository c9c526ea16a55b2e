"""Bad input end to end: an invalid Image is told why, a malformed event is dead-lettered, and
the system goes on building valid Images afterwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aio_pika
import pytest

from services.broker import consuming, topology
from services.broker import settings as broker_settings

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


def ready(run: Run, namespace: str, name: str) -> dict[str, Any] | None:
    image = run.sb.emulator.get("images", name, namespace) or {}
    conditions = (image.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), None)


async def dead_letter(names: topology.Names, connection: aio_pika.abc.AbstractConnection) -> Any:
    """The first message in the dead-letter queue, waiting up to 10 s for one."""
    channel = await connection.channel()
    queue = await channel.get_queue(names.dead_queue)
    for _ in range(200):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing reached {names.dead_queue}")


async def test_an_image_whose_cache_tag_is_its_own_tag_is_not_ready_and_names_the_field(run: Run) -> None:
    bad = run.image("registry-cache")
    bad["metadata"]["namespace"] = bad_namespace = f"{run.namespace}-bad"
    bad["spec"]["cache"]["registry"]["tag"] = run.tag
    await run.sb.apply(bad)

    await run.sb.wait_for(
        lambda: (ready(run, bad_namespace, run.name) or {}).get("status") == "False",
        seconds=10,
        what="the invalid Image's Ready=False",
    )

    condition = ready(run, bad_namespace, run.name)
    assert condition is not None
    assert (condition["reason"], condition["message"]) == (
        "InvalidSpec",
        "the registry cache would overwrite the app image: spec.cache.registry.tag, spec.tag\n"
        f"spec.cache.registry.tag must differ from spec.tag; use a separate tag such as {run.tag}-cache",
    )
    await run.sb.apply(run.image("registry-cache"))
    [valid] = await run.wait_finished(1)
    assert valid.succeeded(), valid.status.condition("Succeeded")
    assert run.sb.builds(bad_namespace) == []
    assert run.sb.emulator.objects("sourceresolvers", bad_namespace) == []


async def test_an_image_without_a_builder_name_is_not_ready_and_names_the_field(run: Run) -> None:
    """Decided from the Image alone: nothing is created for it."""
    bad = run.image("registry-cache")
    bad["spec"]["builder"]["name"] = ""
    await run.sb.apply(bad)

    await run.sb.wait_for(
        lambda: (ready(run, run.namespace, run.name) or {}).get("status") == "False",
        seconds=10,
        what="the invalid Image's Ready=False",
    )

    condition = ready(run, run.namespace, run.name)
    assert condition is not None
    assert (condition["reason"], condition["message"]) == (
        "InvalidSpec",
        "missing field(s): spec.builder.name",
    )
    assert run.sb.emulator.objects("sourceresolvers", run.namespace) == []


async def test_a_malformed_event_is_dead_lettered_and_the_next_valid_image_is_built(run: Run) -> None:
    settings = broker_settings.BrokerSettings(prefix=run.sb.prefix)
    names = topology.Names(settings)
    connection = await aio_pika.connect(settings.url.get_secret_value())
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(names.events_exchange)
        headers: dict[str, Any] = {
            "ce-specversion": "1.0",
            "ce-id": f"malformed-{run.name}",
            "ce-source": "/e2e/test",
            "ce-type": "kiln.image.changed",
            "ce-subject": f"{run.namespace}/{run.name}",
            "ce-time": datetime.now(UTC).isoformat(),
        }
        await exchange.publish(
            aio_pika.Message(body=b"not json", headers=headers, content_type="application/json"),
            routing_key="kiln.image.changed",
            mandatory=True,
        )

        message = await dead_letter(names, connection)

        assert message.body == b"not json"
        assert message.headers[consuming.REASON_HEADER] == "invalid"
        assert message.headers[consuming.SERVICE_HEADER] == "image-reconciler"
        assert message.headers["ce-id"] == f"malformed-{run.name}"
        assert str(message.headers[consuming.QUEUE_HEADER]) == "kiln.image.changed"
    finally:
        await connection.close()

    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_finished(1)

    assert build.succeeded(), build.status.condition("Succeeded")
    assert build.reason() == "CONFIG"
