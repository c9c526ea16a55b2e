"""Image references, parsed and normalised as go-containerregistry does for kpack.

``some/image`` is ``index.docker.io/some/image:latest``; ``name`` is
``index.docker.io/library/name``; a first component with a dot, a colon or ``localhost`` is a
registry host. A reference names a tag or a digest (``repo@sha256:<64 hex>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "index.docker.io"
"""Docker Hub's canonical name, as kpack writes it in image identifiers."""
DOCKER_HUB_API = "registry-1.docker.io"
"""The host that serves Docker Hub's distribution API."""
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
"""Names of Docker Hub that all mean :data:`DEFAULT_REGISTRY`."""
DEFAULT_TAG = "latest"
DIGEST_PATTERN = r"sha256:[a-f0-9]{64}"
"""An image or manifest digest (``sha256:`` and 64 lower-case hex digits), unanchored."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_HOST = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(rf"^{DIGEST_PATTERN}$")


class InvalidReferenceError(ValueError):
    """The string is not an image reference."""


@dataclass(frozen=True)
class Reference:
    """A parsed image reference."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """Fully qualified repository, e.g. ``index.docker.io/library/nginx``."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """The digest of a digest reference, else the tag (kpack's ``Identifier()``)."""
        return self.digest or self.tag

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def parse(value: str) -> Reference:
    """Parse ``value``; raise :class:`InvalidReferenceError` naming the problem."""
    if not value or value != value.strip():
        raise InvalidReferenceError(f"could not parse reference: {value}")
    rest, digest = value, ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReferenceError(f"could not parse reference: {value}")
    tag = ""
    last_slash = rest.rfind("/")
    last_colon = rest.rfind(":")
    if last_colon > last_slash:
        rest, tag = rest[:last_colon], rest[last_colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReferenceError(f"could not parse reference: {value}")
    registry, repository = _split_registry(rest, original=value)
    if not digest and not tag:
        tag = DEFAULT_TAG
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest)


def _split_registry(name: str, *, original: str) -> tuple[str, str]:
    first, _, remainder = name.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise InvalidReferenceError(f"could not parse reference: {original}")
        registry, repository = first, remainder
    else:
        registry, repository = DEFAULT_REGISTRY, name
    if registry in DOCKER_HUB_ALIASES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY.match(repository) or len(repository) > 255:
        raise InvalidReferenceError(f"could not parse reference: {original}")
    return registry, repository


def canonical_host(host: str) -> str:
    """A registry host compared as registries compare it: lower case, Docker Hub's aliases folded
    into :data:`DEFAULT_REGISTRY`."""
    host = host.lower()
    return DEFAULT_REGISTRY if host in DOCKER_HUB_ALIASES else host


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidReferenceError:
        return False
    return True


def parse_tag(value: str) -> Reference:
    """Parse a tag reference (``name.NewTag``): a digest is not allowed."""
    if "@" in value:
        raise InvalidReferenceError(f"could not parse reference: {value}")
    return parse(value)
