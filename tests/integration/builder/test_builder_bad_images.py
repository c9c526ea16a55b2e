"""A bad image pushed over a good one (spec §6 items 3, 5, 21): the store or stack gets kpack's
condition and loses what it had resolved, and builders made before keep their last good image —
``Ready`` True, ``UpToDate`` False ``ReconcileFailed`` with kpack's message — while the registry
keeps that image where it was."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from services.testbed.registry import cnb_images
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration

ORDER = [{"group": [{"id": "kiln/nodejs"}]}, {"group": [{"id": "kiln/go"}]}]
OTHER_STACK = "io.buildpacks.stacks.other"


def _kept_with(made: dict[str, Any], now: dict[str, Any], *, message: str) -> None:
    """``now`` is ``made`` with its last good image and record, UpToDate False for ``message``."""
    assert builder_bed.conditions(now) == {
        "Ready": {"type": "Ready", "status": "True"},
        "UpToDate": {"type": "UpToDate", "status": "False", "reason": "ReconcileFailed", "message": message},
    }
    kept = {key: value for key, value in now["status"].items() if key != "conditions"}
    assert kept == {key: value for key, value in made["status"].items() if key != "conditions"}


async def test_a_store_image_without_the_layers_label_fails_the_store_and_builders_keep_their_image(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    name, tag = bed.name("builder"), f"{bed.prefix}/builder"
    await bed.apply(builder_bed.cluster_builder(name, tag=tag, inputs=inputs, order=ORDER))
    made = await bed.make("ClusterBuilder", name)
    assert builder_bed.condition(made, "UpToDate")["status"] == "True", made["status"]
    latest_tag, latest_digest = made["status"]["latestImage"].split("@")

    await cnb_images.push_buildpackage(
        bed.registry,
        sample.store_images["nodejs"],
        cnb_images.sample_buildpacks()["nodejs"],
        label_overrides={cnb_images.BUILDPACK_LAYERS_LABEL: None},
    )
    store = await bed.resolve("ClusterStore", inputs.store)
    manifests = bed.registry.stats.manifests
    delivered = await bed.deliver_published()

    assert builder_bed.conditions(store) == {
        "Ready": {
            "type": "Ready",
            "status": "False",
            "message": "could not find label io.buildpacks.buildpack.layers",
        }
    }
    assert "buildpacks" not in store["status"]
    assert [(d.kind, d.name) for d in delivered] == [("ClusterBuilder", name)]
    _kept_with(
        made, bed.read("ClusterBuilder", name), message="could not find buildpack with id 'kiln/nodejs'"
    )
    assert bed.registry.stats.manifests == manifests
    assert await bed.registry.resolve_digest(latest_tag) == latest_digest

    # the good buildpackage is pushed back: the same image again, nothing pushed, up to date
    await cnb_images.push_buildpackage(
        bed.registry, sample.store_images["nodejs"], cnb_images.sample_buildpacks()["nodejs"]
    )
    assert builder_bed.condition(await bed.resolve("ClusterStore", inputs.store), "Ready")["status"] == "True"
    manifests = bed.registry.stats.manifests
    await bed.deliver_published()
    recovered = bed.read("ClusterBuilder", name)
    assert builder_bed.conditions(recovered) == builder_bed.conditions(made)
    assert recovered["status"] == made["status"] | {"conditions": recovered["status"]["conditions"]}
    assert bed.registry.stats.manifests == manifests


async def test_a_deleted_store_fails_its_builders_naming_it_and_they_keep_their_image(
    bed: builder_bed.Bed,
) -> None:
    """The service told of the deletion (spec §6 item 19). Note: the bridge announces no
    ``builder.input.changed`` for a deleted input today, so in a running Kiln this waits for the
    builder's next reconcile."""
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    name = bed.name("builder")
    await bed.apply(
        builder_bed.cluster_builder(name, tag=f"{bed.prefix}/builder", inputs=inputs, order=ORDER)
    )
    made = await bed.make("ClusterBuilder", name)
    assert builder_bed.condition(made, "UpToDate")["status"] == "True", made["status"]

    await bed.kube.cluster_stores.delete(inputs.store)
    await bed.resolve_deleted("ClusterStore", inputs.store)
    await bed.deliver_published()

    _kept_with(
        made, bed.read("ClusterBuilder", name), message=f'clusterstore.kpack.io "{inputs.store}" not found'
    )


async def test_a_run_image_of_another_stack_fails_the_stack_and_both_builder_kinds_keep_their_image(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    cluster_name, namespaced_name = bed.name("cluster"), bed.name("namespaced")
    await bed.apply(
        builder_bed.cluster_builder(cluster_name, tag=f"{bed.prefix}/cluster", inputs=inputs, order=ORDER)
    )
    await bed.apply(
        builder_bed.builder(
            namespaced_name,
            bed.namespace,
            tag=f"{bed.prefix}/namespaced",
            inputs=inputs,
            order=[{"group": [{"id": "kiln/go"}]}],
            store=inputs.store,
        )
    )
    cluster_made = await bed.make("ClusterBuilder", cluster_name)
    namespaced_made = await bed.make("Builder", namespaced_name, namespace=bed.namespace)
    for made in (cluster_made, namespaced_made):
        assert builder_bed.condition(made, "UpToDate")["status"] == "True", made["status"]

    await cnb_images.push_run_image(bed.registry, sample.run_image, stack_id=OTHER_STACK, serial="2")
    stack = await bed.resolve("ClusterStack", inputs.stack)
    stats = dataclasses.replace(bed.registry.stats)
    delivered = await bed.deliver_published()

    assert builder_bed.conditions(stack) == {
        "Ready": {
            "type": "Ready",
            "status": "False",
            "message": (
                f"invalid stack images. expected stack: {cnb_images.DEFAULT_STACK}, "
                f"build image stack: {cnb_images.DEFAULT_STACK}, run image stack: {OTHER_STACK}"
            ),
        }
    }
    assert set(stack["status"]) == {"conditions", "observedGeneration"}
    assert sorted((d.kind, d.name) for d in delivered) == [
        ("Builder", namespaced_name),
        ("ClusterBuilder", cluster_name),
    ]
    _kept_with(
        cluster_made, bed.read("ClusterBuilder", cluster_name), message=f"stack {inputs.stack} is not ready"
    )
    _kept_with(
        namespaced_made,
        bed.read("Builder", namespaced_name, namespace=bed.namespace),
        message=f"Error: clusterstack '{inputs.stack}' is not ready",
    )
    assert bed.registry.stats == stats, "a builder whose stack is not ready reads and writes nothing"
