"""Source resolution: pushes move a branch, never a pinned commit; blob and registry resolve as given."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import source_resolvers
from services.image_reconciler import resolving

NOW = "2026-11-28T12:00:00Z"
URL = "https://git.example.com/team/app"
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


def resolver(
    source: dict[str, Any], *, status: dict[str, Any] | None = None
) -> source_resolvers.SourceResolver:
    return source_resolvers.SourceResolver.model_validate(
        {"metadata": {"name": "app-source", "namespace": "ns", "generation": 2}, "spec": {"source": source}}
        | ({"status": status} if status is not None else {})
    )


def resolved_git(
    r: source_resolvers.SourceResolver, *, revision: str | None = None
) -> tuple[str, str | None]:
    git = resolving.resolved(r, revision=revision, now=NOW).source.git
    assert git is not None
    return git.revision, git.type


@pytest.mark.parametrize(
    ("source", "status", "pushed", "expected"),
    [
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            None,
            ("main", "Branch"),
            id="a branch with no push yet resolves to its name",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            COMMIT_B,
            (COMMIT_B, "Commit"),
            id="a push moves a branch to the pushed commit",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": COMMIT_A}},
            None,
            COMMIT_B,
            (COMMIT_A, "Commit"),
            id="a commit in the spec is pinned and a push does not move it",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}},
            None,
            (COMMIT_B, "Commit"),
            id="a branch keeps the commit the last push named",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": "https://elsewhere/app", "revision": COMMIT_B}}},
            None,
            ("main", "Branch"),
            id="a commit learned for another url is forgotten",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": COMMIT_A}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}},
            None,
            (COMMIT_A, "Commit"),
            id="a pinned commit wins over an earlier resolution",
        ),
    ],
)
def test_git_resolution(
    source: dict[str, Any], status: dict[str, Any] | None, pushed: str | None, expected: tuple[str, str]
) -> None:
    assert resolved_git(resolver(source, status=status), revision=pushed) == expected


def test_the_resolved_status_is_ready_for_the_current_generation() -> None:
    status = resolving.resolved(resolver({"git": {"url": URL, "revision": COMMIT_A}}), now=NOW)

    assert status.observed_generation == 2
    assert [c.dump() for c in status.conditions or []] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": NOW}
    ]


def test_a_blob_resolves_as_given() -> None:
    source = {"blob": {"url": "https://blobs/app.tgz", "stripComponents": 1}, "subPath": "svc"}
    status = resolving.resolved(resolver(source), now=NOW)

    assert status.source.blob is not None
    assert (status.source.blob.url, status.source.blob.strip_components, status.source.blob.sub_path) == (
        "https://blobs/app.tgz",
        1,
        "svc",
    )
    assert status.source.git is None


def test_a_registry_source_resolves_as_given() -> None:
    status = resolving.resolved(resolver({"registry": {"image": "reg.io/src:v1"}}), now=NOW)

    assert status.source.registry is not None
    assert status.source.registry.image == "reg.io/src:v1"


def test_no_source_resolves_to_an_empty_source() -> None:
    assert resolving.resolved(resolver({}), now=NOW).source.dump() == {}


def test_a_resolver_needs_an_update_until_its_status_is_the_resolved_one() -> None:
    fresh = resolver({"git": {"url": URL, "revision": COMMIT_A}})
    status = resolving.resolved(fresh, now=NOW)
    written = fresh.with_(status=status)

    assert resolving.needs_update(fresh, status) is True
    assert resolving.needs_update(written, status) is False
    assert resolving.needs_update(written, resolving.resolved(written, revision=None, now=NOW)) is False
    moved = resolver({"git": {"url": URL, "revision": "main"}}, status=written.status.dump())
    assert resolving.needs_update(moved, resolving.resolved(moved, revision=COMMIT_B, now=NOW)) is True
    stale = written.with_(status=status.with_(observed_generation=1))
    assert resolving.needs_update(stale, status) is True
