"""Monorepos: a commit that leaves an Image's ``subPath`` tree as it was keeps the recorded
commit (kpack's ``retainCommitIfTreeUnchanged``), so nothing rebuilds; one that changes it moves
the branch; the tree is read only when a commit would move a branch of a folder-building Image."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import events, images, source_resolvers
from services.image_reconciler import resolvers, resolving
from services.sources import polling

NOW = "2026-12-06T09:00:00Z"
URL = "https://git.example.com/team/monorepo"
A, B, C = "a" * 40, "b" * 40, "c" * 40
TREE_1, TREE_2 = "1" * 40, "2" * 40


def push(revision: str, *, url: str = URL) -> events.SourceChanged:
    return events.SourceChanged(namespace="ns", image="app", url=url, revision=revision)


def resolver(
    *, sub_path: str | None = "services/api", status_git: dict[str, Any] | None = None, pushes: list[str] = ()
) -> source_resolvers.SourceResolver:
    source: dict[str, Any] = {"git": {"url": URL, "revision": "main"}}
    if sub_path is not None:
        source["subPath"] = sub_path
    doc: dict[str, Any] = {
        "metadata": {"name": "app-source", "namespace": "ns", "generation": 1},
        "spec": {"source": source},
    }
    if status_git is not None:
        doc["status"] = {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"}],
            "source": {"git": status_git},
            **({"pushes": {"commits": list(pushes)}} if pushes else {}),
        }
    return source_resolvers.SourceResolver.model_validate(doc)


def at(revision: str, tree: str | None, *, sub_path: str = "services/api", url: str = URL) -> dict[str, Any]:
    return {"url": url, "revision": revision, "subPath": sub_path, "type": "Branch"} | (
        {"tree": tree} if tree else {}
    )


def git_of(status: source_resolvers.SourceResolverStatus) -> tuple[str, str | None]:
    git = status.source.git
    assert git is not None
    return git.revision, git.tree


@pytest.mark.parametrize(
    ("observed", "pushed_tree", "expected"),
    [
        pytest.param(
            resolver(status_git=at(A, TREE_1)), TREE_1, (A, TREE_1), id="same tree keeps the commit"
        ),
        pytest.param(resolver(status_git=at(A, TREE_1)), TREE_2, (B, TREE_2), id="a new tree moves"),
        pytest.param(resolver(status_git=at(A, TREE_1)), None, (B, None), id="an unread tree moves"),
        pytest.param(resolver(status_git=at(A, None)), TREE_1, (B, TREE_1), id="no recorded tree moves"),
        pytest.param(resolver(), TREE_1, (B, TREE_1), id="the first commit records its tree"),
        pytest.param(
            resolver(status_git=at(A, TREE_1, sub_path="services/web")),
            TREE_1,
            (B, TREE_1),
            id="a tree recorded for another folder is not compared",
        ),
        pytest.param(
            resolver(status_git=at(A, TREE_1, url="https://git.example.com/old")),
            TREE_1,
            (B, TREE_1),
            id="a tree recorded for another repository is not compared",
        ),
    ],
)
def test_a_push_to_a_monorepo_moves_the_branch_only_when_the_folder_changed(
    observed: source_resolvers.SourceResolver, pushed_tree: str | None, expected: tuple[str, str | None]
) -> None:
    status = resolving.resolved(observed, push=push(B), now=NOW, tree=pushed_tree)

    assert git_of(status) == expected
    assert status.pushes is not None
    assert B in status.pushes.commits


def test_a_kept_commit_keeps_its_tree_when_nothing_is_pushed() -> None:
    observed = resolver(status_git=at(A, TREE_1))

    assert git_of(resolving.resolved(observed, now=NOW)) == (A, TREE_1)


def test_a_stale_push_does_not_touch_the_tree() -> None:
    observed = resolver(status_git=at(A, TREE_1), pushes=[B])

    assert git_of(resolving.resolved(observed, push=push(B), now=NOW, tree=TREE_2)) == (A, TREE_1)


def test_without_a_sub_path_no_tree_is_recorded() -> None:
    observed = resolver(sub_path=None)

    assert git_of(resolving.resolved(observed, push=push(B), now=NOW, tree=TREE_1)) == (B, None)


def test_a_recorded_branch_name_is_never_kept() -> None:
    assert resolving.moved_to("main", TREE_1, pushed=B, pushed_tree=TREE_1) == (B, TREE_1)


def image(source: dict[str, Any]) -> images.Image:
    return images.Image.model_validate(
        {"metadata": {"name": "app", "namespace": "ns"}, "spec": {"source": source}}
    )


FOLDER = {"git": {"url": URL, "revision": "main"}, "subPath": "services/api"}


@pytest.mark.parametrize(
    ("source", "observed", "resolution", "wanted"),
    [
        pytest.param(FOLDER, None, resolvers.Resolution(listed=push(B)), B, id="a first listing"),
        pytest.param(
            FOLDER, resolver(status_git=at(A, TREE_1)), resolvers.Resolution(pushed=push(B)), B, id="a move"
        ),
        pytest.param(FOLDER, None, resolvers.Resolution(), None, id="nothing pushed or listed"),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            resolvers.Resolution(pushed=push(B)),
            None,
            id="no sub path",
        ),
        pytest.param(
            FOLDER | {"subPath": "/"}, None, resolvers.Resolution(pushed=push(B)), None, id="the root"
        ),
        pytest.param(
            {"git": {"url": URL, "revision": A}, "subPath": "api"},
            None,
            resolvers.Resolution(pushed=push(B)),
            None,
            id="a pinned commit",
        ),
        pytest.param(
            FOLDER,
            None,
            resolvers.Resolution(pushed=push(B, url="https://elsewhere/x")),
            None,
            id="other url",
        ),
        pytest.param(
            {"blob": {"url": URL}, "subPath": "api"}, None, resolvers.Resolution(), None, id="a blob"
        ),
        pytest.param(
            FOLDER,
            resolver(status_git=at(B, TREE_1)),
            resolvers.Resolution(pushed=push(B)),
            None,
            id="the recorded commit",
        ),
        pytest.param(
            FOLDER,
            resolver(status_git=at(A, TREE_1), pushes=[C]),
            resolvers.Resolution(pushed=push(C)),
            None,
            id="a commit looked at before",
        ),
    ],
)
def test_which_commit_has_its_tree_read(
    source: dict[str, Any],
    observed: source_resolvers.SourceResolver | None,
    resolution: resolvers.Resolution,
    wanted: str | None,
) -> None:
    assert resolvers.tree_wanted(image(source), observed, resolution) == wanted


def test_a_listing_of_a_new_resolver_records_the_tree_it_read() -> None:
    folder_image = image(FOLDER)
    now = datetime(2026, 12, 6, 9, tzinfo=UTC)

    planned, seen, _ = resolvers.plan(
        folder_image, observed=None, resolution=resolvers.Resolution(listed=push(B), tree=TREE_1), now=now
    )

    assert planned.status is not None
    assert git_of(planned.status) == (B, TREE_1)
    assert git_of(seen.status) == (B, TREE_1)


def test_a_poll_does_not_announce_a_commit_the_resolver_has_looked_at() -> None:
    observed = resolver(status_git=at(A, TREE_1), pushes=[A, B])
    following = polling.followers([image(FOLDER)], [observed])

    [(remote, follows)] = following.items()
    assert remote.url == URL
    assert polling.moved(follows, {"refs/heads/main": B}) == []
    assert [c.revision for c in polling.moved(follows, {"refs/heads/main": C})] == [C]


@pytest.mark.parametrize(
    ("source", "observed", "expected"),
    [
        pytest.param(FOLDER, None, True, id="a new resolver"),
        pytest.param({"git": {"url": URL, "revision": A}}, None, False, id="a pinned commit"),
        pytest.param({"blob": {"url": URL}}, None, False, id="a blob"),
        pytest.param(FOLDER, resolver(status_git=at(A, TREE_1)), False, id="a resolved branch"),
        pytest.param(FOLDER, resolver(status_git=at("main", None)), True, id="a branch never resolved"),
        pytest.param(FOLDER, resolver(), True, id="a resolver with no status"),
        pytest.param(
            FOLDER,
            resolver(status_git=at(A, None, url="https://elsewhere/x")),
            True,
            id="a status of another url",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "release"}, "subPath": "services/api"},
            resolver(status_git=at(A, TREE_1)),
            True,
            id="another branch in the spec",
        ),
        pytest.param(
            FOLDER,
            source_resolvers.SourceResolver.model_validate({"spec": {"source": {"blob": {"url": URL}}}}),
            True,
            id="a resolver of a blob",
        ),
    ],
)
def test_when_a_branch_is_listed(
    source: dict[str, Any], observed: source_resolvers.SourceResolver | None, expected: bool
) -> None:
    assert resolvers.needs_listing(image(source), observed) is expected
