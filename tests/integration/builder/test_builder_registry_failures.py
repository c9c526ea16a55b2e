"""Registry refusals are the object's condition, not a crash (spec §6 item 4): a missing image and
a registry that wants credentials nobody gave fail the object naming the image and the problem, the
service goes on serving other objects, and the object recovers once the image or the credentials
are there."""

from __future__ import annotations

import pytest

from contracts import events
from services.registry import client as registry_client
from services.testbed.registry import cnb_images, registry_process
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration

ORDER = [{"group": [{"id": "kiln/go"}]}]


async def test_a_missing_lifecycle_image_fails_it_and_its_builder_until_the_image_is_pushed(
    bed: builder_bed.Bed,
) -> None:
    sample = await bed.push_sample()
    missing = f"{bed.prefix}/missing/lifecycle:0.17.2"
    lifecycle = bed.name("missing-lifecycle")
    await bed.apply(builder_bed.cluster_lifecycle(lifecycle, missing))

    await bed.deliver(events.BuilderInputChanged(kind="ClusterLifecycle", name=lifecycle))

    failed = bed.read("ClusterLifecycle", lifecycle)
    message = builder_bed.condition(failed, "Ready")["message"]
    assert builder_bed.condition(failed, "Ready")["status"] == "False"
    assert f"image {missing} not found" in message, message
    assert "404" in message, message
    assert set(failed["status"]) == {"conditions", "observedGeneration"}

    # the service goes on: the other inputs resolve, and a builder on the missing lifecycle says why
    inputs = await bed.add_inputs(sample)
    inputs = builder_bed.Inputs(stack=inputs.stack, lifecycle=lifecycle, store=inputs.store)
    name = bed.name("builder")
    await bed.apply(
        builder_bed.cluster_builder(name, tag=f"{bed.prefix}/builder", inputs=inputs, order=ORDER)
    )
    await bed.deliver(events.BuilderChanged(kind="ClusterBuilder", namespace="", name=name))
    waiting = bed.read("ClusterBuilder", name)
    assert builder_bed.conditions(waiting) == {
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
            "message": f"Error: clusterlifecycle '{lifecycle}' is not ready",
        },
    }
    assert "latestImage" not in waiting["status"]

    # the image is pushed (a registry notification or the periodic re-resolution brings it)
    await cnb_images.push_lifecycle_image(bed.registry, missing)
    await bed.deliver(events.BuilderInputChanged(kind="ClusterLifecycle", name=lifecycle))
    assert builder_bed.condition(bed.read("ClusterLifecycle", lifecycle), "Ready")["status"] == "True"
    assert await bed.deliver_published()
    made = bed.read("ClusterBuilder", name)
    assert [c["status"] for c in made["status"]["conditions"]] == ["True", "True"], made["status"]
    assert made["status"]["lifecycle"]["version"] == "0.17.2"


async def test_a_store_on_a_registry_that_wants_credentials_fails_until_its_service_account_has_them(
    bed: builder_bed.Bed, locked_registry: registry_process.RegistryProcess
) -> None:
    host = locked_registry.host
    go = f"{host}/kiln-builder-it/{bed.suffix}/buildpacks/go:1.0.0"
    logged_in = builder_bed.locked_keychain(host)
    async with registry_client.RegistryClient(logged_in, backoff=()) as pusher:
        await cnb_images.push_buildpackage(pusher, go, cnb_images.sample_buildpacks()["go"])
    sample = await bed.push_sample()
    store = bed.name("locked-store")
    await bed.apply(builder_bed.cluster_store(store, [go]))

    await bed.deliver(events.BuilderInputChanged(kind="ClusterStore", name=store))

    failed = bed.read("ClusterStore", store)
    message = builder_bed.condition(failed, "Ready")["message"]
    assert builder_bed.condition(failed, "Ready")["status"] == "False"
    assert message.startswith(f"image {go}: registry {host} requires basic auth"), message
    assert f"no credentials for {host}" in message, message
    assert "buildpacks" not in failed["status"]

    # the service goes on serving the other inputs
    inputs = await bed.add_inputs(sample)
    assert builder_bed.condition(bed.read("ClusterStack", inputs.stack), "Ready")["status"] == "True"

    # the store names a service account whose secret logs in: it resolves
    await bed.add_registry_account("store-puller", host=host, users=builder_bed.LOCKED_USERS)
    spec = builder_bed.cluster_store(
        store, [go], service_account={"name": "store-puller", "namespace": bed.namespace}
    )["spec"]
    await bed.update_spec("ClusterStore", store, spec)
    await bed.deliver(events.BuilderInputChanged(kind="ClusterStore", name=store))
    resolved = bed.read("ClusterStore", store)
    assert builder_bed.condition(resolved, "Ready")["status"] == "True", resolved["status"]
    assert [
        (bp["id"], bp["version"], bp["storeImage"]["image"]) for bp in resolved["status"]["buildpacks"]
    ] == [("kiln/go", "1.0.0", go)]


