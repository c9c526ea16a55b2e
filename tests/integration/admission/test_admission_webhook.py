"""AdmissionReview and ConversionReview bodies posted over HTTPS to ``kiln run admission``; the default
StorageClass read from the emulator through kubernetes-asyncio."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonpatch
import pytest
import yaml
from admission_support import an_image
from kubernetes_asyncio import client

from contracts import admission, images
from services.kube import resources

pytestmark = pytest.mark.integration
REPO = pathlib.Path(__file__).resolve().parents[3]


def a_review(obj: dict[str, Any], *, old: dict[str, Any] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": "kpack.io", "version": "v1alpha2", "kind": obj["kind"]},
        "operation": "UPDATE" if old else "CREATE",
        "userInfo": {"username": "alice"},
        "object": obj,
    }
    if old:
        request["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


@pytest.fixture
async def default_storage_class(kube: resources.Kube) -> AsyncIterator[str]:
    """A StorageClass annotated as the cluster's default, deleted afterwards."""
    storage = client.CustomObjectsApi(kube.api)
    name = f"standard-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
    }
    await storage.create_cluster_custom_object("storage.k8s.io", "v1", "storageclasses", body)
    yield name
    await storage.delete_cluster_custom_object("storage.k8s.io", "v1", "storageclasses", name)


async def mutated(https: httpx.AsyncClient, obj: dict[str, Any]) -> dict[str, Any]:
    review = a_review(obj)
    answer = (await https.post("/mutate", json=review)).json()
    assert answer["response"]["uid"] == review["request"]["uid"]
    assert answer["response"]["allowed"] is True
    assert answer["response"]["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(answer["response"]["patch"]))
    result: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(obj), patch)
    return result


async def test_the_webhook_serves_https_only_with_its_certificate(webhook_url: str) -> None:
    assert webhook_url.startswith("https://")
    async with httpx.AsyncClient(verify=ssl.create_default_context()) as untrusting:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.post(f"{webhook_url}/validate", json={})


async def test_without_a_default_storage_class_the_patch_adds_no_cache(https: httpx.AsyncClient) -> None:
    image = an_image()
    result = await mutated(https, image)
    assert (
        result
        == admission.default_image(images.Image.model_validate(image), admission.AdmissionContext()).dump()
    )
    assert "cache" not in result["spec"]
    assert result["spec"]["serviceAccountName"] == "default"


async def test_the_default_storage_class_adds_the_2g_volume_cache(
    https: httpx.AsyncClient, default_storage_class: str
) -> None:
    image = an_image()
    result = await mutated(https, image)
    ctx = admission.AdmissionContext(has_default_storage_class=True)
    assert result == admission.default_image(images.Image.model_validate(image), ctx).dump()
    assert result["spec"]["cache"] == {"volume": {"size": "2G"}}


async def test_a_volume_cache_without_a_default_storage_class_is_refused(https: httpx.AsyncClient) -> None:
    review = a_review(an_image(cache={"volume": {"size": "2G"}}))
    response = (await https.post("/validate", json=review)).json()["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    assert response["status"]["message"].startswith(
        "validation failed: spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName"
        " or a default StorageClass"
    )


def kiln_validate(tmp_path: pathlib.Path, new: dict[str, Any], old: dict[str, Any]) -> str:
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new))
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old))
    command = [sys.executable, "-m", "services.cli", "validate", "new.yaml", "--old", "old.yaml"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    return done.stderr.strip()


UPDATES = {
    "the tag is immutable": (an_image(), an_image(tag="registry.example/team/other")),
    "the cache size cannot decrease": (
        an_image(cache={"volume": {"size": "5G", "storageClassName": "fast"}}),
        an_image(cache={"volume": {"size": "4G", "storageClassName": "fast"}}),
    ),
    "the storage class is immutable": (
        an_image(cache={"volume": {"size": "5G", "storageClassName": "fast"}}),
        an_image(cache={"volume": {"size": "5G", "storageClassName": "slow"}}),
    ),
}


@pytest.mark.parametrize(("old", "new"), UPDATES.values(), ids=UPDATES.keys())
async def test_an_update_is_refused_with_the_message_kiln_validate_prints(
    https: httpx.AsyncClient, tmp_path: pathlib.Path, old: dict[str, Any], new: dict[str, Any]
) -> None:
    review = a_review(new, old=old)
    answer = await https.post("/validate", json=review)
    assert answer.status_code == 200
    response = answer.json()["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    assert response["status"]["message"] == f"validation failed: {kiln_validate(tmp_path, new, old)}"


async def test_a_valid_update_is_allowed(https: httpx.AsyncClient) -> None:
    old = an_image(cache={"volume": {"size": "5G", "storageClassName": "fast"}})
    new = an_image(cache={"volume": {"size": "6G", "storageClassName": "fast"}})
    response = (await https.post("/validate", json=a_review(new, old=old))).json()["response"]
    assert response["allowed"] is True


async def test_conversion_round_trips_and_echoes_the_uid(https: httpx.AsyncClient) -> None:
    image = an_image(
        cache={"volume": {"size": "5G", "storageClassName": "fast"}}, serviceAccountName="builder"
    )

    async def convert(objects: list[dict[str, Any]], to: str) -> list[dict[str, Any]]:
        uid = str(uuid.uuid4())
        body = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": {"uid": uid, "desiredAPIVersion": to, "objects": objects},
        }
        response = (await https.post("/convert", json=body)).json()["response"]
        assert response["uid"] == uid
        assert response["result"] == {"status": "Success"}
        converted: list[dict[str, Any]] = response["convertedObjects"]
        return converted

    (old,) = await convert([image], "kpack.io/v1alpha1")
    assert old["apiVersion"] == "kpack.io/v1alpha1"
    assert old["spec"]["cacheSize"] == "5G"
    assert old["spec"]["serviceAccount"] == "builder"
    assert await convert([old], "kpack.io/v1alpha2") == [image]


async def test_a_failed_conversion_is_a_failure_result(https: httpx.AsyncClient) -> None:
    body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "c-1", "desiredAPIVersion": "kpack.io/v9", "objects": [an_image()]},
    }
    response = (await https.post("/convert", json=body)).json()["response"]
    assert response["uid"] == "c-1"
    assert response["result"]["status"] == "Failure"
    assert "cannot convert to kpack.io/v9" in response["result"]["message"]


BAD_BODIES = {
    "not JSON": ("/validate", b"{not json", "body: expected a JSON review"),
    "not a review": (
        "/mutate",
        b'{"kind": "Pod"}',
        "apiVersion/kind: expected admission.k8s.io/v1 AdmissionReview",
    ),
    "a review without a uid": (
        "/validate",
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}',
        "request.uid:",
    ),
    "not a conversion review": (
        "/convert",
        b"[]",
        "expected a apiextensions.k8s.io/v1 ConversionReview object",
    ),
}


@pytest.mark.parametrize(("path", "body", "error"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_bad_body_is_a_400_saying_why(
    https: httpx.AsyncClient, path: str, body: bytes, error: str
) -> None:
    answer = await https.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(error)
