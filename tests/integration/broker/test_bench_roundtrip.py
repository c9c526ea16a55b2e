"""The raw round trip ``kiln bench`` compares the services with: it relays every message and leaves
no queue behind."""

from __future__ import annotations

import asyncio
import shutil
import uuid

import pytest

from services.broker import settings as broker_settings
from services.testbed.bench import roundtrip

pytestmark = pytest.mark.integration


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="rabbitmqctl is not installed here")
async def test_the_raw_round_trip_relays_every_message_and_deletes_its_queues() -> None:
    prefix = f"test-roundtrip-{uuid.uuid4().hex[:8]}"

    per_second = await roundtrip.measure(broker_settings.BrokerSettings(), count=200, rounds=2, prefix=prefix)

    assert per_second > 0
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", "list_queues", "name", stdout=asyncio.subprocess.PIPE
    )
    listed, _ = await process.communicate()
    assert [name for name in listed.decode().split() if name.startswith(prefix)] == []
