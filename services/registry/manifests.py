"""Manifest media types, building an OCI image manifest, and choosing from an index. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from services import errors

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
"""Without these a distribution registry answers 404 for an OCI manifest."""


class ManifestError(errors.PermanentError, ValueError):
    """A manifest we cannot use: unknown media type, bad JSON, no config."""


def sha256_digest(content: bytes) -> str:
    """``sha256:<hex>`` of exactly these bytes."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


def descriptor(content: bytes, *, media_type: str) -> dict[str, Any]:
    """An OCI content descriptor for a blob."""
    return {"mediaType": media_type, "digest": sha256_digest(content), "size": len(content)}


def image_manifest(*, config: bytes, layers: Sequence[bytes], layer_media_type: str) -> bytes:
    """The exact bytes of an OCI image manifest; its digest is the image digest."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, media_type=OCI_CONFIG),
        "layers": [descriptor(layer, media_type=layer_media_type) for layer in layers],
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


def decode(content: bytes, *, content_type: str, subject: str) -> tuple[str, Mapping[str, Any]]:
    """The media type (``mediaType`` field, else the Content-Type header) and the JSON body."""
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{subject}: manifest is not JSON: {e}") from e
    if not isinstance(body, Mapping):
        raise ManifestError(f"{subject}: manifest is not a JSON object")
    media_type = str(body.get("mediaType") or content_type.split(";")[0].strip())
    if media_type not in IMAGE_MANIFESTS | INDEXES:
        raise ManifestError(f"{subject}: unsupported manifest media type {media_type!r}")
    return media_type, body


def pick_platform(index: Mapping[str, Any], *, os: str = "linux", architecture: str = "amd64") -> str:
    """The digest of the ``os/architecture`` manifest of an index, else of its first one."""
    entries = [entry for entry in index.get("manifests") or [] if isinstance(entry, Mapping)]
    if not entries:
        raise ManifestError("image index lists no manifests")
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == os and platform.get("architecture") == architecture:
            return str(entry["digest"])
    return str(entries[0]["digest"])


def config_digest(manifest: Mapping[str, Any], *, subject: str) -> str:
    """The config blob digest an image manifest points at."""
    config = manifest.get("config")
    if not isinstance(config, Mapping) or not config.get("digest"):
        raise ManifestError(f"{subject}: manifest has no config descriptor")
    return str(config["digest"])
