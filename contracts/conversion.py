"""``kpack.io/v1alpha1`` ⇄ ``kpack.io/v1alpha2`` conversion of Images and Builds (kpack's hub is v1alpha2).

What changes between the versions, exactly as kpack converts it (``image_conversion.go``,
``build_conversion.go``):

* Image: ``spec.serviceAccountName`` ⇄ ``spec.serviceAccount``; ``spec.build.cnbBindings`` ⇄
  ``spec.build.bindings``; ``spec.cache.volume.size`` ⇄ ``spec.cacheSize``.
* What a v1alpha1 Image cannot hold travels in annotations (:data:`CARRIED`, kpack's
  ``convertToAnnotations``): ``spec.build`` ``services``, ``tolerations``, ``nodeSelector``,
  ``affinity`` (Go's JSON of the Kubernetes types, :mod:`contracts.golang`), ``runtimeClassName``,
  ``schedulerName``, ``buildTimeout`` (decimal); the cache's ``volume.storageClassName`` and
  ``registry.tag``; ``spec.projectDescriptorPath``, ``spec.cosign.annotations`` (JSON),
  ``spec.defaultProcess``. Each is written when kpack writes it (a non-empty value; for Go
  pointers — ``affinity``, ``runtimeClassName``, ``buildTimeout`` — any value that is set) and
  leaves the v1alpha1 spec. Annotations already on the Image are kept (one of kpack's keys is
  overwritten).
* Converting back (kpack's ``convertFromAnnotations``) reads them in that order, creating
  ``spec.build``, ``spec.cache.volume`` / ``spec.cache.registry`` and ``spec.cosign`` as needed
  (so the storage class annotation alone yields a volume without a size, i.e. no volume cache),
  and removes each from the annotations. Like kpack, it stops at the first one that does not
  parse (kpack ignores that error): that one and those after it stay annotations. So a
  v1alpha1 Image written by kpack loses nothing, and v1alpha2 → v1alpha1 → v1alpha2 is the
  identity for an Image as kpack holds it (values in Go's form: :func:`contracts.golang.canonical`).
* Build (lossy, no annotations in kpack): ``spec.cache.volume.persistentVolumeClaimName`` ⇄
  ``spec.cacheName`` (an empty name is no cache); ``spec.cache.registry``, ``spec.runImage``,
  ``spec.lastBuild.cache`` and ``status.latestCacheImage`` are dropped going to v1alpha1 and stay
  absent coming back (a v1alpha2 ``lastBuild`` always carries ``cache``, so it comes back as
  ``cache: {}``).
* Metadata, status and everything else are carried over verbatim. That includes fields Kiln
  does not know and v1alpha2 fields v1alpha1 lacks that kpack carries nowhere
  (``additionalTags``, ``build.creationTime``, a Build's ``services``, …), which kpack's typed
  conversion drops: Kiln's models are tolerant, so a round trip through v1alpha1 keeps them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from contracts import builds, golang, images, meta, v1alpha1

STORAGE_CLASS_ANNOTATION = "kpack.io/cache.volume.storageClassName"
REGISTRY_TAG_ANNOTATION = "kpack.io/cache.registry.tag"
VERSIONS = (meta.V1ALPHA1, meta.V1ALPHA2)

Document = dict[str, Any]


class ConversionError(ValueError):
    """The document cannot be converted (unknown version or kind, or not a valid object)."""


@dataclass(frozen=True)
class Carried:
    """A v1alpha2 Image field that v1alpha1 carries in an annotation."""

    annotation: str
    path: tuple[str, ...]
    """Where the field is in the v1alpha2 spec."""
    go_type: golang.GoType = golang.STRING
    """Its Go type. A string is the annotation itself, an integer its decimal text, the rest Go's
    JSON. A pointer is carried whenever it is set, even to an empty value."""
    omitempty: bool = True
    """Go leaves the field out of the v1alpha2 object when it is empty."""

    @property
    def pointer(self) -> bool:
        return isinstance(self.go_type, golang.Pointer)

    def text(self, value: Any) -> str | None:
        """The annotation for the v1alpha2 spec's ``value``; None when kpack writes none."""
        decoded = golang.decode(self.go_type, value, path="spec." + ".".join(self.path))
        if decoded is None or (not self.pointer and not decoded):
            return None
        if self._target() in (golang.STRING, golang.INT64):
            return str(decoded)
        return golang.dumps(golang.encode(self.go_type, decoded))

    def value(self, text: str) -> Any:
        """The v1alpha2 value of the annotation ``text``; :class:`golang.GoError` when Go refuses it."""
        if self._target() == golang.STRING:
            return text
        if self._target() == golang.INT64:
            return golang.parse_int64(text)
        return golang.unmarshal(self.go_type, text)

    def keeps(self, value: Any) -> bool:
        """Whether the v1alpha2 object keeps ``value`` (Go's ``omitempty`` leaves empty ones out)."""
        if value is None:
            return False
        return self.pointer or not self.omitempty or value not in ("", [], {})

    def _target(self) -> golang.GoType:
        return self.go_type.to if isinstance(self.go_type, golang.Pointer) else self.go_type


