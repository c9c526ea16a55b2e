"""Registry credentials from Kubernetes secrets, and the ``WWW-Authenticate`` challenges.

Pure: no I/O. The client (``client.py``) asks the :class:`Keychain` for a host's credentials and
parses the registry's 401 challenge with :func:`parse_challenge` to decide between basic auth and
the bearer-token flow.

Secrets understood, as kpack reads them:

* ``kubernetes.io/dockerconfigjson``: ``.dockerconfigjson`` = ``{"auths": {host: {...}}}``;
* ``kubernetes.io/dockercfg`` (legacy): ``.dockercfg`` = ``{host: {...}}``;
* ``kubernetes.io/basic-auth`` annotated ``kpack.io/docker: <host>``.

Each host entry carries ``username`` + ``password`` or ``auth`` = base64(``user:password``).

:func:`service_account_keychain` orders them as kpack's keychain factory does for a service
account: its ``kpack.io/docker`` basic-auth secrets (by name), then its docker config secrets (in
the account's order), then Kiln's own credentials, then the image pull secrets (the builder's,
then the account's); for each registry host the first that names it wins.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services import errors
from services.registry import _references

logger = logging.getLogger(__name__)

DOCKER_ANNOTATION = "kpack.io/docker"
"""Annotation naming the registry host of a ``kubernetes.io/basic-auth`` secret."""
BASIC_AUTH = "kubernetes.io/basic-auth"
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"
DOCKER_CONFIG_TYPES = frozenset({DOCKER_CONFIG_JSON, DOCKER_CFG})


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
    origin: str = dataclasses.field(default="", compare=False)
    """Where the credentials come from, for error messages (``service account ns/builder``)."""

    def get(self, host: str) -> Credentials | None:
        """The credentials for ``host`` (Docker Hub aliases folded), or None."""
        return self.entries.get(normalize_host(host))

    def missing(self, host: str) -> str:
        """Says that this keychain has no credentials for ``host``, and where it looked."""
        return f"the keychain has no credentials for {host}{self.described()}"

    def described(self) -> str:
        """`` (from <origin>)``, or nothing when the origin is unknown."""
        return f" (from {self.origin})" if self.origin else ""

    def with_origin(self, origin: str) -> Keychain:
        """The same credentials, described as coming from ``origin``."""
        return dataclasses.replace(self, origin=origin)

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
        origin = ", then ".join(o for o in (self.origin, other.origin) if o)
        return Keychain({**other.entries, **self.entries}, origin=origin)


def service_account_keychain(
    secrets: Sequence[Mapping[str, Any]],
    *,
    pull_secrets: Sequence[Mapping[str, Any]] = (),
    own: Keychain | None = None,
) -> Keychain:
    """The keychain of a service account, as kpack's keychain factory builds it.

    ``secrets`` are the Secret objects the account lists under ``secrets``; ``pull_secrets`` the
    image pull secrets (the builder's, then the account's); ``own`` Kiln's own credentials, which
    come after the account's secrets and before the pull secrets, as kpack's mounted controller
    secrets do. Only docker config secrets count among the pull secrets, as in Kubernetes.
    """
    basic = sorted((s for s in secrets if s.get("type") == BASIC_AUTH), key=_secret_name)
    configs = [s for s in secrets if s.get("type") in DOCKER_CONFIG_TYPES]
    pulls = [s for s in pull_secrets if s.get("type") in DOCKER_CONFIG_TYPES]
    keychain = Keychain.from_secrets([*basic, *configs])
    if own is not None:
        keychain = keychain.merged(own)
    return keychain.merged(Keychain.from_secrets(pulls))


def _secret_name(secret: Mapping[str, Any]) -> str:
    return str((secret.get("metadata") or {}).get("name", ""))


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
        if kind == DOCKER_CONFIG_JSON:
            return Keychain.from_docker_config(_decode_json(data[".dockerconfigjson"]))
        if kind == DOCKER_CFG:
            return Keychain.from_docker_config({"auths": _decode_json(data[".dockercfg"])})
        host = ((secret.get("metadata") or {}).get("annotations") or {}).get(DOCKER_ANNOTATION)
        if kind == BASIC_AUTH and host:
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


def repository_scope(repository: str, *, push: bool = False, pull_from: Iterable[str] = ()) -> str:
    """The token scope for reading (``pull``) or writing (``pull,push``) one repository, and
    reading each of ``pull_from`` too: a cross-repository mount needs both in one token.

    Several scopes are joined by spaces (``repository:t:pull,push repository:s:pull``), as the
    registry's own challenge joins them; :func:`split_scopes` takes them apart again."""
    scopes = [f"repository:{repository}:{'pull,push' if push else 'pull'}"]
    scopes += [f"repository:{source}:pull" for source in pull_from if source != repository]
    return " ".join(dict.fromkeys(scopes))


def split_scopes(*scopes: str | None) -> list[str]:
    """Each scope once, in order, from space-joined scope strings; the token request sends each
    as its own ``scope`` parameter, as the distribution token spec asks."""
    return list(dict.fromkeys(part for scope in scopes if scope for part in scope.split()))
