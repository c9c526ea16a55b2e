"""The bridge: watches Images, Builders, ClusterBuilders and build pods; publishes events.

* Image added, or its spec/labels changed (a status write alone is not news) → ``image.changed``.
* Builder or ClusterBuilder added or changed → ``builder.changed`` (the reconciler fans it out).
* A build pod reached ``Succeeded`` or ``Failed`` → ``build.finished``.
* Every ``resync_seconds`` every Image is announced again and every finished build pod re-reported,
  so an event lost anywhere is recovered: handlers are idempotent, a repeat costs one reconcile.

Event ids are derived from what was seen (resourceVersion, pod uid + phase), so the bridge
restarting and seeing the same state again publishes the same ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts import builders, builds, events, images
from services import ports
from services.kube import resources, watching

logger = logging.getLogger(__name__)
SOURCE = "/kiln/bridge"
FINISHED_PHASES = ("Succeeded", "Failed")


class Bridge:
    """Publishes what the cluster says changed."""

    def __init__(
        self,
        kube: resources.Kube,
        publisher: ports.Publisher,
        *,
        clock: Callable[[], datetime],
        resync_seconds: float = 300.0,
    ) -> None:
        self.kube = kube
        self.publisher = publisher
        self.clock = clock
        self.resync_seconds = resync_seconds
        self._image_specs: dict[str, tuple[Any, ...]] = {}

    async def run(self) -> None:
        """Watch everything and resync periodically, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(watching.follow(self.kube.images, handle=self.on_image))
            tasks.create_task(watching.follow(self.kube.builders, handle=self.on_builder))
            tasks.create_task(watching.follow(self.kube.cluster_builders, handle=self.on_builder))
            tasks.create_task(
                watching.follow(self.kube.pods, handle=self.on_pod, label_selector=builds.BUILD_LABEL)
            )
            tasks.create_task(self._resync_forever())

    async def on_image(self, event: watching.WatchEvent[images.Image]) -> None:
        image = event.object
        if event.type == watching.DELETED:
            self._image_specs.pop(image.key, None)
            return
        md = image.metadata
        seen = (md.generation, tuple(sorted(image.labels.items())), md.deletion_timestamp)
        if self._image_specs.get(image.key) == seen:
            return
        self._image_specs[image.key] = seen
        await self._publish(
            events.ImageChanged(namespace=image.namespace, name=image.name, generation=md.generation),
            discriminator=f"rv:{md.resource_version}",
        )

    async def on_builder(self, event: watching.WatchEvent[builders.Builder]) -> None:
        builder = event.object
        if event.type == watching.DELETED:
            return
        version = builder.metadata.resource_version
        changed = events.BuilderChanged(
            kind=builder.kind or builders.BUILDER,
            namespace=builder.namespace,
            name=builder.name,
            resource_version=version,
        )
        await self._publish(changed, discriminator=f"rv:{version}")

    async def on_pod(self, event: watching.WatchEvent[dict[str, Any]]) -> None:
        finished = build_finished(event.object)
        if event.type != watching.DELETED and finished is not None:
            uid = event.object["metadata"].get("uid")
            await self._publish(finished, discriminator=f"{uid}:{finished.outcome}")

    async def resync(self) -> None:
        """Announce every Image and re-report every finished build pod."""
        stamp = self.clock().isoformat()
        batch = [
            self._event(
                events.ImageChanged(namespace=i.namespace, name=i.name), discriminator=f"resync:{stamp}"
            )
            for i in await self.kube.images.list()
        ]
        for pod in await self.kube.pods.list(label_selector=builds.BUILD_LABEL):
            finished = build_finished(pod)
            if finished is not None:
                discriminator = f"{pod['metadata'].get('uid')}:{finished.outcome}"
                batch.append(self._event(finished, discriminator=discriminator))
        await self.publisher.publish_many(batch)
        logger.info("resync: %d event(s)", len(batch))

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            try:
                await self.resync()
            except Exception:
                logger.exception("resync failed; the next one will try again")

    def _event(self, payload: events.Payload, *, discriminator: str) -> events.Event[events.Payload]:
        return events.new(payload, source=SOURCE, time=self.clock(), discriminator=discriminator)

    async def _publish(self, payload: events.Payload, *, discriminator: str) -> None:
        await self.publisher.publish_many([self._event(payload, discriminator=discriminator)])


def build_finished(pod: dict[str, Any]) -> events.BuildFinished | None:
    """The ``build.finished`` a terminated build pod implies, or None."""
    phase = (pod.get("status") or {}).get("phase")
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    build, image = labels.get(builds.BUILD_LABEL), labels.get(builds.IMAGE_LABEL)
    if phase not in FINISHED_PHASES or not build or not image:
        return None
    return events.BuildFinished(
        namespace=md["namespace"], image=image, build=build, outcome=phase, pod=md["name"]
    )
