"""Registry cache end to end: the first build writes the cache tag, later builds read the digest.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet
(which really pushes the app and cache images, with new content every build).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from contracts import builds as build_models
from services.testbed.kubelet import failures
from services.testbed.sandbox import examples

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


def cache_image_args(reads: str, writes: str) -> dict[str, list[str]]:
    """The cache arguments of a registry-cache build pod: analyze and restore read, export writes."""
    return {
        "prepare": [],
        "analyze": [f"-cache-image={reads}"],
        "detect": [],
        "restore": [f"-cache-image={reads}"],
        "build": [],
        "export": [f"-cache-image={writes}"],
    }


async def test_the_first_build_writes_the_cache_tag_and_records_the_digest_the_registry_holds(
    run: Run,
) -> None:
    await run.sb.apply(run.image("registry-cache"))

    [build] = await run.wait_finished(1)

    assert build.reason() == "CONFIG"
    assert build.succeeded(), build.status.condition("Succeeded")
    assert run.sb.cache_args(build) == cache_image_args(reads=run.cache_tag, writes=run.cache_tag)
    digest = await run.sb.wiring.registry.resolve_digest(run.cache_tag)
    assert digest.startswith("sha256:")
    assert build.status.latest_cache_image == f"{run.cache_tag}@{digest}"
    assert build.status.latest_image == f"{run.tag}@{await run.sb.wiring.registry.resolve_digest(run.tag)}"
    await run.sb.wait_for(
        lambda: image_cache(run) == (f"{run.cache_tag}@{digest}", 1),
        seconds=10,
        what="the Image to record build 1's cache image",
    )


async def test_a_new_commit_reads_the_pinned_digest_even_after_another_writer_moved_the_tag(
    run: Run,
) -> None:
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    pinned = first.status.latest_cache_image
    assert pinned == f"{run.cache_tag}@{await run.sb.wiring.registry.resolve_digest(run.cache_tag)}"

    content = b"a third writer's cache, not Kiln's"
    intruder = await run.sb.wiring.registry.push_image(
        run.cache_tag,
        config={"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
        layers=[content],
    )
    assert f"{run.cache_tag}@{intruder}" != pinned
    assert await run.sb.wiring.registry.resolve_digest(run.cache_tag) == intruder
    revision = await run.sb.push_commit()

    first, second = await run.wait_finished(2)

    assert (second.reason(), second.build_number()) == ("COMMIT", 2)
    assert second.spec.source.git is not None
    assert second.spec.source.git.revision == revision == examples.commit(2)
    assert run.sb.cache_args(second) == cache_image_args(reads=pinned, writes=run.cache_tag)
    assert second.succeeded(), second.status.condition("Succeeded")
    written = await run.sb.wiring.registry.resolve_digest(run.cache_tag)
    assert written not in (intruder, pinned.split("@")[1])
    assert second.status.latest_cache_image == f"{run.cache_tag}@{written}"


async def test_after_a_failed_build_the_next_build_still_reads_the_last_good_digest(run: Run) -> None:
    def fail_build_two(pod: dict[str, Any]) -> failures.Failure | None:
        labels = pod["metadata"]["labels"]
        return failures.Failure("build") if labels.get(build_models.BUILD_NUMBER_LABEL) == "2" else None

    run.sb.fail(fail_build_two)
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    good = first.status.latest_cache_image
    assert good == f"{run.cache_tag}@{await run.sb.wiring.registry.resolve_digest(run.cache_tag)}"

    await run.sb.push_commit()
    _, failed = await run.wait_finished(2)
    assert failed.build_number() == 2
    succeeded = failed.status.condition("Succeeded")
    assert succeeded is not None
    assert succeeded.status == "False", succeeded
    assert not failed.status.latest_cache_image
    assert run.sb.cache_args(failed) == cache_image_args(reads=good, writes=run.cache_tag)

    await run.sb.push_commit()
    _, _, third = await run.wait_finished(3)

    assert (third.reason(), third.build_number()) == ("COMMIT", 3)
    assert run.sb.cache_args(third) == cache_image_args(reads=good, writes=run.cache_tag)
    assert third.succeeded(), third.status.condition("Succeeded")
    assert third.status.latest_cache_image != good
    await run.sb.wait_for(
        lambda: image_cache(run) == (third.status.latest_cache_image, 3),
        seconds=10,
        what="the Image to record build 3's cache image",
    )


def image_cache(run: Run) -> tuple[str | None, int | None]:
    """The Image's recorded cache image and the number of the build that wrote it."""
    status = (run.sb.emulator.get("images", run.name, run.namespace) or {}).get("status") or {}
    return status.get("latestCacheImage"), status.get("latestCacheBuildNumber")
