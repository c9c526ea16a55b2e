"""Admission of Images and Builds: kpack's defaulting and validation, word for word.

Defaults (kpack ``SetDefaults``): ``serviceAccountName`` → ``default``; Image
``imageTaggingStrategy`` → ``BuildNumber``, history limits → 10, and a nil ``cache`` becomes a
2G volume cache — only when the admission context has a default StorageClass (the controller's
own defaulting never adds it).

Validation accumulates every error (see :mod:`contracts.fielderrors` for the string form); the
rules Images and Builds share are in :mod:`contracts.spec_rules`. The cache rules, in kpack's
order: only one type of cache; a volume cache needs a storage class or a default StorageClass; on
update a volume cache size may not change when the default class is explicitly not expandable,
may not decrease, and its storage class is immutable (first hit only).

Who asks matters for two fields kpack deprecated in v1alpha2: ``cnbBindings`` and ``notary`` are
refused in a user's v1alpha2 request (:attr:`AdmissionContext.user_request`) and only checked for
their contents otherwise — in the controller's own requests (the Builds it creates from a v1alpha1
Image), and in Kiln's check of a stored object (a v1alpha1 request may have written it, and kpack's
webhook, ``matchPolicy: Exact`` on v1alpha2, never sees v1alpha1 requests).

Beyond kpack — a deliberate Kiln addition: kpack never validates ``spec.cache.registry.tag``.
Kiln rejects a non-empty registry cache tag that is not an image tag reference, and one that
names (after normalisation, ``team/app`` = ``index.docker.io/team/app:latest``) the image's own
``spec.tag`` or one of its ``additionalTags``, because the exported cache would overwrite the
app image. An empty registry tag stays valid and means "no registry cache", as in kpack.

Also beyond kpack, by necessity: a volume ``size`` that is not a resource quantity is reported as
``invalid value: <size>: spec.cache.volume.size`` (the Kubernetes API server rejects such a
document before kpack sees it).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import builders, builds, golang, images, meta, quantities, references
from contracts import fielderrors as fe
from contracts import spec_rules as rules

DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_CACHE_SIZE = "2G"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
CONTROLLER_USERNAMES = frozenset(
    {"system:serviceaccount:kpack:controller", "system:serviceaccount:kiln:kiln"}
)
"""The controllers whose requests may carry ``cnbBindings`` and ``notary``: kpack's, and Kiln's
service account (``deploy/rbac.yaml``)."""

_LABEL_VALUE_FORMAT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE = re.compile(f"^{_LABEL_VALUE_FORMAT}$")
_LABEL_VALUE_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    f"regex used for validation is '{_LABEL_VALUE_FORMAT}')"
)


class AdmissionContext(BaseModel):
    """What the webhook learns from the cluster's StorageClasses (kpack ``cmd/webhook``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    has_default_storage_class: bool = False
    """A StorageClass is annotated as the default one."""
    is_expandable: bool | None = None
    """None when the key is absent (kpack's webhook only ever sets True); only False forbids resizing."""
    user_request: bool = False
    """The object comes in a user's v1alpha2 request (:func:`requested_by_user`): ``cnbBindings``
    and ``notary`` are refused as deprecated. False for the controllers' requests and for Kiln's
    own check of a stored object; their contents are checked then."""

    @classmethod
    def from_storage_classes(cls, storage_classes: list[dict[str, Any]]) -> AdmissionContext:
        """The context the webhook builds from StorageClass objects: the first default class decides."""
        for sc in storage_classes:
            annotations = (sc.get("metadata") or {}).get("annotations") or {}
            if annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
                expandable = True if sc.get("allowVolumeExpansion") is True else None
                return cls(has_default_storage_class=True, is_expandable=expandable)
        return cls()


def requested_by_user(username: str | None) -> bool:
    """kpack's ``!resourceCreatedByKpackController``: a request without user info counts as a user's."""
    return username not in CONTROLLER_USERNAMES


# Defaulting -------------------------------------------------------------------------------------


