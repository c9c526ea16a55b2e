"""A new buildpack version pushed to the tag a store names (spec §2.9, §6 items 23 and 32): the
store resolves it, and a builder whose group entry has no version gets a new image with it, while
one pinned to the old version (still in the store from another source) keeps its image untouched."""

from __future__ import annotations

import dataclasses
import json

import pytest

from services.testbed.registry import cnb_images
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration


async def test_a_new_version_in_the_store_reaches_unversioned_builders_and_not_pinned_ones(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    released = f"{bed.prefix}/store/go:1.0.0"
    moving = f"{bed.prefix}/store/go:latest"
    for ref in (released, moving):
        await cnb_images.push_buildpackage(bed.registry, ref, cnb_images.sample_buildpacks()["go"])
    inputs = await bed.add_inputs(sample, store_sources=[released, moving])
    latest, pinned = bed.name("latest"), bed.name("pinned")
    for name, entry in ((latest, {"id": "kiln/go"}), (pinned, {"id": "kiln/go", "version": "1.0.0"})):
        order = [{"group": [entry]}]
        await bed.apply(
            builder_bed.cluster_builder(name, tag=f"{bed.prefix}/{name}", inputs=inputs, order=order)
        )
    first = {name: await bed.make("ClusterBuilder", name) for name in (latest, pinned)}
    for made in first.values():
        assert made["status"]["builderMetadata"] == [{"id": "kiln/go", "version": "1.0.0"}], made["status"]

    await cnb_images.push_buildpackage(
        bed.registry, moving, cnb_images.sample_buildpacks(version="2.0.0")["go"]
    )
    store = await bed.resolve("ClusterStore", inputs.store)
    stats = dataclasses.replace(bed.registry.stats)
    delivered = await bed.deliver_published()

    assert [(bp["id"], bp["version"], bp["storeImage"]["image"]) for bp in store["status"]["buildpacks"]] == [
        ("kiln/go", "1.0.0", released),
        ("kiln/go", "2.0.0", moving),
    ]
    assert sorted(d.name for d in delivered) == sorted((latest, pinned))

    moved = bed.read("ClusterBuilder", latest)
    assert [c["status"] for c in moved["status"]["conditions"]] == ["True", "True"], moved["status"]
    assert moved["status"]["latestImage"] != first[latest]["status"]["latestImage"]
    assert moved["status"]["builderMetadata"] == [{"id": "kiln/go", "version": "2.0.0"}]
    assert moved["status"]["order"] == [{"group": [{"id": "kiln/go", "version": "2.0.0"}]}]
    image = await bed.registry.fetch_image(moved["status"]["latestImage"])
    [new_go] = [bp for bp in store["status"]["buildpacks"] if bp["version"] == "2.0.0"]
    layers = json.loads(image.labels["io.buildpacks.buildpack.layers"])
    assert list(layers["kiln/go"]) == ["2.0.0"]
    assert layers["kiln/go"]["2.0.0"]["layerDiffID"] == new_go["diffId"]
    assert [
        bp["version"] for bp in json.loads(image.labels["io.buildpacks.builder.metadata"])["buildpacks"]
    ] == ["2.0.0"]
    assert new_go["digest"] in [layer.digest for layer in image.layers]

    kept = bed.read("ClusterBuilder", pinned)
    assert kept["metadata"]["resourceVersion"] == first[pinned]["metadata"]["resourceVersion"]
    assert kept["status"]["latestImage"] == first[pinned]["status"]["latestImage"]
    assert kept["status"]["builderMetadata"] == [{"id": "kiln/go", "version": "1.0.0"}]
    tag, digest = kept["status"]["latestImage"].split("@")
    assert await bed.registry.resolve_digest(tag) == digest
    # only the moved builder was pushed: its tag and its timestamp tag
    assert bed.registry.stats.manifests - stats.manifests == 2
