"""Buildpacks from Buildpack and ClusterBuildpack objects (spec §2.6): a namespaced Builder takes
the root of a Buildpack of its namespace by ``kind``/``name`` and an id from a ClusterBuildpack; a
ClusterBuilder cannot name a Buildpack; a Buildpack's change remakes the Builders of its
namespace only, a ClusterBuildpack's every builder."""

from __future__ import annotations

import pytest

from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration


async def test_a_builder_takes_a_buildpack_of_its_namespace_by_name_and_an_id_from_a_cluster_buildpack(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    namespace, nodejs, go = bed.namespace, "nodejs", bed.name("go")
    await bed.apply(builder_bed.buildpack(nodejs, namespace, sample.store_images["nodejs"]))
    await bed.apply(builder_bed.cluster_buildpack(go, sample.store_images["go"]))
    nodejs_status = (await bed.resolve("Buildpack", nodejs, namespace=namespace))["status"]
    go_status = (await bed.resolve("ClusterBuildpack", go))["status"]
    assert [bp["id"] for bp in nodejs_status["buildpacks"]] == ["kiln/node", "kiln/nodejs", "kiln/npm"]
    assert [bp["id"] for bp in go_status["buildpacks"]] == ["kiln/go"]
    name, cluster_name = bed.name("builder"), bed.name("cluster-builder")
    order = [{"group": [{"kind": "Buildpack", "name": nodejs}]}, {"group": [{"id": "kiln/go"}]}]
    await bed.apply(
        builder_bed.builder(name, namespace, tag=f"{bed.prefix}/builder", inputs=inputs, order=order)
    )
    await bed.apply(
        builder_bed.cluster_builder(
            cluster_name,
            tag=f"{bed.prefix}/cluster-builder",
            inputs=inputs,
            order=[{"group": [{"kind": "Buildpack", "name": nodejs}]}],
        )
    )

    made = await bed.make("Builder", name, namespace=namespace)
    refused = await bed.make("ClusterBuilder", cluster_name)

    assert [c["status"] for c in made["status"]["conditions"]] == ["True", "True"], made["status"]
    assert made["status"]["latestImage"].startswith(
        f"{bed.prefix}/builder:builder-{namespace}-{name}@sha256:"
    )
    assert made["status"]["order"] == [
        {"group": [{"id": "kiln/nodejs", "version": "1.0.0"}]},
        {"group": [{"id": "kiln/go", "version": "1.0.0"}]},
    ]
    assert [(bp["id"], bp["version"]) for bp in made["status"]["builderMetadata"]] == [
        ("kiln/node", "1.0.0"),
        ("kiln/npm", "1.0.0"),
        ("kiln/go", "1.0.0"),
        ("kiln/nodejs", "1.0.0"),
    ]
    image = await bed.registry.fetch_image(made["status"]["latestImage"])
    found = {(bp["diffId"], bp["digest"]) for bp in nodejs_status["buildpacks"] + go_status["buildpacks"]}
    assert found <= set(zip(image.diff_ids, [layer.digest for layer in image.layers], strict=True))
    assert builder_bed.conditions(refused) == {
        "Ready": {
            "type": "Ready",
            "status": "False",
            "reason": "NoLatestImage",
            "message": "Builder has no latestImage",
        },
        "UpToDate": {
            "type": "UpToDate",
            "status": "False",
            "reason": "ReconcileFailed",
            "message": f"no buildpack with name '{nodejs}'",
        },
    }

    # who is made again when each changes
    await bed.resolve("Buildpack", nodejs, namespace=namespace)
    assert bed.publisher.take_outdated() == [("Builder", namespace, name)]
    await bed.resolve("ClusterBuildpack", go)
    assert bed.publisher.take_outdated() == [
        ("Builder", namespace, name),
        ("ClusterBuilder", "", cluster_name),
    ]
