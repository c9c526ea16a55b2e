"""Triggers settings, from ``KILN_TRIGGERS_*`` environment variables (read when built, never at import).

Each webhook provider is enabled by its secret: a request to a provider whose secret is unset is
refused (404) with a message naming the variable to set, so a forgotten secret never turns into
an open endpoint.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "KILN_TRIGGERS_"
MAX_BODY_BYTES = 1024 * 1024
"""The default of ``max_body_bytes``."""

Credential = Literal["github_secret", "gitlab_token", "generic_token", "registry_token"]
"""The settings that enable a provider."""


class TriggersSettings(BaseSettings):
    """Where the webhook server listens and the secrets it checks each provider's requests with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    host: str = "0.0.0.0"
    """Address the webhook server binds to (all interfaces: git providers reach it from outside)."""
    port: int = Field(default=8080, ge=0, le=65535)
    """Port of the webhook server (0: any free port)."""
    github_secret: SecretStr | None = None
    """The GitHub webhook secret: ``X-Hub-Signature-256`` is the HMAC-SHA256 of the body with it.
    Unset or empty: ``/webhooks/github`` is refused."""
    gitlab_token: SecretStr | None = None
    """The GitLab webhook secret token, sent back as ``X-Gitlab-Token``. Unset: ``/webhooks/gitlab``
    is refused."""
    generic_token: SecretStr | None = None
    """The bearer token of ``/webhooks/generic`` (``Authorization: Bearer <token>``). Unset: refused."""
    registry_token: SecretStr | None = None
    """The bearer token a registry sends with its notifications (the ``headers`` of its endpoint
    configuration). Unset: ``/webhooks/registry`` is refused."""
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1)
    """Largest request body accepted; a larger one is answered 413."""
    rate_per_second: float = Field(default=20.0, ge=0)
    """Webhook requests a second one source may send, sustained (0: no limit); one beyond
    ``burst`` and this rate is answered 429 with ``Retry-After``."""
    burst: int = Field(default=100, ge=1)
    """Webhook requests one source may send at once before ``rate_per_second`` applies."""
    trusted_proxy: bool = False
    """The webhook server is reached only through a proxy (an ingress, a load balancer) that sets
    ``X-Forwarded-For``: the header's first hop is the source that is rate-limited. False: the
    peer address is, and the header (which any sender can write) is ignored."""
    rate_limited_sources: int = Field(default=10_000, ge=1)
    """Most sources whose request rate is remembered at once (the least recently seen are forgotten)."""

    def credential(self, name: Credential) -> str | None:
        """The secret value of ``name``, or None when it is unset or empty (the provider is disabled)."""
        value: SecretStr | None = getattr(self, name)
        return (value.get_secret_value() or None) if value is not None else None

    @staticmethod
    def env_var(name: Credential) -> str:
        """The environment variable that sets ``name``, e.g. ``KILN_TRIGGERS_GITHUB_SECRET``."""
        return f"{ENV_PREFIX}{name}".upper()
