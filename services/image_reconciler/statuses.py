"""The Image status and conditions for every outcome of a reconcile (spec §4.1, §4.4, §4.6).

Conditions are ``Ready``, ``BuilderReady`` and ``BuilderUpToDate``. ``lastTransitionTime`` is
``now`` (RFC 3339, UTC, whole seconds) when a condition's status changed, and the previous
``lastTransitionTime`` is kept when the condition of that type already had the same status — so
rewriting an unchanged status is a no-op (kpack's ``VolatileTime`` is ignored in comparisons for
the same reason). ``observedGeneration`` is the Image's generation in every outcome. Empty values
are left out, as Go's ``omitempty`` does.

Kiln's cache fields (``latestCacheImage``, ``latestCacheBuildNumber``) are derived from the Builds
alone, in every outcome, by :func:`with_registry_cache`; no other service writes Image status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts import builders, builds, images, meta
from services.image_reconciler import changes

READY = "Ready"
BUILDER_READY = "BuilderReady"
BUILDER_UP_TO_DATE = "BuilderUpToDate"
NOT_UP_TO_DATE_MESSAGE = "Builder is not up to date. The latest stack and buildpacks may not be in use."
CACHE_FIELDS = ("latestCacheImage", "latestCacheBuildNumber")
"""Kiln's status fields about the registry cache (:func:`with_registry_cache`)."""


def condition(kind: str, status: meta.ConditionStatus, reason: str, message: str = "") -> meta.Condition:
    """A condition; an empty message is left out (not serialised as null)."""
    fields: dict[str, Any] = {"type": kind, "status": status, "reason": reason}
    if message:
        fields["message"] = message
    return meta.Condition(**fields)


def builder_error(builder: builders.Builder) -> str:
    message = f"Error: Builder '{builder.name}' is not ready in namespace '{builder.namespace}'"
    if builder.ready_message():
        message += f"; Message: {builder.ready_message()}"
    return message


def builder_conditions(builder: builders.Builder) -> list[meta.Condition]:
    """``BuilderReady`` and ``BuilderUpToDate`` as the Builder reports them."""
    ready = (
        condition(BUILDER_READY, "True", "BuilderReady")
        if builder.ready()
        else condition(BUILDER_READY, "False", "BuilderNotReady", builder_error(builder))
    )
    up_to_date = (
        condition(BUILDER_UP_TO_DATE, "True", "BuilderUpToDate")
        if builder.up_to_date()
        else condition(BUILDER_UP_TO_DATE, "False", "BuilderNotUpToDate", NOT_UP_TO_DATE_MESSAGE)
    )
    return [ready, up_to_date]


def builder_not_found(image: images.Image, *, now: datetime) -> images.ImageStatus:
    """§4.1 step 3: only the conditions change: Ready False ``BuilderNotFound``."""
    ref = image.spec.builder
    message = f"Error: Unable to find builder '{ref.name}' in namespace '{ref.namespace or ''}'."
    ready = condition(READY, "False", "BuilderNotFound", message)
    return _with_conditions(image, [ready], now=now)


def invalid_spec(image: images.Image, *, message: str, now: datetime) -> images.ImageStatus:
    """Kiln: an Image that fails validation gets Ready False ``InvalidSpec`` naming the field(s)."""
    return _with_conditions(image, [condition(READY, "False", "InvalidSpec", message)], now=now)


def unparseable(raw: dict[str, Any], *, message: str, now: datetime) -> dict[str, Any] | None:
    """Kiln: the status merge patch for an Image that does not fit the model (a field of the wrong
    type or value): Ready False ``InvalidSpec`` naming the field(s) and the fix, as
    :func:`invalid_spec` gives a valid but invalid one. Read from the raw object (there is no typed
    one), conditional on its resourceVersion; None when its status already says so."""
    metadata, status = _mapping(raw.get("metadata")), _mapping(raw.get("status"))
    conditions = status.get("conditions")
    listed = conditions if isinstance(conditions, list) else []
    previous = next((c for c in listed if isinstance(c, dict) and c.get("type") == READY), {})
    ready = condition(READY, "False", "InvalidSpec", message).dump()
    kept = previous.get("lastTransitionTime")
    same = previous.get("status") == "False" and isinstance(kept, str) and kept
    ready["lastTransitionTime"] = kept if same else meta.rfc3339(now)
    wanted: dict[str, Any] = {"conditions": [ready]}
    generation = metadata.get("generation")
    if isinstance(generation, int) and generation:
        wanted["observedGeneration"] = generation
    if all(status.get(field) == value for field, value in wanted.items()):
        return None
    return {"metadata": {"resourceVersion": metadata.get("resourceVersion")}, "status": wanted}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def build_running(
    image: images.Image, *, build: builds.Build, builder: builders.Builder, now: datetime
) -> images.ImageStatus:
    """§4.1 step 5: only the conditions change: Ready Unknown ``BuildRunning``."""
    succeeded = build.status.condition("Succeeded")
    message = (succeeded.message or "") if succeeded else f"Build '{build.name}' is executing"
    ready = condition(READY, "Unknown", "BuildRunning", message)
    return _with_conditions(image, [ready, *builder_conditions(builder)], now=now)


def build_scheduled(
    image: images.Image,
    *,
    build: builds.Build,
    latest_build: builds.Build | None,
    builder: builders.Builder,
    cache_name: str,
    now: datetime,
) -> images.ImageStatus:
    """§4.6: the status after creating ``build`` (replaced, not merged)."""
    ready = condition(READY, "Unknown", "BuildRunning", f"Build '{build.name}' is executing")
    return _fresh(
        image,
        conditions=[ready, *builder_conditions(builder)],
        now=now,
        latest_build_ref=build.name,
        latest_build_reason=build.reason(),
        latest_build_image_generation=image.generation,
        latest_image=_latest_image(image, latest_build),
        build_counter=build.build_number(),
        build_cache_name=cache_name,
    )


