"""The completion container's termination message: what a build reports to image-state.

The build pod's last container, ``completion`` (kpack's ``completion`` image, or the simulated
kubelet standing in for it), reads the lifecycle's report and writes the build's metadata as its
termination message; image-state reads it from the finished pod into the Build's status
(``buildMetadata``, ``latestImage``, ``latestCacheImage``, ``stack``, ``lifecycleVersion``).

Format (kpack's): base64 of gzip of compact JSON, keys as kpack's ``cnb.BuildMetadata``
(``buildpackMetadata``, ``latestCacheImage``, ``latestImage``, ``stackID``, ``stackRunImage``,
``lifecycleVersion``), at most :data:`MAX_MESSAGE_BYTES` once encoded: Kubernetes keeps no more of
a termination message. Keys a newer completion image adds are ignored when reading.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contracts import builds

MAX_MESSAGE_BYTES = 4096
"""Kubernetes keeps at most 4096 bytes of a termination message."""


class CompletionMessageError(ValueError):
    """A termination message that cannot be written (too large) or read (not base64(gzip(JSON)) of
    :class:`CompletionMetadata`)."""


class CompletionMetadata(BaseModel):
    """What the completion container reports (JSON keys as kpack's ``cnb.BuildMetadata``)."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",  # a newer completion image may report more; what we read is typed
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )

    buildpack_metadata: list[builds.BuildpackInfo] = Field(default_factory=list)
    """Buildpacks that took part: id, version, homepage."""
    latest_cache_image: str = ""
    """Digest reference of the cache tag after the build; empty when there is none or it failed."""
    latest_image: str = ""
    """Digest reference of the built image."""
    stack_id: str = Field(default="", alias="stackID")
    """Stack id of the run image."""
    stack_run_image: str = ""
    """Run image repository at the digest the image was built on."""
    lifecycle_version: str = ""
    """Lifecycle version that ran the build."""


def encode_completion_message(metadata: CompletionMetadata) -> str:
    """base64(gzip(JSON)); raise ``compressed metadata size too large`` past 4096 bytes."""
    body = json.dumps(metadata.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
    message = base64.b64encode(gzip.compress(body.encode(), mtime=0)).decode()
    if len(message) > MAX_MESSAGE_BYTES:
        raise CompletionMessageError("compressed metadata size too large")
    return message


def decode_completion_message(message: str) -> CompletionMetadata:
    """The metadata in a termination message; :class:`CompletionMessageError` if unreadable."""
    try:
        body = gzip.decompress(base64.b64decode(message, validate=True))
        return CompletionMetadata.model_validate(json.loads(body))
    except (binascii.Error, OSError, EOFError, ValueError) as e:
        raise CompletionMessageError(f"invalid completion message: {e}") from e
