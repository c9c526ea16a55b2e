"""Image references as the HTTP client needs them: which host serves the API, which path to call.

Parsing and normalisation are :mod:`contracts.references` (one grammar for the whole project);
this module adds the client's view: the API host of Docker Hub, a lower-cased host, and a
:class:`~services.errors.PermanentError` for a string that is no reference.
"""

from __future__ import annotations

import dataclasses

from contracts import references
from services import errors

DOCKER_HUB = references.DEFAULT_REGISTRY
"""Canonical name of Docker Hub, as kpack writes it in image identifiers."""


class InvalidReferenceError(errors.PermanentError, ValueError):
    """A string that is not an image reference."""


@dataclasses.dataclass(frozen=True)
class Reference:
    """One parsed image reference."""

    host: str
    """Registry host as users name it (``127.0.0.1:5000``, ``index.docker.io``)."""
    repository: str
    """Repository path inside the registry (``library/ubuntu``)."""
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host that serves the distribution API for this registry."""
        return references.DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def identifier(self) -> str:
        """What goes after ``/manifests/``: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def qualified_repository(self) -> str:
        """``host/repository``, the prefix of kpack's ``<repo>@sha256:…`` identifiers."""
        return f"{self.host}/{self.repository}"

    def __str__(self) -> str:
        text = self.qualified_repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


canonical_host = references.canonical_host


def parse(text: str) -> Reference:
    """Parse ``[host/]repository[:tag][@sha256:…]``; Docker Hub short names get ``library/``."""
    try:
        parsed = references.parse(text.strip())
    except references.InvalidReferenceError as e:
        raise InvalidReferenceError(f"invalid image reference {text!r}: {e}") from e
    return Reference(
        host=canonical_host(parsed.registry),
        repository=parsed.repository,
        tag=parsed.tag or None,
        digest=parsed.digest or None,
    )
