"""The statuses the builder half writes (spec §1.1, §1.6), and when a write is needed.

* ClusterStore, Buildpack, ClusterBuildpack, ClusterStack, ClusterLifecycle (kpack's
  ``CreateStatusWithReadyCondition``): the whole status is replaced by ``observedGeneration``, one
  ``Ready`` condition (``True``, or ``False`` with the error as its message; never a reason) and,
  on success only, the resolved payload — an error wipes what was resolved before.
* Builder and ClusterBuilder: success (:func:`builder_ready`) writes ``[Ready True, UpToDate True]``
  and every field of the new record; failure (:func:`builder_failed`) replaces only
  ``observedGeneration`` and the conditions — ``Ready`` stays True while a previous image exists
  (else False ``NoLatestImage``), ``UpToDate`` is False ``ReconcileFailed`` with the error — and
  keeps the last good image, metadata, stack and lifecycle.

``lastTransitionTime`` is ``now`` when a condition's status changes and the previous one is kept
otherwise; :func:`same_status` ignores it (kpack's ``VolatileTime``) and Go's zero values, so an
equal re-reconcile writes nothing. Empty fields are left out, as Go's ``omitempty`` does.

Pure: no I/O; time is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from contracts import builders, buildpacks, builds, golang, meta, stacks

READY = "Ready"
_StatusType = TypeVar("_StatusType", bound=meta.Status)


def store_status(
    obj: buildpacks.AnyStore,
    *,
    resolved: Sequence[buildpacks.BuildpackStatus] = (),
    error: str | None = None,
    now: datetime,
) -> buildpacks.StoreStatus:
    """A ClusterStore's, Buildpack's or ClusterBuildpack's status: its buildpacks, or the error."""
    payload = {"buildpacks": [status.dump() for status in resolved]} if resolved else {}
    return _ready_status(buildpacks.StoreStatus, obj, payload=payload, error=error, now=now)


def stack_status(
    stack: stacks.ClusterStack,
    *,
    resolved: stacks.ClusterStackStatus | None = None,
    error: str | None = None,
    now: datetime,
) -> stacks.ClusterStackStatus:
    """A ClusterStack's status: what :func:`services.builder.stacks.resolve_stack` found, or the error."""
    payload = resolved.dump() if resolved is not None else {}
    return _ready_status(stacks.ClusterStackStatus, stack, payload=payload, error=error, now=now)


def lifecycle_status(
    lifecycle: stacks.ClusterLifecycle,
    *,
    resolved: stacks.ResolvedLifecycle | None = None,
    error: str | None = None,
    now: datetime,
) -> stacks.ClusterLifecycleStatus:
    """A ClusterLifecycle's status: what :func:`services.builder.lifecycles.resolve_lifecycle`
    found, or the error."""
    payload = resolved.dump() if resolved is not None else {}
    return _ready_status(stacks.ClusterLifecycleStatus, lifecycle, payload=payload, error=error, now=now)


def _ready_status(
    status_type: type[_StatusType],
    obj: buildpacks.AnyStore | stacks.ClusterStack | stacks.ClusterLifecycle,
    *,
    payload: dict[str, Any],
    error: str | None,
    now: datetime,
) -> _StatusType:
    status: meta.Status = obj.status
    fields: dict[str, Any] = {"type": READY, "status": "True" if error is None else "False"}
    if error:
        fields["message"] = error
    ready = meta.stamped(meta.Condition(**fields), previous=status.condition(READY), now=now)
    wire = {key: value for key, value in payload.items() if key not in ("observedGeneration", "conditions")}
    if error is not None:
        wire = {}
    wire["conditions"] = [ready.dump()]
    if obj.generation:
        wire["observedGeneration"] = obj.generation
    return status_type.model_validate(wire)


