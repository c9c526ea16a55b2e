"""The Kube adapter against the emulator over HTTP: every verb for every kind, typed results."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builders, builds, images, source_resolvers
from services.kube import resources
from tests.integration.kube import kube_support as support

TYPES: dict[str, type[Any]] = {
    "images": images.Image,
    "builds": builds.Build,
    "builders": builders.Builder,
    "cluster_builders": builders.Builder,
    "source_resolvers": source_resolvers.SourceResolver,
    "pods": dict,
    "pvcs": dict,
}


def _status_patch(kind: str) -> dict[str, Any]:
    if kind == "pods":
        return {"status": {"phase": "Running"}}
    if kind == "pvcs":
        return {"status": {"phase": "Bound"}}
    return {"status": {"observedGeneration": 7}}


@pytest.mark.parametrize("kind", support.KINDS)
async def test_each_kind_goes_through_create_get_list_replace_patch_and_delete(
    kube: resources.Kube, namespace: str, kind: str
) -> None:
    resource, make = support.resource(kube, kind), support.FACTORIES[kind]
    created = await resource.create(make("one", namespace, labels={"test": namespace, "app": "a"}))
    await resource.create(make("two", namespace, labels={"test": namespace, "app": "b"}))
    md = support.meta_of(created)
    name, ns = md["name"], md.get("namespace", "")
    assert isinstance(created, TYPES[kind])
    assert md["uid"]
    assert md["resourceVersion"]

    got = await resource.get(name, namespace=ns)
    listed = await resource.list(namespace=ns or None, label_selector=f"test={namespace},app=a")
    assert support.meta_of(got)["uid"] == md["uid"]
    assert [support.meta_of(o)["name"] for o in listed] == [name]

    raw = support.dump(got)
    raw["metadata"]["labels"]["replaced"] = "yes"
    replaced = await resource.replace(support.load(kube, kind, raw))
    patched = await resource.patch(name, {"metadata": {"annotations": {"note": "merged"}}}, namespace=ns)
    with_status = await resource.patch_status(name, _status_patch(kind), namespace=ns)
    assert support.meta_of(replaced)["labels"]["replaced"] == "yes"
    assert support.meta_of(patched)["annotations"] == {"note": "merged"}
    assert support.meta_of(patched)["labels"]["replaced"] == "yes"
    assert support.dump(with_status)["status"] == {**_status_patch(kind)["status"]}

    await resource.delete(name, namespace=ns, uid=md["uid"])
    assert await resource.find(name, namespace=ns) is None
    remaining = await resource.list(namespace=ns or None, label_selector=f"test={namespace}")
    assert [support.meta_of(o)["name"] for o in remaining] == [
        support.meta_of(make("two", namespace))["name"]
    ]


async def test_replace_status_writes_the_status_subresource_only(
    kube: resources.Kube, namespace: str
) -> None:
    created = await kube.images.create(support.image("app", namespace))
    status = images.ImageStatus.model_validate(
        {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}], "latestImage": "r@x"}
    )
    changed_spec = created.spec.with_(tag="registry.example/other")

    written = await kube.images.replace_status(created.with_(status=status, spec=changed_spec))

    assert written.status.is_true("Ready")
    assert written.status.latest_image == "r@x"
    assert written.spec.tag == "registry.example/app", "a status write must not change the spec"


async def test_a_spec_patch_cannot_change_the_status(kube: resources.Kube, namespace: str) -> None:
    await kube.builds.create(support.build("b", namespace))

    patched = await kube.builds.patch(
        "b", {"spec": {"tags": ["registry.example/x"]}, "status": {"podName": "nope"}}, namespace=namespace
    )

    assert patched.spec.tags == ["registry.example/x"]
    assert patched.status.pod_name is None


async def test_a_merge_patch_null_removes_a_key(kube: resources.Kube, namespace: str) -> None:
    await kube.pods.create(support.pod("p", namespace, labels={"keep": "1", "drop": "1"}))

    patched = await kube.pods.patch("p", {"metadata": {"labels": {"drop": None}}}, namespace=namespace)

    assert patched["metadata"]["labels"] == {"keep": "1"}


async def test_builder_kind_picks_the_namespaced_or_cluster_resource(kube: resources.Kube) -> None:
    assert kube.builder_kind("Builder") is kube.builders
    assert kube.builder_kind("ClusterBuilder") is kube.cluster_builders
    with pytest.raises(ValueError, match="unknown builder kind"):
        kube.builder_kind("Stack")
