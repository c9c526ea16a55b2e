"""The image-state service: Build status from its pod, the cache digest pinned, Image told.

``build.finished`` → the Build's status from its pod (conditions, steps, the completion
container's metadata). For a registry cache it records the cache image the build wrote as
``<repository>@sha256:…``: the digest the completion container reported right after export
(so a later writer of the same tag cannot change it), checked against the registry; if the
completion reported none, the tag is resolved in the registry now. Both look-ups use the keychain
of the Build's service account (the Image's), then Kiln's own credentials. An unreachable or missing cache
image means an empty cache and the build still succeeds, as kpack does. Then
``cache.digest.updated`` and ``image.changed`` are published.

``cache.digest.updated`` → the Image's ``status.latestCacheImage`` (a Kiln field beside kpack's),
written only for a build newer than the one recorded there: monotonic, so a late or duplicate
event never moves it back. A finished Build's status is never rewritten (idempotent).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from contracts import builds, events
from services import errors, ports
from services.build_runner import build_status
from services.registry import auth as registry_auth
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains

logger = logging.getLogger(__name__)
SOURCE = "/kiln/image-state"
CACHE_IMAGE_FIELD = "latestCacheImage"
CACHE_BUILD_FIELD = "latestCacheBuildNumber"


@dataclasses.dataclass
class ImageState:
    """Handles ``build.finished`` and ``cache.digest.updated`` for one image-state worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    registry: registry_client.RegistryClient
    _: dataclasses.KW_ONLY
    keychains: registry_keychains.Keychains
    clock: Callable[[], datetime]

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.BuildFinished):
            await self.record_build(data)
        elif isinstance(data, events.CacheDigestUpdated):
            await self.record_cache_digest(data)

    async def record_build(self, finished: events.BuildFinished) -> None:
        build = await self.cluster.get_build(finished.namespace, finished.build)
        if build is None or not build.running():
            return
        pod = await self.cluster.get_pod(finished.namespace, finished.pod)
        if pod is None:
            return
        status = build_status.build_status_from_pod(build, pod, now=self.clock())
        succeeded = status.is_true("Succeeded")
        if succeeded and build.spec.registry_cache():
            status = status.with_(
                latest_cache_image=await self.cache_image(build, status.latest_cache_image or "")
            )
        await self.cluster.replace_build_status(build.with_(status=status))
        logger.info(
            "build %s/%s: %s", build.namespace, build.name, "succeeded" if succeeded else "not succeeded"
        )
        await self._announce(build, status)

    async def cache_image(self, build: builds.Build, reported: str) -> str:
        """The cache image the build wrote, as a digest reference; "" when there is none."""
        tag = build.spec.registry_cache_tag()
        account = registry_keychains.Account(
            build.namespace, build.spec.service_account_name or registry_keychains.DEFAULT_SERVICE_ACCOUNT
        )

        async def look_up(keychain: registry_auth.Keychain) -> str:
            if reported:
                await self.registry.resolve_digest(reported, keychain=keychain)
                return reported
            return await self.registry.digest_ref(tag, keychain=keychain)

        try:
            return await self.keychains.using(account, look_up)
        except errors.KilnError as e:
            logger.warning(
                "cache image of %s/%s unavailable, using an empty cache: %s", build.namespace, build.name, e
            )
            return ""

    async def _announce(self, build: builds.Build, status: builds.BuildStatus) -> None:
        image = build.labels.get(builds.IMAGE_LABEL, "")
        if not image:
            return
        now = self.clock()
        published: list[events.Event[events.Payload]] = []
        number = build.build_number()
        if status.is_true("Succeeded") and build.spec.registry_cache() and number:
            updated = events.CacheDigestUpdated(
                namespace=build.namespace,
                image=image,
                build=build.name,
                build_number=number,
                cache_tag=build.spec.registry_cache_tag(),
                latest_cache_image=status.latest_cache_image or "",
            )
            published.append(events.new(updated, source=SOURCE, time=now, discriminator=build.name))
        changed = events.ImageChanged(namespace=build.namespace, name=image)
        published.append(events.new(changed, source=SOURCE, time=now, discriminator=f"finished:{build.name}"))
        await self.publisher.publish_many(published)

    async def record_cache_digest(self, updated: events.CacheDigestUpdated) -> None:
        image = await self.cluster.get_image(updated.namespace, updated.image)
        if image is None:
            return
        extra = image.status.model_extra or {}
        recorded = extra.get(CACHE_BUILD_FIELD)
        if isinstance(recorded, int) and recorded >= updated.build_number:
            return
        status = image.status.with_(
            **{CACHE_IMAGE_FIELD: updated.latest_cache_image, CACHE_BUILD_FIELD: updated.build_number}
        )
        await self.cluster.replace_image_status(image.with_(status=status))
