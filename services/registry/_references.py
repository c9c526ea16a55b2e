"""The little image-reference parsing the HTTP client needs: registry host, repository, tag/digest.

The full reference grammar (validation messages, normalisation for users) lives in ``contracts``;
this parser only answers "which URL do I call".
"""

from __future__ import annotations

import dataclasses
import re

from services import errors

DOCKER_HUB = "index.docker.io"
"""Canonical name of Docker Hub, as kpack writes it in image identifiers."""

_DOCKER_HUB_API = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


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
        return _DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

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


def canonical_host(host: str) -> str:
    """Lower-case the host and fold Docker Hub's aliases into ``index.docker.io``."""
    host = host.lower()
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def parse(text: str) -> Reference:
    """Parse ``[host/]repository[:tag][@sha256:…]``; Docker Hub short names get ``library/``."""
    rest, _, digest = text.strip().partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReferenceError(f"invalid digest in image reference {text!r}")
    name, tag = _split_tag(rest)
    host, repository = _split_host(name)
    if not _REPOSITORY.match(repository):
        raise InvalidReferenceError(f"invalid repository name in image reference {text!r}")
    if tag is not None and not _TAG.match(tag):
        raise InvalidReferenceError(f"invalid tag in image reference {text!r}")
    return Reference(host=host, repository=repository, tag=tag, digest=digest or None)


def _split_tag(name: str) -> tuple[str, str | None]:
    head, sep, tail = name.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return name, None


def _split_host(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = canonical_host(first)
        repository = rest
    else:
        host, repository = DOCKER_HUB, name
    if host == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return host, repository
