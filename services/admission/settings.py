"""Admission webhook settings, from ``KILN_ADMISSION_*`` environment variables (read when built)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "KILN_ADMISSION_"


class AdmissionSettings(BaseSettings):
    """Where the webhook server listens, its TLS certificate, and how long StorageClasses are reused."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    host: str = "0.0.0.0"
    """Address the webhook server binds to (the API server reaches it through its Service)."""
    port: int = Field(default=8443, ge=0, le=65535)
    """Port of the webhook server (0: any free port)."""
    cert_file: Path | None = None
    """The serving certificate (PEM), e.g. ``tls.crt`` of the Secret cert-manager writes."""
    key_file: Path | None = None
    """The private key of ``cert_file`` (PEM), e.g. ``tls.key``."""
    insecure: bool = False
    """Serve plain http without a certificate (tests only: the API server calls webhooks over https)."""
    storage_class_seconds: float = Field(default=10.0, ge=0)
    """How long the cluster's StorageClasses are reused before they are listed again."""
    max_body_bytes: int = Field(default=3 * 1024 * 1024, ge=1)
    """Largest review accepted; a larger one is answered 413."""
