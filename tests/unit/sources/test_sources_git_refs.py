"""A git revision resolved over a repository's advertised references, as kpack resolves it (its
remote_git_resolver_test.go cases first), with Kiln's one deliberate difference: an annotated tag
resolves to the commit it points to."""

from __future__ import annotations

import pytest

from services.sources import git_refs

MASTER = "6ecf0ef2c2dffb796033e5a02219af86ec6584e5"
NON_HEAD_COMMIT = "a755256fc0a57241b92167eb748b333449a3d7e9"
TAG_COMMIT = "ad7897c0fb8e7d9a9ba41fa66072cf06095a6cfc"
TAG_OBJECT = "b742a2a9fa0afcfa9a6fad080980fbc26b007c69"
OTHER = "3f786850e387550fdab836ed7e6dc881de23001b"
PULL = "89e6c98d92887913cadf06b2adb97f26cde4849b"

LISTING = {
    "HEAD": MASTER,
    "refs/heads/master": MASTER,
    "refs/heads/branch": NON_HEAD_COMMIT,
    "refs/heads/release/1.x": OTHER,
    "refs/tags/commit-tag": TAG_COMMIT,
    "refs/tags/annotated-tag": TAG_OBJECT,
    "refs/tags/annotated-tag^{}": TAG_COMMIT,
    "refs/pull/1/head": PULL,
    "refs/remotes/origin/feature": OTHER,
}


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        pytest.param(
            NON_HEAD_COMMIT,
            git_refs.Resolution(revision=NON_HEAD_COMMIT, type="Commit"),
            id="a commit id resolves to itself as a Commit (kpack: source is a commit)",
        ),
        pytest.param(
            "master",
            git_refs.Resolution(revision=MASTER, type="Branch", ref="refs/heads/master"),
            id="a branch resolves to its head commit (kpack: source is a branch)",
        ),
        pytest.param(
            "commit-tag",
            git_refs.Resolution(revision=TAG_COMMIT, type="Tag", ref="refs/tags/commit-tag"),
            id="a lightweight tag resolves to its commit (kpack: source is a tag)",
        ),
        pytest.param(
            "annotated-tag",
            git_refs.Resolution(
                revision=TAG_COMMIT, type="Tag", ref="refs/tags/annotated-tag", tag_object=TAG_OBJECT
            ),
            id="an annotated tag resolves to the commit it points to, kpack's tag object id kept aside",
        ),
        pytest.param(
            "annotated-tag^{}",
            git_refs.Resolution(revision=TAG_COMMIT, type="Tag", ref="refs/tags/annotated-tag^{}"),
            id="the peeled entry's own short name matches too, as in kpack",
        ),
        pytest.param(
            "release/1.x",
            git_refs.Resolution(revision=OTHER, type="Branch", ref="refs/heads/release/1.x"),
            id="a branch name with a slash is a branch",
        ),
        pytest.param(
            "pull/1/head",
            git_refs.Resolution(revision=PULL, type="Unknown", ref="refs/pull/1/head"),
            id="another ref matches by its name under refs/ and is of kind Unknown",
        ),
        pytest.param(
            "origin/feature",
            git_refs.Resolution(revision=OTHER, type="Unknown", ref="refs/remotes/origin/feature"),
            id="a remote-tracking ref matches by its name under refs/remotes/",
        ),
        pytest.param(
            "HEAD",
            git_refs.Resolution(revision=MASTER, type="Unknown", ref="HEAD"),
            id="HEAD resolves to the commit it is at, of kind Unknown",
        ),
        pytest.param(
            "refs/heads/master",
            git_refs.Resolution(revision="refs/heads/master", type="Commit"),
            id="a full ref name never matches and is taken verbatim as a Commit, as in kpack",
        ),
        pytest.param(
            "deleted-branch",
            git_refs.Resolution(revision="deleted-branch", type="Commit"),
            id="a name no ref has (a deleted branch, a typo) is a Commit with the revision verbatim",
        ),
        pytest.param(
            "6ecf0ef",
            git_refs.Resolution(revision="6ecf0ef", type="Commit"),
            id="a short commit id is a Commit with the revision verbatim",
        ),
    ],
)
def test_a_revision_resolves_as_kpack_resolves_it(revision: str, expected: git_refs.Resolution) -> None:
    assert git_refs.resolve(LISTING, revision) == expected


def test_nothing_resolves_in_an_empty_repository() -> None:
    assert git_refs.resolve({}, "main") == git_refs.Resolution(revision="main", type="Commit")


@pytest.mark.parametrize(
    "listing",
    [
        pytest.param({"refs/tags/x": TAG_COMMIT, "refs/heads/x": MASTER}, id="the tag listed first"),
        pytest.param({"refs/heads/x": MASTER, "refs/tags/x": TAG_COMMIT}, id="the branch listed first"),
    ],
)
def test_a_branch_wins_over_a_tag_of_the_same_name_whatever_the_listing_order(
    listing: dict[str, str],
) -> None:
    assert git_refs.resolve(listing, "x") == git_refs.Resolution(
        revision=MASTER, type="Branch", ref="refs/heads/x"
    )


def test_a_peeled_entry_equal_to_the_tag_keeps_no_tag_object() -> None:
    listing = {"refs/tags/v1": TAG_COMMIT, "refs/tags/v1^{}": TAG_COMMIT}

    assert git_refs.resolve(listing, "v1") == git_refs.Resolution(
        revision=TAG_COMMIT, type="Tag", ref="refs/tags/v1"
    )


def test_a_failed_listing_is_kpacks_unknown_with_the_revision_verbatim() -> None:
    assert git_refs.unknown("main") == git_refs.Resolution(revision="main", type="Unknown")


@pytest.mark.parametrize(
    ("ref", "short"),
    [
        pytest.param("refs/heads/main", "main", id="a branch loses refs/heads/"),
        pytest.param("refs/tags/v1", "v1", id="a tag loses refs/tags/"),
        pytest.param(
            "refs/remotes/origin/main", "origin/main", id="a remote-tracking ref loses refs/remotes/"
        ),
        pytest.param("refs/pull/1/head", "pull/1/head", id="another ref loses refs/"),
        pytest.param("HEAD", "HEAD", id="HEAD stays HEAD"),
        pytest.param("refs/heads/refs/tags/x", "refs/tags/x", id="only the leading prefix goes"),
        pytest.param("refs/heads/", "heads/", id="a prefix with nothing after it does not fit"),
    ],
)
def test_short_names_are_go_gits(ref: str, short: str) -> None:
    assert git_refs.short_name(ref) == short


@pytest.mark.parametrize(
    ("resolution", "polled"),
    [
        pytest.param(git_refs.Resolution(revision=MASTER, type="Branch"), True, id="a branch is polled"),
        pytest.param(git_refs.Resolution(revision=MASTER, type="Tag"), True, id="a tag is polled"),
        pytest.param(git_refs.Resolution(revision=MASTER, type="Commit"), False, id="a commit is not polled"),
        pytest.param(git_refs.unknown("main"), False, id="an unknown revision is not polled"),
    ],
)
def test_kpack_polls_branches_and_tags_only(resolution: git_refs.Resolution, polled: bool) -> None:
    assert resolution.polled is polled
