"""The default StorageClass as the webhook discovers it: listed from the emulator, reused briefly."""

from __future__ import annotations

import uuid

import httpx
import pytest
from kubernetes_asyncio import client

from contracts import admission
from services import errors
from services.admission import service
from services.kube import resources
from services.testbed.emulator import Emulator

pytestmark = pytest.mark.integration
STORAGE = ("storage.k8s.io", "v1", "storageclasses")


async def add_class(kube: resources.Kube, *, default: str | None, expandable: bool = False) -> str:
    name = f"sc-{uuid.uuid4().hex[:6]}"
    annotations = {"storageclass.kubernetes.io/is-default-class": default} if default else {}
    body = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": "kubernetes.io/no-provisioner",
        "allowVolumeExpansion": expandable,
    }
    await client.CustomObjectsApi(kube.api).create_cluster_custom_object(*STORAGE, body)
    return name


async def remove_class(kube: resources.Kube, name: str) -> None:
    await client.CustomObjectsApi(kube.api).delete_cluster_custom_object(*STORAGE, name)


async def test_the_class_annotated_default_is_found_and_reused_until_the_ttl(kube: resources.Kube) -> None:
    now = [0.0]
    classes = service.StorageClasses(kube.api, settings=kube.settings, ttl=10.0, clock=lambda: now[0])
    other = await add_class(kube, default="false")
    assert await classes.context() == admission.AdmissionContext()
    default = await add_class(kube, default="true", expandable=True)
    assert await classes.context() == admission.AdmissionContext(), "reused within the ttl"
    now[0] = 10.0
    expected = admission.AdmissionContext(has_default_storage_class=True, is_expandable=True)
    assert await classes.context() == expected
    await remove_class(kube, default)
    await remove_class(kube, other)
    now[0] = 20.0
    assert await classes.context() == admission.AdmissionContext()


async def test_a_failed_list_keeps_the_last_classes_read(kube: resources.Kube, emulator: Emulator) -> None:
    now = [0.0]
    classes = service.StorageClasses(kube.api, settings=kube.settings, ttl=1.0, clock=lambda: now[0])
    default = await add_class(kube, default="true")
    try:
        assert (await classes.context()).has_default_storage_class
        emulator.fail_next(status=403, resource="storageclasses")
        now[0] = 5.0
        assert (await classes.context()).has_default_storage_class
    finally:
        emulator.clear_faults()
        await remove_class(kube, default)


async def test_a_list_failing_before_any_read_is_raised(kube: resources.Kube, emulator: Emulator) -> None:
    classes = service.StorageClasses(kube.api, settings=kube.settings, ttl=1.0)
    emulator.fail_next(status=403, resource="storageclasses")
    try:
        with pytest.raises(errors.KilnError):
            await classes.context()
    finally:
        emulator.clear_faults()


async def test_the_webhook_answers_503_when_it_cannot_read_the_classes(
    https: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.fail_next(status=403, resource="storageclasses")
    try:
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u"}}
        answer = await https.post("/validate", json=review)
    finally:
        emulator.clear_faults()
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("cannot read the cluster's StorageClasses")
