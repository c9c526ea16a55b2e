"""Named, self-healing connections to the broker."""

from __future__ import annotations

import logging
import socket

import aio_pika
import aio_pika.abc

from services.broker import settings as broker_settings

logger = logging.getLogger(__name__)


def connection_name(service: str, *, host: str | None = None) -> str:
    """``<service>@<host>``: what the management UI and ``rabbitmqctl list_connections`` show."""
    return f"{service}@{host or socket.gethostname()}"


async def connect(
    settings: broker_settings.BrokerSettings, *, service: str
) -> aio_pika.abc.AbstractRobustConnection:
    """A robust connection (reconnects and restores channels) named after ``service``."""
    name = connection_name(service)
    connection = await aio_pika.connect_robust(
        settings.url.get_secret_value(), client_properties={"connection_name": name}
    )
    logger.info("connected to the broker as %s", name)
    return connection
