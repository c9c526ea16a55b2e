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

from kubernetes_asyncio import client

from contracts import builds, events
from services import ports
from services.runtime import watching

logger = logging.getLogger(__name__)
SOURCE = "/kiln/bridge"
GROUP, VERSION = "kpack.io", "v1alpha2"
BUILD_POD_SELECTOR = builds.BUILD_LABEL
FINISHED_PHASES = ("Succeeded", "Failed")


class Bridge:
    """Publishes what the cluster says changed."""

    def __init__(
        self,
        api: client.ApiClient,
        publisher: ports.Publisher,
        *,
        clock: Callable[[], datetime],
        resync_seconds: float = 300.0,
    ) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.publisher = publisher
        self.clock = clock
        self.resync_seconds = resync_seconds
        self._image_specs: dict[str, tuple[Any, ...]] = {}

    async def run(self) -> None:
        """Watch everything and resync periodically, until cancelled."""
        serialize = self.api.sanitize_for_serialization
        async with asyncio.TaskGroup() as tasks:
            for plural, handler in (
                ("images", self.on_image),
                ("builders", self.on_builder),
                ("clusterbuilders", self.on_builder),
            ):
                tasks.create_task(
                    watching.watch_forever(
                        self.custom.list_cluster_custom_object,
                        GROUP,
                        VERSION,
                        plural,
                        handle=handler,
                        serialize=serialize,
                    )
                )
            tasks.create_task(
                watching.watch_forever(
                    self.core.list_pod_for_all_namespaces,
                    label_selector=BUILD_POD_SELECTOR,
                    handle=self.on_pod,
                    serialize=serialize,
                )
            )
            tasks.create_task(self._resync_forever())

    async def on_image(self, kind: str, image: dict[str, Any]) -> None:
        md = image.get("metadata") or {}
        key = f"{md.get('namespace')}/{md.get('name')}"
        if kind == "DELETED":
            self._image_specs.pop(key, None)
            return
        seen = (
            md.get("generation"),
            tuple(sorted((md.get("labels") or {}).items())),
            md.get("deletionTimestamp"),
        )
        if self._image_specs.get(key) == seen:
            return
        self._image_specs[key] = seen
        await self._publish(
            events.ImageChanged(namespace=md["namespace"], name=md["name"], generation=md.get("generation")),
            discriminator=f"rv:{md.get('resourceVersion')}",
        )

    async def on_builder(self, kind: str, builder: dict[str, Any]) -> None:
        if kind == "DELETED":
            return
        md = builder.get("metadata") or {}
        changed = events.BuilderChanged(
            kind=builder.get("kind", "Builder"),
            namespace=md.get("namespace") or "",
            name=md["name"],
            resource_version=md.get("resourceVersion"),
        )
        await self._publish(changed, discriminator=f"rv:{md.get('resourceVersion')}")

    async def on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        finished = build_finished(pod)
        if kind != "DELETED" and finished is not None:
            md = pod["metadata"]
            await self._publish(finished, discriminator=f"{md.get('uid')}:{finished.outcome}")

    async def resync(self) -> None:
        """Announce every Image and re-report every finished build pod."""
        stamp = self.clock().isoformat()
        listed = await self.custom.list_cluster_custom_object(GROUP, VERSION, "images")
        batch: list[events.Event[events.Payload]] = []
        for image in listed.get("items", []):
            md = image["metadata"]
            changed = events.ImageChanged(namespace=md["namespace"], name=md["name"])
            batch.append(
                events.new(changed, source=SOURCE, time=self.clock(), discriminator=f"resync:{stamp}")
            )
        pods = self.api.sanitize_for_serialization(
            await self.core.list_pod_for_all_namespaces(label_selector=BUILD_POD_SELECTOR)
        )
        for pod in pods.get("items") or []:
            finished = build_finished(pod)
            if finished is not None:
                discriminator = f"{pod['metadata'].get('uid')}:{finished.outcome}"
                batch.append(
                    events.new(finished, source=SOURCE, time=self.clock(), discriminator=discriminator)
                )
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
