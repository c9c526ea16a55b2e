"""The cache PersistentVolumeClaim of an Image (spec §4.2, kpack ``reconcileBuildCache``).

The PVC is always named ``child_name(image, "-cache")``. When a volume cache is requested it is
created, or its ``spec.resources`` and ``labels`` are brought to the desired values (compared
semantically: ``2G`` equals ``2000M``; storage class and access modes are never compared nor
updated). When it is not requested, a PVC of that name is deleted whoever owns it, with its uid as
a precondition.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import images, meta
from services.image_reconciler import changes

PvcAction = Literal["create", "update", "delete", "none"]


class PvcPlan(BaseModel):
    """What to do with the cache PVC, and the resulting ``status.buildCacheName``."""

    model_config = ConfigDict(frozen=True)

    action: PvcAction
    """``create`` / ``update`` the object, ``delete`` it, or ``none``."""
    object: dict[str, Any] | None = None
    """create: the desired PVC; update: the observed PVC with desired resources and labels;
    delete: name, namespace and the uid to use as a delete precondition; none: None."""
    build_cache_name: str = ""
    """The PVC name when a volume cache is requested, else ""."""

    def to_document(self) -> dict[str, Any]:
        return {"action": self.action, "object": self.object}


NO_CHANGE = PvcPlan(action="none")


def needs_lookup(image: images.Image) -> bool:
    """Whether this reconcile must read the cache PVC: a volume cache is requested, or the status
    names a PVC (one to delete now the cache is gone), or the status does not observe the spec
    yet (a new or changed Image: a PVC of its name, whoever made it, is deleted as kpack does).
    A settled Image without a volume cache has no PVC to look at: kpack reads it from its
    informer's cache for nothing, Kiln saves the request."""
    observed = image.status.observed_generation == image.generation
    return image.spec.volume_cache_requested() or bool(image.status.build_cache_name) or not observed


def cache_name(image: images.Image) -> str:
    return meta.child_name(image.name, "-cache")


def desired_pvc(image: images.Image) -> dict[str, Any]:
    """The PVC kpack creates for a volume cache (call only when one is requested)."""
    volume = (image.spec.cache or images.ImageCacheConfig()).volume or images.VolumeCache()
    metadata: dict[str, Any] = {"name": cache_name(image), "namespace": image.namespace}
    if image.labels:
        metadata["labels"] = image.labels
    metadata["ownerReferences"] = [image.controller_reference(kind=images.KIND).dump()]
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": str(volume.size)}},
    }
    if volume.storage_class_name:
        spec["storageClassName"] = volume.storage_class_name
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


def plan_cache(image: images.Image, *, observed: Mapping[str, Any] | None) -> PvcPlan:
    """Decide the PVC action; ``observed`` is the PVC named ``<image>-cache`` (or None)."""
    if not image.spec.volume_cache_requested():
        if observed is None:
            return NO_CHANGE
        return PvcPlan(action="delete", object=_deletion(image, observed))
    desired = desired_pvc(image)
    name = cache_name(image)
    if observed is None:
        return PvcPlan(action="create", object=desired, build_cache_name=name)
    if _same_resources_and_labels(desired, observed):
        return PvcPlan(action="none", build_cache_name=name)
    updated = copy.deepcopy(dict(observed))
    metadata = updated.setdefault("metadata", {})
    if "labels" in desired["metadata"]:
        metadata["labels"] = desired["metadata"]["labels"]
    else:
        metadata.pop("labels", None)
    updated.setdefault("spec", {})["resources"] = desired["spec"]["resources"]
    return PvcPlan(action="update", object=updated, build_cache_name=name)


def _deletion(image: images.Image, observed: Mapping[str, Any]) -> dict[str, Any]:
    uid = (observed.get("metadata") or {}).get("uid", "")
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": cache_name(image), "namespace": image.namespace, "uid": uid},
    }


def _same_resources_and_labels(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    def resources(pvc: Mapping[str, Any]) -> Any:
        found = (pvc.get("spec") or {}).get("resources") or {}
        return changes.semantic(changes.resource_numbers(found))

    def labels(pvc: Mapping[str, Any]) -> dict[str, str]:
        return dict((pvc.get("metadata") or {}).get("labels") or {})

    return resources(desired) == resources(observed) and labels(desired) == labels(observed)
