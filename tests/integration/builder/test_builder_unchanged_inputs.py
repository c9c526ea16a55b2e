"""An unchanged input set makes the same image and writes nothing (spec §6 item 22): the store
resolved again (as the periodic re-resolution does) announces ``builder.outdated``, and the
builder made again finds its tag already at the planned digest."""

from __future__ import annotations

import dataclasses

import pytest

from contracts import events
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration


async def test_resolving_and_making_again_with_the_same_inputs_pushes_and_writes_nothing(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    name = bed.name("builder")
    tag = f"{bed.prefix}/builder"
    order = [{"group": [{"id": "kiln/nodejs"}]}, {"group": [{"id": "kiln/go"}]}]
    await bed.apply(builder_bed.cluster_builder(name, tag=tag, inputs=inputs, order=order))
    made = await bed.make("ClusterBuilder", name)
    assert builder_bed.condition(made, "Ready")["status"] == "True", made["status"]
    store = bed.read("ClusterStore", inputs.store)
    stats, tags = dataclasses.replace(bed.registry.stats), await bed.tags(tag)

    again = await bed.resolve("ClusterStore", inputs.store)
    delivered = await bed.deliver_published()

    assert again["metadata"]["resourceVersion"] == store["metadata"]["resourceVersion"]
    assert delivered == [
        events.BuilderOutdated(
            kind="ClusterBuilder", namespace="", name=name, cause=f"ClusterStore/{inputs.store}"
        )
    ]
    remade = bed.read("ClusterBuilder", name)
    assert remade["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
    assert remade["status"] == made["status"]
    assert bed.registry.stats.manifests == stats.manifests
    assert (bed.registry.stats.mounts, bed.registry.stats.uploads) == (stats.mounts, stats.uploads)
    assert await bed.tags(tag) == tags
    assert (
        await bed.registry.resolve_digest(made["status"]["latestImage"].split("@")[0])
        == (made["status"]["latestImage"].split("@")[1])
    )
