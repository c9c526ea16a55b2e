"""Deterministic layers and images for the test bed: the same entries give the same tar bytes,
the same gzip bytes and so the same digests (fixed mtimes and owners, no user names, gzip mtime 0).

Pure: :func:`tar_layer` makes a layer, :func:`image_plan` an :class:`~contracts.oci.ImagePlan` of
new blobs that :meth:`RegistryClient.write_image` pushes.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from typing import Any

from contracts import oci

TAR_MTIME = 315532801
"""1980-01-01T00:00:01Z, the timestamp CNB tools give every layer entry."""
CREATED = "1980-01-01T00:00:01Z"
"""The images' ``created``: fixed, so that a config's bytes depend only on its content."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One tar entry: a directory (``content`` None, no ``link``), a file, or a symlink."""

    path: str
    """Absolute path, ``/cnb/lifecycle/lifecycle``."""
    content: bytes | None = None
    mode: int = 0o755
    link: str = ""
    """Symlink target; makes the entry a symlink."""


@dataclasses.dataclass(frozen=True)
class Layer:
    """A gzipped tar layer: its blob and the digest of the uncompressed tar."""

    blob: bytes
    diff_id: str
    media_type: str = oci.OCI_LAYER_GZIP

    @property
    def descriptor(self) -> oci.Descriptor:
        return oci.Descriptor(
            media_type=self.media_type, digest=oci.sha256_digest(self.blob), size=len(self.blob)
        )


def tar_layer(entries: Sequence[Entry]) -> Layer:
    """A deterministic layer: USTAR, owner root, no user names, every mtime :data:`TAR_MTIME`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.mtime, info.mode = TAR_MTIME, entry.mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            content = None
            if entry.link:
                info.type, info.linkname = tarfile.SYMTYPE, entry.link
            elif entry.content is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size, content = len(entry.content), io.BytesIO(entry.content)
            tar.addfile(info, content)
    tar_bytes = raw.getvalue()
    blob = gzip.compress(tar_bytes, compresslevel=6, mtime=0)
    return Layer(blob=blob, diff_id="sha256:" + hashlib.sha256(tar_bytes).hexdigest())


def dirs(*paths: str) -> list[Entry]:
    """Directory entries, 0755."""
    return [Entry(path) for path in paths]


def image_plan(config: Mapping[str, Any], layers: Sequence[Layer], *, docker: bool = False) -> oci.ImagePlan:
    """An image of new blobs: ``config`` (``rootfs`` filled in from ``layers``) and the layers,
    with OCI media types, or Docker schema 2 ones if ``docker``."""
    layer_type = oci.DOCKER_LAYER_GZIP if docker else oci.OCI_LAYER_GZIP
    typed = [dataclasses.replace(layer, media_type=layer_type) for layer in layers]
    full = {**config, "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in typed]}}
    config_bytes = json.dumps(full, sort_keys=True, separators=(",", ":")).encode()
    config_type = oci.DOCKER_CONFIG if docker else oci.OCI_CONFIG
    config_descriptor = oci.Descriptor(
        media_type=config_type, digest=oci.sha256_digest(config_bytes), size=len(config_bytes)
    )
    media_type = oci.DOCKER_MANIFEST if docker else oci.OCI_MANIFEST
    descriptors = [layer.descriptor for layer in typed]
    manifest = oci.manifest_bytes(media_type=media_type, config=config_descriptor, layers=descriptors)
    blobs: list[oci.NewBlob | oci.ExistingBlob] = [
        oci.NewBlob(descriptor=config_descriptor, content=config_bytes)
    ]
    blobs += [
        oci.NewBlob(descriptor=d, content=layer.blob) for d, layer in zip(descriptors, typed, strict=True)
    ]
    return oci.ImagePlan(manifest=manifest, media_type=media_type, blobs=blobs)
