"""The bridge: watches Images, Builds, Builders, ClusterBuilders, the builder half's inputs and build
pods; publishes events.

* Image added, or its spec/labels changed (a status write alone is not news) → ``image.changed``.
* Builder or ClusterBuilder added or changed → ``builder.changed`` (the image-reconciler fans it
  out to the Images built with it; the builder service makes the builder's image).
* ClusterStore, ClusterStack, ClusterLifecycle, Buildpack or ClusterBuildpack added, deleted or
  its spec changed (its status is the builder service's own write, not news) →
  ``builder.input.changed``;
  every ``builder_resync_seconds`` (kpack's 10 h by default) every one is announced again, so an
  image moved in a registry that sent no notification is still resolved again.
* A build pod reached ``Succeeded`` or ``Failed`` → ``build.finished`` (keyed by the Build's Image,
  or by the Build for one of no Image).
* A Build created directly and still running, a running Build to cancel, a manual trigger on a
  Build, a build pod deleted while its Build may still run → ``build.scheduled``,
  ``build.cancel.requested``, ``image.changed`` (:mod:`.build_changes`).
* Every ``resync_seconds`` what the services have not settled is announced again, so an event
  lost anywhere is recovered (handlers are idempotent, a repeat costs one reconcile): every Image
  whose status does not observe its generation or whose ``Ready`` is Unknown (a build running), the
  finished pod of every Build not recorded yet (or recorded but not told to its Image), and every
  running Build without a pod or to cancel. So a resync of settled Images with long histories
  costs three list requests and nothing else. Every ``full_resync_every``-th resync announces
  every Image and re-reports every finished pod, as kpack's periodic resync does, for what no
  status shows (a lost ``builder.changed``).
* An Image that does not fit the model (a mistyped field) is announced all the same, from its raw
  metadata, so that the image-reconciler, which owns Image status, tells its owner which field is
  wrong; any other object that does not fit (or whose labels make no valid event) is skipped and
  reported once, and the watches go on serving every other object.

Event ids are derived from what was seen (resourceVersion, pod uid + phase), so the bridge
restarting and seeing the same state again publishes the same ids.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import pydantic

from contracts import builders, builds, events, images, meta
from services import ports
from services.bridge import build_changes
from services.kube import parsing, resources, watching

logger = logging.getLogger(__name__)
SOURCE = "/kiln/bridge"
FINISHED_PHASES = ("Succeeded", "Failed")
REFUSED_REMEMBERED = 10_000
SETTLED_REMEMBERED = 100_000
P = TypeVar("P", bound=events.Payload)


class Bridge:
    """Publishes what the cluster says changed."""

    def __init__(
        self,
        kube: resources.Kube,
        publisher: ports.Publisher,
        *,
        clock: Callable[[], datetime],
        resync_seconds: float = 300.0,
        builder_resync_seconds: float = 36_000.0,
        full_resync_every: int = 12,
    ) -> None:
        self.kube = kube
        self.publisher = publisher
        self.clock = clock
        self.resync_seconds = resync_seconds
        self.builder_resync_seconds = builder_resync_seconds
        self.full_resync_every = max(1, full_resync_every)
        self.resyncs = 0
        """Resyncs done; every ``full_resync_every``-th is full."""
        self._image_specs: dict[str, tuple[Any, ...]] = {}
        self._input_generations: dict[str, int] = {}
        """The generation last announced of each builder input (key ``Kind/[namespace/]name``)."""
        self._refused: set[str] = set()
        """Objects already reported for making no valid event."""
        self._settled_builds: set[str] = set()
        """Uids of Builds seen finished or deleted: their pods' deletion is no news."""
        self._triggers: dict[str, str] = {}
        """Build uid → the ``additionalBuildNeeded`` value announced for it."""
        self._watches: list[watching.WatchStatus] = []
        """Whether each watch streams now (readiness)."""

    async def run(self) -> None:
        """Watch everything and resync periodically, until cancelled."""
        kube = self.kube
        self._watches.clear()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(
                watching.follow(
                    kube.images,
                    handle=self.on_image,
                    on_unparsed=self.on_unparsed_image,
                    status=self._watch_status(kube.images.kind),
                )
            )
            for builder_kind in (kube.builders, kube.cluster_builders):
                tasks.create_task(
                    watching.follow(
                        builder_kind, handle=self.on_builder, status=self._watch_status(builder_kind.kind)
                    )
                )
            for kind in events.INPUT_KINDS:
                resource = kube.input_kind(kind)
                tasks.create_task(
                    watching.follow(resource, handle=self.on_input, status=self._watch_status(kind))
                )
            tasks.create_task(
                watching.follow(kube.builds, handle=self.on_build, status=self._watch_status("builds"))
            )
            tasks.create_task(
                watching.follow(
                    kube.pods,
                    handle=self.on_pod,
                    label_selector=builds.BUILD_LABEL,
                    status=self._watch_status("build pods"),
                )
            )
            tasks.create_task(_every(self.resync_seconds, self.resync, what="resync"))
            tasks.create_task(
                _every(self.builder_resync_seconds, self.resync_inputs, what="builder input resync")
            )

    def health(self) -> str | None:
        """Why the bridge is not seeing every change now (a watch not streaming), or None."""
        if not self._watches:
            return "the watches have not started"
        problems = [problem for watch in self._watches if (problem := watch.health()) is not None]
        return "; ".join(problems) or None

    def _watch_status(self, where: str) -> watching.WatchStatus:
        status = watching.WatchStatus(where)
        self._watches.append(status)
        return status

    async def on_image(self, event: watching.WatchEvent[images.Image]) -> None:
        image, md = event.object, event.object.metadata
        await self._image_seen(
            event.type,
            _ImageMeta(
                image.namespace,
                image.name,
                md.generation,
                image.labels,
                md.deletion_timestamp,
                md.resource_version,
            ),
        )

    async def on_unparsed_image(self, event: watching.WatchEvent[parsing.Unparsed]) -> None:
        """An Image that does not fit the model: announced like any other, from its raw metadata."""
        image = event.object
        await self._image_seen(
            event.type,
            _ImageMeta(
                image.namespace,
                image.name,
                image.generation,
                image.labels,
                image.deletion_timestamp,
                image.resource_version,
            ),
        )

    async def _image_seen(self, kind: str, image: _ImageMeta) -> None:
        key = f"{image.namespace}/{image.name}"
        if kind == watching.DELETED:
            self._image_specs.pop(key, None)
            return
        seen = (image.generation, tuple(sorted(image.labels.items())), image.deletion_timestamp)
        if self._image_specs.get(key) == seen:
            return
        changed = self._payload(
            events.ImageChanged, namespace=image.namespace, name=image.name, generation=image.generation
        )
        if changed is not None:
            await self._publish(changed, discriminator=f"rv:{image.resource_version}")
        self._image_specs[key] = seen  # once published: a failed publish is retried by the watch's restart

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

    async def on_input(self, event: watching.WatchEvent[meta.KubeObject]) -> None:
        """A builder input created, deleted or its spec changed: resolve it, or tell the builders it
        fed that it is gone (a status write is not news)."""
        obj = event.object
        changed = self._payload(
            events.BuilderInputChanged,
            kind=obj.kind,
            namespace=obj.namespace,
            name=obj.name,
            resource_version=obj.metadata.resource_version,
        )
        if changed is None:
            return
        if event.type == watching.DELETED:  # its builders now fail naming it: tell them
            self._input_generations.pop(changed.key, None)
            await self._publish(changed, discriminator=f"deleted:{obj.metadata.uid}")
            return
        if self._input_generations.get(changed.key) == obj.generation:
            return
        await self._publish(changed, discriminator=f"generation:{obj.metadata.uid}:{obj.generation}")
        self._input_generations[changed.key] = obj.generation

    async def resync_inputs(self) -> None:
        """Announce every builder input again, so each is resolved from the registry once more."""
        stamp = self.clock().isoformat()
        batch = []
        for kind in events.INPUT_KINDS:
            for obj in await self.kube.input_kind(kind).list():
                changed = self._payload(
                    events.BuilderInputChanged, kind=obj.kind or kind, namespace=obj.namespace, name=obj.name
                )
                if changed is not None:
                    batch.append(self._event(changed, discriminator=f"resync:{stamp}"))
        await self.publisher.publish_many(batch)
        logger.info("builder input resync: %d event(s)", len(batch))

    async def on_build(self, event: watching.WatchEvent[builds.Build]) -> None:
        """A Build created directly gets its pod, a cancellation or a manual trigger is told at once."""
        build = event.object
        uid = build.metadata.uid or f"{build.namespace}/{build.name}"
        if event.type == watching.DELETED:
            self._triggers.pop(uid, None)
            self._settle(uid)
            return
        if not build.running():  # finished: nothing its pod does matters any more (kpack §5.2)
            self._settle(uid)
        found = build_changes.seen(build, announced_trigger=self._triggers.get(uid))
        await self._announce(found)
        trigger = build_changes.trigger_value(build)
        if trigger is not None:
            self._triggers[uid] = (
                trigger  # once published: a failed publish is retried by the watch's restart
            )

    def _settle(self, uid: str) -> None:
        if len(self._settled_builds) >= SETTLED_REMEMBERED:
            self._settled_builds.clear()
        self._settled_builds.add(uid)

    async def on_pod(self, event: watching.WatchEvent[dict[str, Any]]) -> None:
        if event.type == watching.DELETED:
            deleted = build_changes.pod_deleted(event.object, settled_builds=self._settled_builds)
            await self._announce([deleted] if deleted is not None else [])
            return
        finished = self._finished(event.object)
        if finished is not None:
            uid = event.object["metadata"].get("uid")
            await self._publish(finished, discriminator=f"{uid}:{finished.outcome}")

    async def _announce(self, found: list[build_changes.Announcement]) -> None:
        batch = self._announced(found)
        if batch:
            await self.publisher.publish_many(batch)

    def _announced(self, found: list[build_changes.Announcement]) -> list[events.Event[events.Payload]]:
        """The events of ``found``, but for those whose names make no valid event (reported once)."""
        batch = []
        for announcement in found:
            payload = self._payload(announcement.model, **announcement.fields)
            if payload is not None:
                batch.append(self._event(payload, discriminator=announcement.discriminator))
        return batch

    async def resync(self) -> None:
        """Announce what the services have not settled (everything, every ``full_resync_every``-th
        time): see the module's docstring."""
        stamp = self.clock().isoformat()
        full = self.resyncs % self.full_resync_every == 0
        self.resyncs += 1
        listing = await self.kube.images.list_with_version()
        keys = [(i.namespace, i.name) for i in listing.items if full or not i.settled()]
        keys += [(u.namespace, u.name) for u in listing.unparsed]
        announced = (self._payload(events.ImageChanged, namespace=ns, name=name) for ns, name in keys)
        batch = [self._event(a, discriminator=f"resync:{stamp}") for a in announced if a is not None]
        listed = await self.kube.builds.list()
        unrecorded = build_changes.unrecorded(listed, listing.items)
        pods = await self.kube.pods.list(label_selector=builds.BUILD_LABEL)
        reported = 0
        for pod in pods:
            finished = self._finished(pod)
            if finished is not None and (full or (finished.namespace, finished.build) in unrecorded):
                discriminator = f"{pod['metadata'].get('uid')}:{finished.outcome}"
                batch.append(self._event(finished, discriminator=discriminator))
                reported += 1
        pod_keys = {(p["metadata"].get("namespace", ""), p["metadata"].get("name", "")) for p in pods}
        batch += self._announced(build_changes.resynced(listed, pods=pod_keys, stamp=stamp))
        await self.publisher.publish_many(batch)
        logger.info(
            "%s resync: %d event(s): %d of %d Image(s), %d finished pod(s) of %d build pod(s)",
            "full" if full else "partial",
            len(batch),
            len(keys),
            len(listing.items) + len(listing.unparsed),
            reported,
            len(pods),
        )

    def _finished(self, pod: dict[str, Any]) -> events.BuildFinished | None:
        fields = build_finished(pod)
        return self._payload(events.BuildFinished, **fields) if fields is not None else None

    def _payload(self, model: type[P], **fields: Any) -> P | None:
        """``model(**fields)``, or None when an object's names or labels make no valid event: such an
        object is reported once and skipped, since one object must never stop a watch."""
        try:
            return model(**fields)
        except pydantic.ValidationError as e:
            seen = f"{model.event_type} {sorted(fields.items())}"
            if len(self._refused) >= REFUSED_REMEMBERED:
                self._refused.clear()
            level = logging.DEBUG if seen in self._refused else logging.WARNING
            self._refused.add(seen)
            problems = "; ".join(str(parsing.problems(e, fields)).splitlines())
            logger.log(level, "no %s for %s, skipped: %s", model.event_type, fields, problems)
            return None

    def _event(self, payload: events.Payload, *, discriminator: str) -> events.Event[events.Payload]:
        return events.new(payload, source=SOURCE, time=self.clock(), discriminator=discriminator)

    async def _publish(self, payload: events.Payload, *, discriminator: str) -> None:
        await self.publisher.publish_many([self._event(payload, discriminator=discriminator)])


