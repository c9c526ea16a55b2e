"""The image-state service: a Build's outcome from its pod and the cache digest it wrote, on the Build.

image-state writes Build status and nothing else (the image-reconciler owns Image status).

``build.finished`` → the Build's status from its pod (:mod:`.build_status`: conditions, steps,
the completion container's metadata). For a registry cache it records, in the same write, the
cache image the build wrote as ``<repository>@sha256:…``: the digest the completion container
reported right after export (so a later writer of the same tag cannot change it), checked against
the registry; if the completion reported none, the tag is resolved in the registry now. Both
look-ups use the keychain of the Build's service account (the Image's), then Kiln's own
credentials. An unreachable or missing cache image means an empty cache and the build still
succeeds, as kpack does. Then ``cache.digest.updated`` is published (or, without a registry cache,
``image.changed`` at once). A finished Build's status is never rewritten (idempotent); its events
are published again only while its Image still shows it running (:func:`.cache_digests.unannounced`).

``build.cancel.requested`` → the Build ends ``Succeeded=False``, reason ``BuildCanceled``, and its pod
is deleted (:mod:`.canceling`: a finished Build ignores it; a pod that terminated first keeps its
outcome), then ``image.changed``. The status is written before the pod is deleted, so the
pod's deletion never makes the build-runner start it again.

``cache.digest.updated`` → checked against the Build it names (:func:`.cache_digests.recorded_digest`:
a digest recorded is never replaced), then ``image.changed``, on which the image-reconciler derives
the Image's status, its ``latestCacheImage`` included, from the Builds.

An outcome written for the first time is counted (:class:`services.ports.BuildMetrics`) and told as
Kubernetes Events (:mod:`.outcomes`: ``BuildSucceeded``, ``BuildFailed``, ``BuildCanceled`` on the
Build, ``CacheDigestPinned`` on the Image), after the write and the publish; an Event that cannot be
written is logged, never retried with the message.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts import builds, events
from services import errors, ports
from services.image_state import build_status, cache_digests, canceling, outcomes
from services.registry import auth as registry_auth
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains

logger = logging.getLogger(__name__)
SOURCE = cache_digests.SOURCE


@dataclasses.dataclass
class ImageState:
    """Handles ``build.finished``, ``build.cancel.requested`` and ``cache.digest.updated`` for one
    image-state worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    registry: registry_client.RegistryClient
    _: dataclasses.KW_ONLY
    keychains: registry_keychains.Keychains
    clock: Callable[[], datetime]
    recorder: ports.Recorder = dataclasses.field(default_factory=ports.NoRecorder)
    """Writes the Kubernetes Events of the outcomes it records (:mod:`.outcomes`)."""
    metrics: ports.BuildMetrics = dataclasses.field(default_factory=ports.NoMetrics)
    """Counts each Build finished, when its outcome is first written."""

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.BuildFinished):
            await self.record_build(data)
        elif isinstance(data, events.BuildCancelRequested):
            await self.cancel_build(data)
        elif isinstance(data, events.CacheDigestUpdated):
            await self.record_cache_digest(data)

    async def record_build(self, finished: events.BuildFinished) -> None:
        build = await self.cluster.get_build(finished.namespace, finished.build)
        if build is None:
            return
        if not build.running():
            await self._announce_again(build)
            return
        pod: dict[str, Any] | None = {"metadata": {"name": finished.pod}, "status": finished.pod_status}
        if finished.pod_status is None:
            pod = await self.cluster.get_pod(finished.namespace, finished.pod)
        if pod is None:
            return
        await self._record(build, pod)

    async def _record(self, build: builds.Build, pod: dict[str, Any]) -> None:
        """The Build's outcome from its pod, with the cache image it wrote, in one write; then tell."""
        status = build_status.build_status_from_pod(build, pod, now=self.clock())
        lookup = cache_digests.cache_lookup(build, status)
        if lookup is not None:
            status = status.with_(latest_cache_image=await self.cache_image(build, lookup))
        written = await self.cluster.replace_build_status(build.with_(status=status))
        logger.info(
            "build %s/%s: %s",
            build.namespace,
            build.name,
            "succeeded" if status.is_true("Succeeded") else "not succeeded",
        )
        await self.publisher.publish_many(
            cache_digests.recorded_events(build, status, now=self.clock(), version=written.resource_version)
        )
        await self._tell(outcomes.finished(build, status, pod=pod))

    async def _tell(self, finished: outcomes.Finished | None) -> None:
        """Count an outcome written for the first time and record its Events (after the write and
        the publish: neither waits for an Event, and an Event not written is only logged)."""
        if finished is None:
            return
        self.metrics.build_finished(
            finished.outcome,
            namespace=finished.namespace,
            queue_seconds=finished.queue_seconds,
            run_seconds=finished.run_seconds,
            cache=finished.cache,
            cache_restored=finished.cache_restored,
        )
        for notice in finished.notices:
            await self.recorder.record(notice)

    async def cancel_build(self, requested: events.BuildCancelRequested) -> None:
        """End a running Build whose cancellation was asked for, and delete its pod."""
        build = await self.cluster.get_build(requested.namespace, requested.build)
        if build is None:
            return
        pod = await self.cluster.get_pod(build.namespace, build.pod_name())
        plan = canceling.decide(build, pod=pod, now=self.clock())
        if plan.action == "record" and pod is not None:
            logger.info("build %s/%s: its pod finished before the cancellation", build.namespace, build.name)
            await self._record(build, pod)
            return
        version = None
        if plan.status is not None:
            written = await self.cluster.replace_build_status(build.with_(status=plan.status))
            version = written.resource_version
            logger.info("build %s/%s: canceled", build.namespace, build.name)
        if plan.delete_pod and pod is not None:
            await self.cluster.delete_pod(build.namespace, build.pod_name(), uid=pod["metadata"].get("uid"))
        if plan.action == "cancel" and plan.status is not None:
            await self.publisher.publish_many(
                cache_digests.recorded_events(build, plan.status, now=self.clock(), version=version)
            )
            await self._tell(outcomes.finished(build, plan.status, pod=pod))
        elif plan.action == "clean up":
            await self._announce_again(build)

    async def _announce_again(self, build: builds.Build) -> None:
        """A Build recorded before: its events again, if its Image was never told (the publish
        after the write failed, or the process died between the two)."""
        image_name = build.labels.get(builds.IMAGE_LABEL, "")
        if not image_name:
            return
        try:
            image = await self.cluster.get_image(build.namespace, image_name)
        except errors.UnparseableError:
            return  # the image-reconciler reports that Image; it has nothing to learn from a build
        if cache_digests.unannounced(build, image):
            logger.info(
                "build %s/%s was recorded but not announced: announcing it", build.namespace, build.name
            )
            await self.publisher.publish_many(
                cache_digests.recorded_events(
                    build, build.status, now=self.clock(), version=build.resource_version
                )
            )

    async def cache_image(self, build: builds.Build, lookup: cache_digests.CacheLookup) -> str:
        """The cache image the build wrote, as a digest reference; "" when there is none (the
        registry says it is not there, or refuses this account). A temporary failure (the registry
        down, a 5xx, a timeout) is raised, so the outcome is recorded once the registry answers:
        an empty cache recorded for a moment's outage would leave the next build unpinned."""
        account = registry_keychains.Account(
            build.namespace, build.spec.service_account_name or registry_keychains.DEFAULT_SERVICE_ACCOUNT
        )

        async def look_up(keychain: registry_auth.Keychain) -> str:
            if lookup.reported:
                await self.registry.resolve_digest(lookup.reported, keychain=keychain)
                return lookup.reported
            return await self.registry.digest_ref(lookup.tag, keychain=keychain)

        try:
            return await self.keychains.using(account, look_up)
        except errors.PermanentError as e:
            logger.warning(
                "cache image of %s/%s unavailable, using an empty cache: %s", build.namespace, build.name, e
            )
            return ""

    async def record_cache_digest(self, updated: events.CacheDigestUpdated) -> None:
        build = await self.cluster.get_build(updated.namespace, updated.build)
        if build is None:
            return
        status = cache_digests.recorded_digest(build, updated)
        version = build.resource_version
        if status is not None:
            version = (await self.cluster.replace_build_status(build.with_(status=status))).resource_version
            logger.info(
                "build %s/%s: cache image %s recorded",
                build.namespace,
                build.name,
                updated.latest_cache_image,
            )
        changed = cache_digests.image_changed(
            updated.namespace, image=updated.image, build=updated.build, now=self.clock(), version=version
        )
        await self.publisher.publish_many([changed])
        pinned = outcomes.cache_pinned(build, updated.latest_cache_image) if status is not None else None
        if pinned is not None:
            await self.recorder.record(pinned)
