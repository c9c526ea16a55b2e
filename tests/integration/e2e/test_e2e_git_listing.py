"""A new Image's branch or tag is listed from its real git remote (served over HTTP by ``git
http-backend``, pushed to with real ``git``), so its first Build builds a commit, without any
webhook; a remote that cannot be listed leaves kpack's behaviour: the branch name is built."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from contracts import builds as build_models
from services.testbed.git import serving
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"


@pytest.fixture
async def git_server() -> AsyncIterator[serving.GitServer]:
    async with serving.running_git_server() as server:
        yield server


@pytest.fixture
async def sb() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.02, git_listing=True) as box:
        await box.add_builder()
        yield box


async def first_build(sb: harness.Sandbox, namespace: str, *, url: str, revision: str) -> build_models.Build:
    image = examples.image(
        "registry-cache", name="app", namespace=namespace, registry=REGISTRY, builder="default"
    )
    image["spec"]["source"] = {"git": {"url": url, "revision": revision}}
    await sb.apply(image)
    await sb.wait_for(lambda: bool(sb.builds(namespace)), seconds=30, what="the first build")
    [build] = sb.builds(namespace)
    return build


def resolved_revision(sb: harness.Sandbox, namespace: str) -> str:
    resolver = sb.emulator.get("sourceresolvers", "app-source", namespace) or {}
    return str(resolver["status"]["source"]["git"]["revision"])


async def test_a_new_image_following_a_branch_builds_the_commit_it_is_at(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository = await git_server.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
    commit = await repository.commit({"main.go": "package main\n"})
    namespace = f"git-{uuid.uuid4().hex[:8]}"

    build = await first_build(sb, namespace, url=git_server.url(repository.name), revision="main")

    assert build.spec.source.git is not None
    assert build.spec.source.git.revision == commit
    assert resolved_revision(sb, namespace) == commit


async def test_an_annotated_tag_builds_the_commit_it_points_to(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    repository = await git_server.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
    commit = await repository.commit({"main.go": "package main\n"})
    tag_object = await repository.tag("v1.0.0", commit, message="release 1.0.0")
    assert tag_object != commit
    namespace = f"git-{uuid.uuid4().hex[:8]}"

    build = await first_build(sb, namespace, url=git_server.url(repository.name), revision="v1.0.0")

    assert build.spec.source.git is not None
    assert build.spec.source.git.revision == commit


async def test_a_remote_that_cannot_be_listed_builds_the_branch_name_as_kpack_does(
    sb: harness.Sandbox, git_server: serving.GitServer
) -> None:
    namespace = f"git-{uuid.uuid4().hex[:8]}"

    build = await first_build(sb, namespace, url=git_server.url("team/missing"), revision="main")

    assert build.spec.source.git is not None
    assert build.spec.source.git.revision == "main"
