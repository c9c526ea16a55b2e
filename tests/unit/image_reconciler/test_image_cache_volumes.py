"""The cache PVC: create, update, delete or leave it (spec §4.2; checklist 43-48; §11)."""

from __future__ import annotations

from typing import Any

import image_fixtures as fx
import pytest

from services.image_reconciler import cache_volumes

OWNER = {
    "apiVersion": "kpack.io/v1alpha2",
    "kind": "Image",
    "name": "image-name",
    "uid": "image-uid",
    "controller": True,
    "blockOwnerDeletion": True,
}


def pvc(size: str = "2G", *, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": "image-name-cache",
        "namespace": fx.NAMESPACE,
        "uid": "pvc-uid",
        "resourceVersion": "7",
        "ownerReferences": [OWNER],
    }
    if labels is not None:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata,
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec},
    }


def volume(size: str | None = "2G", storage_class: str | None = None) -> dict[str, Any]:
    cache: dict[str, Any] = {}
    if size is not None:
        cache["size"] = size
    if storage_class is not None:
        cache["storageClassName"] = storage_class
    return {"cache": {"volume": cache}}


LABELS = {"app": "web"}

CASES = [
    pytest.param(
        fx.image(volume("2G"), labels=LABELS),
        None,
        "create",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": "image-name-cache",
                "namespace": fx.NAMESPACE,
                "labels": {"app": "web"},
                "ownerReferences": [OWNER],
            },
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2G"}}},
        },
        "image-name-cache",
        id="a requested volume cache without a PVC creates one without a storage class",
    ),
    pytest.param(
        fx.image(volume("5G", "some-storage-class")),
        None,
        "create",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "image-name-cache", "namespace": fx.NAMESPACE, "ownerReferences": [OWNER]},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "5G"}},
                "storageClassName": "some-storage-class",
            },
        },
        "image-name-cache",
        id="a storage class is set on the created PVC",
    ),
    pytest.param(
        fx.image(volume("2G", ""), labels=LABELS),
        pvc("2G", labels=LABELS, storageClassName="standard"),
        "none",
        None,
        "image-name-cache",
        id="a PVC with the same size and labels is left alone even with a storage class",
    ),
    pytest.param(
        fx.image(volume("2G")),
        pvc("2000M", labels={}),
        "none",
        None,
        "image-name-cache",
        id="sizes compare as numbers and empty labels equal no labels",
    ),
    pytest.param(
        fx.image(volume("2.5Gi", "other-class"), labels=LABELS),
        pvc("1.5Gi", labels=LABELS, storageClassName="standard"),
        "update",
        pvc("2.5Gi", labels=LABELS, storageClassName="standard"),
        "image-name-cache",
        id="a new size updates the requested storage and never the storage class",
    ),
    pytest.param(
        fx.image(volume("2G"), labels={"app": "new"}),
        pvc("2G", labels={"app": "old"}),
        "update",
        pvc("2G", labels={"app": "new"}),
        "image-name-cache",
        id="new image labels are copied onto the PVC",
    ),
    pytest.param(
        fx.image(volume("2G")),
        pvc("2G", labels={"stale": "x"}),
        "update",
        pvc("2G"),
        "image-name-cache",
        id="labels removed from the image are removed from the PVC",
    ),
    pytest.param(
        fx.image(volume("2G")),
        {"metadata": {"name": "image-name-cache"}},
        "update",
        {"metadata": {"name": "image-name-cache"}, "spec": {"resources": {"requests": {"storage": "2G"}}}},
        "image-name-cache",
        id="a PVC without a spec gets the desired resources",
    ),
    pytest.param(
        fx.image(volume(None, "some-class")),
        pvc("2G"),
        "delete",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "image-name-cache", "namespace": fx.NAMESPACE, "uid": "pvc-uid"},
        },
        "",
        id="a volume without a size is no cache and the PVC is deleted with its uid as precondition",
    ),
    pytest.param(
        fx.image({"cache": {"registry": {"tag": "some/cache"}}}),
        {"metadata": {"name": "image-name-cache"}},
        "delete",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "image-name-cache", "namespace": fx.NAMESPACE, "uid": ""},
        },
        "",
        id="switching to a registry cache deletes the PVC by its fixed name whoever owns it",
    ),
    pytest.param(
        fx.image(),
        None,
        "none",
        None,
        "",
        id="no cache and no PVC is nothing to do",
    ),
]


@pytest.mark.parametrize(("image", "observed", "action", "obj", "cache_name"), CASES)
def test_cache_pvc_plan(
    image: Any, observed: dict[str, Any] | None, action: str, obj: dict[str, Any] | None, cache_name: str
) -> None:
    result = cache_volumes.plan_cache(image, observed=observed)
    assert result.to_document() == {"action": action, "object": obj}
    assert result.build_cache_name == cache_name


def test_the_update_keeps_the_observed_object_whole() -> None:
    observed = pvc("1G", labels={}, volumeName="pv-1")
    result = cache_volumes.plan_cache(fx.image(volume("2G")), observed=observed)
    assert result.object == pvc("2G", volumeName="pv-1")
    assert observed == pvc("1G", labels={}, volumeName="pv-1"), "the observed dict is not mutated"


def test_a_long_image_name_gets_a_hashed_63_character_pvc_name() -> None:
    image = fx.image(volume("2G"), name="a" * 60)
    assert cache_volumes.cache_name(image) == "a" * 25 + "cc7ed669cf88f201c3297c6a91e1d18d" + "-cache"
