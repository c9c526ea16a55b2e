"""One Image reconcile as a plan (spec §4.1): what to create, update, delete and write.

:func:`plan` is pure: the service reads the Image, its Builder, SourceResolver, Builds and cache
PVC, calls ``plan(..., now=...)``, then performs each action of the :class:`ReconcilePlan` with one
API call. ``kiln plan`` prints :meth:`ReconcilePlan.to_document`.

Order, as kpack: controller defaults → builder missing? → newest build running? → cache PVC →
SourceResolver → is a build required? → the Build or the "no build" status → history cleanup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import admission, builders, builds, images, meta, source_resolvers
from services.image_reconciler import cache_volumes, changes, history, next_build, statuses

ReconcileError = changes.ReconcileError
BuildRequired = changes.BuildRequired
Outcome = Literal["BuilderNotFound", "BuildRunning", "Decided"]
DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_HISTORY_LIMIT = 10


class SourceResolverPlan(BaseModel):
    """What to do with the Image's SourceResolver (spec §1.5, kpack ``reconcileSourceResolver``)."""

    model_config = ConfigDict(frozen=True)

    action: Literal["create", "update", "none"]
    """``create`` or ``update`` the object, or ``none``."""
    object: source_resolvers.SourceResolver | None = None
    """create: the desired resolver; update: the observed one with the desired spec and labels."""


class ReconcilePlan(BaseModel):
    """Everything one reconcile decided, as data."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    """``BuilderNotFound`` and ``BuildRunning`` stop early: only the status is written."""
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
    """The Build to create."""
    cache_pvc: cache_volumes.PvcPlan = cache_volumes.NO_CHANGE
    """The cache PVC action."""
    source_resolver: SourceResolverPlan = SourceResolverPlan(action="none")
    """The SourceResolver action."""
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
) -> ReconcilePlan:
    """Plan one reconcile; raises :class:`ReconcileError` where kpack's reconcile errors."""
    image = controller_defaults(image)
    if builder is None:
        return _early(image, "BuilderNotFound", statuses.builder_not_found(image, now=now))
    oldest_first = builds_oldest_first(builds, image_name=image.name)
    latest = oldest_first[-1] if oldest_first else None
    if latest is not None and latest.running():
        status = statuses.build_running(image, build=latest, builder=builder, now=now)
        return _early(image, "BuildRunning", status)
    cache = cache_volumes.plan_cache(image, observed=pvc)
    resolver_plan, resolver = plan_source_resolver(image, observed=source_resolver)
    required = changes.requirement(
        image, latest_build=latest, source_resolver=resolver, builder=builder, now=now
    )
    counter = next_build.build_counter(latest)
    build = None
    if required.status == "True":
        build = next_build.next_build(
            image,
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


def _early(image: images.Image, outcome: Outcome, status: images.ImageStatus) -> ReconcilePlan:
    return ReconcilePlan(
        outcome=outcome,
        build_required="Unknown",
        status=status,
        status_changed=status.dump() != image.status.dump(),
    )


def controller_defaults(image: images.Image) -> images.Image:
    """The defaults kpack's controller applies itself (§2.2 items 1-3; never the 2G cache)."""
    return admission.default_image(image)


def builds_oldest_first(all_builds: Sequence[builds.Build], *, image_name: str) -> list[builds.Build]:
    """The Image's builds (label ``image.kpack.io/image``) by creationTimestamp; missing ones last."""
    mine = [b for b in all_builds if b.labels.get(builds.IMAGE_LABEL) == image_name]
    return sorted(mine, key=_creation_key)


def _creation_key(build: builds.Build) -> tuple[bool, datetime]:
    created = _parse_time(build.metadata.creation_timestamp or "")
    return (created is None, created or datetime.min.replace(tzinfo=UTC))


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def desired_source_resolver(image: images.Image) -> source_resolvers.SourceResolver:
    """``<image>-source``: the Image's source and service account, its labels, owned by it."""
    metadata: dict[str, Any] = {"name": meta.child_name(image.name, "-source"), "namespace": image.namespace}
    if image.labels:
        metadata["labels"] = image.labels
    metadata["ownerReferences"] = [cache_volumes.image_owner_reference(image)]
    return source_resolvers.SourceResolver.model_validate(
        {
            "apiVersion": meta.V1ALPHA2,
            "kind": source_resolvers.KIND,
            "metadata": metadata,
            "spec": {
                "serviceAccountName": image.spec.service_account_name,
                "source": image.spec.source.dump(),
            },
        }
    )


def plan_source_resolver(
    image: images.Image, *, observed: source_resolvers.SourceResolver | None
) -> tuple[SourceResolverPlan, source_resolvers.SourceResolver]:
    """The action, and the resolver the decision then sees.

    A created resolver has no status (not ready). An update that changes the spec bumps the
    generation past ``observedGeneration``, so the updated resolver is not ready either.
    """
    desired = desired_source_resolver(image)
    if observed is None:
        return SourceResolverPlan(action="create", object=desired), desired
    same_spec = changes.semantic(desired.spec.dump()) == changes.semantic(observed.spec.dump())
    if same_spec and desired.labels == observed.labels:
        return SourceResolverPlan(action="none"), observed
    metadata = observed.metadata.dump()
    metadata.pop("labels", None)
    metadata |= {"labels": desired.labels} if desired.labels else {}
    updated = observed.with_(spec=desired.spec, metadata=meta.ObjectMeta.model_validate(metadata))
    seen = updated
    if not same_spec:
        seen = updated.with_(metadata=updated.metadata.with_(generation=observed.generation + 1))
    return SourceResolverPlan(action="update", object=updated), seen
