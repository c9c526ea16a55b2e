"""Broker settings, from ``KILN_BROKER_*`` environment variables (read when built, never at import)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerSettings(BaseSettings):
    """How to reach RabbitMQ and shape Kiln's topology on it."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_BROKER_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    """AMQP URL of the broker (it carries the password, hence secret)."""
    prefix: str = Field(default="kiln", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Prefix of every exchange and queue name, so that deployments and tests can share a broker."""
    shards: int = Field(default=4, ge=1, le=256)
    """Number of quorum shard queues per sharded service (per-image ordering)."""
    delivery_limit: int = Field(default=5, ge=1)
    """``x-delivery-limit``: redeliveries of one message before the broker dead-letters it."""
    backoff: tuple[float, ...] = (0.1, 0.5, 1.0)
    """In-process retry delays (seconds) for a handler raising a temporary error."""
    retry_delays: tuple[float, ...] = (5.0, 30.0, 300.0)
    """Delays (seconds) of the delayed-retry queues, one per broker-level retry; then dead-letter."""
    prefetch: int = Field(default=64, ge=1)
    """Unacknowledged messages a consumer holds at once."""
    max_in_flight: int = Field(default=1000, ge=1)
    """Unconfirmed publishes the publisher keeps in flight."""
    balance: bool = True
    """Spread a sharded service's shards evenly over its live workers (see ``membership``)."""
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    """How often a worker announces itself to the others of its service; silent for three → gone."""
    reconnect_seconds: float = Field(default=1.0, gt=0)
    """Pause between attempts to reconnect a lost connection to the broker."""
    resubscribe_seconds: float = Field(default=1.0, gt=0)
    """How often consumers and publishers check that their channels and subscriptions exist and put
    back any that do not (they do so at once on a channel close, a cancel or a reconnect; this is the
    safety net)."""
    unhealthy_after_seconds: float = Field(default=60.0, gt=0)
    """How long a subscription or the publishing channel may stay missing before ``/healthz`` fails
    (``/readyz`` fails at once), so that a process that cannot recover is restarted."""
    stream_max_age: str = Field(default="7D", pattern=r"^\d+[YMDhms]$")
    """Retention of the event stream (``x-max-age``)."""