# Builders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuilderRecord:
    """What making a builder image produced (kpack's ``BuilderRecord``)."""

    latest_image: str
    """``<resolved tag>@sha256:…`` of the image pushed."""
    stack: builders.BuilderStack
    """``{runImage: <relocated run image>@sha256:…, id: <stack id>}``."""
    lifecycle: builders.Lifecycle
    """The ClusterLifecycle's status without its image (:func:`builder_lifecycle`)."""
    builder_metadata: tuple[builds.BuildpackInfo, ...]
    """Every buildpack in the image, in layer order."""
    order: tuple[buildpacks.OrderEntry, ...]
    """The resolved order."""
    observed_stack_generation: int = 0
    """The ClusterStack's ``status.observedGeneration``."""
    observed_store_generation: int = 0
    """The ClusterStore's ``status.observedGeneration`` (0 without a store)."""
    os: str = ""
    """The image config's ``os``."""
    signature_paths: tuple[builders.SignaturePath, ...] = ()
    """Cosign signatures pushed."""


def builder_lifecycle(resolved: stacks.ResolvedLifecycle) -> builders.Lifecycle:
    """The lifecycle a builder's status records: version and APIs of the ClusterLifecycle, and an
    empty ``image`` (kpack copies everything but the image)."""
    return builders.Lifecycle(
        image=stacks.StackStatusImage(),
        api=resolved.api or stacks.LifecycleApi(),
        apis=resolved.apis or stacks.LifecycleApis(),
        **golang.omitempty(version=resolved.version),
    )


def builder_ready(
    builder: builders.Builder, *, record: BuilderRecord, now: datetime
) -> builders.BuilderStatus:
    """The status after a builder image was made: ``[Ready True, UpToDate True]`` (no reason, no
    message) and every field of ``record``."""
    previous = builder.status
    conditions = [
        meta.stamped(meta.Condition(type=kind, status="True"), previous=previous.condition(kind), now=now)
        for kind in (READY, builders.UP_TO_DATE)
    ]
    return builders.BuilderStatus(
        conditions=conditions,
        stack=record.stack,
        lifecycle=record.lifecycle,
        **golang.omitempty(
            observed_generation=builder.generation,
            latest_image=record.latest_image,
            builder_metadata=list(record.builder_metadata),
            order=list(record.order),
            observed_stack_generation=record.observed_stack_generation,
            observed_store_generation=record.observed_store_generation,
            os=record.os,
            signature_paths=list(record.signature_paths),
        ),
    )


def builder_failed(builder: builders.Builder, *, error: str, now: datetime) -> builders.BuilderStatus:
    """The status after a failed reconcile: the previous one with new ``observedGeneration`` and
    conditions only."""
    previous = builder.status
    if previous.latest_image:
        ready = meta.Condition(type=READY, status="True")
    else:
        ready = meta.Condition(
            type=READY,
            status="False",
            reason=builders.NO_LATEST_IMAGE_REASON,
            message=builders.NO_LATEST_IMAGE_MESSAGE,
        )
    up_to_date = meta.Condition(
        type=builders.UP_TO_DATE,
        status="False",
        reason=builders.RECONCILE_FAILED_REASON,
        **golang.omitempty(message=error),
    )
    wire = {key: value for key, value in previous.dump().items() if key != "observedGeneration"}
    wire["conditions"] = [
        meta.stamped(condition, previous=previous.condition(condition.type), now=now).dump()
        for condition in (ready, up_to_date)
    ]
    if builder.generation:
        wire["observedGeneration"] = builder.generation
    return builders.BuilderStatus.model_validate(wire)


# Comparing --------------------------------------------------------------------------------------


def same_status(a: meta.Status, b: meta.Status) -> bool:
    """Whether writing ``a`` over ``b`` would change nothing kpack tells apart
    (``equality.Semantic.DeepEqual``): ``lastTransitionTime`` ignored, a missing field equal to its
    zero value, a nil list equal to an empty one."""
    same: bool = _semantic(a.dump()) == _semantic(b.dump())
    return same


def _semantic(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {key: _semantic(item) for key, item in value.items() if key != "lastTransitionTime"}
        return {key: item for key, item in kept.items() if not _is_zero(item)}
    if isinstance(value, list):
        return [_semantic(item) for item in value]
    return value


def _is_zero(value: Any) -> bool:
    zero: bool = value in (None, "", 0, [], {})  # False == 0
    return zero
