"""Registry sources pinned to a digest (beyond kpack, which records the tag alone and never
notices it move): which tags are resolved, how the pinned image is recorded, which registry
pushes and polls announce a moved tag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import events, images, source_resolvers, sources
from services.image_reconciler import resolvers, resolving
from services.sources import polling
from services.triggers import matching, webhooks

TAG = "registry.example.com/team/src:v1"
DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64
PINNED_1 = f"{TAG}@{DIGEST_1}"
NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


def image(
    reference: str = TAG, *, name: str = "app", annotations: dict[str, str] | None = None
) -> images.Image:
    metadata: dict[str, Any] = {"name": name, "namespace": "ns"} | (
        {"annotations": annotations} if annotations else {}
    )
    return images.Image.model_validate(
        {
            "metadata": metadata,
            "spec": {
                "serviceAccountName": "builder",
                "source": {"registry": {"image": reference, "imagePullSecrets": [{"name": "pull"}, {}]}},
            },
        }
    )


def resolver(
    recorded: str | None, *, reference: str = TAG, name: str = "app"
) -> source_resolvers.SourceResolver:
    doc: dict[str, Any] = {
        "metadata": {"name": f"{name}-source", "namespace": "ns", "generation": 1},
        "spec": {"source": {"registry": {"image": reference}}},
    }
    if recorded is not None:
        doc["status"] = {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"}],
            "source": {"registry": {"image": recorded}},
        }
    return source_resolvers.SourceResolver.model_validate(doc)


@pytest.mark.parametrize(
    ("value", "tag", "pinned"),
    [
        (TAG, True, None),
        (PINNED_1, False, TAG),
        ("registry.example.com/team/src@" + DIGEST_1, False, "registry.example.com/team/src"),
        ("Not A Reference", False, None),
        (TAG + "@sha256:short", False, None),
    ],
    ids=["a tag", "a pinned tag", "a pinned implied latest", "not a reference", "a bad digest"],
)
def test_tags_and_pinned_tags(value: str, tag: bool, pinned: str | None) -> None:
    assert resolving.is_tag(value) is tag
    assert resolving.pinned_tag(value) == pinned


@pytest.mark.parametrize(
    ("recorded", "read", "expected"),
    [
        (None, PINNED_1, PINNED_1),
        (PINNED_1, f"{TAG}@{DIGEST_2}", f"{TAG}@{DIGEST_2}"),
        (PINNED_1, None, PINNED_1),
        (None, None, TAG),
        ("registry.example.com/team/src:v0@" + DIGEST_1, None, TAG),
        (None, "registry.example.com/team/other:v1@" + DIGEST_1, TAG),
    ],
    ids=[
        "the digest read is recorded",
        "a moved tag records its new digest",
        "nothing read keeps the recorded digest",
        "nothing read or recorded records the tag as kpack does",
        "a digest recorded for another tag is dropped",
        "a digest read for another tag is ignored",
    ],
)
def test_which_source_image_is_recorded(recorded: str | None, read: str | None, expected: str) -> None:
    status = resolving.resolved(resolver(recorded), now="2026-12-06T09:00:00Z", source_image=read)

    assert status.source.registry is not None
    assert status.source.registry.image == expected


@pytest.mark.parametrize(
    ("spec_image", "observed", "pushed", "expected"),
    [
        (TAG, None, False, True),
        (TAG, resolver(None), False, True),
        (TAG, resolver(TAG), False, True),
        (TAG, resolver(PINNED_1), False, False),
        (TAG, resolver(PINNED_1), True, True),
        ("registry.example.com/team/src:v2", resolver(PINNED_1), False, True),
        ("registry.example.com/team/src@" + DIGEST_1, None, True, False),
    ],
    ids=[
        "a new resolver",
        "a resolver not resolved yet",
        "a tag recorded unpinned",
        "a pinned tag",
        "a pinned tag that was pushed",
        "another tag in the spec",
        "a digest in the spec",
    ],
)
def test_when_a_source_tag_is_resolved(
    spec_image: str, observed: source_resolvers.SourceResolver | None, pushed: bool, expected: bool
) -> None:
    assert resolvers.needs_source_digest(image(spec_image), observed, pushed=pushed) is expected


def test_a_git_image_needs_no_digest() -> None:
    git = images.Image.model_validate(
        {"spec": {"source": {"git": {"url": "https://x/y", "revision": "main"}}}}
    )

    assert resolvers.needs_source_digest(git, None, pushed=True) is False


def test_a_resolved_source_digest_reaches_the_status_written() -> None:
    planned, seen, _ = resolvers.plan(
        image(), observed=None, resolution=resolvers.Resolution(source_image=PINNED_1), now=NOW
    )

    assert planned.status is not None
    assert planned.status.source.registry == sources.ResolvedRegistry(
        image=PINNED_1, image_pull_secrets=[{"name": "pull"}, {}]
    )
    assert seen.status.source.source_config().registry is not None


def push(tag: str, *, repository: str = "team/src", digest: str = DIGEST_2) -> webhooks.ManifestPush:
    return webhooks.ManifestPush(
        host="registry.example.com", repository=repository, digest=digest, tag=tag, id="n-1"
    )


@pytest.mark.parametrize(
    ("pushes", "expected"),
    [
        ([push("v1")], ["ns/app"]),
        ([push("v2")], []),
        ([push("")], []),
        ([push("v1", repository="team/other")], []),
    ],
    ids=["the tag pushed", "another tag", "a push by digest", "another repository"],
)
def test_which_registry_pushes_move_a_source_tag(
    pushes: list[webhooks.ManifestPush], expected: list[str]
) -> None:
    listed = [
        image(),
        image("registry.example.com/team/src@" + DIGEST_1, name="pinned"),
        images.Image.model_validate({"metadata": {"name": "git", "namespace": "ns"}}),
    ]

    found = matching.source_image_pushed(listed, pushes, time=NOW)

    assert [event.subject for event in found] == expected
    for event in found:
        assert event.data == events.SourceImagePushed(
            namespace="ns", image="app", reference=TAG, pushed=f"registry.example.com/team/src@{DIGEST_2}"
        )


@pytest.mark.parametrize(
    ("followed", "expected"),
    [
        (image(), True),
        (image(annotations={"kiln.dev/registry-polling": "false"}), False),
        (image("registry.example.com/team/src@" + DIGEST_1), False),
        (image("Not A Reference"), False),
        (
            images.Image.model_validate(
                {"spec": {"source": {"git": {"url": "https://x/y", "revision": "main"}}}}
            ),
            False,
        ),
    ],
    ids=[
        "a tag is polled",
        "the annotation turns it off",
        "a digest is not",
        "a bad reference is not",
        "git is not",
    ],
)
def test_which_source_tags_are_polled(followed: images.Image, expected: bool) -> None:
    assert polling.polled_tag(followed) is expected


def test_images_reading_one_tag_alike_are_polled_once_and_moved_by_its_digest() -> None:
    listed = [
        image(name="a"),
        image(name="b"),
        image(name="c", annotations={"kiln.dev/registry-polling": "false"}),
    ]
    grouped = polling.tag_followers(listed, [resolver(PINNED_1, name="a")])

    [(tag, following)] = grouped.items()
    assert tag == polling.SourceTag(TAG, "ns", "builder", ("pull",))
    assert [(f.name, f.recorded) for f in following] == [("a", PINNED_1), ("b", "")]
    assert [e.image for e in polling.tag_moved(following, DIGEST_1)] == ["b"]
    assert [e.image for e in polling.tag_moved(following, DIGEST_2)] == ["a", "b"]
    assert polling.tag_moved(following, None) == []
