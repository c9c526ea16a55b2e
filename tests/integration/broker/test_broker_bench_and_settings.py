"""The benchmark runs and stops by itself; settings come from the environment; connections are named."""

from __future__ import annotations

import asyncio
import shutil
import socket

import aio_pika.abc
import pytest

from services.broker import connecting
from services.broker import settings as broker_settings
from services.testbed.bench import broker as bench

pytestmark = pytest.mark.integration


async def test_the_benchmark_measures_raw_and_our_throughput_in_one_run() -> None:
    figures = await bench.run(
        broker_settings.BrokerSettings(prefix="test-bench"), count=600, awaited_count=200
    )

    assert figures.messages == 600
    assert figures.awaited_messages == 200
    assert figures.rounds == 3
    assert all(value > 0 for value in figures.as_dict().values())


def test_settings_come_from_kiln_broker_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_BROKER_SHARDS", "8")
    monkeypatch.setenv("KILN_BROKER_RETRY_DELAYS", "[1, 10]")
    monkeypatch.setenv("KILN_BROKER_URL", "amqp://kiln:s3cret@rabbit:5672/kiln")

    settings = broker_settings.BrokerSettings()

    assert settings.shards == 8
    assert settings.retry_delays == (1.0, 10.0)
    assert settings.url.get_secret_value() == "amqp://kiln:s3cret@rabbit:5672/kiln"
    assert "s3cret" not in repr(settings)
    assert (
        broker_settings.BrokerSettings.model_fields["url"]
        .default.get_secret_value()
        .startswith("amqp://guest:guest@127.0.0.1:5672/")
    )


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="rabbitmqctl is not installed here")
async def test_the_connection_is_named_after_the_service(connection: aio_pika.abc.AbstractConnection) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", "list_connections", "client_properties", stdout=asyncio.subprocess.PIPE
    )
    listed, _ = await process.communicate()

    assert f"kiln/kiln-tests@{socket.gethostname()}" in listed.decode()
    assert (
        connecting.connection_name("kiln-tests", prefix="kiln") == f"kiln/kiln-tests@{socket.gethostname()}"
    )
