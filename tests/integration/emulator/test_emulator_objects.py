"""Create, read, replace: status codes, server-set metadata and Status bodies, via kubernetes-asyncio."""

from __future__ import annotations

import datetime
import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator
from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION


async def test_create_answers_201_with_server_set_metadata(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = support.unique("img")
    info = await custom.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, namespace, "images", support.image(name)
    )
    created, status = info[0], info[1]

    meta = created["metadata"]
    assert status == 201
    assert (meta["name"], meta["namespace"], meta["generation"]) == (name, namespace, 1)
    assert len(meta["uid"]) == 36
    assert isinstance(meta["resourceVersion"], str)
    assert int(meta["resourceVersion"]) > 0
    created_at = datetime.datetime.strptime(meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs((now - created_at).total_seconds()) < 60
    assert "status" not in created


async def test_resource_versions_increase_across_resources(
    custom: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    first = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image("a")
    )
    second = await core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "b"}, "data": {"k": "v"}}
    )
    third = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "builds", {"metadata": {"name": "c"}}
    )

    versions = [int(first["metadata"]["resourceVersion"]), int(second.metadata.resource_version)]
    versions.append(int(third["metadata"]["resourceVersion"]))
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


async def test_get_returns_the_object_and_404_is_a_status(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = support.unique("img")
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )

    assert await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", name) == created
    with pytest.raises(ApiException) as missing:
        await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", "absent")

    body = json.loads(missing.value.body)
    assert missing.value.status == 404
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert (body["reason"], body["code"]) == ("NotFound", 404)
    assert body["message"] == 'images.kpack.io "absent" not found'


async def test_v1alpha1_serves_the_same_objects(custom: client.CustomObjectsApi, namespace: str) -> None:
    name = support.unique("img")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image(name))

    old = await custom.get_namespaced_custom_object(GROUP, "v1alpha1", namespace, "images", name)

    assert old["apiVersion"] == "kpack.io/v1alpha1"
    assert old["spec"]["tag"] == "registry.example/app"


async def test_duplicate_create_is_409_already_exists(core: client.CoreV1Api, namespace: str) -> None:
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}})

    with pytest.raises(ApiException) as duplicate:
        await core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}})

    assert duplicate.value.status == 409
    assert json.loads(duplicate.value.body)["reason"] == "AlreadyExists"
    assert json.loads(duplicate.value.body)["message"] == 'secrets "creds" already exists'


@pytest.mark.parametrize(
    "metadata",
    [{}, {"name": "Not_A_Name"}],
    ids=["an object without a name or generateName", "a name that is not a DNS subdomain"],
)
async def test_malformed_objects_are_422_invalid(
    custom: client.CustomObjectsApi, namespace: str, metadata: dict[str, str]
) -> None:
    body = {**support.image("x"), "metadata": metadata}

    with pytest.raises(ApiException) as invalid:
        await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", body)

    assert invalid.value.status == 422
    assert json.loads(invalid.value.body)["reason"] == "Invalid"
    assert json.loads(invalid.value.body)["details"]["causes"][0]["field"] == "metadata.name"


async def test_generate_name_makes_a_unique_name(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"generateName": "build-pod-"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}

    first = await core.create_namespaced_pod(namespace, body)
    second = await core.create_namespaced_pod(namespace, body)

    assert first.metadata.name.startswith("build-pod-")
    assert len(first.metadata.name) == len("build-pod-") + 5
    assert first.metadata.name != second.metadata.name
    assert first.status.phase == "Pending"


async def test_put_with_a_stale_resource_version_is_409_conflict(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = support.unique("img")
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )
    fresh = {**created, "spec": {**created["spec"], "tag": "registry.example/other"}}
    replaced = await custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, "images", name, fresh)

    with pytest.raises(ApiException) as stale:
        await custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, "images", name, created)

    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert stale.value.status == 409
    assert json.loads(stale.value.body)["reason"] == "Conflict"
    assert "the object has been modified" in json.loads(stale.value.body)["message"]


async def test_put_with_a_name_other_than_the_url_is_422(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = support.unique("img")
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )
    renamed = {**created, "metadata": {**created["metadata"], "name": "other"}}

    with pytest.raises(ApiException) as invalid:
        await custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, "images", name, renamed)

    assert invalid.value.status == 422


async def test_generation_counts_spec_changes_only(custom: client.CustomObjectsApi, namespace: str) -> None:
    name = support.unique("img")
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )
    labelled = await custom.replace_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "images",
        name,
        {**created, "metadata": {**created["metadata"], "labels": {"a": "b"}}},
    )
    changed = await custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", name, {**labelled, "spec": {**labelled["spec"], "tag": "r/x"}}
    )

    assert [o["metadata"]["generation"] for o in (created, labelled, changed)] == [1, 1, 2]
    assert changed["metadata"]["uid"] == created["metadata"]["uid"]
    assert changed["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]


async def test_a_write_that_changes_nothing_keeps_the_resource_version(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    name = support.unique("img")
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", support.image(name)
    )

    same = await custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, "images", name, created)

    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_cluster_scoped_resources(
    custom: client.CustomObjectsApi, api_client: client.ApiClient, emulator: Emulator
) -> None:
    builder = support.unique("cb")
    storage_class = support.unique("sc")
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ClusterBuilder", "metadata": {"name": builder}}
    created = await custom.create_cluster_custom_object(GROUP, VERSION, "clusterbuilders", body)
    storage = client.StorageV1Api(api_client)
    await storage.create_storage_class(
        {"metadata": {"name": storage_class}, "provisioner": "example.com/disk"}
    )

    assert "namespace" not in created["metadata"]
    assert (await storage.read_storage_class(storage_class)).provisioner == "example.com/disk"
    assert builder in [o["metadata"]["name"] for o in emulator.objects("clusterbuilders")]
    assert emulator.get("storageclasses", storage_class) is not None


async def test_objects_seeded_from_python_are_served(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    emulator.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"}}, namespace=namespace
    )

    account = await core.read_namespaced_service_account("builder", namespace)

    assert account.metadata.uid
    assert [o["metadata"]["name"] for o in emulator.objects("serviceaccounts", namespace)] == ["builder"]
