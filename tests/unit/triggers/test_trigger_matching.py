"""Which Images a git push affects, which builders a registry push affects, and the events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import trigger_payloads as tp

from contracts import builders, buildpacks, events, stacks
from services.triggers import matching, webhooks

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        pytest.param("https://github.com/example/app", "github.com/example/app", id="an https URL"),
        pytest.param(
            "https://github.com/example/app.git", "github.com/example/app", id="a trailing .git goes"
        ),
        pytest.param("https://github.com/example/app/", "github.com/example/app", id="a trailing slash goes"),
        pytest.param(
            "https://github.com/example/app.git/", "github.com/example/app", id="both trailing parts go"
        ),
        pytest.param(
            "http://GitHub.COM/example/app", "github.com/example/app", id="http, and the host's case"
        ),
        pytest.param(
            "https://github.com/Example/App", "github.com/Example/App", id="the path keeps its case"
        ),
        pytest.param(
            "https://user:token@github.com:443/example/app.git",
            "github.com/example/app",
            id="credentials and port go",
        ),
        pytest.param("git@github.com:example/app.git", "github.com/example/app", id="scp-like ssh"),
        pytest.param("github.com:example/app", "github.com/example/app", id="scp-like ssh without a user"),
        pytest.param(
            "ssh://git@gitlab.example.com:2222/group/sub/app.git",
            "gitlab.example.com/group/sub/app",
            id="an ssh URL with a port and a subgroup",
        ),
        pytest.param("git://github.com/example/app.git", "github.com/example/app", id="the git protocol"),
        pytest.param(
            "git@host:/srv/git/app.git", "host/srv/git/app", id="scp-like ssh with an absolute path"
        ),
        pytest.param(" https://github.com/example/app ", "github.com/example/app", id="spaces around go"),
        pytest.param("file:///srv/git/app.git", None, id="a file URL is no remote repository"),
        pytest.param("https://github.com/", None, id="a host without a path is no repository"),
        pytest.param("app", None, id="a bare name is no repository"),
        pytest.param("", None, id="an empty URL is no repository"),
    ],
)
def test_repository_keys(url: str, key: str | None) -> None:
    assert matching.repository_key(url) == key


@pytest.mark.parametrize(
    ("ref", "revisions"),
    [
        pytest.param(
            "refs/heads/main", {"main", "refs/heads/main"}, id="a branch ref is followed by both names"
        ),
        pytest.param("refs/tags/v1.0", {"v1.0", "refs/tags/v1.0"}, id="a tag ref is followed by both names"),
        pytest.param(
            "refs/heads/release/1.x",
            {"release/1.x", "refs/heads/release/1.x"},
            id="a branch with a slash keeps it",
        ),
        pytest.param(
            "main",
            {"main", "refs/heads/main", "refs/tags/main"},
            id="a bare name is a branch or a tag",
        ),
        pytest.param(None, None, id="no ref: every branch and tag"),
    ],
)
def test_followed_revisions(ref: str | None, revisions: set[str] | None) -> None:
    found = matching.followed_revisions(ref)

    assert found == (None if revisions is None else frozenset(revisions))


GITHUB_URLS = ("https://github.com/example/app.git", "git@github.com:example/app.git")


def push(ref: str | None = "refs/heads/main", *, urls: tuple[str, ...] = GITHUB_URLS) -> webhooks.Push:
    return webhooks.Push(
        provider="github", urls=urls, ref=ref, commit=tp.COMMIT, before=tp.OTHER_COMMIT, delivery="d-1"
    )


@pytest.mark.parametrize(
    ("image", "pushed", "affected"),
    [
        pytest.param(tp.image("a"), push(), True, id="same repository and branch"),
        pytest.param(
            tp.image("a", url="git@github.com:example/app.git"),
            push(),
            True,
            id="the Image spells the URL for ssh",
        ),
        pytest.param(
            tp.image("a", url="https://GITHUB.com/example/app/"),
            push(),
            True,
            id="another spelling of the host",
        ),
        pytest.param(
            tp.image("a", revision="refs/heads/main"), push(), True, id="the Image names the full ref"
        ),
        pytest.param(tp.image("a", revision="develop"), push(), False, id="another branch of the repository"),
        pytest.param(
            tp.image("a", url="https://github.com/example/other"), push(), False, id="another repository"
        ),
        pytest.param(
            tp.image("a", url="https://gitlab.com/example/app"),
            push(),
            False,
            id="the same path on another host",
        ),
        pytest.param(
            tp.image("a", revision=tp.OTHER_COMMIT), push(), False, id="an Image pinned to a commit"
        ),
        pytest.param(
            tp.image("a", revision=tp.COMMIT), push(None), False, id="pinned even when no ref is named"
        ),
        pytest.param(
            tp.image("a", revision="v1.0"), push("refs/tags/v1.0"), True, id="a tag the Image follows"
        ),
        pytest.param(
            tp.image("a", revision="v1.0"),
            push("refs/heads/v1.0"),
            True,
            id="a bare name is a branch or a tag",
        ),
        pytest.param(
            tp.image("a", revision="refs/tags/v1.0"),
            push("refs/heads/v1.0"),
            False,
            id="a full tag ref is not the branch of that name",
        ),
        pytest.param(
            tp.image("a", revision="develop"), push(None), True, id="no ref named: any followed branch"
        ),
        pytest.param(tp.image("a", revision="v1.0"), push("v1.0"), True, id="a bare name matches a tag"),
        pytest.param(tp.blob_image("a"), push(), False, id="an Image built from a blob"),
    ],
)
def test_which_images_a_push_affects(image, pushed: webhooks.Push, affected: bool) -> None:
    assert matching.affects(image, pushed) is affected
    # the pre-filter on the raw JSON keeps every Image the push affects (it only drops the others)
    raw = image.model_dump(mode="json", by_alias=True, exclude_none=True)
    if affected:
        assert matching.may_follow(raw, pushed)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        pytest.param(
            {"spec": {"source": {"git": {"url": "git@github.com:example/app.git"}}}}, True, id="ssh"
        ),
        pytest.param(
            {"spec": {"source": {"git": {"url": "https://github.com/example/other"}}}}, False, id="other"
        ),
        pytest.param({"spec": {"source": {"blob": {"url": "https://example/app.tgz"}}}}, False, id="blob"),
        pytest.param({"spec": {"source": {"git": {"url": 42}}}}, False, id="a mistyped url"),
        pytest.param({"spec": "not an object"}, False, id="a mistyped spec"),
        pytest.param({}, False, id="nothing"),
    ],
)
def test_the_raw_pre_filter_keeps_the_images_of_the_pushed_repository(raw: dict, kept: bool) -> None:
    assert matching.may_follow(raw, push()) is kept


def test_source_changed_names_each_affected_image_with_the_url_as_it_spells_it_and_what_the_host_said() -> (
    None
):
    listed = [
        tp.image("web", namespace="team-b", url="git@github.com:example/app.git"),
        tp.image("api", namespace="team-a"),
        tp.image("docs", namespace="team-a", revision="gh-pages"),
        tp.image("pinned", namespace="team-a", revision=tp.OTHER_COMMIT),
    ]

    published = matching.source_changed(listed, push(), time=NOW)

    assert [(e.subject, e.data) for e in published] == [
        (
            "team-a/api",
            events.SourceChanged(
                namespace="team-a",
                image="api",
                url="https://github.com/example/app",
                revision=tp.COMMIT,
                before=tp.OTHER_COMMIT,
                delivery="d-1",
            ),
        ),
        (
            "team-b/web",
            events.SourceChanged(
                namespace="team-b",
                image="web",
                url="git@github.com:example/app.git",
                revision=tp.COMMIT,
                before=tp.OTHER_COMMIT,
                delivery="d-1",
            ),
        ),
    ]
    assert [e.id for e in published] == [
        events.event_id("kiln.source.changed", subject=key, discriminator=f"push:d-1:{tp.COMMIT}")
        for key in ("team-a/api", "team-b/web")
    ]
    assert {(e.source, e.time) for e in published} == {("/kiln/triggers", NOW)}


def test_a_redelivered_push_is_the_same_event_and_another_delivery_is_not() -> None:
    listed = [tp.image("api")]

    first = matching.source_changed(listed, push(), time=NOW)
    again = matching.source_changed(listed, push(), time=NOW)
    other = matching.source_changed(listed, push().model_copy(update={"delivery": "d-2"}), time=NOW)

    assert [e.id for e in again] == [e.id for e in first]
    assert [e.id for e in other] != [e.id for e in first]


def manifest(host: str = "registry.example:5000", repository: str = "builders/default", event_id: str = "e1"):
    return webhooks.ManifestPush(
        host=host, repository=repository, digest=tp.DIGEST, tag="latest", id=event_id
    )


@pytest.mark.parametrize(
    ("builder", "pushed", "affected"),
    [
        pytest.param(tp.builder("b"), manifest(), True, id="spec.tag names the pushed repository"),
        pytest.param(
            tp.builder("b", tag="registry.example:5000/builders/default:v2"),
            manifest(),
            True,
            id="another tag of the pushed repository",
        ),
        pytest.param(
            tp.builder("b", tag="REGISTRY.example:5000/builders/default"),
            manifest(host="registry.EXAMPLE:5000"),
            True,
            id="the host compares without case",
        ),
        pytest.param(
            tp.builder("b", tag="registry.example:5000/builders/other"),
            manifest(),
            False,
            id="another repository",
        ),
        pytest.param(
            tp.builder("b", tag="registry.example/builders/default"),
            manifest(),
            False,
            id="the same repository on another port is another registry",
        ),
        pytest.param(
            tp.builder("b", tag="paketobuildpacks/builder"),
            manifest(host="docker.io", repository="paketobuildpacks/builder"),
            True,
            id="docker.io is index.docker.io",
        ),
        pytest.param(
            tp.builder("b", tag="busybox"),
            manifest(host="registry-1.docker.io", repository="busybox"),
            True,
            id="an official Docker Hub image is library/<name>",
        ),
        pytest.param(
            tp.builder(
                "b",
                tag="registry.example:5000/builders/source",
                latest_image=f"registry.example:5000/builders/default@{tp.DIGEST}",
            ),
            manifest(),
            True,
            id="status.latestImage names the pushed repository",
        ),
        pytest.param(tp.builder("b", tag=None), manifest(), False, id="a builder without a tag or image"),
        pytest.param(
            tp.builder("b", tag="Not A Reference"), manifest(), False, id="a tag that does not parse"
        ),
    ],
)
def test_which_builders_a_registry_push_affects(
    builder, pushed: webhooks.ManifestPush, affected: bool
) -> None:
    published = matching.builder_changed({builders.CLUSTER_BUILDER: [builder]}, [pushed], time=NOW)

    assert len(published) == int(affected)


def test_a_builder_made_from_a_stack_is_not_announced_for_pushes_of_its_own_image() -> None:
    made = tp.builder("b").with_(
        spec=builders.BuilderSpec(tag=tp.builder("b").spec.tag, stack={"name": "base"})
    )

    assert matching.builder_changed({builders.CLUSTER_BUILDER: [made]}, [manifest()], time=NOW) == []


def test_builder_changed_names_each_builder_once_by_kind() -> None:
    listed = {
        builders.BUILDER: [
            tp.builder("team", kind="Builder", namespace="team-a", resource_version="3"),
            tp.builder("unrelated", kind="Builder", namespace="team-a", tag="registry.example:5000/x"),
        ],
        builders.CLUSTER_BUILDER: [tp.builder("default", resource_version="9")],
    }
    pushes = [manifest(event_id="e2"), manifest(event_id="e1")]

    published = matching.builder_changed(listed, pushes, time=NOW)

    assert [(e.subject, e.data) for e in published] == [
        (
            "Builder/team-a/team",
            events.BuilderChanged(kind="Builder", namespace="team-a", name="team", resource_version="3"),
        ),
        (
            "ClusterBuilder/default",
            events.BuilderChanged(kind="ClusterBuilder", namespace="", name="default", resource_version="9"),
        ),
    ]
    discriminator = f"registry:e1@{tp.DIGEST},e2@{tp.DIGEST}"
    assert [e.id for e in published] == [
        events.event_id("kiln.builder.changed", subject=e.subject, discriminator=discriminator)
        for e in published
    ]


def pushed_to(repository: str, *, tag: str = "latest", event_id: str = "e1") -> webhooks.ManifestPush:
    return webhooks.ManifestPush(
        host="registry.example:5000", repository=repository, digest=tp.DIGEST, tag=tag, id=event_id
    )


STACK = stacks.ClusterStack.model_validate(
    {
        "kind": "ClusterStack",
        "metadata": {"name": "base", "resourceVersion": "4"},
        "spec": {
            "id": "io.buildpacks.stacks.jammy",
            "buildImage": {"image": "registry.example:5000/stacks/build:jammy"},
            "runImage": {"image": "registry.example:5000/stacks/run"},
        },
    }
)
STORE = buildpacks.ClusterStore.model_validate(
    {
        "kind": "ClusterStore",
        "metadata": {"name": "default"},
        "spec": {
            "sources": [{"image": "registry.example:5000/buildpacks/go"}, {"image": f"x/pinned@{tp.DIGEST}"}]
        },
    }
)
LIFECYCLE = stacks.ClusterLifecycle.model_validate(
    {"kind": "ClusterLifecycle", "metadata": {"name": "default-lifecycle"}, "spec": {"image": "lifecycle"}}
)
BUILDPACK = buildpacks.Buildpack.model_validate(
    {
        "kind": "Buildpack",
        "metadata": {"name": "go", "namespace": "team"},
        "spec": {"image": "registry.example:5000/buildpacks/go:1.2"},
    }
)


@pytest.mark.parametrize(
    ("pushed", "affected"),
    [
        pytest.param(pushed_to("stacks/run"), ["ClusterStack/base"], id="the run image's tag moved"),
        pytest.param(
            pushed_to("stacks/build", tag="jammy"), ["ClusterStack/base"], id="the build image's tag moved"
        ),
        pytest.param(pushed_to("stacks/build"), [], id="another tag of the build image's repository"),
        pytest.param(
            pushed_to("stacks/build", tag=""),
            ["ClusterStack/base"],
            id="a push by digest may be an index's platform manifest: any tag",
        ),
        pytest.param(pushed_to("buildpacks/go"), ["ClusterStore/default"], id="a store source's tag moved"),
        pytest.param(
            pushed_to("buildpacks/go", tag="1.2"), ["Buildpack/team/go"], id="a Buildpack's tag moved"
        ),
        pytest.param(pushed_to("x/pinned", tag=""), [], id="an image named by digest never moves"),
        pytest.param(pushed_to("stacks/other"), [], id="another repository"),
    ],
)
def test_which_builder_inputs_a_registry_push_moves(
    pushed: webhooks.ManifestPush, affected: list[str]
) -> None:
    published = matching.input_changed([STACK, STORE, LIFECYCLE, BUILDPACK], [pushed], time=NOW)

    assert [event.subject for event in published] == affected


def test_a_moved_input_names_the_push_and_its_id_follows_the_notification() -> None:
    [first] = matching.input_changed([STACK], [pushed_to("stacks/run")], time=NOW)
    [again] = matching.input_changed([STACK], [pushed_to("stacks/run")], time=NOW)
    [other] = matching.input_changed([STACK], [pushed_to("stacks/run", event_id="e2")], time=NOW)

    assert first.data == events.BuilderInputChanged(
        kind="ClusterStack",
        name="base",
        resource_version="4",
        pushed=f"registry.example:5000/stacks/run@{tp.DIGEST}",
    )
    assert again.id == first.id != other.id


def test_an_input_image_that_does_not_parse_is_never_moved() -> None:
    assert not matching.pushed_tag("Not A Reference", pushed_to("stacks/run"))


@pytest.mark.parametrize(
    ("image", "kept"),
    [
        pytest.param("registry.example:5000/builders/default:latest", True, id="the pushed tag"),
        pytest.param("registry.example:5000/builders/default", True, id="latest by default"),
        pytest.param("registry.example:5000/builders/other:latest", False, id="another repository"),
        pytest.param("registry.example:5000/builders/default@sha256:" + "a" * 64, False, id="a digest"),
        pytest.param(7, False, id="a mistyped image"),
    ],
)
def test_the_raw_pre_filter_keeps_the_images_whose_source_tag_was_pushed(image: object, kept: bool) -> None:
    raw = {"spec": {"source": {"registry": {"image": image}}}}

    assert matching.may_pull(raw, [manifest()]) is kept
