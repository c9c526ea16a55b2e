"""The builder image Kiln makes, read back from the real registry as kpack's own would read
(spec §3.8): its layers in kpack's order, kpack's labels, the relocated run image, the Builder's
status; and its buildpack layers mounted across repositories rather than copied."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from contracts import oci
from services.builder import service as builder_service
from services.testbed.registry import cnb_images
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration

ORDER = [{"group": [{"id": "kiln/nodejs"}]}, {"group": [{"id": "kiln/go"}]}]
"""The meta-buildpack (which brings ``kiln/node`` and ``kiln/npm``) and ``kiln/go``, unversioned."""
RESOLVED_ORDER = [
    {"group": [{"id": "kiln/nodejs", "version": "1.0.0"}]},
    {"group": [{"id": "kiln/go", "version": "1.0.0"}]},
]
APIS = {
    "buildpack": {"deprecated": None, "supported": ["0.7", "0.8", "0.9"]},
    "platform": {"deprecated": None, "supported": ["0.7", "0.8", "0.9"]},
}
KPACK_MTIME = 315532801
"""1980-01-01T00:00:01Z, the mtime of every entry kpack writes."""


async def _made_builder(bed: builder_bed.Bed) -> tuple[cnb_images.SampleImages, builder_bed.Inputs, str]:
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    name = bed.name("builder")
    await bed.apply(
        builder_bed.cluster_builder(name, tag=f"{bed.prefix}/builder", inputs=inputs, order=ORDER)
    )
    return sample, inputs, name


async def test_the_builder_image_reads_back_with_kpacks_layers_labels_and_status(
    bed: builder_bed.Bed,
) -> None:
    sample, inputs, name = await _made_builder(bed)

    made = await bed.make("ClusterBuilder", name)

    resolved_tag = f"{bed.prefix}/builder:clusterbuilder-{name}"
    latest = made["status"]["latestImage"]
    assert latest.startswith(f"{resolved_tag}@sha256:")
    image = await bed.registry.fetch_image(latest)
    assert await bed.registry.resolve_digest(resolved_tag) == image.digest == latest.split("@")[1]
    build, run, lifecycle = [
        await bed.registry.fetch_image(ref)
        for ref in (sample.build_image, sample.run_image, sample.lifecycle_image)
    ]
    store = bed.read("ClusterStore", inputs.store)["status"]["buildpacks"]
    await _assert_store_is_the_buildpackages(bed, store)

    # layers: the build image's, dirs, the lifecycle's last, buildpacks by size, stack.toml, order.toml
    by_size = sorted(store, key=lambda bp: (bp["size"], f"{bp['id']}@{bp['version']}"), reverse=True)
    assert [bp["id"] for bp in by_size] == ["kiln/node", "kiln/npm", "kiln/go", "kiln/nodejs"]
    base = len(build.layers)
    assert image.layers[:base] == build.layers
    assert image.diff_ids[:base] == build.diff_ids
    assert image.layers[base + 1] == lifecycle.layers[-1]
    assert image.diff_ids[base + 1] == lifecycle.diff_ids[-1]
    added = image.layers[base + 2 : base + 2 + len(by_size)]
    assert [(layer.digest, layer.size) for layer in added] == [(bp["digest"], bp["size"]) for bp in by_size]
    assert image.diff_ids[base + 2 : base + 2 + len(by_size)] == [bp["diffId"] for bp in by_size]
    assert {layer.media_type for layer in added} == {oci.DOCKER_LAYER_GZIP}
    assert len(image.layers) == len(image.diff_ids) == base + 2 + len(by_size) + 2
    dirs, stack_toml, order_toml = [
        builder_bed.open_layer(await bed.blob(image.repository, image.layers[i].digest))
        for i in (base, -2, -1)
    ]
    assert [dirs.diff_id, stack_toml.diff_id, order_toml.diff_id] == [
        image.diff_ids[i] for i in (base, -2, -1)
    ]
    assert [layer.ends_after_zero_blocks for layer in (dirs, stack_toml, order_toml)] == [True] * 3
    assert [(e.name, e.typeflag, e.mode, e.uid, e.gid, e.mtime, e.uname, e.gname) for e in dirs.entries] == [
        ("/workspace", "5", 0o755, 1000, 1000, KPACK_MTIME, "", ""),
        ("/layers", "5", 0o755, 1000, 1000, KPACK_MTIME, "", ""),
        ("/cnb", "5", 0o755, 0, 0, KPACK_MTIME, "", ""),
        ("/cnb/buildpacks", "5", 0o755, 0, 0, KPACK_MTIME, "", ""),
        ("/platform", "5", 0o755, 0, 0, KPACK_MTIME, "", ""),
        ("/platform/env", "5", 0o755, 0, 0, KPACK_MTIME, "", ""),
    ]

    # the run image, relocated beside the builder and named by stack.toml and the metadata label
    relocated = f"{resolved_tag}-run-image@{run.digest}"
    assert await bed.registry.resolve_digest(f"{resolved_tag}-run-image") == run.digest
    [stack_file] = stack_toml.entries
    assert (stack_file.name, stack_file.typeflag, stack_file.mode, stack_file.uid, stack_file.mtime) == (
        "/cnb/stack.toml",
        "0",
        0o644,
        0,
        KPACK_MTIME,
    )
    assert stack_file.content.decode() == f'[run-image]\n  image = "{relocated}"\n'
    [order_file] = order_toml.entries
    assert order_file.name == "/cnb/order.toml"
    assert order_file.content.decode() == (
        '[[order]]\n\n  [[order.group]]\n    id = "kiln/nodejs"\n    version = "1.0.0"\n'
        '\n[[order]]\n\n  [[order.group]]\n    id = "kiln/go"\n    version = "1.0.0"\n'
    )

    # config and labels
    container, built = image.config["config"], build.config["config"]
    assert container["WorkingDir"] == "/layers"
    assert (container["Env"], container["User"]) == (built["Env"], built["User"])
    assert (image.os, image.architecture) == (build.os, build.architecture) == ("linux", "amd64")
    assert {key: image.labels[key] for key in build.labels} == build.labels
    assert image.labels["io.buildpacks.stack.id"] == cnb_images.DEFAULT_STACK
    assert image.labels["io.buildpacks.lifecycle.version"] == "0.17.2"
    assert json.loads(image.labels["io.buildpacks.buildpack.order"]) == RESOLVED_ORDER
    assert json.loads(image.labels["io.buildpacks.buildpack.layers"]) == await _packaged_layers(bed, sample)
    assert json.loads(image.labels["io.buildpacks.lifecycle.apis"]) == APIS
    in_layer_order = [_info(bp) for bp in by_size]
    metadata = json.loads(image.labels["io.buildpacks.builder.metadata"])
    created_by = metadata.pop("createdBy")  # Kiln names itself here, not kpack
    assert (bool(created_by["name"]), created_by["version"]) == (True, builder_service.CREATED_BY_VERSION)
    assert metadata == {
        "description": "Custom Builder built with kpack",
        "stack": {"runImage": {"image": relocated, "mirrors": None}},
        "lifecycle": {"version": "0.17.2", "api": {"buildpack": "0.9", "platform": "0.9"}, "apis": APIS},
        "buildpacks": in_layer_order,
    }
    assert image.config["history"][-8:] == [{"created": "0001-01-01T00:00:00Z"}] * 8

    # a timestamp tag of the same image beside the resolved tag
    stamps = [tag for tag in await bed.tags(f"{bed.prefix}/builder") if re.fullmatch(r"\d{14}", tag)]
    digests = [await bed.registry.resolve_digest(f"{bed.prefix}/builder:{stamp}") for stamp in stamps]
    assert image.digest in digests

    # the Builder's status
    stack = bed.read("ClusterStack", inputs.stack)
    assert builder_bed.conditions(made) == {
        "Ready": {"type": "Ready", "status": "True"},
        "UpToDate": {"type": "UpToDate", "status": "True"},
    }
    status = {key: value for key, value in made["status"].items() if key != "conditions"}
    assert status == {
        "observedGeneration": made["metadata"]["generation"],
        "latestImage": f"{resolved_tag}@{image.digest}",
        "builderMetadata": in_layer_order,
        "order": RESOLVED_ORDER,
        "stack": {"runImage": relocated, "id": cnb_images.DEFAULT_STACK},
        "lifecycle": {
            "image": {},
            "version": "0.17.2",
            "api": {"buildpack": "0.9", "platform": "0.9"},
            "apis": APIS,
        },
        "observedStackGeneration": stack["status"]["observedGeneration"],
        "observedStoreGeneration": bed.read("ClusterStore", inputs.store)["status"]["observedGeneration"],
        "os": "linux",
    }


async def test_buildpack_and_stack_layers_are_mounted_not_downloaded_and_uploaded(
    bed: builder_bed.Bed,
) -> None:
    sample, inputs, name = await _made_builder(bed)
    build = await bed.registry.fetch_image(sample.build_image)
    run = await bed.registry.fetch_image(sample.run_image)
    store = bed.read("ClusterStore", inputs.store)["status"]["buildpacks"]
    before = dataclasses.replace(bed.registry.stats)

    made = await bed.make("ClusterBuilder", name)

    assert builder_bed.condition(made, "Ready")["status"] == "True", made["status"]
    after = bed.registry.stats
    # run image: config + layers; builder: the build image's layers, the lifecycle layer, 4 buildpacks
    existing = (1 + len(run.layers)) + len(build.layers) + 1 + len(store)
    assert (after.copies, after.mount_fallbacks, after.downloaded_bytes) == (0, 0, 0)
    assert after.mounts - before.mounts == existing
    # new bytes: the builder's config, the dirs, stack.toml and order.toml layers
    assert after.uploads - before.uploads == 4
    image = await bed.registry.fetch_image(made["status"]["latestImage"])
    for layer in image.layers:
        assert await bed.blob(image.repository, layer.digest), layer


async def _assert_store_is_the_buildpackages(bed: builder_bed.Bed, store: list[dict[str, Any]]) -> None:
    """Each store entry's digest, size and diffID are those of a layer of its buildpackage."""
    for bp in store:
        package = await bed.registry.fetch_image(bp["storeImage"]["image"])
        layers = {
            d: (layer.digest, layer.size) for layer, d in zip(package.layers, package.diff_ids, strict=True)
        }
        assert layers[bp["diffId"]] == (bp["digest"], bp["size"]), bp


async def _packaged_layers(bed: builder_bed.Bed, sample: cnb_images.SampleImages) -> dict[str, Any]:
    """The ``io.buildpacks.buildpack.layers`` labels of the buildpackages, merged."""
    merged: dict[str, Any] = {}
    for ref in sample.store_images.values():
        package = await bed.registry.fetch_image(ref)
        for bp_id, versions in json.loads(package.labels["io.buildpacks.buildpack.layers"]).items():
            merged.setdefault(bp_id, {}).update(versions)
    return merged


def _info(bp: dict[str, Any]) -> dict[str, str]:
    return {
        "id": bp["id"],
        "version": bp["version"],
        **({"homepage": bp["homepage"]} if bp.get("homepage") else {}),
    }
