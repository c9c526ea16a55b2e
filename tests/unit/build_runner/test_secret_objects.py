"""A Secret object as the pod generator sees it: name, type, annotations, which keys hold a value."""

from __future__ import annotations

from typing import Any

import pytest

from services.build_runner import secrets


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        pytest.param(
            {
                "metadata": {"name": "registry", "annotations": {"kpack.io/docker": "registry.example.com"}},
                "type": "kubernetes.io/basic-auth",
                "data": {"username": "dXNlcg==", "password": "cGFzcw=="},
            },
            secrets.BuildSecret(
                name="registry",
                type="kubernetes.io/basic-auth",
                annotations={"kpack.io/docker": "registry.example.com"},
                data_keys=["username", "password"],
            ),
            id="a docker basic-auth secret keeps its annotation and the keys but not the values",
        ),
        pytest.param(
            {"metadata": {"name": "signing"}, "data": {"cosign.key": "a2V5", "cosign.password": ""}},
            secrets.BuildSecret(name="signing", type="Opaque", annotations={}, data_keys=["cosign.key"]),
            id="an empty value does not count and a missing type is Opaque",
        ),
        pytest.param(
            {
                "metadata": {"name": "git"},
                "type": "kubernetes.io/ssh-auth",
                "stringData": {"ssh-privatekey": "k"},
            },
            secrets.BuildSecret(name="git", type="kubernetes.io/ssh-auth", data_keys=["ssh-privatekey"]),
            id="string data counts as data",
        ),
    ],
)
def test_from_secret(secret: dict[str, Any], expected: secrets.BuildSecret) -> None:
    assert secrets.from_secret(secret) == expected
