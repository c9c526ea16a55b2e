"""Image references as kpack (go-containerregistry) reads them: normalisation and validity."""

from __future__ import annotations

import pytest

from contracts import references

DIGEST = "sha256:" + "c" * 64


@pytest.mark.parametrize(
    ("value", "registry", "repository", "tag", "digest", "text"),
    [
        ("some/image", "index.docker.io", "some/image", "latest", "", "index.docker.io/some/image:latest"),
        ("nginx", "index.docker.io", "library/nginx", "latest", "", "index.docker.io/library/nginx:latest"),
        (
            "docker.io/nginx:1.25",
            "index.docker.io",
            "library/nginx",
            "1.25",
            "",
            "index.docker.io/library/nginx:1.25",
        ),
        ("registry-1.docker.io/a/b", "index.docker.io", "a/b", "latest", "", "index.docker.io/a/b:latest"),
        ("gcr.io/team/app:v1", "gcr.io", "team/app", "v1", "", "gcr.io/team/app:v1"),
        ("localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", "", "localhost:5000/app:dev"),
        ("reg.io/app@" + DIGEST, "reg.io", "app", "", DIGEST, "reg.io/app@" + DIGEST),
        ("reg.io/app:v1@" + DIGEST, "reg.io", "app", "v1", DIGEST, "reg.io/app@" + DIGEST),
        (
            "team/app_x.y-z/sub",
            "index.docker.io",
            "team/app_x.y-z/sub",
            "latest",
            "",
            "index.docker.io/team/app_x.y-z/sub:latest",
        ),
    ],
    ids=[
        "a two-part name is on Docker Hub with tag latest",
        "a one-part name is a Docker Hub library image",
        "docker.io is index.docker.io",
        "registry-1.docker.io is index.docker.io",
        "a first part with a dot is a registry",
        "localhost is a registry",
        "a registry may have a port",
        "a digest reference has no tag",
        "a tag next to a digest is kept but the digest identifies",
        "separators inside repository components are allowed",
    ],
)
def test_parse(value: str, registry: str, repository: str, tag: str, digest: str, text: str) -> None:
    ref = references.parse(value)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, str(ref)) == (
        registry,
        repository,
        tag,
        digest,
        text,
    )
    assert ref.name == f"{registry}/{repository}"
    assert ref.identifier == (digest or tag)


@pytest.mark.parametrize(
    "value",
    [
        "",
        " some/image",
        "some/image\n",
        "invalid@@",
        "reg.io/app@sha256:short",
        "some/image:bad tag",
        "some/image:-leading",
        "some/image:tág",
        "some/image:" + "t" * 129,
        "Upper/Case",
        "reg_io.x:port/app",
        "a/" + "b" * 255,
        "ftp//invalid/tag@@",
        "some//image",
    ],
    ids=[
        "an empty string",
        "leading whitespace",
        "a trailing newline",
        "a double at sign",
        "a short digest",
        "a space in the tag",
        "a tag starting with a dash",
        "a non-ASCII tag",
        "a tag longer than 128 characters",
        "upper case in the repository",
        "a registry host with an underscore and a non-numeric port",
        "a repository longer than 255 characters",
        "kpack's invalid tag example",
        "an empty path component",
    ],
)
def test_invalid_references(value: str) -> None:
    assert not references.is_valid(value)
    with pytest.raises(references.InvalidReferenceError, match=r"^could not parse reference: "):
        references.parse(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("some/image:v1", True), ("some/image", True), (f"some/image@{DIGEST}", False), ("bad@@", False)],
    ids=["a tag", "a name without tag means latest", "a digest is not a tag", "garbage is not a tag"],
)
def test_parse_tag(value: str, valid: bool) -> None:
    if valid:
        assert references.parse_tag(value) == references.parse(value)
    else:
        with pytest.raises(references.InvalidReferenceError):
            references.parse_tag(value)


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("docker.io", "index.docker.io"),
        ("Registry-1.Docker.IO", "index.docker.io"),
        ("index.docker.io", "index.docker.io"),
        ("Registry.Example.com:5000", "registry.example.com:5000"),
    ],
    ids=[
        "docker.io is Docker Hub",
        "so is its API host, in any case",
        "the canonical name stays",
        "others are lower-cased",
    ],
)
def test_registry_hosts_are_compared_in_one_canonical_form(host: str, canonical: str) -> None:
    assert references.canonical_host(host) == canonical
