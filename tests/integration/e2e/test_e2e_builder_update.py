"""Builder updates end to end, the way a platform team makes them: a new image pushed to the tag a
ClusterStack, ClusterStore or ClusterLifecycle names. The sandbox's own registry notifies the
triggers service of every push; the builder service resolves the moved input again, makes the
builder's image again and writes its status; the bridge announces the builder; the
image-reconciler rebuilds (BUILDPACK, LIFECYCLE) or rebases (STACK) every Image built with it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from contracts import builds as build_models
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

IMAGES = 50
WAIT_SECONDS = 90.0


@pytest.fixture
async def sb() -> AsyncIterator[harness.Sandbox]:
    """A sandbox on a registry of its own that sends its push notifications to Kiln, with the
    ClusterBuilder ``default`` made by the builder service."""
    async with harness.sandbox(step_seconds=0.02, notifying_registry=True) as box:
        await box.add_builder()
        yield box


async def apply_images(sb: harness.Sandbox, namespace: str, count: int) -> list[str]:
    names = [f"app-{index}" for index in range(count)]
    for name in names:
        image = examples.image(
            "registry-cache", name=name, namespace=namespace, registry=sb.registry_host, builder="default"
        )
        await sb.apply(image)
    return names


async def wait_finished(sb: harness.Sandbox, namespace: str, count: int) -> list[build_models.Build]:
    def finished() -> list[build_models.Build]:
        return [b for b in sb.builds(namespace) if not b.running()]

    await sb.wait_for(
        lambda: len(finished()) >= count, seconds=WAIT_SECONDS, what=f"{count} finished builds in {namespace}"
    )
    return finished()


def by_image(found: list[build_models.Build]) -> dict[str, list[build_models.Build]]:
    grouped: dict[str, list[build_models.Build]] = {}
    for build in found:
        grouped.setdefault(build.labels[build_models.IMAGE_LABEL], []).append(build)
    return {name: sorted(b, key=lambda x: x.build_number() or 0) for name, b in grouped.items()}


def digest_of(reference: str) -> str:
    return reference.rpartition("@")[2]


async def test_a_patched_run_image_rebases_every_image_and_nothing_else(sb: harness.Sandbox) -> None:
    assert sb.kit is not None
    namespace = f"stack-{uuid.uuid4().hex[:8]}"
    names = await apply_images(sb, namespace, IMAGES)
    first = await wait_finished(sb, namespace, IMAGES)
    assert all(b.succeeded() and b.reason() == "CONFIG" for b in first)
    old_run_image = sb.cluster_builder()["status"]["stack"]["runImage"]

    loop = asyncio.get_running_loop()
    pushed_at = loop.time()
    await sb.kit.patch_run_image()
    finished = await wait_finished(sb, namespace, 2 * IMAGES)
    elapsed = loop.time() - pushed_at
    print(f"\nregistry push of a patched run image → {IMAGES} Images rebased: {elapsed:.2f} s")
    await asyncio.sleep(2.0)  # anything else the push would start has been started by now

    new_run_image = sb.cluster_builder()["status"]["stack"]["runImage"]
    assert digest_of(new_run_image) != digest_of(old_run_image)
    grouped = by_image(sb.builds(namespace))
    assert sorted(grouped) == sorted(names)
    for name in names:
        assert len(grouped[name]) == 2, f"{name}: {[b.reason() for b in grouped[name]]}"
        built, rebased = grouped[name]
        assert (rebased.reason(), rebased.build_number()) == ("STACK", 2)
        assert json.loads(rebased.annotations[build_models.CHANGES_ANNOTATION]) == [
            {"reason": "STACK", "old": digest_of(old_run_image), "new": digest_of(new_run_image)}
        ]
        assert sb.rebased(rebased), f"{name}: build 2 did not run the rebase step alone"
        assert sb.cache_args(rebased) == {"rebase": []}
        assert rebased.succeeded(), rebased.status.condition("Succeeded")
        assert rebased.status.stack is not None
        assert rebased.status.stack.run_image == new_run_image
        assert rebased.spec.builder.image != built.spec.builder.image
    assert len(finished) == 2 * IMAGES


async def test_a_new_buildpack_in_the_store_rebuilds_with_the_cache(sb: harness.Sandbox) -> None:
    assert sb.kit is not None
    namespace = f"bp-{uuid.uuid4().hex[:8]}"
    names = await apply_images(sb, namespace, 3)
    await wait_finished(sb, namespace, 3)

    await sb.kit.release_buildpack("4.14.0")
    await wait_finished(sb, namespace, 6)

    metadata = sb.cluster_builder()["status"]["builderMetadata"]
    assert [(bp["id"], bp["version"]) for bp in metadata] == [("paketo-buildpacks/go", "4.14.0")]
    for name in names:
        first, second = by_image(sb.builds(namespace))[name]
        assert (second.reason(), second.build_number()) == ("BUILDPACK", 2)
        assert not sb.rebased(second)
        assert second.succeeded(), second.status.condition("Succeeded")
        assert sb.cache_args(second)["analyze"] == [f"-cache-image={first.status.latest_cache_image}"]
        assert [(bp.id, bp.version) for bp in second.status.build_metadata or []] == [
            ("paketo-buildpacks/go", "4.14.0")
        ]


async def test_a_new_lifecycle_rebuilds(sb: harness.Sandbox) -> None:
    assert sb.kit is not None
    namespace = f"lc-{uuid.uuid4().hex[:8]}"
    [name] = await apply_images(sb, namespace, 1)
    await wait_finished(sb, namespace, 1)

    await sb.kit.release_lifecycle("0.20.6")
    await wait_finished(sb, namespace, 2)

    assert sb.cluster_builder()["status"]["lifecycle"]["version"] == "0.20.6"
    first, second = by_image(sb.builds(namespace))[name]
    assert (second.reason(), second.build_number()) == ("LIFECYCLE", 2)
    assert json.loads(second.annotations[build_models.CHANGES_ANNOTATION]) == [
        {"reason": "LIFECYCLE", "old": examples.LIFECYCLE_VERSION, "new": "0.20.6"}
    ]
    assert second.succeeded(), second.status.condition("Succeeded")
    assert sb.cache_args(second)["restore"] == [f"-cache-image={first.status.latest_cache_image}"]