def default_image(image: images.Image, ctx: AdmissionContext | None = None) -> images.Image:
    """kpack ``Image.SetDefaults``; without ``ctx`` (the controller's case) no cache is added."""
    spec = image.spec
    changes: dict[str, object] = {}
    if not spec.service_account_name:
        changes["service_account_name"] = DEFAULT_SERVICE_ACCOUNT
    if not spec.image_tagging_strategy:
        changes["image_tagging_strategy"] = images.BUILD_NUMBER_STRATEGY
    if spec.failed_build_history_limit is None:
        changes["failed_build_history_limit"] = DEFAULT_HISTORY_LIMIT
    if spec.success_build_history_limit is None:
        changes["success_build_history_limit"] = DEFAULT_HISTORY_LIMIT
    if spec.cache is None and ctx is not None and ctx.has_default_storage_class:
        volume = images.VolumeCache(size=DEFAULT_CACHE_SIZE)
        changes["cache"] = images.ImageCacheConfig(volume=volume)
    return image.with_(spec=spec.with_(**changes)) if changes else image


def default_build(build: builds.Build) -> builds.Build:
    """kpack ``Build.SetDefaults``: only the service account."""
    if build.spec.service_account_name:
        return build
    return build.with_(spec=build.spec.with_(service_account_name=DEFAULT_SERVICE_ACCOUNT))


# Image validation -------------------------------------------------------------------------------


def validate_image(
    image: images.Image, *, old: images.Image | None = None, ctx: AdmissionContext | None = None
) -> fe.FieldError | None:
    """All errors of an Image create (``old`` None) or update, or None when it is valid."""
    ctx = ctx or AdmissionContext()
    extras = image.spec.model_extra or {}
    spec_errors = fe.also(
        _validate_tag(image.spec, old=old.spec if old else None),
        _validate_additional_tags(image.spec),
        fe.via_field(_validate_builder(image.spec.builder), "builder"),
        fe.via_field(rules.validate_source(image.spec.source), "source"),
        fe.via_field(_validate_image_build(image.spec.build, ctx=ctx), "build"),
        fe.via_field(rules.validate_cache_kinds(image.spec.cache), "cache"),
        _validate_volume_size(image.spec),
        _validate_volume_cache(image.spec, old=old.spec if old else None, ctx=ctx),
        fe.via_field(rules.validate_notary(extras.get("notary"), user_request=ctx.user_request), "notary"),
        fe.via_field(rules.validate_cosign(extras.get("cosign")), "cosign"),
        _validate_history_limits(image.spec),
        _validate_registry_cache_tag(image.spec),
    )
    return fe.also(fe.via_field(spec_errors, "spec"), fe.via_field(_validate_name(image.name), "metadata"))


def _validate_name(name: str) -> fe.FieldError | None:
    problems = []
    if len(name) > 63:
        problems.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(name):
        problems.append(_LABEL_VALUE_ERROR)
    if not problems:
        return None
    message = f"invalid image name: {name}, name must be a valid label"
    return fe.FieldError(message=message, paths=("name",), details=",".join(problems))


def _validate_tag(spec: images.ImageSpec, *, old: images.ImageSpec | None) -> fe.FieldError | None:
    if old is not None:
        return fe.immutable_field(old.tag, spec.tag, "tag")
    if not spec.tag:
        return fe.missing_field("tag")
    return None if _is_tag(spec.tag) else fe.invalid_value(spec.tag, "tag")


def _validate_additional_tags(spec: images.ImageSpec) -> fe.FieldError | None:
    tags = spec.additional_tags or []
    invalid = [fe.invalid_array_value(t, "additionalTags", i) for i, t in enumerate(tags) if not _is_tag(t)]
    return fe.also(*invalid, _validate_same_registry(spec.tag, tags))


def _validate_same_registry(tag: str, additional: list[str]) -> fe.FieldError | None:
    if not _is_tag(tag):
        return None
    registry = references.parse_tag(tag).registry
    for other in filter(_is_tag, additional):
        if (got := references.parse_tag(other).registry) != registry:
            message = "all additionalTags must have the same registry as tag"
            details = f"expected registry: {registry}, got: {got}"
            return fe.FieldError(message=message, paths=("additionalTags",), details=details)
    return None


