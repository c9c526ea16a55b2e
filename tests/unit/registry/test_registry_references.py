"""The registry client's own reference parsing: host, repository, tag, digest."""

from __future__ import annotations

import pytest

from services.registry import _references

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "host", "repository", "identifier"),
    [
        pytest.param(
            "127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", id="a host with a port, no tag"
        ),
        pytest.param("localhost/team/app:v1", "localhost", "team/app", "v1", id="localhost is a host"),
        pytest.param(
            "ubuntu", "index.docker.io", "library/ubuntu", "latest", id="hub short names get library"
        ),
        pytest.param(
            "paketo/builder:base", "index.docker.io", "paketo/builder", "base", id="hub user images"
        ),
        pytest.param(
            "docker.io/ubuntu:22.04", "index.docker.io", "library/ubuntu", "22.04", id="docker.io alias"
        ),
        pytest.param(f"gcr.io/p/app:v1@{DIGEST}", "gcr.io", "p/app", DIGEST, id="a digest wins over the tag"),
        pytest.param(f"reg.io:443/app@{DIGEST}", "reg.io:443", "app", DIGEST, id="digest only"),
    ],
)
def test_parse(text: str, host: str, repository: str, identifier: str) -> None:
    reference = _references.parse(text)

    assert (reference.host, reference.repository, reference.identifier) == (host, repository, identifier)


def test_docker_hub_is_served_by_registry_1_and_qualified_as_index() -> None:
    reference = _references.parse("ubuntu:22.04")

    assert reference.api_host == "registry-1.docker.io"
    assert reference.qualified_repository == "index.docker.io/library/ubuntu"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("reg.io/App:v1", id="upper-case repository"),
        pytest.param("reg.io/app@sha256:short", id="a malformed digest"),
        pytest.param("reg.io/app:bad/tag:x", id="a malformed tag"),
        pytest.param("", id="nothing"),
    ],
)
def test_invalid_references_are_permanent_value_errors(text: str) -> None:
    with pytest.raises(_references.InvalidReferenceError):
        _references.parse(text)
