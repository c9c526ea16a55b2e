"""Monorepos (beyond kpack, whose experiment was reverted): an Image that builds one folder of a
repository (``subPath``) is not rebuilt for a commit that changes nothing in that folder, by poll
or by webhook, and is rebuilt for one that does. The tree ids come from a depth-1 blob-less fetch
of the real git remote (``git http-backend``, pushed to with real ``git``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import source_resolvers
from services.testbed.git import repositories, serving
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"
POLL_SECONDS = 1.0
FOLDER = "services/api"


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


async def monorepo(git_server: serving.GitServer) -> tuple[repositories.Repository, str]:
    repository = await git_server.create_repository(f"team/mono-{uuid.uuid4().hex[:6]}")
    first = await repository.commit(
        {f"{FOLDER}/main.go": "package main\n", "services/web/index.js": "1\n", "README.md": "mono\n"}
    )
    return repository, first


async def follow_folder(sb: harness.Sandbox, namespace: str, url: str, *, polled: bool = True) -> None:
    image: dict[str, Any] = examples.image(
        "registry-cache", name="api", namespace=namespace, registry=REGISTRY, builder="default"
    )
    if not polled:
        image["metadata"].setdefault("annotations", {})["kiln.dev/git-polling"] = "false"
    image["spec"]["source"] = {"git": {"url": url, "revision": "main"}, "subPath": FOLDER}
    await sb.apply(image)
    await sb.wait_for(lambda: any(not b.running() for b in sb.builds(namespace)), seconds=30, what="build 1")


def resolver(sb: harness.Sandbox, namespace: str) -> source_resolvers.SourceResolver:
    raw = sb.emulator.get("sourceresolvers", "api-source", namespace)
    assert raw is not None
    return source_resolvers.SourceResolver.model_validate(raw)


def revisions(sb: harness.Sandbox, namespace: str) -> list[tuple[str, str]]:
    return [
        (b.reason(), b.spec.source.git.revision if b.spec.source.git else "") for b in sb.builds(namespace)
    ]


def looked_at(sb: harness.Sandbox, namespace: str, commit: str) -> bool:
    pushes = resolver(sb, namespace).status.pushes
    return pushes is not None and commit in pushes.commits


async def test_a_commit_outside_the_folder_does_not_rebuild_and_one_inside_does(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository, first = await monorepo(git_server)
    namespace = f"mono-{uuid.uuid4().hex[:8]}"
    await follow_folder(sb, namespace, git_server.url(repository.name))
    folder_tree = await repository.tree(first, FOLDER)
    git = resolver(sb, namespace).status.source.git
    assert git is not None
    assert (git.revision, git.tree, git.sub_path) == (first, folder_tree, FOLDER)

    outside = await repository.commit({"services/web/index.js": "2\n", "README.md": "mono 2\n"})
    await sb.wait_for(lambda: looked_at(sb, namespace, outside), seconds=10 * POLL_SECONDS, what="the poll")
    await asyncio.sleep(3 * POLL_SECONDS)  # more polls, which must not announce it again
    git = resolver(sb, namespace).status.source.git
    assert git is not None
    assert (git.revision, git.tree) == (first, folder_tree)
    assert revisions(sb, namespace) == [("CONFIG", first)]

    inside = await repository.commit({f"{FOLDER}/main.go": "package main // 2\n"})
    await sb.wait_for(lambda: len(sb.builds(namespace)) >= 2, seconds=10 * POLL_SECONDS, what="a rebuild")
    git = resolver(sb, namespace).status.source.git
    assert git is not None
    assert (git.revision, git.tree) == (inside, await repository.tree(inside, FOLDER))
    assert revisions(sb, namespace) == [("CONFIG", first), ("COMMIT", inside)]


async def test_a_webhook_push_outside_the_folder_does_not_rebuild(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository, first = await monorepo(git_server)
    namespace = f"mono-{uuid.uuid4().hex[:8]}"
    url = git_server.url(repository.name)
    await follow_folder(sb, namespace, url, polled=False)

    outside = await repository.commit({"README.md": "webhook\n"})
    await sb.github_push(outside, before=first, delivery=str(uuid.uuid4()), url=url, branch="main")
    await sb.wait_for(lambda: looked_at(sb, namespace, outside), seconds=10, what="the push applied")
    inside = await repository.commit({f"{FOLDER}/handler.go": "package main\n"})
    await sb.github_push(inside, before=outside, delivery=str(uuid.uuid4()), url=url, branch="main")
    await sb.wait_for(lambda: len(sb.builds(namespace)) >= 2, seconds=10, what="the pushed rebuild")

    assert revisions(sb, namespace) == [("CONFIG", first), ("COMMIT", inside)]
