"""Merge, JSON and strategic patches, and the status subresource, via kubernetes-asyncio."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


async def _image(custom: client.CustomObjectsApi, namespace: str) -> dict[str, object]:
    name = support.unique("img")
    created: dict[str, object] = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )
    return created


def _name(obj: dict[str, object]) -> str:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    name: str = meta["name"]
    return name


async def test_merge_patch_merges_objects_and_deletes_nulls(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = _name(await _image(custom, namespace))
    patch = {"spec": {"source": {"git": {"revision": "v2"}}, "serviceAccountName": None}}

    patched = await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, patch, _content_type=MERGE
    )

    assert patched["spec"]["source"]["git"] == {"url": "https://github.com/example/app", "revision": "v2"}
    assert "serviceAccountName" not in patched["spec"]
    assert patched["metadata"]["generation"] == 2


async def test_json_patch_applies_operations(custom: client.CustomObjectsApi, namespace: str) -> None:
    name = _name(await _image(custom, namespace))
    patch = [
        {"op": "replace", "path": "/spec/tag", "value": "registry.example/new"},
        {"op": "add", "path": "/metadata/labels/team", "value": "a"},
    ]

    patched = await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, patch, _content_type=JSON_PATCH
    )

    assert patched["spec"]["tag"] == "registry.example/new"
    assert patched["metadata"]["labels"] == {"team": "a"}


async def test_a_failing_json_patch_test_is_422(custom: client.CustomObjectsApi, namespace: str) -> None:
    name = _name(await _image(custom, namespace))
    patch = [{"op": "test", "path": "/spec/tag", "value": "something-else"}]

    with pytest.raises(ApiException) as refused:
        await custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "images", name, patch, _content_type=JSON_PATCH
        )

    assert refused.value.status == 422


async def test_patch_carrying_a_stale_resource_version_is_409(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    created = await _image(custom, namespace)
    name = _name(created)
    await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, {"spec": {"tag": "r/one"}}, _content_type=MERGE
    )
    stale = {
        "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
        "spec": {"tag": "r/two"},
    }  # type: ignore[index]

    with pytest.raises(ApiException) as conflict:
        await custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "images", name, stale, _content_type=MERGE
        )

    assert conflict.value.status == 409


async def test_patch_of_a_missing_object_is_404(custom: client.CustomObjectsApi, namespace: str) -> None:
    with pytest.raises(ApiException) as missing:
        await custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "images", "absent", {"spec": {}}, _content_type=MERGE
        )

    assert missing.value.status == 404


async def test_strategic_patch_of_a_pod_merges_containers_by_name(
    core: client.CoreV1Api, namespace: str
) -> None:
    containers = [{"name": "a", "image": "one"}, {"name": "b", "image": "two"}]
    await core.create_namespaced_pod(
        namespace, {"metadata": {"name": "p"}, "spec": {"containers": containers}}
    )
    patch = {"metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "b", "image": "three"}]}}

    patched = await core.patch_namespaced_pod("p", namespace, patch)

    assert [(c.name, c.image) for c in patched.spec.containers] == [("a", "one"), ("b", "three")]
    assert patched.metadata.labels == {"x": "y"}


async def test_writes_to_the_main_resource_ignore_status(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    created = await _image(custom, namespace)
    name = _name(created)
    with_status = {**created, "status": {"latestImage": "forged"}}

    created_with_status = await custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "images",
        {**support.image(name + "-b"), "status": {"latestImage": "forged"}},
    )
    replaced = await custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, with_status
    )
    patched = await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, {"status": {"latestImage": "forged"}}, _content_type=MERGE
    )

    assert "status" not in created_with_status
    assert "status" not in replaced
    assert "status" not in patched


async def test_writes_to_status_change_only_status(custom: client.CustomObjectsApi, namespace: str) -> None:
    created = await _image(custom, namespace)
    name = _name(created)
    status = {
        "latestImage": "registry.example/app@sha256:abc",
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    body = {**created, "spec": {"tag": "ignored"}, "status": status}

    replaced = await custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "images", name, body
    )
    patched = await custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "images", name, {"status": {"latestBuildRef": "b-1"}}, _content_type=MERGE
    )

    assert replaced["status"] == status
    assert replaced["spec"] == created["spec"]
    assert patched["status"] == {**status, "latestBuildRef": "b-1"}
    assert patched["metadata"]["generation"] == 1
    assert int(patched["metadata"]["resourceVersion"]) > int(replaced["metadata"]["resourceVersion"])


async def test_a_stale_status_write_is_409(custom: client.CustomObjectsApi, namespace: str) -> None:
    created = await _image(custom, namespace)
    name = _name(created)
    await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, {"spec": {"tag": "r/new"}}, _content_type=MERGE
    )

    with pytest.raises(ApiException) as conflict:
        await custom.replace_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "images", name, {**created, "status": {"latestImage": "x"}}
        )

    assert conflict.value.status == 409
    assert json.loads(conflict.value.body)["reason"] == "Conflict"


async def test_pod_status_is_written_through_the_subresource(core: client.CoreV1Api, namespace: str) -> None:
    spec = {"containers": [{"name": "c", "image": "x"}]}
    await core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": spec})

    ignored = await core.patch_namespaced_pod("p", namespace, {"status": {"phase": "Running"}})
    running = await core.patch_namespaced_pod_status("p", namespace, {"status": {"phase": "Running"}})

    assert ignored.status.phase == "Pending"
    assert running.status.phase == "Running"
