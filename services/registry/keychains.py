"""The registry credentials of a service account, read from the cluster as kpack reads them.

kpack reads a builder image with the keychain of the Build's service account: its ``secrets``
(``kpack.io/docker`` basic-auth secrets, docker config secrets), the controller's own mounted
credentials, then the image pull secrets (the builder's ``imagePullSecrets``, then the account's).
:class:`Keychains` builds that keychain (:func:`services.registry.auth.service_account_keychain`)
from the secrets it reads through the cluster port, with Kiln's own credentials from a docker
``config.json`` (:class:`DockerConfigFile`, a mounted Secret in a deployment), and keeps each for
``ttl`` seconds, so a burst of builds reads one account's secrets once and a changed secret is
seen within ``ttl``; a registry that refuses a cached keychain gets one more try with a freshly
read one, so a secret added for a failing build helps at once.

    keychains = Keychains(cluster, own=DockerConfigFile(path), ttl=30.0)
    account = Account(namespace, "builder", image_pull_secrets=("pull",))
    config = await keychains.using(account, lambda k: registry.fetch_config(image, keychain=k))
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from contracts import meta
from services.registry import auth

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_TTL_SECONDS = 30.0
_MAX_CACHED = 1024
_FIX = '; point {setting} at a docker config.json: {{"auths": {{"<host>": {{"auth": "<base64 user:password>"}}}}}}'


class SecretReader(Protocol):
    """What the keychains read from the cluster (part of :class:`services.ports.Cluster`)."""

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...


@dataclasses.dataclass(frozen=True)
class Account:
    """A service account whose registry credentials a look-up uses."""

    namespace: str
    name: str = DEFAULT_SERVICE_ACCOUNT
    image_pull_secrets: tuple[str, ...] = ()
    """Pull secrets of the image being read (a builder's ``imagePullSecrets``), before the account's."""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


async def account_secrets(
    reader: SecretReader, namespace: str, name: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The service account (None if missing) and the Secrets it lists under ``secrets``, each name
    once; a listed secret that does not exist is left out with a warning, as kpack does."""
    account = await reader.get_service_account(namespace, name)
    if account is None:
        return None, []
    names = meta.reference_names(account.get("secrets"))
    return account, await _secrets(reader, namespace, names, owner=f"service account {namespace}/{name}")


async def _secrets(
    reader: SecretReader, namespace: str, names: Iterable[str], *, owner: str
) -> list[dict[str, Any]]:
    found = []
    for name in dict.fromkeys(names):
        secret = await reader.get_secret(namespace, name)
        if secret is None:
            logger.warning("%s: secret %s/%s not found", owner, namespace, name)
            continue
        found.append(secret)
    return found


class DockerConfigFile:
    """Kiln's own registry credentials: the ``auths`` of a docker ``config.json``, read again
    whenever the file changes (a mounted Secret is updated in place). No path, or no file there,
    means no credentials."""

    def __init__(self, path: Path | None, *, setting: str = "KILN_REGISTRY_DOCKER_CONFIG") -> None:
        """``setting`` names where the path came from, for messages. A file that exists but cannot
        be read as a docker config raises :class:`~services.registry.auth.InvalidSecretError`
        here; a later bad edit is logged and the last good credentials kept."""
        self._path = path
        self._setting = setting
        self._seen: tuple[int, int] | None = None
        self._keychain = auth.Keychain()
        self._refresh(strict=True)

    def keychain(self) -> auth.Keychain:
        """The credentials as the file holds them now."""
        self._refresh(strict=False)
        return self._keychain

    def _refresh(self, *, strict: bool) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            if self._seen is not None:
                logger.warning("%s: %s is gone; no own registry credentials", self._setting, self._path)
            self._seen, self._keychain = None, auth.Keychain()
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen == self._seen:
            return
        try:
            self._keychain = self._read().with_origin(f"Kiln's docker config {self._path}")
        except auth.InvalidSecretError as e:
            if strict:
                raise
            logger.warning("%s: keeping the previous registry credentials: %s", self._setting, e)
        else:
            logger.info("registry credentials for %s from %s", sorted(self._keychain.entries), self._path)
        self._seen = seen

    def _read(self) -> auth.Keychain:
        assert self._path is not None
        fix = _FIX.format(setting=self._setting)
        try:
            document = json.loads(self._path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise auth.InvalidSecretError(
                f"{self._setting}: {self._path} is not readable JSON: {e}{fix}"
            ) from e
        auths = document.get("auths") if isinstance(document, dict) else None
        if not isinstance(auths, dict):
            raise auth.InvalidSecretError(f'{self._setting}: {self._path} has no "auths" object{fix}')
        try:
            return auth.Keychain.from_docker_config({"auths": auths})
        except (auth.InvalidSecretError, ValueError) as e:
            raise auth.InvalidSecretError(f"{self._setting}: {self._path}: {e}{fix}") from e


@dataclasses.dataclass(frozen=True)
class _Cached:
    keychain: auth.Keychain
    expires_at: float


class Keychains:
    """Service accounts' keychains (with Kiln's own credentials after the account's secrets)."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        own: DockerConfigFile | None = None,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._own = own
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[Account, _Cached] = {}

    def own(self) -> auth.Keychain:
        """Kiln's own credentials alone."""
        return self._own.keychain() if self._own is not None else auth.Keychain()

    async def keychain(self, account: Account) -> auth.Keychain:
        """The account's keychain, read again once ``ttl`` has passed since it was last read."""
        return (await self._cached(account))[0]

    async def using(self, account: Account, operation: Callable[[auth.Keychain], Awaitable[T]]) -> T:
        """``operation(keychain)`` with the account's keychain; if the registry refuses a cached
        keychain, the account's secrets are read again and, if they changed, tried once more."""
        keychain, cached = await self._cached(account)
        try:
            return await operation(keychain)
        except auth.AuthError:
            if not cached:
                raise
            fresh = await self._load(account)
            if fresh == keychain:
                raise
            logger.info("registry credentials of service account %s changed; trying again", account)
        return await operation(fresh)

    async def _cached(self, account: Account) -> tuple[auth.Keychain, bool]:
        entry = self._cache.get(account)
        if entry is not None and entry.expires_at > self._clock():
            return entry.keychain, True
        return await self._load(account), False

    async def _load(self, account: Account) -> auth.Keychain:
        found, secrets = await account_secrets(self._reader, account.namespace, account.name)
        pulls = [*account.image_pull_secrets]
        pulls += meta.reference_names(found.get("imagePullSecrets")) if found else []
        owner = f"service account {account}"
        pull_secrets = await _secrets(self._reader, account.namespace, pulls, owner=owner)
        own = self.own()
        origin = f"the secrets and image pull secrets of service account {account}"
        keychain = auth.service_account_keychain(secrets, pull_secrets=pull_secrets, own=own)
        keychain = keychain.with_origin(f"{origin}, then {own.origin}" if own.origin else origin)
        now = self._clock()
        if len(self._cache) >= _MAX_CACHED:
            self._cache = {key: entry for key, entry in self._cache.items() if entry.expires_at > now}
        self._cache[account] = _Cached(keychain, now + self._ttl)
        return keychain
