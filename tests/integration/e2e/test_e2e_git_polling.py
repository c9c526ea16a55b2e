"""Polling, the fallback to webhooks, against a real git remote (``git http-backend``, pushed to
with real ``git``): a commit pushed with no webhook is built within a poll period, and the same
commit announced by a webhook and seen by a poll builds once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from contracts import builds as build_models
from services.testbed.git import serving
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"
POLL_SECONDS = 1.0


@pytest.fixture
async def git_server() -> AsyncIterator[serving.GitServer]:
    async with serving.running_git_server() as server:
        yield server


@pytest.fixture
async def sb() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(
        registry_host=REGISTRY,
        step_seconds=0.02,
        git_listing=True,
        git_poll_seconds=POLL_SECONDS,
        resync_seconds=3600.0,
    ) as box:
        await box.add_builder()
        yield box


async def follow(sb: harness.Sandbox, namespace: str, url: str) -> build_models.Build:
    image = examples.image(
        "registry-cache", name="app", namespace=namespace, registry=REGISTRY, builder="default"
    )
    image["spec"]["source"] = {"git": {"url": url, "revision": "main"}}
    await sb.apply(image)
    await sb.wait_for(lambda: any(not b.running() for b in sb.builds(namespace)), seconds=30, what="build 1")
    [first] = sb.builds(namespace)
    return first


def revisions(sb: harness.Sandbox, namespace: str) -> list[tuple[str, str]]:
    return [
        (b.reason(), b.spec.source.git.revision if b.spec.source.git else "") for b in sb.builds(namespace)
    ]


async def test_a_commit_pushed_without_a_webhook_is_built_within_a_poll_period(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository = await git_server.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
    first_commit = await repository.commit({"main.go": "package main\n"})
    namespace = f"poll-{uuid.uuid4().hex[:8]}"
    await follow(sb, namespace, git_server.url(repository.name))

    loop = asyncio.get_running_loop()
    pushed_at = loop.time()
    second_commit = await repository.commit({"main.go": "package main // 2\n"})
    await sb.wait_for(
        lambda: len(sb.builds(namespace)) >= 2, seconds=10 * POLL_SECONDS, what="a polled build"
    )
    print(f"\ncommit pushed without a webhook → its Build created: {loop.time() - pushed_at:.2f} s")

    assert revisions(sb, namespace) == [("CONFIG", first_commit), ("COMMIT", second_commit)]


async def test_the_same_commit_by_webhook_and_by_poll_builds_once(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository = await git_server.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
    first_commit = await repository.commit({"main.go": "package main\n"})
    namespace = f"poll-{uuid.uuid4().hex[:8]}"
    url = git_server.url(repository.name)
    await follow(sb, namespace, url)

    second_commit = await repository.commit({"main.go": "package main // 2\n"})
    await sb.github_push(
        second_commit, before=first_commit, delivery=str(uuid.uuid4()), url=url, branch="main"
    )
    await sb.wait_for(lambda: len(sb.builds(namespace)) >= 2, seconds=10, what="the pushed build")
    await asyncio.sleep(4 * POLL_SECONDS)  # polls that see the same commit

    assert revisions(sb, namespace) == [("CONFIG", first_commit), ("COMMIT", second_commit)]