async def _every(seconds: float, action: Callable[[], Awaitable[None]], *, what: str) -> None:
    """``action`` every ``seconds``, until cancelled; a failure waits for the next turn."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await action()
        except Exception:
            logger.exception("%s failed; the next one will try again", what)


def build_finished(pod: dict[str, Any]) -> dict[str, Any] | None:
    """The fields of the ``build.finished`` a terminated build pod implies, or None; ``image`` is
    ``""`` for the pod of a Build of no Image."""
    phase = (pod.get("status") or {}).get("phase")
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    build, image = labels.get(builds.BUILD_LABEL), labels.get(builds.IMAGE_LABEL, "")
    if phase not in FINISHED_PHASES or not build:
        return None
    return {
        "namespace": md.get("namespace"),
        "image": image,
        "build": build,
        "outcome": phase,
        "pod": md.get("name"),
        "pod_status": finished_status(pod.get("status") or {}),
    }


def finished_status(status: dict[str, Any]) -> dict[str, Any]:
    """What of a terminated pod's ``status`` makes its Build's outcome (see ``BuildFinished``)."""
    kept: dict[str, Any] = {k: status[k] for k in ("phase", "reason", "message") if status.get(k)}
    for field in ("initContainerStatuses", "containerStatuses"):
        containers = status.get(field)
        if containers:
            kept[field] = [{"name": c.get("name", ""), "state": c.get("state") or {}} for c in containers]
    return kept


@dataclasses.dataclass(frozen=True)
class _ImageMeta:
    """What the bridge looks at in an Image: its key and what makes a change news."""

    namespace: str
    name: str
    generation: int | None
    labels: dict[str, str]
    deletion_timestamp: str | None
    resource_version: str | None
