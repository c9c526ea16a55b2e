"""Kubernetes client settings, from ``KILN_KUBE_*`` environment variables (read when built)."""

from __future__ import annotations

import pathlib

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services import retrying


class KubeSettings(BaseSettings):
    """How to reach the Kubernetes API and how patient to be with it."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_KUBE_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    kubeconfig: pathlib.Path | None = None
    """Kubeconfig file; None: ``$KUBECONFIG`` or ``~/.kube/config`` (unless in-cluster)."""
    context: str | None = None
    """Kubeconfig context to use; None: the file's current context."""
    in_cluster: bool | None = None
    """Use the pod's service account; None: when ``KUBERNETES_SERVICE_HOST`` is set and no
    kubeconfig is given."""
    request_timeout: float = Field(default=30.0, gt=0)
    """Seconds one API request may take (connect and read) before it counts as a temporary error."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to establish a connection (also used for watch requests)."""
    backoff: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)
    """Retry delays (seconds) for temporary failures: 429, 5xx, timeouts, connection loss."""
    max_retry_after: float = Field(default=retrying.DEFAULT_MAX_RETRY_AFTER, ge=0)
    """The longest an API server's ``Retry-After`` (on 429 or 503) may make one retry wait, in seconds;
    a longer outage is left to the callers' own retries (a handler's delayed retry queues)."""
    watch_timeout_seconds: int = Field(default=300, ge=1)
    """``timeoutSeconds`` of each watch request; the watch is resumed from where it stopped."""
