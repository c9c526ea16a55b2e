"""A keychain from Kubernetes docker-registry secrets."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from services.registry import auth


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _dockerconfigjson(auths: dict[str, Any], *, name: str = "creds") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": _b64(json.dumps({"auths": auths}))},
    }


def _dockercfg(entries: dict[str, Any]) -> dict[str, Any]:
    return {"type": "kubernetes.io/dockercfg", "data": {".dockercfg": _b64(json.dumps(entries))}}


@pytest.mark.parametrize(
    ("secret", "host", "expected"),
    [
        pytest.param(
            _dockerconfigjson({"reg.io": {"username": "u", "password": "p"}}),
            "reg.io",
            auth.Credentials("u", "p"),
            id="dockerconfigjson with username and password",
        ),
        pytest.param(
            _dockerconfigjson({"reg.io": {"auth": _b64("u:p:with:colons")}}),
            "reg.io",
            auth.Credentials("u", "p:with:colons"),
            id="dockerconfigjson with only auth splits at the first colon",
        ),
        pytest.param(
            _dockerconfigjson({"https://index.docker.io/v1/": {"username": "hub", "password": "p"}}),
            "docker.io",
            auth.Credentials("hub", "p"),
            id="docker hub's legacy key serves every hub alias",
        ),
        pytest.param(
            _dockerconfigjson({"http://127.0.0.1:5000/v2/": {"username": "u", "password": "p"}}),
            "127.0.0.1:5000",
            auth.Credentials("u", "p"),
            id="scheme and path are stripped from the key",
        ),
        pytest.param(
            _dockercfg({"reg.io": {"username": "old", "password": "p", "email": "x@y"}}),
            "reg.io",
            auth.Credentials("old", "p"),
            id="legacy dockercfg",
        ),
        pytest.param(
            {
                "type": "kubernetes.io/basic-auth",
                "metadata": {"name": "basic", "annotations": {"kpack.io/docker": "reg.io"}},
                "data": {"username": _b64("b"), "password": _b64("p")},
            },
            "reg.io",
            auth.Credentials("b", "p"),
            id="basic-auth secret annotated kpack.io/docker",
        ),
        pytest.param(
            _dockerconfigjson({"reg.io": {"username": "u", "password": "p"}}),
            "other.io",
            None,
            id="a host without an entry has no credentials",
        ),
        pytest.param(
            {"type": "Opaque", "data": {"token": _b64("x")}},
            "reg.io",
            None,
            id="secrets of other types are ignored",
        ),
    ],
)
def test_keychain_from_a_secret(secret: dict[str, Any], host: str, expected: auth.Credentials | None) -> None:
    assert auth.Keychain.from_secrets([secret]).get(host) == expected


def test_the_first_secret_naming_a_host_wins() -> None:
    first = _dockerconfigjson({"reg.io": {"username": "first", "password": "1"}})
    second = _dockerconfigjson(
        {"reg.io": {"username": "second", "password": "2"}, "b.io": {"auth": _b64("b:2")}}
    )

    keychain = auth.Keychain.from_secrets([first, second])

    assert keychain.get("reg.io") == auth.Credentials("first", "1")
    assert keychain.get("b.io") == auth.Credentials("b", "2")


def test_an_undecodable_docker_secret_names_the_secret() -> None:
    broken = {"metadata": {"name": "broken"}, "type": "kubernetes.io/dockerconfigjson", "data": {}}

    with pytest.raises(auth.InvalidSecretError, match="'broken'"):
        auth.Keychain.from_secrets([broken])


def test_passwords_stay_out_of_reprs_and_basic_headers_are_standard() -> None:
    credentials = auth.Credentials("user", "hunter2")

    assert "hunter2" not in repr(credentials)
    assert credentials.basic_header() == "Basic " + _b64("user:hunter2")
