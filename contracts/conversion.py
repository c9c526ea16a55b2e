"""``kpack.io/v1alpha1`` ⇄ ``kpack.io/v1alpha2`` conversion of Images and Builds (kpack's hub is v1alpha2).

What changes between the versions, exactly as kpack converts it:

* Image: ``spec.serviceAccountName`` ⇄ ``spec.serviceAccount``; ``spec.build.cnbBindings`` ⇄
  ``spec.build.bindings``; ``spec.cache.volume.size`` ⇄ ``spec.cacheSize``. What v1alpha1 cannot
  hold travels in annotations: ``kpack.io/cache.volume.storageClassName`` (a non-empty storage
  class of a volume cache) and ``kpack.io/cache.registry.tag`` (a non-empty registry cache tag).
  Converting back reads both annotations (creating ``cache.volume`` / ``cache.registry`` as
  needed, so an annotation alone yields a volume without a size, i.e. no volume cache) and
  removes them. A v1alpha2 Image with volume and registry cache survives the round trip.
* Build (lossy): ``spec.cache.volume.persistentVolumeClaimName`` ⇄ ``spec.cacheName`` (an empty
  name is no cache); ``spec.cache.registry``, ``spec.runImage``, ``spec.lastBuild.cache`` and
  ``status.latestCacheImage`` are dropped going to v1alpha1 and stay absent coming back (a
  v1alpha2 ``lastBuild`` always carries ``cache``, so it comes back as ``cache: {}``).
* Metadata, status and everything else are carried over verbatim. That includes fields Kiln
  does not know and v1alpha2 fields v1alpha1 lacks (``additionalTags``, ``build.services``,
  ``cosign``, …), which kpack's typed conversion would drop: Kiln's models are tolerant, so a
  round trip through v1alpha1 keeps them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pydantic

from contracts import builds, images, meta, v1alpha1

STORAGE_CLASS_ANNOTATION = "kpack.io/cache.volume.storageClassName"
REGISTRY_TAG_ANNOTATION = "kpack.io/cache.registry.tag"
VERSIONS = (meta.V1ALPHA1, meta.V1ALPHA2)

Document = dict[str, Any]


class ConversionError(ValueError):
    """The document cannot be converted (unknown version or kind, or not a valid object)."""


def image_to_v1alpha1(image: images.Image) -> v1alpha1.Image:
    doc = _with_version(image.dump(), meta.V1ALPHA1)
    spec = dict(doc.get("spec") or {})
    cache = spec.get("cache") or {}
    volume, registry = cache.get("volume"), cache.get("registry")
    size = volume.get("size") if volume is not None else None
    spec.pop("cacheSize", None)
    spec = _replace_key(spec, "cache", "cacheSize", size)
    spec = _rename(spec, "serviceAccountName", "serviceAccount")
    if spec.get("build") is not None:
        spec["build"] = _rename(spec["build"], "cnbBindings", "bindings")
    carried = {}
    if volume is not None and volume.get("storageClassName"):
        carried[STORAGE_CLASS_ANNOTATION] = volume["storageClassName"]
    if registry is not None and registry.get("tag"):
        carried[REGISTRY_TAG_ANNOTATION] = registry["tag"]
    doc["spec"] = spec
    if carried:
        metadata = dict(doc.get("metadata") or {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **carried}
        doc["metadata"] = metadata
    return v1alpha1.Image.model_validate(doc)


def image_to_v1alpha2(image: v1alpha1.Image) -> images.Image:
    doc = _with_version(image.dump(), meta.V1ALPHA2)
    spec = dict(doc.get("spec") or {})
    size = spec.get("cacheSize")
    spec.pop("cache", None)
    cache = {"volume": {"size": size}} if size is not None else None
    metadata = dict(doc.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    cache = _cache_from_annotations(cache, annotations)
    if len(annotations) != len(metadata.get("annotations") or {}):
        metadata.pop("annotations")
        doc["metadata"] = {**metadata, "annotations": annotations} if annotations else metadata
    spec = _replace_key(spec, "cacheSize", "cache", cache)
    spec = _rename(spec, "serviceAccount", "serviceAccountName")
    if spec.get("build") is not None:
        spec["build"] = _rename(spec["build"], "bindings", "cnbBindings")
    doc["spec"] = spec
    return images.Image.model_validate(doc)


def _cache_from_annotations(cache: Document | None, annotations: dict[str, str]) -> Document | None:
    """Add the cache settings carried in ``annotations`` to ``cache``, removing those annotations."""
    if STORAGE_CLASS_ANNOTATION in annotations:
        storage_class = annotations.pop(STORAGE_CLASS_ANNOTATION)
        cache = cache or {}
        volume = dict(cache.get("volume", {}))
        if storage_class:
            volume["storageClassName"] = storage_class
        cache["volume"] = volume
    if REGISTRY_TAG_ANNOTATION in annotations:
        cache = cache or {}
        cache["registry"] = {"tag": annotations.pop(REGISTRY_TAG_ANNOTATION)}
    return cache


def build_to_v1alpha1(build: builds.Build) -> v1alpha1.Build:
    doc = _with_version(build.dump(), meta.V1ALPHA1)
    spec = dict(doc.get("spec") or {})
    volume = (spec.get("cache") or {}).get("volume")
    claim = volume.get("persistentVolumeClaimName") if volume is not None else None
    spec.pop("cacheName", None)
    spec.pop("runImage", None)
    spec = _replace_key(spec, "cache", "cacheName", claim or None)
    spec = _rename(spec, "serviceAccountName", "serviceAccount")
    spec = _rename(spec, "cnbBindings", "bindings")
    if spec.get("lastBuild") is not None:
        spec["lastBuild"] = {k: v for k, v in spec["lastBuild"].items() if k != "cache"}
    doc["spec"] = spec
    if "status" in doc:
        doc["status"] = {k: v for k, v in doc["status"].items() if k != "latestCacheImage"}
    return v1alpha1.Build.model_validate(doc)


def build_to_v1alpha2(build: v1alpha1.Build) -> builds.Build:
    doc = _with_version(build.dump(), meta.V1ALPHA2)
    spec = dict(doc.get("spec") or {})
    claim = spec.get("cacheName")
    spec.pop("cache", None)
    cache = {"volume": {"persistentVolumeClaimName": claim}} if claim else None
    spec = _replace_key(spec, "cacheName", "cache", cache)
    spec = _rename(spec, "serviceAccount", "serviceAccountName")
    spec = _rename(spec, "bindings", "cnbBindings")
    doc["spec"] = spec
    return builds.Build.model_validate(doc)


def convert(doc: Document, to: str) -> Document:
    """Convert a wire document (Image or Build) to apiVersion ``to``; one already there is returned as is."""
    if to not in VERSIONS:
        raise ConversionError(f"cannot convert to {to}: expected one of {', '.join(VERSIONS)}")
    version, kind = doc.get("apiVersion"), doc.get("kind")
    if version == to:
        return copy.deepcopy(doc)
    converter = _CONVERTERS.get((kind, to)) if version in VERSIONS else None
    if converter is None:
        raise ConversionError(
            f"cannot convert {kind} {version} to {to}: only kpack Images and Builds convert"
        )
    try:
        return converter(doc)
    except pydantic.ValidationError as e:
        raise ConversionError(f"{kind} {version} is not valid: {e}") from e


_CONVERTERS: dict[tuple[object, str], Callable[[Document], Document]] = {
    (images.KIND, meta.V1ALPHA1): lambda d: image_to_v1alpha1(images.Image.model_validate(d)).dump(),
    (images.KIND, meta.V1ALPHA2): lambda d: image_to_v1alpha2(v1alpha1.Image.model_validate(d)).dump(),
    (builds.KIND, meta.V1ALPHA1): lambda d: build_to_v1alpha1(builds.Build.model_validate(d)).dump(),
    (builds.KIND, meta.V1ALPHA2): lambda d: build_to_v1alpha2(v1alpha1.Build.model_validate(d)).dump(),
}


def _with_version(doc: Document, version: str) -> Document:
    return {**doc, "apiVersion": version}


def _replace_key(doc: Document, old: str, new: str, value: object) -> Document:
    """``doc`` with key ``old`` replaced in place by ``new: value`` (dropped when value is None)."""
    result: Document = {}
    for key, current in doc.items():
        if key != old:
            result[key] = current
        elif value is not None:
            result[new] = value
    if old not in doc and value is not None:
        result[new] = value
    return result


def _rename(doc: Document, old: str, new: str) -> Document:
    if old not in doc:
        return doc
    return _replace_key({k: v for k, v in doc.items() if k != new}, old, new, doc[old])