def no_build_scheduled(
    image: images.Image,
    *,
    required: changes.BuildRequired,
    builder: builders.Builder,
    resolver_ready: bool,
    latest_build: builds.Build | None,
    counter: int,
    cache_name: str,
    now: datetime,
) -> images.ImageStatus:
    """§4.4 cases 3 and 4 (kpack ``noScheduledBuild``): the status is replaced."""
    ready = ready_without_build(
        image, required=required, builder=builder, resolver_ready=resolver_ready, latest_build=latest_build
    )
    succeeded = latest_build is not None and latest_build.succeeded()
    return _fresh(
        image,
        conditions=[ready, *builder_conditions(builder)],
        now=now,
        latest_build_ref=latest_build.name if latest_build else "",
        latest_build_reason=latest_build.reason() if latest_build else "",
        latest_build_image_generation=_image_generation(latest_build),
        latest_image=_latest_image(image, latest_build),
        latest_stack=_stack_id(latest_build) if succeeded else "",
        build_counter=counter,
        build_cache_name=cache_name,
    )


def ready_without_build(
    image: images.Image,
    *,
    required: changes.BuildRequired,
    builder: builders.Builder,
    resolver_ready: bool,
    latest_build: builds.Build | None,
) -> meta.Condition:
    """The Ready condition when no build is created.

    ``UnknownState`` cannot happen through :func:`changes.requirement` (Unknown means the builder
    or the resolver is not ready) but is kept as kpack has it.
    """
    if not builder.ready():
        return condition(READY, "False", "BuilderNotReady", builder_error(builder))
    if required == "Unknown":
        if not resolver_ready:
            name = meta.child_name(image.name, "-source")
            return condition(
                READY, "Unknown", "ResolverNotReady", f"Error: SourceResolver '{name}' is not ready"
            )
        return condition(READY, "Unknown", "UnknownState", "Error: Build status unknown")
    succeeded = latest_build.status.condition("Succeeded") if latest_build else None
    if succeeded is not None and succeeded.status == "True":
        return condition(READY, "True", "UpToDate", succeeded.message or "")
    # Unreachable without a build in practice: a first build is always a CONFIG change.
    name = latest_build.name if latest_build else ""
    namespace = latest_build.namespace if latest_build else image.namespace
    detail = (succeeded.message or "") if succeeded else "unknown error"
    message = f"Error: Build '{name}' in namespace '{namespace}' failed: {detail}"
    return condition(READY, succeeded.status if succeeded else "Unknown", "BuildFailed", message)


def _latest_image(image: images.Image, latest_build: builds.Build | None) -> str:
    if latest_build is not None and latest_build.succeeded():
        return latest_build.status.latest_image or ""
    return image.status.latest_image or ""


def _stack_id(build: builds.Build | None) -> str:
    return build.status.stack.id if build is not None and build.status.stack else ""


def _image_generation(build: builds.Build | None) -> int:
    raw = build.labels.get(builds.IMAGE_GENERATION_LABEL, "") if build else ""
    return int(raw) if raw.isdigit() else 0


def _stamped(
    conditions: list[meta.Condition], *, previous: images.ImageStatus, now: datetime
) -> list[meta.Condition]:
    return [meta.stamped(new, previous=previous.condition(new.type), now=now) for new in conditions]


def _with_conditions(
    image: images.Image, conditions: list[meta.Condition], *, now: datetime
) -> images.ImageStatus:
    """The previous status with new conditions and observedGeneration."""
    stamped = _stamped(conditions, previous=image.status, now=now)
    return image.status.with_(conditions=stamped, **_observed(image))


def _fresh(
    image: images.Image, *, conditions: list[meta.Condition], now: datetime, **fields: Any
) -> images.ImageStatus:
    """A new status: Go zero values left out."""
    kept = {key: value for key, value in fields.items() if value not in (None, "", 0)}
    stamped = _stamped(conditions, previous=image.status, now=now)
    return images.ImageStatus(conditions=stamped, **_observed(image), **kept)


def _observed(image: images.Image) -> dict[str, int]:
    return {"observed_generation": image.generation} if image.generation else {}


def registry_cache(builds_of_image: Sequence[builds.Build]) -> dict[str, Any]:
    """Kiln's cache fields: the cache image the newest successful build (by build number) wrote and
    that build's number, when it had a registry cache; none otherwise (no such build, or a volume
    cache or none). The next build reads the same digest (``spec.lastBuild.cache.image``), and an
    older build's digest never replaces a newer one's, whatever order the builds were recorded in."""
    succeeded = [b for b in builds_of_image if b.succeeded() and b.build_number() is not None]
    newest = max(succeeded, key=lambda b: b.build_number() or 0, default=None)
    if newest is None or not newest.spec.registry_cache():
        return {}
    fields: dict[str, Any] = {"latestCacheBuildNumber": newest.build_number()}
    if newest.status.latest_cache_image:
        fields["latestCacheImage"] = newest.status.latest_cache_image
    return fields


def with_registry_cache(status: images.ImageStatus, *, builds: Sequence[builds.Build]) -> images.ImageStatus:
    """``status`` with Kiln's cache fields as :func:`registry_cache` derives them from ``builds``."""
    current = status.dump()
    derived = {k: v for k, v in current.items() if k not in CACHE_FIELDS} | registry_cache(builds)
    return status if derived == current else images.ImageStatus.model_validate(derived)
