"""The next Build of an Image (spec §4.5, kpack ``Image.Build``).

Deterministic: the name is ``child_name(image, "-build-<n>")`` with ``n`` the newest build's
build-number label + 1, and the BuildNumber tag's time is the ``now`` passed in. ``spec.cache`` is
never omitted; ``spec.lastBuild`` pins the cache image digest the previous successful build
wrote, and is carried forward verbatim past a failed build.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import builders, builds, images, meta, references, source_resolvers
from services.image_reconciler import changes


def build_counter(latest_build: builds.Build | None) -> int:
    """The newest build's number (0 without builds); a missing or bad label is an error."""
    if latest_build is None:
        return 0
    number = latest_build.build_number()
    if number is None:
        raw = latest_build.labels.get(builds.BUILD_NUMBER_LABEL, "")
        raise changes.ReconcileError(
            f'error parsing the image build number: strconv.ParseInt: parsing "{raw}": invalid syntax'
        )
    return number


def build_tags(image: images.Image, *, number: int, now: datetime) -> list[str] | None:
    """``spec.tags``: the tag, the BuildNumber tag (strategy BuildNumber), the additional tags.

    None when the strategy is BuildNumber and the tag does not parse (kpack's ``nil``).
    """
    additional = list(image.spec.additional_tags or [])
    if image.spec.image_tagging_strategy == images.NO_TAGGING_STRATEGY:
        return [image.spec.tag, *additional]
    try:
        tag = references.parse_tag(image.spec.tag)
    except references.InvalidReferenceError:
        return None
    prefix = "" if tag.tag == references.DEFAULT_TAG else f"{tag.tag}-"
    numbered = f"{tag.name}:{prefix}b{number}.{now:%Y%m%d}.{now:%H%M%S}"
    return [image.spec.tag, numbered, *additional]


def build_cache(image: images.Image) -> builds.BuildCacheConfig:
    """``spec.cache``: the claim name comes from the Image's *previous* status (kpack's lag)."""
    if image.spec.volume_cache_requested():
        claim = image.status.build_cache_name or ""
        return builds.BuildCacheConfig(
            volume=builds.BuildPersistentVolumeCache(persistent_volume_claim_name=claim)
        )
    if image.spec.registry_cache_requested():
        tag = (image.spec.cache or images.ImageCacheConfig()).registry or images.RegistryCache()
        return builds.BuildCacheConfig(registry=builds.BuildRegistryCache(tag=tag.tag))
    return builds.BuildCacheConfig()


def last_build(latest_build: builds.Build | None) -> builds.LastBuild | None:
    """``spec.lastBuild``: none, the failed build's own lastBuild, or the succeeded build's outputs."""
    if latest_build is None:
        return None
    if latest_build.failed():
        return latest_build.spec.last_build
    status = latest_build.status
    return builds.LastBuild(
        image=status.latest_image or "",
        cache=builds.LastBuildCache(image=status.latest_cache_image or ""),
        stack_id=status.stack.id if status.stack else "",
    )


def next_build(
    image: images.Image,
    *,
    builder: builders.Builder,
    source_resolver: source_resolvers.SourceResolver,
    latest_build: builds.Build | None,
    requirement: changes.Requirement,
    now: datetime,
    enable_priority_classes: bool = False,
) -> builds.Build:
    """The Build to create for a ``True`` requirement."""
    number = build_counter(latest_build) + 1
    spec = _spec(image, builder=builder, source_resolver=source_resolver, number=number, now=now)
    spec["last_build"] = last_build(latest_build)
    if spec["last_build"] is None:
        del spec["last_build"]
    if enable_priority_classes:
        spec["priority_class_name"] = requirement.priority_class_name
    metadata = meta.ObjectMeta(
        name=meta.child_name(image.name, f"-build-{number}"),
        namespace=image.namespace,
        labels=image.labels
        | {
            builds.BUILD_NUMBER_LABEL: str(number),
            builds.IMAGE_LABEL: image.name,
            builds.IMAGE_GENERATION_LABEL: str(image.generation),
        },
        annotations=image.annotations
        | {
            builds.REASON_ANNOTATION: requirement.reasons_string,
            builds.CHANGES_ANNOTATION: requirement.changes_json,
            builds.BUILDER_NAME_ANNOTATION: builder.name,
            builds.BUILDER_KIND_ANNOTATION: builder.kind or image.spec.builder.kind,
        },
        owner_references=[image.controller_reference(kind=images.KIND)],
    )
    return builds.Build(
        api_version=meta.V1ALPHA2, kind=builds.KIND, metadata=metadata, spec=builds.BuildSpec(**spec)
    )


def _spec(
    image: images.Image,
    *,
    builder: builders.Builder,
    source_resolver: source_resolvers.SourceResolver,
    number: int,
    now: datetime,
) -> dict[str, Any]:
    """The BuildSpec fields kpack always sets, plus those the Image sets (Go ``omitempty``)."""
    settings = image.spec.build or images.ImageBuild()
    spec: dict[str, Any] = {
        "tags": build_tags(image, number=number, now=now),
        "builder": builder.build_builder_spec(),
        "service_account_name": image.spec.service_account_name,
        "source": source_resolver.status.source.source_config(),
        "cache": build_cache(image),
        "run_image": builds.RunImage(image=builder.run_image()),
        "resources": settings.resources or {},
        "env": settings.env,
        "services": settings.services,
        "cnb_bindings": settings.cnb_bindings,
        "tolerations": settings.tolerations,
        "node_selector": settings.node_selector,
        "affinity": settings.affinity,
        "runtime_class_name": settings.runtime_class_name,
        "scheduler_name": settings.scheduler_name,
        "active_deadline_seconds": settings.build_timeout,
        "creation_time": settings.creation_time,
        "default_process": image.spec.default_process,
        "project_descriptor_path": image.spec.project_descriptor_path,
    }
    extras = image.spec.model_extra or {}
    spec |= {key: extras[key] for key in ("notary", "cosign") if extras.get(key) is not None}
    return {key: value for key, value in spec.items() if value is not None and value != []}
