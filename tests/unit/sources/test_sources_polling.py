"""Which remotes a poll lists, and which Images a listing moves."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import events, images, source_resolvers
from services.sources import polling

URL = "https://git.example/team/app"
A, B = "a" * 40, "b" * 40


BLOB = images.Image.model_validate({"metadata": {"name": "blob"}, "spec": {"source": {"blob": {"url": "x"}}}})


def image(name: str = "app", *, revision: str = "main", url: str = URL, **metadata: Any) -> images.Image:
    return images.Image.model_validate(
        {
            "metadata": {"name": name, "namespace": "team", **metadata},
            "spec": {"serviceAccountName": "builder", "source": {"git": {"url": url, "revision": revision}}},
        }
    )


def resolver(name: str = "app", *, revision: str = A, url: str = URL) -> source_resolvers.SourceResolver:
    return source_resolvers.SourceResolver.model_validate(
        {
            "metadata": {"name": f"{name}-source", "namespace": "team"},
            "status": {"source": {"git": {"url": url, "revision": revision, "type": "Branch"}}},
        }
    )


@pytest.mark.parametrize(
    ("followed", "expected"),
    [
        (image(), True),
        (image(revision=A), False),
        (image(annotations={"kiln.dev/git-polling": "False"}), False),
        (image(annotations={"kiln.dev/git-polling": "true"}), True),
        (
            images.Image.model_validate(
                {"metadata": {"name": "blob"}, "spec": {"source": {"blob": {"url": "x"}}}}
            ),
            False,
        ),
    ],
    ids=[
        "a branch is polled",
        "a pinned commit is not",
        "the annotation turns polling off",
        "any other value leaves it on",
        "a blob source is not git",
    ],
)
def test_which_images_are_polled(followed: images.Image, expected: bool) -> None:
    assert polling.polled(followed) is expected


def test_images_on_one_remote_and_account_are_listed_once() -> None:
    grouped = polling.followers(
        [image("a"), image("b"), image("c", url=URL + "-other"), BLOB],
        [resolver("a"), resolver("b", url="https://elsewhere/x")],
    )

    assert grouped == {
        polling.Remote(URL, "team", "builder"): [
            polling.Follower("team", "a", URL, "main", A),
            polling.Follower("team", "b", URL, "main", ""),
        ],
        polling.Remote(URL + "-other", "team", "builder"): [
            polling.Follower("team", "c", URL + "-other", "main", "")
        ],
    }


@pytest.mark.parametrize(
    ("listing", "moved"),
    [
        ({"refs/heads/main": B}, [B]),
        ({"refs/heads/main": A}, []),
        ({"refs/heads/other": B}, []),
        ({"refs/tags/main": "c" * 40, "refs/tags/main^{}": B}, [B]),
    ],
    ids=[
        "a branch at a new commit moves",
        "a branch at the recorded commit does not",
        "a branch the remote no longer has does not",
        "a tag moves to the commit it points to",
    ],
)
def test_what_a_listing_moves(listing: dict[str, str], moved: list[str]) -> None:
    following = [polling.Follower("team", "app", URL, "main", A)]

    assert polling.moved(following, listing) == [
        events.SourceChanged(namespace="team", image="app", url=URL, revision=commit) for commit in moved
    ]
