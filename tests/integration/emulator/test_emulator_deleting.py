"""Deletion: preconditions, finalizers, cascading garbage collection through ownerReferences."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator
from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION


async def test_delete_removes_the_object(custom: client.CustomObjectsApi, namespace: str) -> None:
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image("gone"))

    deleted = await custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "images", "gone")

    assert deleted["metadata"]["name"] == "gone"
    with pytest.raises(ApiException) as missing:
        await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", "gone")
    assert missing.value.status == 404
    with pytest.raises(ApiException) as again:
        await custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "images", "gone")
    assert again.value.status == 404


@pytest.mark.parametrize("field", ["uid", "resourceVersion"], ids=["uid", "resource version"])
async def test_delete_preconditions_that_do_not_hold_are_409(
    core: client.CoreV1Api, namespace: str, field: str
) -> None:
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    options = client.V1DeleteOptions(preconditions=client.V1Preconditions(**{_snake(field): "stale"}))

    with pytest.raises(ApiException) as conflict:
        await core.delete_namespaced_config_map("cm", namespace, body=options)

    assert conflict.value.status == 409
    assert "Precondition failed" in json.loads(conflict.value.body)["message"]


def _snake(field: str) -> str:
    return "resource_version" if field == "resourceVersion" else field


async def test_delete_preconditions_that_hold(core: client.CoreV1Api, namespace: str) -> None:
    created = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    preconditions = client.V1Preconditions(
        uid=created.metadata.uid, resource_version=created.metadata.resource_version
    )

    await core.delete_namespaced_config_map(
        "cm", namespace, body=client.V1DeleteOptions(preconditions=preconditions)
    )

    assert (await core.list_namespaced_config_map(namespace)).items == []


async def test_deleting_an_owner_collects_its_dependents_recursively(
    custom: client.CustomObjectsApi, core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    owner = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image("app")
    )
    build_body = {"metadata": {"name": "app-build-1", "ownerReferences": [support.owner_reference(owner)]}}
    build = await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "builds", build_body)
    pod_body = {
        "metadata": {"name": "app-build-1-pod", "ownerReferences": [support.owner_reference(build)]},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    await core.create_namespaced_pod(namespace, pod_body)
    pvc_body = {"metadata": {"name": "app-cache", "ownerReferences": [support.owner_reference(owner)]}}
    await core.create_namespaced_persistent_volume_claim(namespace, pvc_body)
    await core.create_namespaced_config_map(namespace, {"metadata": {"name": "unrelated"}})

    await custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "images", "app")

    assert emulator.objects("builds", namespace) == []
    assert emulator.objects("pods", namespace) == []
    assert emulator.objects("pvc", namespace) == []
    assert [o["metadata"]["name"] for o in emulator.objects("configmaps", namespace)] == ["unrelated"]


async def test_orphan_propagation_keeps_dependents_without_the_reference(
    custom: client.CustomObjectsApi, emulator: Emulator, namespace: str
) -> None:
    owner = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image("app")
    )
    build_body = {"metadata": {"name": "b", "ownerReferences": [support.owner_reference(owner)]}}
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "builds", build_body)

    await custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", "app", body=client.V1DeleteOptions(propagation_policy="Orphan")
    )

    [build] = emulator.objects("builds", namespace)
    assert "ownerReferences" not in build["metadata"]


async def test_finalizers_hold_deletion_until_removed(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    body = support.image("held")
    body["metadata"]["finalizers"] = ["kiln.example/cleanup"]
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", body)

    await custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "images", "held")
    terminating = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", "held")
    await custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "images",
        "held",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )

    assert terminating["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as gone:
        await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", "held")
    assert gone.value.status == 404


async def test_deleting_a_namespace_deletes_its_contents(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    await core.create_namespace({"metadata": {"name": namespace}})
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})

    await core.delete_namespace(namespace)

    assert emulator.objects("secrets", namespace) == []
    assert emulator.get("namespaces", namespace) is None


async def test_delete_collection_by_label(core: client.CoreV1Api, emulator: Emulator, namespace: str) -> None:
    for name, labels in (("a", {"k": "1"}), ("b", {"k": "1"}), ("c", {"k": "2"})):
        await core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})

    await core.delete_collection_namespaced_config_map(namespace, label_selector="k=1")

    assert [o["metadata"]["name"] for o in emulator.objects("configmaps", namespace)] == ["c"]
