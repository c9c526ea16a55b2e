"""A service account's registry keychain as kpack builds it, Kiln's own docker config, and how long
a keychain is reused."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from services.registry import auth, keychains

HOST = "registry.example.com"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _docker_config(
    name: str, user: str, *, host: str = HOST, kind: str = auth.DOCKER_CONFIG_JSON
) -> dict[str, Any]:
    entries = {host: {"username": user, "password": "p"}}
    if kind == auth.DOCKER_CFG:
        return {"metadata": {"name": name}, "type": kind, "data": {".dockercfg": _b64(json.dumps(entries))}}
    document = json.dumps({"auths": entries})
    return {"metadata": {"name": name}, "type": kind, "data": {".dockerconfigjson": _b64(document)}}


def _basic(name: str, user: str, *, host: str = HOST) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": {auth.DOCKER_ANNOTATION: host}},
        "type": auth.BASIC_AUTH,
        "data": {"username": _b64(user), "password": _b64("p")},
    }


OWN = auth.Keychain({HOST: auth.Credentials("kiln", "p")}, origin="Kiln's docker config")


@pytest.mark.parametrize(
    ("secrets", "pull_secrets", "own", "expected"),
    [
        pytest.param([_docker_config("a", "config")], [], None, "config", id="a docker config secret"),
        pytest.param(
            [_docker_config("a", "old", kind=auth.DOCKER_CFG)], [], None, "old", id="a dockercfg secret"
        ),
        pytest.param(
            [_docker_config("a", "config"), _basic("z", "basic")],
            [],
            None,
            "basic",
            id="a kpack.io/docker basic-auth secret wins over docker config secrets",
        ),
        pytest.param(
            [_basic("z", "zed"), _basic("b", "bee")],
            [],
            None,
            "bee",
            id="basic-auth secrets are taken by name, as kpack sorts them",
        ),
        pytest.param(
            [_docker_config("z", "first"), _docker_config("a", "second")],
            [],
            None,
            "first",
            id="docker config secrets are taken in the account's order",
        ),
        pytest.param(
            [_docker_config("a", "account")], [], OWN, "account", id="the account's secrets before Kiln's"
        ),
        pytest.param(
            [], [_docker_config("pull", "puller")], OWN, "kiln", id="Kiln's credentials before pull secrets"
        ),
        pytest.param([], [_docker_config("pull", "puller")], None, "puller", id="a pull secret alone serves"),
        pytest.param(
            [],
            [_basic("pull", "basic")],
            None,
            None,
            id="a basic-auth pull secret counts for nothing, as in Kubernetes",
        ),
        pytest.param(
            [{"metadata": {"name": "token"}, "type": "Opaque", "data": {"token": _b64("t")}}],
            [],
            None,
            None,
            id="other secrets count for nothing",
        ),
    ],
)
def test_a_service_account_keychain_orders_credentials_as_kpack_does(
    secrets: list[dict[str, Any]],
    pull_secrets: list[dict[str, Any]],
    own: auth.Keychain | None,
    expected: str | None,
) -> None:
    keychain = auth.service_account_keychain(secrets, pull_secrets=pull_secrets, own=own)

    found = keychain.get(HOST)
    assert (found.username if found else None) == expected


def test_an_undecodable_docker_secret_names_itself() -> None:
    broken = {
        "metadata": {"name": "broken"},
        "type": auth.DOCKER_CONFIG_JSON,
        "data": {".dockerconfigjson": "!!"},
    }

    with pytest.raises(auth.InvalidSecretError, match="secret 'broken'"):
        auth.service_account_keychain([broken])


def _write_config(path: Path, user: str, *, host: str = HOST) -> None:
    path.write_text(json.dumps({"auths": {host: {"auth": _b64(f"{user}:p")}}, "credsStore": "desktop"}))


def test_kilns_docker_config_is_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    _write_config(path, "first")
    own = keychains.DockerConfigFile(path)
    assert own.keychain().get(HOST) == auth.Credentials("first", "p")
    assert str(path) in own.keychain().origin

    _write_config(path, "second-user")
    assert own.keychain().get(HOST) == auth.Credentials("second-user", "p")

    path.write_text("{not json")
    assert own.keychain().get(HOST) == auth.Credentials("second-user", "p"), "a bad edit keeps the last good"

    path.unlink()
    assert own.keychain().get(HOST) is None


def test_no_docker_config_means_no_own_credentials(tmp_path: Path) -> None:
    assert keychains.DockerConfigFile(None).keychain().entries == {}
    assert keychains.DockerConfigFile(tmp_path / "absent.json").keychain().entries == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("{not json", "is not readable JSON", id="not JSON"),
        pytest.param('{"credsStore": "desktop"}', 'has no "auths" object', id="no auths"),
        pytest.param('{"auths": {"h": {"auth": "!!"}}}', "h", id="an entry that does not decode"),
    ],
)
def test_a_bad_docker_config_at_start_names_the_setting_and_the_fix(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)

    with pytest.raises(auth.InvalidSecretError, match=expected) as raised:
        keychains.DockerConfigFile(path, setting="KILN_REGISTRY_DOCKER_CONFIG")

    assert "KILN_REGISTRY_DOCKER_CONFIG" in str(raised.value)
    assert '{"auths": {"<host>": {"auth": "<base64 user:password>"}}}' in str(raised.value)


class Cluster:
    """Service accounts and secrets by name, counting the reads."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.reads = 0

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.accounts.get(name)

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.secrets.get(name)

    def account(self, name: str, *secrets: dict[str, Any], pull: tuple[str, ...] = ()) -> None:
        self.accounts[name] = {
            "metadata": {"name": name},
            "secrets": [{"name": s["metadata"]["name"]} for s in secrets] + [{"name": "missing"}],
            "imagePullSecrets": [{"name": p} for p in pull],
        }
        self.secrets.update({s["metadata"]["name"]: s for s in secrets})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_keychain_is_reused_within_its_ttl_and_read_again_after() -> None:
    cluster, clock = Cluster(), Clock()
    cluster.account("builder", _docker_config("creds", "first"))
    chains = keychains.Keychains(cluster, ttl=30.0, clock=clock)
    account = keychains.Account("ns", "builder")

    assert (await chains.keychain(account)).get(HOST) == auth.Credentials("first", "p")
    reads = cluster.reads
    cluster.secrets["creds"] = _docker_config("creds", "second")
    clock.now += 29.0
    assert (await chains.keychain(account)).get(HOST) == auth.Credentials("first", "p")
    assert cluster.reads == reads, "nothing read again within the ttl"

    clock.now += 2.0
    assert (await chains.keychain(account)).get(HOST) == auth.Credentials("second", "p")


