"""Registry sources pinned to a digest (beyond kpack, which records the tag alone and never
notices it move): a Build pulls the tag at the digest it was resolved to, and pushing the tag
again rebuilds, announced by the registry's notification or found by the poll. Real images are
pushed to the real registry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.registry import cnb_images, layers
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

POLL_SECONDS = 1.0


async def push_source(sb: harness.Sandbox, ref: str, content: bytes) -> str:
    """A one-layer image holding ``/workspace/app.txt``; its digest."""
    layer = layers.tar_layer([layers.Entry("workspace/app.txt", content, mode=0o644)])
    plan = layers.image_plan({"architecture": "amd64", "os": "linux", "config": {}}, [layer])
    pushed = await cnb_images.push_plan(sb.wiring.registry, ref, plan)
    return pushed.rpartition("@")[2]


async def follow_tag(sb: harness.Sandbox, namespace: str, tag: str, *, polled: bool = True) -> None:
    image: dict[str, Any] = examples.image(
        "registry-cache", name="app", namespace=namespace, registry=sb.registry_host, builder="default"
    )
    image["spec"]["source"] = {"registry": {"image": tag}}
    if not polled:
        image["metadata"].setdefault("annotations", {})["kiln.dev/registry-polling"] = "false"
    await sb.apply(image)
    await sb.wait_for(lambda: any(not b.running() for b in sb.builds(namespace)), seconds=30, what="build 1")


def sources_built(sb: harness.Sandbox, namespace: str) -> list[tuple[str, str]]:
    def source(build: build_models.Build) -> str:
        return build.spec.source.registry.image if build.spec.source.registry else ""

    return [(b.reason(), source(b)) for b in sb.builds(namespace)]


@pytest.fixture
async def notifying() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(step_seconds=0.02, notifying_registry=True, resync_seconds=3600.0) as box:
        await box.add_builder()
        yield box


@pytest.fixture
async def polling() -> AsyncIterator[harness.Sandbox]:
    """The source poller runs (it starts with git reading on), every POLL_SECONDS."""
    async with harness.sandbox(
        step_seconds=0.02, git_listing=True, git_poll_seconds=POLL_SECONDS, resync_seconds=3600.0
    ) as box:
        await box.add_builder()
        yield box


async def test_a_pushed_source_tag_rebuilds_on_the_registry_notification(notifying: harness.Sandbox) -> None:
    sb = notifying
    tag = f"{sb.registry_host}/sources/app-{uuid.uuid4().hex[:6]}:v1"
    first = await push_source(sb, tag, b"one\n")
    namespace = f"regsrc-{uuid.uuid4().hex[:8]}"
    await follow_tag(sb, namespace, tag, polled=False)
    assert sources_built(sb, namespace) == [("CONFIG", f"{tag}@{first}")]

    second = await push_source(sb, tag, b"two\n")
    await sb.wait_for(lambda: len(sb.builds(namespace)) >= 2, seconds=20, what="the rebuild")

    assert second != first
    assert sources_built(sb, namespace) == [("CONFIG", f"{tag}@{first}"), ("CONFIG", f"{tag}@{second}")]


async def test_a_pushed_source_tag_is_found_by_the_poll(polling: harness.Sandbox) -> None:
    sb = polling
    tag = f"{sb.registry_host}/sources/app-{uuid.uuid4().hex[:6]}:v1"
    first = await push_source(sb, tag, b"one\n")
    namespace = f"regsrc-{uuid.uuid4().hex[:8]}"
    await follow_tag(sb, namespace, tag)

    second = await push_source(sb, tag, b"two\n")
    await sb.wait_for(
        lambda: len(sb.builds(namespace)) >= 2, seconds=10 * POLL_SECONDS, what="the polled rebuild"
    )

    assert sources_built(sb, namespace) == [("CONFIG", f"{tag}@{first}"), ("CONFIG", f"{tag}@{second}")]
