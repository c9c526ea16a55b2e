"""How write_image places each blob of a plan, and the token scopes a mount asks for (pure)."""

from __future__ import annotations

import pytest

from contracts import oci
from services.registry import _references, auth, copying

TARGET = _references.parse("registry.example.com/builders/app:v1")
DESCRIPTOR = oci.Descriptor(media_type=oci.OCI_LAYER_GZIP, digest="sha256:" + "a" * 64, size=3)


def _existing(repository: str) -> oci.ExistingBlob:
    return oci.ExistingBlob(descriptor=DESCRIPTOR, repository=repository)


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        pytest.param(
            oci.NewBlob(descriptor=DESCRIPTOR, content=b"abc"),
            copying.Placement.UPLOADED,
            id="a new blob is uploaded",
        ),
        pytest.param(
            _existing("registry.example.com/stacks/build"),
            copying.Placement.MOUNTED,
            id="a blob in another repository of the same registry is mounted",
        ),
        pytest.param(
            _existing("REGISTRY.example.com/stacks/build"),
            copying.Placement.MOUNTED,
            id="registry host names compare case-insensitively",
        ),
        pytest.param(
            _existing("other.example.com/stacks/build"),
            copying.Placement.COPIED,
            id="a blob on another registry is copied",
        ),
        pytest.param(
            _existing("registry.example.com/builders/app"),
            copying.Placement.COPIED,
            id="a blob said to be in the target itself is fetched, not mounted onto itself",
        ),
        pytest.param(
            _existing("docker.io/paketobuildpacks/run"),
            copying.Placement.COPIED,
            id="a Docker Hub blob is copied to another registry",
        ),
    ],
)
def test_route(blob: oci.NewBlob | oci.ExistingBlob, expected: copying.Placement) -> None:
    assert copying.route(blob, target=TARGET) is expected


def test_a_docker_hub_target_mounts_from_docker_hub_under_any_spelling() -> None:
    target = _references.parse("index.docker.io/team/builder:v1")
    assert copying.route(_existing("docker.io/library/ubuntu"), target=target) is copying.Placement.MOUNTED


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "repository:t:pull", id="pull alone"),
        pytest.param({"push": True}, "repository:t:pull,push", id="push"),
        pytest.param(
            {"push": True, "pull_from": ["s"]},
            "repository:t:pull,push repository:s:pull",
            id="a mount: push the target, pull the source",
        ),
        pytest.param(
            {"push": True, "pull_from": ["t", "s", "s"]},
            "repository:t:pull,push repository:s:pull",
            id="each repository once",
        ),
    ],
)
def test_repository_scope(kwargs: dict[str, object], expected: str) -> None:
    assert auth.repository_scope("t", **kwargs) == expected  # type: ignore[arg-type]


def test_split_scopes_sends_each_scope_once_in_order() -> None:
    assert auth.split_scopes("repository:t:pull,push repository:s:pull", "repository:s:pull", None) == [
        "repository:t:pull,push",
        "repository:s:pull",
    ]


def test_source_keychain_matches_repositories_however_spelled() -> None:
    mine = auth.Keychain({"index.docker.io": auth.Credentials("me", "pw")})
    default = auth.Keychain()
    keychains = {"docker.io/paketo/run": mine}

    assert copying.source_keychain("index.docker.io/paketo/run", keychains=keychains, default=default) is mine
    assert (
        copying.source_keychain("index.docker.io/paketo/build", keychains=keychains, default=default)
        is default
    )
    assert copying.source_keychain("x.io/a", keychains=None, default=None) is None


def test_unique_blobs_keeps_the_first_of_each_digest() -> None:
    first, second = _existing("r.io/a"), _existing("r.io/b")
    plan = oci.ImagePlan(manifest=b"{}", media_type=oci.OCI_MANIFEST, blobs=[first, second])
    assert copying.unique_blobs(plan) == [first]


def test_write_outcome_counts_placements_and_names_the_image() -> None:
    placements = [copying.Placement.MOUNTED, copying.Placement.MOUNTED, copying.Placement.UPLOADED]
    outcome = copying.WriteOutcome.tally(placements, reference=TARGET, digest="sha256:" + "b" * 64)

    assert (outcome.mounted, outcome.uploaded, outcome.copied, outcome.skipped) == (2, 1, 0, 0)
    assert outcome.identifier == f"registry.example.com/builders/app:v1@sha256:{'b' * 64}"
    assert outcome.digest_ref == f"registry.example.com/builders/app@sha256:{'b' * 64}"
