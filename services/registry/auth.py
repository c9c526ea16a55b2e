"""Registry credentials from Kubernetes secrets, and the ``WWW-Authenticate`` challenges.

Pure: no I/O. The client (``client.py``) asks the :class:`Keychain` for a host's credentials and
parses the registry's 401 challenge with :func:`parse_challenge` to decide between basic auth and
the bearer-token flow.

Secrets understood, as kpack reads them:

* ``kubernetes.io/dockerconfigjson``: ``.dockerconfigjson`` = ``{"auths": {host: {...}}}``;
* ``kubernetes.io/dockercfg`` (legacy): ``.dockercfg`` = ``{host: {...}}``;
* ``kubernetes.io/basic-auth`` annotated ``kpack.io/docker: <host>``.

Each host entry carries ``username`` + ``password`` or ``auth`` = base64(``user:password``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from services import errors
from services.registry import _references

logger = logging.getLogger(__name__)

DOCKER_ANNOTATION = "kpack.io/docker"
"""Annotation naming the registry host of a ``kubernetes.io/basic-auth`` secret."""


class AuthError(errors.PermanentError):
    """The registry or its token server refused us: no credentials, or wrong ones."""


class InvalidSecretError(errors.PermanentError, ValueError):
    """A docker-registry secret whose payload cannot be decoded."""


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A username and password for one registry host."""

    username: str
    password: str = dataclasses.field(repr=False)

    def basic_header(self) -> str:
        """The ``Authorization`` header value for HTTP basic auth."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclasses.dataclass(frozen=True)
class Keychain:
    """Registry host → credentials. The first secret naming a host wins, as in kpack."""

    entries: Mapping[str, Credentials] = dataclasses.field(default_factory=dict)

    def get(self, host: str) -> Credentials | None:
        """The credentials for ``host`` (Docker Hub aliases folded), or None."""
        return self.entries.get(normalize_host(host))

    @classmethod
    def from_docker_config(cls, config: Mapping[str, Any]) -> Keychain:
        """From a decoded ``~/.docker/config.json`` / ``.dockerconfigjson`` document."""
        auths = config.get("auths", config)
        if not isinstance(auths, Mapping):
            raise InvalidSecretError("docker config: 'auths' is not an object")
        entries: dict[str, Credentials] = {}
        for host, entry in auths.items():
            credentials = _credentials_from_entry(host, entry)
            if credentials is not None:
                entries.setdefault(normalize_host(host), credentials)
        return cls(entries)

    @classmethod
    def from_secrets(cls, secrets: Iterable[Mapping[str, Any]]) -> Keychain:
        """From Kubernetes Secret objects as dicts (``type``, ``data`` base64, ``metadata``).

        Secrets of other types are skipped; a docker secret that cannot be decoded raises
        :class:`InvalidSecretError` naming the secret.
        """
        entries: dict[str, Credentials] = {}
        for secret in secrets:
            for host, credentials in _keychain_from_secret(secret).entries.items():
                entries.setdefault(host, credentials)
        return cls(entries)

    def merged(self, other: Keychain) -> Keychain:
        """This keychain, with ``other``'s hosts added where this one has none."""
        return Keychain({**other.entries, **self.entries})


def normalize_host(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``index.docker.io``; ``http://h:5000/v2/`` → ``h:5000``."""
    host = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", key.strip())
    host = host.split("/", 1)[0]
    return _references.canonical_host(host)


def _keychain_from_secret(secret: Mapping[str, Any]) -> Keychain:
    kind = secret.get("type", "")
    data = secret.get("data") or {}
    name = (secret.get("metadata") or {}).get("name", "<unnamed>")
    try:
        if kind == "kubernetes.io/dockerconfigjson":
            return Keychain.from_docker_config(_decode_json(data[".dockerconfigjson"]))
        if kind == "kubernetes.io/dockercfg":
            return Keychain.from_docker_config({"auths": _decode_json(data[".dockercfg"])})
        host = ((secret.get("metadata") or {}).get("annotations") or {}).get(DOCKER_ANNOTATION)
        if kind == "kubernetes.io/basic-auth" and host:
            username, password = _decode(data["username"]), _decode(data.get("password", ""))
            return Keychain({normalize_host(host): Credentials(username, password)})
    except (KeyError, ValueError, binascii.Error) as e:
        raise InvalidSecretError(f"secret {name!r} of type {kind!r} cannot be decoded: {e}") from e
    return Keychain()


def _decode(value: str) -> str:
    return base64.b64decode(value, validate=True).decode()


def _decode_json(value: str) -> Mapping[str, Any]:
    document = json.loads(_decode(value))
    if not isinstance(document, Mapping):
        raise ValueError("the docker config is not a JSON object")
    return document


def _credentials_from_entry(host: str, entry: Any) -> Credentials | None:
    if not isinstance(entry, Mapping):
        raise InvalidSecretError(f"docker config entry for {host!r} is not an object")
    username, password = entry.get("username"), entry.get("password")
    if username:
        return Credentials(str(username), str(password or ""))
    if entry.get("auth"):
        user, sep, secret = _decode(str(entry["auth"])).partition(":")
        if not sep:
            raise InvalidSecretError(f"docker config entry for {host!r}: 'auth' is not user:password")
        return Credentials(user, secret)
    logger.debug("docker config entry for %s has no username/auth; skipped", host)
    return None


@dataclasses.dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge."""

    scheme: str
    """Lower-cased auth scheme: ``basic`` or ``bearer``."""
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Parameter names lower-cased: ``realm``, ``service``, ``scope``, ``error``."""

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*))\s*(?:,|$)')


def parse_challenge(header: str) -> Challenge:
    """Parse ``Bearer realm="…",service="…",scope="repository:x:pull,push"`` (one challenge).

    Quoted values may hold commas (the scope list does); the scheme is lower-cased. An empty or
    schemeless header raises :class:`AuthError`, since a 401 without a challenge cannot be met.
    """
    scheme, _, rest = header.strip().partition(" ")
    if not scheme or "=" in scheme:
        raise AuthError(f"unusable WWW-Authenticate challenge: {header!r}")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            raise AuthError(f"malformed WWW-Authenticate challenge: {header!r}")
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
        position = match.end()
    return Challenge(scheme=scheme.lower(), params=params)


def repository_scope(repository: str, *, push: bool = False) -> str:
    """The token scope for reading (``pull``) or writing (``pull,push``) one repository."""
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"