def _validate_builder(builder: meta.ObjectReference) -> fe.FieldError | None:
    if not builder.name:
        return fe.missing_field("name")
    return None if builder.kind in builders.KINDS else fe.invalid_value(builder.kind, "kind")


def _validate_image_build(build: images.ImageBuild | None, *, ctx: AdmissionContext) -> fe.FieldError | None:
    """kpack ``ImageBuild.Validate``: a node selector choosing the os, then an invalid creation
    time, are each reported alone; else the services, CNB bindings and environment."""
    if build is None:
        return None
    if node_selector := rules.validate_node_selector(build.node_selector):
        return node_selector
    if build.creation_time not in (None, "", "now"):
        try:
            golang.parse_int64(build.creation_time)
        except golang.GoError:
            return fe.invalid_value(build.creation_time, "creationTime")
    return fe.also(
        fe.via_field(rules.validate_services(build.services), "services"),
        fe.via_field(
            rules.validate_cnb_bindings(build.cnb_bindings, user_request=ctx.user_request), "cnbBindings"
        ),
        fe.via_field(rules.validate_env(build.env), "env"),
    )


def _validate_history_limits(spec: images.ImageSpec) -> fe.FieldError | None:
    message = "build history limit must be greater than 0"
    if spec.failed_build_history_limit is not None and spec.failed_build_history_limit < 1:
        return fe.generic(message, "failedBuildHistoryLimit")
    if spec.success_build_history_limit is not None and spec.success_build_history_limit < 1:
        return fe.generic(message, "successBuildHistoryLimit")
    return None


def _validate_volume_size(spec: images.ImageSpec) -> fe.FieldError | None:
    """Kiln: a size that is no quantity (the API server's schema check, which kpack relies on)."""
    size = spec.cache.volume.size if spec.cache and spec.cache.volume else None
    if size is None or quantities.is_valid(size):
        return None
    return fe.invalid_value(size, "cache.volume.size")


def _validate_volume_cache(
    spec: images.ImageSpec, *, old: images.ImageSpec | None, ctx: AdmissionContext
) -> fe.FieldError | None:
    """V2 to V5: storage class required, then (update, both with a size) the resize and class rules."""
    volume = spec.cache.volume if spec.cache else None
    if volume is None:
        return None
    if not volume.storage_class_name and not ctx.has_default_storage_class:
        return fe.generic(
            "spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName "
            "or a default StorageClass"
        )
    old_volume = old.cache.volume if old is not None and old.cache else None
    if old_volume is None or not _comparable(old_volume.size) or not _comparable(volume.size):
        return None
    return _validate_volume_update(volume, old=old_volume, ctx=ctx)


def _comparable(size: str | int | None) -> bool:
    return size is not None and quantities.is_valid(size)


def _validate_volume_update(
    volume: images.VolumeCache, *, old: images.VolumeCache, ctx: AdmissionContext
) -> fe.FieldError | None:
    old_size, new_size = str(old.size), str(volume.size)
    before, after = quantities.parse(old_size), quantities.parse(new_size)
    details = f"current: {quantities.canonical(old_size)}, requested: {quantities.canonical(new_size)}"
    if ctx.is_expandable is False and after != before:
        message = "Field cannot be changed, default storage class is not expandable"
        return fe.FieldError(message=message, paths=("cache.volume.size",), details=details)
    if after < before:
        return fe.FieldError(
            message="Field cannot be decreased", paths=("cache.volume.size",), details=details
        )
    return fe.immutable_field(
        old.storage_class_name or "", volume.storage_class_name or "", "cache.volume.storageClassName"
    )


