"""Manifest media types, building an OCI image manifest, choosing from an index, and reading an
image manifest and its config into a :class:`contracts.oci.RemoteImage`. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contracts import oci
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


def descriptor_of(entry: Any, *, subject: str) -> oci.Descriptor:
    """A manifest's ``{"mediaType", "digest", "size"}`` entry as a :class:`~contracts.oci.Descriptor`."""
    if not isinstance(entry, Mapping):
        raise ManifestError(f"{subject}: a descriptor is not a JSON object")
    digest, size = entry.get("digest"), entry.get("size")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise ManifestError(f"{subject}: descriptor digest {digest!r} is not sha256:…")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{subject}: descriptor {digest} has no usable size ({size!r})")
    return oci.Descriptor(media_type=str(entry.get("mediaType") or ""), digest=digest, size=size)


def remote_image(
    *,
    repository: str,
    media_type: str,
    manifest: bytes,
    body: Mapping[str, Any],
    config_blob: bytes,
    subject: str,
) -> oci.RemoteImage:
    """The image whose manifest is ``manifest`` (decoded as ``body``) and config ``config_blob``.

    The config blob must be the one the manifest names (the caller verified its digest) and a JSON
    object; the manifest bytes are kept exactly, so the image's digest is theirs."""
    if media_type not in IMAGE_MANIFESTS:
        raise ManifestError(f"{subject}: {media_type!r} is not an image manifest")
    layers = body.get("layers") or []
    if not isinstance(layers, list):
        raise ManifestError(f"{subject}: manifest 'layers' is not a list")
    try:
        config = json.loads(config_blob)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{subject}: config blob is not JSON: {e}") from e
    if not isinstance(config, dict):
        raise ManifestError(f"{subject}: config blob is not a JSON object")
    return oci.RemoteImage(
        repository=repository,
        digest=sha256_digest(manifest),
        media_type=media_type,
        manifest=manifest,
        config=config,
        config_descriptor=descriptor_of(body.get("config"), subject=subject),
        layers=[descriptor_of(layer, subject=subject) for layer in layers],
    )
