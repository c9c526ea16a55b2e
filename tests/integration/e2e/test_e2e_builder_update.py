"""Builder updates end to end: new buildpacks rebuild (BUILDPACK), a new run image alone rebases (STACK).

The ClusterBuilder's status is written the way kpack's builder controller does after it publishes
a new builder image; the bridge sees the change, the image-reconciler fans it out to the Image.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio import client

from services.testbed.registry import builders as registry_builders
from services.testbed.sandbox import examples

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

GROUP, VERSION = "kpack.io", "v1alpha2"
NEW_BUILDPACKS = [{"id": "paketo-buildpacks/go", "version": "4.14.0"}]


async def update_builder_status(run: Run, change: Any) -> None:
    custom = client.CustomObjectsApi(run.sb.wiring.api)
    builder = await custom.get_cluster_custom_object(GROUP, VERSION, "clusterbuilders", "default")
    change(builder["status"])
    await custom.replace_cluster_custom_object_status(GROUP, VERSION, "clusterbuilders", "default", builder)


async def test_new_buildpacks_rebuild_and_a_new_run_image_alone_rebases_without_cache(run: Run) -> None:
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    assert first.succeeded(), first.status.condition("Succeeded")
    old_run_image = f"{run.sb.registry_host}/sandbox/run@sha256:{'0' * 64}"
    assert first.spec.run_image is not None
    assert first.spec.run_image.image == old_run_image

    repository = run.sb.builder_image.split("@")[0]
    digest = await registry_builders.push_builder_image(
        run.sb.wiring.registry,
        repository,
        stack_id=examples.STACK_ID,
        run_image=old_run_image.split("@")[0],
        platform_apis=["0.7", "0.8", "0.9"],
        buildpacks=NEW_BUILDPACKS,
        lifecycle_version=examples.LIFECYCLE_VERSION,
    )
    new_builder = f"{repository}@{digest}"
    assert new_builder != run.sb.builder_image
    await update_builder_status(
        run, lambda status: status.update(latestImage=new_builder, builderMetadata=NEW_BUILDPACKS)
    )

    _, second = await run.wait_finished(2)

    assert (second.reason(), second.build_number()) == ("BUILDPACK", 2)
    assert second.spec.builder.image == new_builder
    assert second.succeeded(), second.status.condition("Succeeded")
    assert [(bp.id, bp.version) for bp in second.status.build_metadata or []] == [
        ("paketo-buildpacks/go", "4.14.0")
    ]
    assert run.sb.cache_args(second)["analyze"] == [f"-cache-image={first.status.latest_cache_image}"]

    new_run_image = f"{run.sb.registry_host}/sandbox/run@sha256:{'1' * 64}"
    await update_builder_status(run, lambda status: status["stack"].update(runImage=new_run_image))

    *_, third = await run.wait_created(3)
    await run.sb.wait_for(lambda: run.sb.pod(third) is not None, seconds=10, what="the rebase pod")

    assert (third.reason(), third.build_number()) == ("STACK", 3)
    assert json.loads(third.annotations["image.kpack.io/buildChanges"]) == [
        {"reason": "STACK", "old": f"sha256:{'0' * 64}", "new": f"sha256:{'1' * 64}"}
    ]
    pod = run.sb.pod(third)
    assert pod is not None
    [rebase] = pod["spec"]["initContainers"]
    assert rebase["name"] == "rebase"
    assert run.sb.cache_args(third) == {"rebase": []}
    assert rebase["args"] == [
        "--run-image",
        new_run_image,
        "--last-built-image",
        second.status.latest_image,
        "--report",
        "/var/report/report.toml",
        run.tag,
        third.spec.tags[1],
    ]
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["report-dir", "notary-dir"]
    all_args = [
        a for c in pod["spec"]["initContainers"] + pod["spec"]["containers"] for a in c.get("args", [])
    ]
    assert [a for a in all_args if "cache" in a] == []
