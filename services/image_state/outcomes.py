"""What image-state tells once it records a Build's outcome: the Kubernetes Events and the counts (pure).

:func:`finished` is a function of the Build as read (still running), the status recorded on it
and the pod it ran in; it is asked only when image-state writes an outcome for the first time (a
finished Build's status is never rewritten), so a redelivered ``build.finished`` or a second worker
losing the conditional write counts and tells nothing.

* Events: ``BuildSucceeded`` (``Build succeeded: <image digest>``), ``BuildFailed`` (Warning,
  ``Build failed in step export: <message>``) or ``BuildCanceled`` on the Build, the Image related;
  and ``CacheDigestPinned`` (``Cache digest pinned: sha256:… (build 7)``) on the Image, for a
  registry cache whose digest the Build records.
* Counts: the outcome; queue wait, Build created → pod started (the kubelet's ``startTime``, else
  the first step's start); run time, pod started → the last step's end (else the time the outcome
  was decided); the cache (``registry``, ``volume``) and whether restore was handed one: the
  previous build's pinned cache image, or a volume a previous build ran on. Nothing a build pod
  reports says whether restore *found* layers (the completion container reports the image, cache
  image, stack, buildpacks and lifecycle; the restore step only logs), so that is what is counted.

Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import builds, kube_events
from services import errors
from services.image_state import build_status

Outcome = Literal["succeeded", "failed", "canceled"]
ACTION = "Record"


class Finished(BaseModel):
    """A Build's outcome as image-state tells and counts it."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    outcome: Outcome
    """How it ended."""
    namespace: str
    """The Build's namespace."""
    queue_seconds: float | None = None
    """Build created → its pod started; None when it never started."""
    run_seconds: float | None = None
    """Pod started → the build ended; None when it never started."""
    cache: Literal["registry", "volume", ""] = ""
    """The Build's cache; "" for none."""
    cache_restored: bool = False
    """Whether restore was handed a previous build's cache."""
    notices: tuple[kube_events.Notice, ...] = ()
    """The Events to record."""


def finished(
    build: builds.Build, status: builds.BuildStatus, *, pod: dict[str, Any] | None = None
) -> Finished | None:
    """What to tell and count for ``status`` recorded on the running ``build`` (its pod ``pod``,
    when it had one); None while ``status`` says it still runs."""
    succeeded = status.condition(build_status.SUCCEEDED)
    if succeeded is None or succeeded.status == "Unknown":
        return None
    outcome: Outcome = "succeeded" if succeeded.status == "True" else "failed"
    if succeeded.reason == builds.CANCELED_REASON:
        outcome = "canceled"
    observed = _observed(pod)
    started, ended = _run_times(observed, decided=succeeded.last_transition_time)
    created = _time(build.metadata.creation_timestamp)
    cache = "registry" if build.spec.registry_cache() else "volume" if build.spec.volume_cache() else ""
    last = build.spec.last_build
    restored = last is not None and bool(last.cache.image if cache == "registry" else cache and last.image)
    notices = [_outcome_notice(build, status, outcome=outcome, observed=observed, message=succeeded.message)]
    pinned = cache_pinned(build, status.latest_cache_image or "") if outcome == "succeeded" else None
    if pinned is not None:
        notices.append(pinned)
    return Finished(
        outcome=outcome,
        namespace=build.namespace,
        queue_seconds=_seconds(created, started),
        run_seconds=_seconds(started, ended),
        cache=cache,
        cache_restored=restored,
        notices=tuple(notices),
    )


def cache_pinned(build: builds.Build, cache_image: str) -> kube_events.Notice | None:
    """``CacheDigestPinned`` on the Image of ``build``, which records ``cache_image`` (a registry
    cache's digest reference); None without one, or for a Build of no Image."""
    image = kube_events.image_of_build(build)
    if not cache_image or image is None:
        return None
    digest = cache_image.rpartition("@")[2] or cache_image
    number = build.build_number()
    which = f"build {number}" if number is not None else build.name
    return kube_events.Notice(
        regarding=image,
        related=kube_events.regarding_build(build),
        reason="CacheDigestPinned",
        action=ACTION,
        note=f"Cache digest pinned: {digest} ({which})",
    )


def _outcome_notice(
    build: builds.Build,
    status: builds.BuildStatus,
    *,
    outcome: Outcome,
    observed: build_status.PodStatus | None,
    message: str | None,
) -> kube_events.Notice:
    kind: Literal["Normal", "Warning"] = kube_events.NORMAL
    if outcome == "succeeded":
        reason, kind, note = (
            "BuildSucceeded",
            kube_events.NORMAL,
            f"Build succeeded: {status.latest_image or ''}",
        )
    elif outcome == "canceled":
        reason, note = "BuildCanceled", "Build canceled"
    else:
        step = failed_step(observed)
        where = f" in step {step}" if step else ""
        reason, kind, note = (
            "BuildFailed",
            kube_events.WARNING,
            f"Build failed{where}: {message or 'no message'}",
        )
    return kube_events.Notice(
        regarding=kube_events.regarding_build(build),
        related=kube_events.image_of_build(build),
        reason=reason,
        type=kind,
        action=ACTION,
        note=note,
    )


def _observed(pod: dict[str, Any] | None) -> build_status.PodStatus | None:
    """The pod's status; None without a pod, or with one too malformed to read (no times, no step)."""
    if pod is None:
        return None
    try:
        return build_status.pod_status(pod)
    except errors.InvalidMessageError:
        return None


def failed_step(observed: build_status.PodStatus | None) -> str:
    """The first build step that ended with a non-zero exit code; "" when none did."""
    for container in observed.steps() if observed is not None else ():
        terminated = container.terminated()
        if terminated is not None and terminated.exit_code != 0:
            return container.name
    return ""


def _run_times(
    observed: build_status.PodStatus | None, *, decided: str | None
) -> tuple[datetime | None, datetime | None]:
    """When the pod started and when the build ended (else when its outcome was decided)."""
    if observed is None:
        return None, None
    starts: list[datetime] = []
    ends: list[datetime] = []
    for container in observed.steps():
        terminated = container.terminated()
        running = container.state.get("running")
        begun = terminated.started_at if terminated is not None else None
        if begun is None and isinstance(running, dict):
            begun = str(running.get("startedAt") or "")
        starts += [t for t in (_time(begun),) if t is not None]
        ends += [t for t in (_time(terminated.finished_at if terminated else None),) if t is not None]
    started = _time(observed.start_time) or min(starts, default=None)
    ended = max(ends, default=None) or _time(decided)
    return started, ended


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _seconds(since: datetime | None, until: datetime | None) -> float | None:
    if since is None or until is None:
        return None
    return max(0.0, (until - since).total_seconds())
