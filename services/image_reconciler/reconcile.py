"""One Image reconcile as a plan (spec §4.1): what to create, update, delete, write and announce.

:func:`plan` is pure: the image-reconciler reads the Image, its Builder, SourceResolver, Builds,
cache PVC and (when the newest Build runs) that Build's pod, calls ``plan(..., now=...)`` once per
event, then performs each action of the :class:`ReconcilePlan` with one API call. ``kiln plan``
prints :meth:`ReconcilePlan.to_document`.

Order, as kpack: being deleted? → invalid spec? (Kiln: ``Ready=False InvalidSpec``) → controller
defaults → builder missing? → newest build running? → cache PVC → SourceResolver → is a build
required? → the Build or the "no build" status → history cleanup. With a
:class:`~.resolvers.Resolution` (the image-reconciler's own mode) the SourceResolver is also
resolved and the pushed revision recorded on it (:mod:`.resolvers`), before the early stops, so a
push is never lost while a build runs. The Image status's cache fields are derived from the Builds
in every outcome (:func:`.statuses.with_registry_cache`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import admission, builders, builds, events, images, source_resolvers
from services.image_reconciler import cache_volumes, changes, history, next_build, resolvers, statuses

ReconcileError = changes.ReconcileError
BuildRequired = changes.BuildRequired
Resolution = resolvers.Resolution
SourceResolverPlan = resolvers.SourceResolverPlan
desired_source_resolver = resolvers.desired_source_resolver
plan_source_resolver = resolvers.plan_source_resolver
Outcome = Literal["Deleting", "InvalidSpec", "BuilderNotFound", "BuildRunning", "Decided"]
DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_HISTORY_LIMIT = 10
RECONCILE_ADMISSION = admission.AdmissionContext(has_default_storage_class=True)
"""The storage-class rule needs the cluster's StorageClasses and is the admission webhook's to
enforce; the reconciler flags every other invalid spec (a PVC without a class then simply uses the
cluster default, as kpack's does)."""


class ReconcilePlan(BaseModel):
    """Everything one reconcile decided, as data."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    """``Deleting`` does nothing; ``InvalidSpec``, ``BuilderNotFound`` and ``BuildRunning`` stop
    early: only the status (and the resolver's status, the running build's announcement) is written."""
    build_required: BuildRequired
    """``True`` (a Build is created), ``False`` or ``Unknown`` (also for the early stops)."""
    reasons: tuple[str, ...] = ()
    """Rebuild reasons in kpack's order."""
    changes: str = ""
    """The ``image.kpack.io/buildChanges`` JSON, or ""."""
    priority: int = 0
    """1000 (high), 1 (low) or 0 (no change)."""
    priority_class_name: str = ""
    """``kpack-build-high-priority``, ``kpack-build-low-priority`` or ""."""
    build: builds.Build | None = None
    """The Build to create (and announce: ``build.scheduled``)."""
    reannounce: builds.Build | None = None
    """The newest Build, running but without a pod, to announce again: a worker that died between
    creating a Build and announcing it leaves one behind (the build-runner ignores a Build whose pod
    exists). A running Build whose pod exists, finished or not, is not announced again."""
    cache_pvc: cache_volumes.PvcPlan = cache_volumes.NO_CHANGE
    """The cache PVC action."""
    source_resolver: resolvers.SourceResolverPlan = resolvers.NO_CHANGE
    """The SourceResolver action, and (with a :class:`Resolution`) the status to write on it."""
    delete_builds: tuple[str, ...] = ()
    """Names of old builds to delete (history limits)."""
    status: images.ImageStatus
    """The Image status to write."""
    status_changed: bool = True
    """False when ``status`` equals the observed status (then no status update is needed)."""

    def to_document(self) -> dict[str, Any]:
        """The ``kiln plan`` output."""
        return {
            "buildRequired": self.build_required,
            "reasons": list(self.reasons),
            "changes": self.changes,
            "build": self.build.dump() if self.build is not None else None,
            "cachePvc": self.cache_pvc.to_document(),
            "deleteBuilds": list(self.delete_builds),
            "status": self.status.dump(),
        }


def plan(
    *,
    image: images.Image,
    builder: builders.Builder | None,
    source_resolver: source_resolvers.SourceResolver | None,
    builds: Sequence[builds.Build],
    pvc: Mapping[str, Any] | None,
    now: datetime,
    enable_priority_classes: bool = False,
    resolution: resolvers.Resolution | None = None,
    pod: Mapping[str, Any] | None = None,
) -> ReconcilePlan:
    """Plan one reconcile; raises :class:`ReconcileError` where kpack's reconcile errors.

    ``resolution``: resolve the SourceResolver too (Kiln's image-reconciler); None decides against
    the resolver as observed, as kpack's reconcile does. ``pod``: the newest Build's pod when that
    Build runs, None when it has none.
    """
    stopped = early_stop(image, now=now)
    if stopped is not None:
        return stopped
    oldest_first = builds_oldest_first(builds, image_name=image.name)
    image = controller_defaults(image)
    if builder is None:
        status = statuses.builder_not_found(image, now=now)
        observed = resolvers.resolve_observed(source_resolver, resolution=resolution, now=now)
        return _early(image, "BuilderNotFound", status, builds=oldest_first, resolver=observed)
    latest = oldest_first[-1] if oldest_first else None
    if latest is not None and latest.running():
        status = statuses.build_running(image, build=latest, builder=builder, now=now)
        observed = resolvers.resolve_observed(source_resolver, resolution=resolution, now=now)
        without_pod = latest if not _pod_of(latest, pod) else None
        return _early(
            image, "BuildRunning", status, builds=oldest_first, resolver=observed, reannounce=without_pod
        )
    cache = cache_volumes.plan_cache(image, observed=pvc)
    resolver_plan, resolver, kpack_not_ready = resolvers.plan(
        image, observed=source_resolver, resolution=resolution, now=now
    )
    required = changes.requirement(
        image, latest_build=latest, source_resolver=resolver, builder=builder, now=now
    )
    counter = next_build.build_counter(latest)
    build = None
    if required.status == "True":
        build = next_build.next_build(
            _claiming(image, cache=cache, written_first=kpack_not_ready or latest is None),
            builder=builder,
            source_resolver=resolver,
            latest_build=latest,
            requirement=required,
            now=now,
            enable_priority_classes=enable_priority_classes,
        )
        status = statuses.build_scheduled(
            image,
            build=build,
            latest_build=latest,
            builder=builder,
            cache_name=cache.build_cache_name,
            now=now,
        )
    else:
        status = statuses.no_build_scheduled(
            image,
            required=required.status,
            builder=builder,
            resolver_ready=resolver.ready(),
            latest_build=latest,
            counter=counter,
            cache_name=cache.build_cache_name,
            now=now,
        )
    status = statuses.with_registry_cache(status, builds=oldest_first)
    return ReconcilePlan(
        outcome="Decided",
        build_required=required.status,
        reasons=tuple(required.reasons),
        changes=required.changes_json,
        priority=required.priority,
        priority_class_name=required.priority_class_name,
        build=build,
        cache_pvc=cache,
        source_resolver=resolver_plan,
        delete_builds=tuple(
            history.builds_to_delete(
                oldest_first,
                failed_limit=image.spec.failed_build_history_limit or DEFAULT_HISTORY_LIMIT,
                success_limit=image.spec.success_build_history_limit or DEFAULT_HISTORY_LIMIT,
            )
        ),
        status=status,
        status_changed=status.dump() != image.status.dump(),
    )


def early_stop(image: images.Image, *, now: datetime) -> ReconcilePlan | None:
    """The plan of an Image being deleted (nothing to do) or failing validation (``Ready=False
    InvalidSpec`` naming the fields, the rest of the status kept), decided from the Image alone, so
    nothing else need be read for it; None for any other Image."""
    if image.metadata.deletion_timestamp:
        return ReconcilePlan(
            outcome="Deleting", build_required="Unknown", status=image.status, status_changed=False
        )
    error = admission.validate_image(image, ctx=RECONCILE_ADMISSION)
    if not error:
        return None
    message = "\n".join(str(e) for e in error.merged())
    status = statuses.invalid_spec(image, message=message, now=now)
    return ReconcilePlan(
        outcome="InvalidSpec",
        build_required="Unknown",
        status=status,
        status_changed=status.dump() != image.status.dump(),
    )


def _early(
    image: images.Image,
    outcome: Outcome,
    status: images.ImageStatus,
    *,
    builds: Sequence[builds.Build],
    resolver: resolvers.SourceResolverPlan = resolvers.NO_CHANGE,
    reannounce: builds.Build | None = None,
) -> ReconcilePlan:
    status = statuses.with_registry_cache(status, builds=builds)
    return ReconcilePlan(
        outcome=outcome,
        build_required="Unknown",
        source_resolver=resolver,
        reannounce=reannounce,
        status=status,
        status_changed=status.dump() != image.status.dump(),
    )


def _pod_of(build: builds.Build, pod: Mapping[str, Any] | None) -> bool:
    """Whether ``pod`` is ``build``'s pod."""
    name = ((pod or {}).get("metadata") or {}).get("name")
    return name is not None and name in (build.pod_name(), build.status.pod_name)


def _claiming(image: images.Image, *, cache: cache_volumes.PvcPlan, written_first: bool) -> images.Image:
    """The Image whose ``status.buildCacheName`` the new Build's claim comes from (kpack's lag, §4.2).

    kpack builds from the status as it was, which lags the PVC by one reconcile. Where kpack's
    reconcile would have stopped at a resolver not ready yet (created, or its spec changed) it
    writes the new ``buildCacheName`` first and builds in the next reconcile; Kiln resolves in the
    same reconcile, so its Build takes the name that status would have held. An Image's first Build
    always does: kpack's first reconcile stops at the resolver it creates, and Kiln's may have been
    cut short after creating it (a failed write, a killed worker), so that the one done again finds
    the resolver already there and the status not written yet.
    """
    if not written_first:
        return image
    return image.with_(status=image.status.with_(build_cache_name=cache.build_cache_name or None))


def controller_defaults(image: images.Image) -> images.Image:
    """The defaults kpack's controller applies itself (§2.2 items 1-3; never the 2G cache)."""
    return admission.default_image(image)


def builds_oldest_first(all_builds: Sequence[builds.Build], *, image_name: str) -> list[builds.Build]:
    """The Image's builds (label ``image.kpack.io/image``) by creationTimestamp; missing ones last."""
    mine = [b for b in all_builds if b.labels.get(builds.IMAGE_LABEL) == image_name]
    return sorted(mine, key=_creation_key)


def newest_build(all_builds: Sequence[builds.Build], *, image_name: str) -> builds.Build | None:
    """The Image's newest Build (the last by creationTimestamp), whose pod a running reconcile reads."""
    oldest_first = builds_oldest_first(all_builds, image_name=image_name)
    return oldest_first[-1] if oldest_first else None


def images_using(all_images: Sequence[images.Image], *, builder: events.BuilderChanged) -> list[images.Image]:
    """The Images built with the changed builder: same kind and name; a Builder only in its namespace."""
    return [
        image
        for image in all_images
        if image.spec.builder.kind == builder.kind
        and image.spec.builder.name == builder.name
        and (builder.kind == "ClusterBuilder" or image.namespace == builder.namespace)
    ]


def _creation_key(build: builds.Build) -> tuple[bool, datetime]:
    created = _parse_time(build.metadata.creation_timestamp or "")
    return (created is None, created or datetime.min.replace(tzinfo=UTC))


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
