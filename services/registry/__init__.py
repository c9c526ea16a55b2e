"""The OCI registry adapter: an async distribution-API client over httpx, with keychain auth.

Public surface (pinned by ``tests/unit/registry/test_registry_exports.py``):

* :class:`RegistryClient` — ``resolve_digest``, ``digest_ref``, ``fetch_config``, ``push_image``;
* :class:`Keychain` (``from_secrets``, ``from_docker_config``), :class:`Credentials`,
  :class:`AuthError`;
* :class:`ImageConfig`, :class:`BuilderBuildpack`, :class:`ImageConfigError`;

:mod:`services.registry.keychains` reads a service account's keychain from the cluster (its
docker-registry secrets, then Kiln's own docker config, then image pull secrets), as kpack does.
"""

from __future__ import annotations

from services.registry.auth import AuthError, Credentials, InvalidSecretError, Keychain
from services.registry.client import RegistryClient
from services.registry.config import BuilderBuildpack, ImageConfig, ImageConfigError

__all__ = [
    "AuthError",
    "BuilderBuildpack",
    "Credentials",
    "ImageConfig",
    "ImageConfigError",
    "InvalidSecretError",
    "Keychain",
    "RegistryClient",
]
