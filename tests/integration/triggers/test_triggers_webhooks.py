"""Webhooks posted over HTTP to the triggers app: events read back from the real broker, Images and
builders created in the emulator through kubernetes-asyncio."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika.abc
import pytest
import triggers_support as support

from contracts import builders, events, images, stacks
from services.broker import publishing
from services.broker import settings as broker_settings
from services.kube import cluster, resources
from services.triggers import service

pytestmark = pytest.mark.integration

COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
BEFORE = "89e6c98d92887913cadf06b2adb97f26cde4849b"
SOURCE_CHANGED = "kiln.source.changed"


def image(name: str, namespace: str, *, url: str, revision: str) -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "tag": f"127.0.0.1:5000/triggers/{name}",
                "builder": {"kind": "ClusterBuilder", "name": "default"},
                "source": {"git": {"url": url, "revision": revision}},
            },
        }
    )


def cluster_builder(name: str, *, tag: str) -> builders.Builder:
    """A ClusterBuilder made elsewhere (it names no ClusterStack): a push of its image is the news."""
    return builders.Builder.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "ClusterBuilder",
            "metadata": {"name": name},
            "spec": {"tag": tag, "order": []},
        }
    )


def github_push(
    repo: str, *, ref: str = "refs/heads/main", after: str = COMMIT, before: str = "0" * 40
) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": {
            "full_name": repo,
            "clone_url": f"https://github.com/{repo}.git",
            "html_url": f"https://github.com/{repo}",
            "ssh_url": f"git@github.com:{repo}.git",
        },
        "head_commit": {"id": after},
    }


def github_headers(
    body: bytes, *, secret: str = support.GITHUB_SECRET, delivery: str = "d-1"
) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={signature}",
    }


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def repo_images(kube: resources.Kube, suffix: str) -> dict[str, images.Image]:
    """Images on both sides of every rule, in two namespaces, for the repository ``example/app-<suffix>``."""
    https, ssh = f"https://github.com/example/app-{suffix}", f"git@github.com:example/app-{suffix}.git"
    wanted = {
        "main": image("main", f"team-a-{suffix}", url=https, revision="main"),
        "ssh-full-ref": image("ssh-full-ref", f"team-b-{suffix}", url=ssh, revision="refs/heads/main"),
        "develop": image("develop", f"team-a-{suffix}", url=https, revision="develop"),
        "pinned": image("pinned", f"team-a-{suffix}", url=https, revision="a" * 40),
        "other-repo": image("other-repo", f"team-a-{suffix}", url=f"{https}-other", revision="main"),
    }
    return {name: await kube.images.create(obj) for name, obj in wanted.items()}


async def test_a_signed_github_push_publishes_source_changed_for_exactly_the_matching_images(
    served: support.Served, probe: support.Probe, repo_images: dict[str, images.Image], suffix: str
) -> None:
    body = json.dumps(github_push(f"example/app-{suffix}", before=BEFORE)).encode()

    answer = await served.post("/webhooks/github", body, github_headers(body))
    published = await probe.take(2)

    expected = [
        events.SourceChanged(
            namespace=f"team-a-{suffix}",
            image="main",
            url=f"https://github.com/example/app-{suffix}",
            revision=COMMIT,
            before=BEFORE,
            delivery="d-1",
        ),
        events.SourceChanged(
            namespace=f"team-b-{suffix}",
            image="ssh-full-ref",
            url=f"git@github.com:example/app-{suffix}.git",
            revision=COMMIT,
            before=BEFORE,
            delivery="d-1",
        ),
    ]
    assert answer == (
        202,
        {"published": 2, "images": [f"team-a-{suffix}/main", f"team-b-{suffix}/ssh-full-ref"]},
    )
    assert [event.data for event in published] == expected
    assert [event.id for event in published] == [
        events.event_id(SOURCE_CHANGED, subject=payload.key, discriminator=f"push:d-1:{COMMIT}")
        for payload in expected
    ]
    assert {(event.source, event.time) for event in published} == {("/kiln/triggers", support.NOW)}


async def test_a_redelivered_push_publishes_the_same_events_again(
    served: support.Served, probe: support.Probe, repo_images: dict[str, images.Image], suffix: str
) -> None:
    body = json.dumps(github_push(f"example/app-{suffix}")).encode()

    await served.post("/webhooks/github", body, github_headers(body))
    await served.post("/webhooks/github", body, github_headers(body))
    published = await probe.take(4)

    assert [event.id for event in published[2:]] == [event.id for event in published[:2]]


async def test_a_bad_signature_gets_401_and_publishes_nothing(
    served: support.Served, probe: support.Probe, repo_images: dict[str, images.Image], suffix: str
) -> None:
    body = json.dumps(github_push(f"example/app-{suffix}")).encode()

    answer = await served.post("/webhooks/github", body, github_headers(body, secret="not the secret"))

    assert answer == (
        401,
        {
            "error": "X-Hub-Signature-256: does not match the body; "
            "the GitHub webhook's secret differs from KILN_TRIGGERS_GITHUB_SECRET"
        },
    )
    assert await probe.take(0) == []


async def test_a_malformed_body_gets_400_naming_the_field(
    served: support.Served, probe: support.Probe, suffix: str
) -> None:
    payload = github_push(f"example/app-{suffix}")
    del payload["repository"]["clone_url"]
    body = json.dumps(payload).encode()

    answer = await served.post("/webhooks/github", body, github_headers(body))

    assert answer == (400, {"error": "repository.clone_url: missing; a GitHub push event carries it"})
    assert await probe.take(0) == []


async def test_a_gitlab_tag_push_publishes_for_the_images_following_the_tag(
    served: support.Served, probe: support.Probe, kube: resources.Kube, suffix: str
) -> None:
    namespace = f"gitlab-{suffix}"
    url = f"https://gitlab.example.com/group/app-{suffix}.git"
    await kube.images.create(image("release", namespace, url=url, revision="v1.0"))
    await kube.images.create(image("main", namespace, url=url, revision="main"))
    body = json.dumps(
        {
            "object_kind": "tag_push",
            "ref": "refs/tags/v1.0",
            "after": "b" * 40,
            "checkout_sha": COMMIT,
            "project": {"git_http_url": url, "git_ssh_url": f"git@gitlab.example.com:group/app-{suffix}.git"},
        }
    ).encode()
    headers = {
        "X-Gitlab-Event": "Tag Push Hook",
        "X-Gitlab-Token": support.GITLAB_TOKEN,
        "Idempotency-Key": "k-1",
    }

    answer = await served.post("/webhooks/gitlab", body, headers)
    published = await probe.take(1)

    assert answer == (202, {"published": 1, "images": [f"{namespace}/release"]})
    assert [event.data for event in published] == [
        events.SourceChanged(namespace=namespace, image="release", url=url, revision=COMMIT, delivery="k-1")
    ]


async def test_a_generic_push_with_the_bearer_token_publishes(
    served: support.Served, probe: support.Probe, kube: resources.Kube, suffix: str
) -> None:
    namespace = f"generic-{suffix}"
    url = f"ssh://git@git.example:2222/team/app-{suffix}.git"
    await kube.images.create(image("app", namespace, url=url, revision="main"))
    body = json.dumps(
        {"url": f"https://git.example/team/app-{suffix}", "revision": COMMIT, "ref": "main"}
    ).encode()

    answer = await served.post(
        "/webhooks/generic", body, {"Authorization": f"Bearer {support.GENERIC_TOKEN}"}
    )
    published = await probe.take(1)

    assert answer == (202, {"published": 1, "images": [f"{namespace}/app"]})
    assert [event.data for event in published] == [
        events.SourceChanged(namespace=namespace, image="app", url=url, revision=COMMIT)
    ]


async def test_a_registry_push_publishes_builder_changed_for_the_matching_cluster_builder(
    served: support.Served, probe: support.Probe, kube: resources.Kube, suffix: str
) -> None:
    repository = f"triggers/{suffix}/builder"
    await kube.cluster_builders.create(cluster_builder(f"match-{suffix}", tag=f"127.0.0.1:5000/{repository}"))
    await kube.cluster_builders.create(
        cluster_builder(f"other-{suffix}", tag=f"127.0.0.1:5000/{repository}-other")
    )
    digest = "sha256:" + "c" * 64
    envelope = {
        "events": [
            {
                "id": "evt-1",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "repository": repository,
                    "digest": digest,
                    "tag": "latest",
                },
                "request": {"host": "127.0.0.1:5000", "method": "PUT"},
            },
            {
                "id": "evt-0",
                "action": "push",
                "target": {
                    "mediaType": "application/octet-stream",
                    "repository": repository,
                    "digest": digest,
                },
                "request": {"host": "127.0.0.1:5000", "method": "PUT"},
            },
        ]
    }
    headers = {
        "Content-Type": "application/vnd.docker.distribution.events.v1+json",
        "Authorization": f"Bearer {support.REGISTRY_TOKEN}",
    }

    answer = await served.post("/webhooks/registry", json.dumps(envelope).encode(), headers)
    published = await probe.take(1)

    assert answer == (
        202,
        {"published": 1, "builders": [f"ClusterBuilder/match-{suffix}"], "builderInputs": [], "images": []},
    )
    assert [(event.type, event.data.model_dump(exclude={"resource_version"})) for event in published] == [
        ("kiln.builder.changed", {"kind": "ClusterBuilder", "namespace": "", "name": f"match-{suffix}"})
    ]
    assert published[0].id == events.event_id(
        "kiln.builder.changed",
        subject=f"ClusterBuilder/match-{suffix}",
        discriminator=f"registry:evt-1@{digest}",
    )


async def test_a_registry_push_to_a_stacks_run_image_tag_resolves_that_stack_again(
    served: support.Served, probe: support.Probe, kube: resources.Kube, suffix: str
) -> None:
    run = f"triggers/{suffix}/run"
    stack = stacks.ClusterStack.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "ClusterStack",
            "metadata": {"name": f"base-{suffix}"},
            "spec": {
                "id": "io.buildpacks.stacks.jammy",
                "buildImage": {"image": f"127.0.0.1:5000/triggers/{suffix}/build:jammy"},
                "runImage": {"image": f"127.0.0.1:5000/{run}:jammy"},
            },
        }
    )
    await kube.cluster_stacks.create(stack)
    digest = "sha256:" + "d" * 64
    push = {
        "id": "evt-9",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "repository": run,
            "digest": digest,
            "tag": "jammy",
        },
        "request": {"host": "127.0.0.1:5000", "method": "PUT"},
    }
    headers = {
        "Content-Type": "application/vnd.docker.distribution.events.v1+json",
        "Authorization": f"Bearer {support.REGISTRY_TOKEN}",
    }

    answer = await served.post("/webhooks/registry", json.dumps({"events": [push]}).encode(), headers)
    published = await probe.take(1)

    assert answer == (
        202,
        {"published": 1, "builders": [], "builderInputs": [f"ClusterStack/base-{suffix}"], "images": []},
    )
    [moved] = published
    assert (moved.type, moved.data.model_dump(exclude={"resource_version"})) == (
        "kiln.builder.input.changed",
        {
            "kind": "ClusterStack",
            "namespace": "",
            "name": f"base-{suffix}",
            "pushed": f"127.0.0.1:5000/{run}@{digest}",
        },
    )


DEEP = b"[" * 10_000 + b"]" * 10_000


def authenticated(route: str, body: bytes) -> dict[str, str]:
    """The headers that authenticate ``body`` on ``route``."""
    if route == "/webhooks/github":
        return github_headers(body)
    if route == "/webhooks/gitlab":
        return {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": support.GITLAB_TOKEN}
    token = support.GENERIC_TOKEN if route == "/webhooks/generic" else support.REGISTRY_TOKEN
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "route", ["/webhooks/github", "/webhooks/gitlab", "/webhooks/generic", "/webhooks/registry"]
)
async def test_a_body_nested_ten_thousand_levels_deep_gets_400_naming_the_problem(
    served: support.Served, probe: support.Probe, route: str
) -> None:
    answer = await served.post(route, DEEP, authenticated(route, DEEP))

    assert answer == (
        400,
        {
            "error": "body: arrays and objects nested more than 64 levels deep; "
            "a webhook body is a small, shallow JSON object"
        },
    )
    assert await probe.take(0) == []


@pytest.fixture
async def unpublishable(
    connection: aio_pika.abc.AbstractConnection,
    broker: broker_settings.BrokerSettings,
    kube: resources.Kube,
) -> AsyncIterator[support.Served]:
    """Triggers whose publisher targets an exchange the broker does not have: every publish fails."""
    async with await publishing.Publisher.open(
        connection, settings=broker, exchange=f"{broker.prefix}.missing"
    ) as publisher:
        triggers = service.Triggers(
            cluster.KubeCluster(kube), publisher, settings=support.settings(), clock=lambda: support.NOW
        )
        async with support.serve(triggers) as running:
            yield running


async def test_a_push_the_broker_does_not_confirm_gets_503_so_that_github_retries(
    unpublishable: support.Served, repo_images: dict[str, images.Image], suffix: str
) -> None:
    body = json.dumps(github_push(f"example/app-{suffix}")).encode()

    status, answer = await unpublishable.post("/webhooks/github", body, github_headers(body))

    assert status == 503
    assert answer["error"].startswith(
        "temporarily unable to publish, retry later: 2 of 2 events not confirmed"
    )