async def test_a_builder_tag_on_a_registry_that_refuses_it_fails_until_its_account_may_push(
    bed: builder_bed.Bed, locked_registry: registry_process.RegistryProcess
) -> None:
    host = locked_registry.host
    sample = await bed.push_sample()
    inputs = await bed.add_inputs(sample)
    name = bed.name("builder")
    tag = f"{host}/kiln-builder-it/{bed.suffix}/builder"
    await bed.apply(builder_bed.cluster_builder(name, tag=tag, inputs=inputs, order=ORDER))

    await bed.deliver(events.BuilderChanged(kind="ClusterBuilder", namespace="", name=name))

    refused = bed.read("ClusterBuilder", name)
    ready = builder_bed.condition(refused, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoLatestImage")
    up_to_date = builder_bed.condition(refused, "UpToDate")
    assert (up_to_date["status"], up_to_date["reason"]) == ("False", "ReconcileFailed")
    assert f"registry {host} requires basic auth" in up_to_date["message"], up_to_date
    assert f"{tag}:clusterbuilder-{name}-run-image" in up_to_date["message"], up_to_date

    # the builder's service account logs in: the image is made, its layers copied from the other registry
    await bed.add_registry_account("builder-pusher", host=host, users=builder_bed.LOCKED_USERS)
    spec = refused["spec"] | {"serviceAccountRef": {"name": "builder-pusher", "namespace": bed.namespace}}
    await bed.update_spec("ClusterBuilder", name, spec)
    await bed.deliver(events.BuilderChanged(kind="ClusterBuilder", namespace="", name=name))

    made = bed.read("ClusterBuilder", name)
    assert [c["status"] for c in made["status"]["conditions"]] == ["True", "True"], made["status"]
    assert made["status"]["latestImage"].startswith(f"{tag}:clusterbuilder-{name}@sha256:")
    build, run = [await bed.registry.fetch_image(ref) for ref in (sample.build_image, sample.run_image)]
    other_registry_blobs = (1 + len(run.layers)) + len(build.layers) + 1 + 1  # run; build, lifecycle, go
    stats = bed.registry.stats
    assert (stats.copies, stats.mounts, stats.mount_fallbacks) == (other_registry_blobs, 0, 0)


async def test_inputs_on_a_private_registry_go_into_a_builder_pushed_elsewhere_with_their_own_accounts(
    bed: builder_bed.Bed, locked_registry: registry_process.RegistryProcess
) -> None:
    """The stack's, lifecycle's and store's layers are copied to the builder's registry with the
    credentials of the service account each of them names, not the builder's (which has none)."""
    host = locked_registry.host
    logged_in = builder_bed.locked_keychain(host)
    async with registry_client.RegistryClient(logged_in, backoff=()) as pusher:
        sample = await cnb_images.push_sample_images(pusher, f"{host}/kiln-builder-it/{bed.suffix}/sample")
    await bed.add_registry_account("inputs-puller", host=host, users=builder_bed.LOCKED_USERS)
    inputs = await bed.add_inputs(
        sample, service_account={"name": "inputs-puller", "namespace": bed.namespace}
    )
    name = bed.name("builder")
    order = [{"group": [{"id": "kiln/nodejs"}]}, {"group": [{"id": "kiln/go"}]}]
    await bed.apply(
        builder_bed.cluster_builder(name, tag=f"{bed.prefix}/builder", inputs=inputs, order=order)
    )

    made = await bed.make("ClusterBuilder", name)

    assert [c["status"] for c in made["status"]["conditions"]] == ["True", "True"], made["status"]
    image = await bed.registry.fetch_image(made["status"]["latestImage"])
    build, run, lifecycle = [
        await bed.registry.fetch_image(ref, keychain=logged_in)
        for ref in (sample.build_image, sample.run_image, sample.lifecycle_image)
    ]
    assert image.layers[: len(build.layers)] == build.layers
    assert lifecycle.layers[-1] in image.layers
    for layer in image.layers:
        assert await bed.blob(image.repository, layer.digest), layer
    buildpacks = len(bed.read("ClusterStore", inputs.store)["status"]["buildpacks"])
    copied = (1 + len(run.layers)) + len(build.layers) + 1 + buildpacks
    assert (bed.registry.stats.copies, bed.registry.stats.mounts) == (copied, 0)