async def test_pull_secrets_come_from_the_builder_then_the_account_and_kilns_own_in_between(
    tmp_path: Path,
) -> None:
    cluster = Cluster()
    cluster.account("builder", pull=("account-pull",))
    cluster.secrets["builder-pull"] = _docker_config("builder-pull", "builder-puller", host="builder.example")
    cluster.secrets["account-pull"] = _docker_config("account-pull", "account-puller", host="account.example")
    cluster.secrets["both"] = _docker_config("both", "builder-puller", host="account.example")
    path = tmp_path / "config.json"
    _write_config(path, "kiln", host="kiln.example")
    chains = keychains.Keychains(cluster, own=keychains.DockerConfigFile(path))

    keychain = await chains.keychain(
        keychains.Account("ns", "builder", image_pull_secrets=("builder-pull", "both"))
    )

    assert {host: c.username for host, c in keychain.entries.items()} == {
        "builder.example": "builder-puller",
        "account.example": "builder-puller",
        "kiln.example": "kiln",
    }
    assert "service account ns/builder" in keychain.origin
    assert str(path) in keychain.origin


async def test_a_missing_service_account_leaves_kilns_own_credentials() -> None:
    chains = keychains.Keychains(Cluster())

    keychain = await chains.keychain(keychains.Account("ns", "absent"))

    assert keychain.entries == {}
    assert keychain.missing(HOST) == (
        f"the keychain has no credentials for {HOST} "
        "(from the secrets and image pull secrets of service account ns/absent)"
    )


async def test_a_refused_cached_keychain_is_read_again_and_tried_once_more() -> None:
    cluster, clock = Cluster(), Clock()
    cluster.account("builder", _docker_config("creds", "stale"))
    chains = keychains.Keychains(cluster, ttl=30.0, clock=clock)
    account = keychains.Account("ns", "builder")
    await chains.keychain(account)
    cluster.secrets["creds"] = _docker_config("creds", "fixed")
    tried: list[str | None] = []

    async def pull(keychain: auth.Keychain) -> str:
        found = keychain.get(HOST)
        tried.append(found.username if found else None)
        if found is None or found.username != "fixed":
            raise auth.AuthError("refused")
        return "pulled"

    assert await chains.using(account, pull) == "pulled"
    assert tried == ["stale", "fixed"]


async def test_a_refused_keychain_whose_secrets_did_not_change_is_not_tried_again() -> None:
    cluster = Cluster()
    cluster.account("builder", _docker_config("creds", "wrong"))
    chains = keychains.Keychains(cluster)
    account = keychains.Account("ns", "builder")
    await chains.keychain(account)
    tried = 0

    async def pull(keychain: auth.Keychain) -> str:
        nonlocal tried
        tried += 1
        raise auth.AuthError("refused")

    with pytest.raises(auth.AuthError):
        await chains.using(account, pull)
    assert tried == 1


def test_the_docker_config_file_is_stat_ed_not_read_while_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    _write_config(path, "kiln")
    own = keychains.DockerConfigFile(path)
    before = own.keychain()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert own.keychain() is before