def _build(key: str, go_type: golang.GoType = golang.STRING) -> Carried:
    return Carried(f"kpack.io/{key}", ("build", key), go_type)


CARRIED = (
    _build("services", golang.Slice(golang.OBJECT_REFERENCE)),
    _build("tolerations", golang.Slice(golang.TOLERATION)),
    _build("nodeSelector", golang.StringMap()),
    _build("affinity", golang.Pointer(golang.AFFINITY)),
    _build("runtimeClassName", golang.Pointer(golang.STRING)),
    _build("schedulerName"),
    _build("buildTimeout", golang.Pointer(golang.INT64)),
    Carried(STORAGE_CLASS_ANNOTATION, ("cache", "volume", "storageClassName")),
    Carried(REGISTRY_TAG_ANNOTATION, ("cache", "registry", "tag"), omitempty=False),
    Carried("kpack.io/projectDescriptorPath", ("projectDescriptorPath",)),
    Carried("kpack.io/cosignAnnotation", ("cosign", "annotations"), golang.Slice(golang.COSIGN_ANNOTATION)),
    Carried("kpack.io/defaultProcess", ("defaultProcess",)),
)
"""kpack's conversion annotations, in the order kpack reads them."""


def image_to_v1alpha1(image: images.Image) -> v1alpha1.Image:
    doc = _with_version(image.dump(), meta.V1ALPHA1)
    spec = copy.deepcopy(doc.get("spec") or {})
    try:
        carried = {c.annotation: text for c in CARRIED if (text := c.text(_get(spec, c.path))) is not None}
    except golang.GoError as e:
        raise ConversionError(f"{images.KIND} {meta.V1ALPHA2} is not valid: {e}") from e
    for c in CARRIED:
        if c.path[0] != "cache":
            _remove(spec, c.path[:2] if c.path[0] == "build" else c.path[:1])
    volume = (spec.get("cache") or {}).get("volume")
    size = volume.get("size") if volume is not None else None
    spec.pop("cacheSize", None)
    spec = _replace_key(spec, "cache", "cacheSize", size)
    spec = _rename(spec, "serviceAccountName", "serviceAccount")
    if spec.get("build") is not None:
        spec["build"] = _rename(spec["build"], "cnbBindings", "bindings")
    doc["spec"] = spec
    if carried:
        metadata = dict(doc.get("metadata") or {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **carried}
        doc["metadata"] = metadata
    return v1alpha1.Image.model_validate(doc)


def image_to_v1alpha2(image: v1alpha1.Image) -> images.Image:
    doc = _with_version(image.dump(), meta.V1ALPHA2)
    spec = copy.deepcopy(doc.get("spec") or {})
    size = spec.get("cacheSize")
    spec.pop("cache", None)
    spec = _replace_key(spec, "cacheSize", "cache", {"volume": {"size": size}} if size is not None else None)
    spec = _rename(spec, "serviceAccount", "serviceAccountName")
    if spec.get("build") is not None:
        spec["build"] = _rename(spec["build"], "bindings", "cnbBindings")
    metadata = dict(doc.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    _read_annotations(spec, annotations)
    if len(annotations) != len(metadata.get("annotations") or {}):
        metadata.pop("annotations")
        doc["metadata"] = {**metadata, "annotations": annotations} if annotations else metadata
    doc["spec"] = spec
    return images.Image.model_validate(doc)


def _read_annotations(spec: Document, annotations: dict[str, str]) -> None:
    """kpack's ``convertFromAnnotations`` into ``spec``, removing what it read from ``annotations``."""
    for carried in CARRIED:
        if carried.annotation not in annotations:
            continue
        *parents, key = carried.path
        # kpack creates the build and the cache before parsing, the cosign config only after
        parent = None if carried.path[0] == "cosign" else _parent(spec, parents)
        try:
            value = carried.value(annotations[carried.annotation])
        except golang.GoError:
            return
        parent = _parent(spec, parents) if parent is None else parent
        if carried.keeps(value):
            parent[key] = value
        else:
            parent.pop(key, None)
        del annotations[carried.annotation]


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _parent(doc: Document, path: list[str]) -> Document:
    """The object at ``path`` in ``doc``, created (as kpack creates the Go structs) where missing."""
    for key in path:
        current = doc.get(key)
        doc[key] = dict(current) if isinstance(current, dict) else {}
        doc = doc[key]
    return doc


def _remove(doc: Document, path: tuple[str, ...]) -> None:
    parent = _get(doc, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


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
    """``doc`` with key ``old`` replaced in place by ``new: value`` (dropped when value is None);
    every caller has a value only when ``old`` is there."""
    result: Document = {}
    for key, current in doc.items():
        if key != old:
            result[key] = current
        elif value is not None:
            result[new] = value
    return result


def _rename(doc: Document, old: str, new: str) -> Document:
    if old not in doc:
        return doc
    return _replace_key({k: v for k, v in doc.items() if k != new}, old, new, doc[old])
