"""Basic auth (htpasswd) and the bearer-token flow against the real distribution registry,
with credentials from Kubernetes docker-registry secrets."""

from __future__ import annotations

import pytest

from services import registry
from services.testbed.registry import registry_process
from tests.integration.registry import support

pytestmark = pytest.mark.integration


def _keychain(host: str, *, password: str = support.USERS["alice"]) -> registry.Keychain:
    secret = support.docker_registry_secret(host, username="alice", password=password)
    return registry.Keychain.from_secrets([secret])


async def test_basic_auth_registry_works_with_credentials_from_a_dockerconfigjson_secret(
    basic_registry: registry_process.RegistryProcess, repository: str
) -> None:
    ref = f"{basic_registry.host}/{repository}:v1"
    async with registry.RegistryClient(_keychain(basic_registry.host), backoff=()) as client:
        pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"basic"])

        assert await client.resolve_digest(ref) == pushed
        assert (await client.fetch_config(ref)).os == "linux"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        pytest.param(None, "requires basic auth; the keychain has no credentials", id="without credentials"),
        pytest.param("wrong", "refused access with the credentials of 'alice'", id="with a wrong password"),
    ],
)
async def test_basic_auth_registry_refuses_clearly(
    basic_registry: registry_process.RegistryProcess,
    repository: str,
    password: str | None,
    expected: str,
) -> None:
    keychain = _keychain(basic_registry.host, password=password) if password else registry.Keychain()
    ref = f"{basic_registry.host}/{repository}:v1"
    async with registry.RegistryClient(keychain, backoff=()) as client:
        with pytest.raises(registry.AuthError, match=expected) as caught:
            await client.resolve_digest(ref)
    assert ref in str(caught.value)


async def test_bearer_token_flow_works_and_caches_the_token_per_scope(
    token_registry: support.TokenRegistry, repository: str
) -> None:
    host = token_registry.process.host
    ref = f"{host}/{repository}:v1"
    async with registry.RegistryClient(_keychain(host), backoff=()) as client:
        pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"token"])
        issued_for_push = token_registry.tokens.issued

        assert await client.resolve_digest(ref) == pushed
        assert await client.digest_ref(ref) == f"{host}/{repository}@{pushed}"
        assert (await client.fetch_config(ref)).os == "linux"

    assert issued_for_push == 1, "one token serves every request of a push"
    assert token_registry.tokens.issued == 2, "one more for the pull scope, then cached"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        pytest.param(None, "refused access with no credentials", id="without credentials"),
        pytest.param("wrong", "token server .* refused a token for", id="with a wrong password"),
    ],
)
async def test_bearer_token_registry_refuses_clearly(
    token_registry: support.TokenRegistry, repository: str, password: str | None, expected: str
) -> None:
    host = token_registry.process.host
    keychain = _keychain(host, password=password) if password else registry.Keychain()
    async with registry.RegistryClient(keychain, backoff=()) as client:
        with pytest.raises(registry.AuthError, match=expected):
            await client.push_image(f"{host}/{repository}:v1", config={}, layers=[b"denied"])