def _validate_registry_cache_tag(spec: images.ImageSpec) -> fe.FieldError | None:
    """Kiln's rule (kpack has none): the cache tag is a tag, and not one of the image's own tags."""
    tag = spec.cache.registry.tag if spec.cache and spec.cache.registry else ""
    if not tag:
        return None
    if not _is_tag(tag):
        hint = "must be an image tag such as registry.example.com/team/app-cache (no digest)"
        return fe.invalid_value(tag, "cache.registry.tag", hint)
    cache_ref = str(references.parse_tag(tag))
    own = [("tag", spec.tag)] + [
        (f"additionalTags[{i}]", t) for i, t in enumerate(spec.additional_tags or [])
    ]
    clashes = [
        fe.FieldError(
            message="the registry cache would overwrite the app image",
            paths=("cache.registry.tag", path),
            details=f"spec.cache.registry.tag must differ from spec.{path}; "
            f"use a separate tag such as {spec.tag}-cache",
        )
        for path, value in own
        if _is_tag(value) and str(references.parse_tag(value)) == cache_ref
    ]
    return fe.also(*clashes)


# Build validation -------------------------------------------------------------------------------


def validate_build(
    build: builds.Build, *, old: builds.Build | None = None, ctx: AdmissionContext | None = None
) -> fe.FieldError | None:
    """All errors of a Build create (``old`` None) or update, or None when it is valid."""
    ctx = ctx or AdmissionContext()
    spec = build.spec
    tags = spec.tags or []
    last_image = spec.last_build.image if spec.last_build else ""
    errors = fe.also(
        None if tags else fe.missing_field("tags"),
        *(fe.invalid_array_value(t, "tags", i) for i, t in enumerate(tags) if not _is_tag(t)),
        fe.via_field(rules.validate_cache_kinds(spec.cache), "cache"),
        fe.via_field(_validate_build_builder(spec.builder), "builder"),
        fe.via_field(rules.validate_source(spec.source), "source"),
        fe.via_field(rules.validate_services(spec.services), "services"),
        fe.via_field(rules.validate_image_ref(last_image, "image") if last_image else None, "lastBuild"),
        _validate_spec_unchanged(spec, old=old.spec if old else None),
        fe.via_field(
            rules.validate_cnb_bindings(spec.cnb_bindings, user_request=ctx.user_request), "cnbBindings"
        ),
        rules.validate_node_selector(spec.node_selector),
        fe.via_field(rules.validate_env(spec.env), "env"),
        fe.via_field(rules.validate_notary(spec.notary, user_request=ctx.user_request), "notary"),
    )
    return fe.via_field(errors, "spec")


def _validate_build_builder(builder: builds.BuildBuilderSpec) -> fe.FieldError | None:
    """kpack ``BuildBuilderSpec.Validate``: ``image`` or ``ref``, not both; a ref names its object."""
    ref = builder.ref
    return fe.also(
        fe.missing_field("image", "ref") if not builder.image and ref is None else None,
        fe.multiple_one_of("image", "ref") if builder.image and ref is not None else None,
        None
        if ref is None
        else fe.via_field(
            fe.also(rules.not_empty(ref.name, "name"), rules.not_empty(ref.kind, "kind")), "ref"
        ),
        None
        if not builder.image or references.is_valid(builder.image)
        else fe.invalid_value(builder.image, "image"),
    )


def _validate_spec_unchanged(spec: builds.BuildSpec, *, old: builds.BuildSpec | None) -> fe.FieldError | None:
    """The whole spec is immutable. kpack names the path ``spec`` inside the spec, so it prints
    as ``spec.spec`` once nested — reproduced as kpack prints it."""
    if old is None:
        return None
    diff = _diff(
        old.model_dump(mode="json", by_alias=True), spec.model_dump(mode="json", by_alias=True), path=""
    )
    if not diff:
        return None
    return fe.FieldError(
        message="Immutable fields changed (-old +new)", paths=("spec",), details="\n".join(diff)
    )


def _diff(old: object, new: object, *, path: str) -> list[str]:
    """go-cmp style lines for each differing leaf, keyed by wire path (``{.source.git.url}``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [k for k in new if k not in old]
        return [line for k in keys for line in _diff(old.get(k), new.get(k), path=f"{path}.{k}")]
    if old == new:
        return []
    return [f"{{{path}}}:", f"\t-: {json.dumps(old)}", f"\t+: {json.dumps(new)}"]


def _is_tag(value: str) -> bool:
    try:
        references.parse_tag(value)
    except references.InvalidReferenceError:
        return False
    return True
