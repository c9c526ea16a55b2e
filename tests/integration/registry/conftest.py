"""Real registries for the registry client's tests: plain, htpasswd, token auth, and a proxy
that hides ``Docker-Content-Digest`` on HEAD (as some registries do) to force the GET fallback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services import registry
from services.testbed.registry import registry_process, token_server
from tests.integration.registry import support


@pytest.fixture(scope="session")
async def plain_registry() -> AsyncIterator[registry_process.RegistryProcess]:
    async with registry_process.running_registry() as process:
        yield process


@pytest.fixture(scope="session")
async def basic_registry() -> AsyncIterator[registry_process.RegistryProcess]:
    async with registry_process.running_registry(users=support.USERS) as process:
        yield process


@pytest.fixture
async def token_registry(tmp_path: Path) -> AsyncIterator[support.TokenRegistry]:
    async with (
        token_server.running_token_server(support.USERS, directory=tmp_path) as tokens,
        registry_process.running_registry(token_auth=tokens.settings) as process,
    ):
        yield support.TokenRegistry(process=process, tokens=tokens)


@pytest.fixture
async def client() -> AsyncIterator[registry.RegistryClient]:
    async with registry.RegistryClient(backoff=()) as registry_client:
        yield registry_client


@pytest.fixture
def repository() -> str:
    """A repository path no other test uses."""
    return f"kiln-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def proxy(plain_registry: registry_process.RegistryProcess) -> AsyncIterator[support.RegistryProxy]:
    """The plain registry behind a proxy that hides HEAD digests and can inject 503s."""
    async with support.registry_proxy(plain_registry.url) as registry_proxy:
        yield registry_proxy
