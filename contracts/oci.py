"""OCI images as data: what the registry adapter reads and what the builder service writes.

The registry client (:mod:`services.registry.client`) answers :class:`RemoteImage` — one
platform's manifest with its config, exactly as the registry holds them — and the pure builder
modules plan new images as :class:`ImagePlan` (the bytes to write, and where each layer comes
from), so that no decision touches the network.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_digest(content: bytes) -> str:
    """``sha256:<hex>`` of exactly these bytes."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Descriptor(_Frozen):
    """An OCI content descriptor."""

    media_type: str
    """Media type of the blob."""
    digest: str
    """``sha256:…`` of the blob."""
    size: int = Field(ge=0)
    """Size of the blob in bytes."""

    def wire(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class RemoteImage(_Frozen):
    """One image (a single platform's manifest) as a registry holds it."""

    repository: str
    """Fully qualified repository, no tag or digest: ``registry.io/team/app``."""
    digest: str
    """``sha256:…`` of the manifest bytes (for an index: of the platform's manifest)."""
    media_type: str
    """The manifest's media type (OCI or Docker schema 2)."""
    manifest: bytes
    """The manifest exactly as the registry served it."""
    config: dict[str, Any]
    """The config blob, parsed (``os``, ``architecture``, ``config.Labels``, ``rootfs.diff_ids`` …)."""
    config_descriptor: Descriptor
    """Where the config blob is."""
    layers: list[Descriptor]
    """The manifest's layers, bottom first."""

    @property
    def identifier(self) -> str:
        """``repository@sha256:…``, what kpack records as a resolved image."""
        return f"{self.repository}@{self.digest}"

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    @property
    def env(self) -> list[str]:
        return list((self.config.get("config") or {}).get("Env") or [])

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def os(self) -> str:
        return str(self.config.get("os") or "")

    @property
    def architecture(self) -> str:
        return str(self.config.get("architecture") or "")

    @property
    def variant(self) -> str:
        return str(self.config.get("variant") or "")


class NewBlob(_Frozen):
    """A blob the plan made itself: upload these bytes."""

    descriptor: Descriptor
    """Its descriptor."""
    content: bytes
    """Its bytes."""


class ExistingBlob(_Frozen):
    """A blob already in a registry: mount it from ``repository`` (same registry), else copy it."""

    descriptor: Descriptor
    """Its descriptor."""
    repository: str
    """Fully qualified repository that holds it."""


class ImagePlan(_Frozen):
    """An image to write: its manifest bytes (whose digest is the image digest), and every blob the
    manifest names with where to get it. Writing it to a tag whose digest is already
    :attr:`digest` changes nothing."""

    manifest: bytes
    """The manifest bytes."""
    media_type: str
    """The manifest's media type."""
    blobs: list[NewBlob | ExistingBlob]
    """The config blob and every layer, each new or existing."""

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def manifest_bytes(*, media_type: str, config: Descriptor, layers: list[Descriptor]) -> bytes:
    """A schema 2 manifest (OCI or Docker, by ``media_type``): compact JSON, keys in a fixed order,
    so equal inputs give equal bytes and so equal digests."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.wire(),
        "layers": [layer.wire() for layer in layers],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()
