"""The image-reconciler service: kpack's Image reconcile, one event at a time per image.

Consumes ``image.changed``, ``source.changed`` and ``build.finished`` (all keyed by image, so a
shard handles one image at a time) and ``builder.changed`` (fanned out to an ``image.changed``
per Image using that builder). Each reconcile reads the Image and what it depends on, asks the
pure :func:`services.image_reconciler.reconcile.plan` what to do, and performs each action with
one API call; a Build created publishes ``build.scheduled``.

The SourceResolver is resolved here (see :mod:`services.image_reconciler.resolving`), so a new
Image gets its first Build within the one event that announced it: plan → create resolver →
resolve → plan again → Build.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from contracts import admission, builds, events, images, meta, source_resolvers
from services import errors, ports
from services.image_reconciler import reconcile as planning
from services.image_reconciler import resolving, statuses

logger = logging.getLogger(__name__)
SOURCE = "/kiln/image-reconciler"
RECONCILE_ADMISSION = admission.AdmissionContext(has_default_storage_class=True)
"""The storage-class rule needs the cluster's StorageClasses and is the admission webhook's to
enforce; the reconciler flags every other invalid spec (a PVC without a class then simply uses the
cluster default, as kpack's does)."""
MAX_PASSES = 4
"""Plans per event: enough for resolver create → resolve → build, with a margin."""


@dataclasses.dataclass
class ImageReconciler:
    """Handles the events of one image-reconciler worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    _: dataclasses.KW_ONLY
    clock: Callable[[], datetime]
    enable_priority_classes: bool = False

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.ImageChanged):
            await self.reconcile(data.namespace, data.name)
        elif isinstance(data, events.SourceChanged):
            await self.reconcile(data.namespace, data.image, pushed=data)
        elif isinstance(data, events.BuildFinished):
            await self.reconcile(data.namespace, data.image)
        elif isinstance(data, events.BuilderChanged):
            await self.fan_out(data, discriminator=event.id)

    async def fan_out(self, changed: events.BuilderChanged, *, discriminator: str) -> None:
        """An ``image.changed`` for every Image built with the changed builder."""
        namespace = changed.namespace or None
        affected = [
            image
            for image in await self.cluster.list_images(namespace)
            if image.spec.builder.kind == changed.kind
            and image.spec.builder.name == changed.name
            and (changed.kind == "ClusterBuilder" or image.namespace == changed.namespace)
        ]
        now = self.clock()
        await self.publisher.publish_many(
            events.new(
                events.ImageChanged(namespace=image.namespace, name=image.name),
                source=SOURCE,
                time=now,
                discriminator=f"builder:{discriminator}",
            )
            for image in affected
        )
        logger.info("builder %s changed: %d image(s) to reconcile", changed.key, len(affected))

    async def reconcile(
        self, namespace: str, name: str, *, pushed: events.SourceChanged | None = None
    ) -> None:
        """Reconcile until nothing more happens in this pass (at most :data:`MAX_PASSES`)."""
        for _ in range(MAX_PASSES):
            image = await self._read(namespace, name)
            if image is None or image.metadata.deletion_timestamp:
                return
            if not await self._admitted(image):
                return
            progressed = await self._reconcile_once(image, pushed=pushed)
            pushed = None
            if not progressed:
                return

    async def _read(self, namespace: str, name: str) -> images.Image | None:
        """The Image; None when there is none, or when it does not fit the model (a mistyped field),
        which then gets ``Ready=False`` naming the field and the fix, and nothing else happens."""
        try:
            return await self.cluster.get_image(namespace, name)
        except errors.UnparseableError as e:
            patch = statuses.unparseable(e.raw, message=e.problems, now=self.clock())
            if patch is not None:
                await self.cluster.patch_image_status(namespace, name, patch)
                logger.warning("image %s/%s does not fit the Image schema: %s", namespace, name, e.problems)
            return None

    async def _admitted(self, image: images.Image) -> bool:
        """An invalid Image gets ``Ready=False`` naming the field, and nothing else happens."""
        error = admission.validate_image(image, ctx=RECONCILE_ADMISSION)
        if not error:
            return True
        message = "\n".join(str(e) for e in error.merged())
        status = statuses.invalid_spec(image, message=message, now=self.clock())
        if status.dump() != image.status.dump():
            await self.cluster.replace_image_status(image.with_(status=status))
        logger.warning("image %s is invalid: %s", image.key, message)
        return False

    async def _reconcile_once(self, image: images.Image, *, pushed: events.SourceChanged | None) -> bool:
        """One plan, executed; True when it created or resolved something worth planning again for."""
        resolver_name = meta.child_name(image.name, "-source")
        resolver = await self.cluster.get_source_resolver(image.namespace, resolver_name)
        if resolver is not None and await self._resolve(resolver, pushed=pushed):
            return True
        builder = await self.cluster.get_builder(
            image.spec.builder.kind, image.spec.builder.namespace or image.namespace, image.spec.builder.name
        )
        observed_builds = await self.cluster.list_builds(image.namespace, image=image.name)
        decided = planning.plan(
            image=image,
            builder=builder,
            source_resolver=resolver,
            builds=observed_builds,
            pvc=await self.cluster.get_pvc(image.namespace, meta.child_name(image.name, "-cache")),
            now=self.clock(),
            enable_priority_classes=self.enable_priority_classes,
        )
        await self._execute(image, decided)
        if decided.outcome == "BuildRunning":
            await self._announce(planning.builds_oldest_first(observed_builds, image_name=image.name)[-1])
        return decided.source_resolver.action != "none"

    async def _resolve(
        self, resolver: source_resolvers.SourceResolver, *, pushed: events.SourceChanged | None
    ) -> bool:
        """Write the resolver's status when it is not resolved yet or a push brought something new:
        a commit to move to, or a commit or delivery id to remember."""
        verdict = resolving.push_verdict(resolver, pushed)
        if pushed is not None and verdict not in (None, "move"):
            logger.info(
                "push of %s (delivery %r) to %s/%s not applied: %s",
                pushed.revision,
                pushed.delivery,
                resolver.namespace,
                resolver.name,
                verdict,
            )
        status = resolving.resolved(resolver, push=pushed, now=statuses.rfc3339(self.clock()))
        if not resolving.needs_update(resolver, status):
            return False
        await self.cluster.replace_source_resolver_status(resolver.with_(status=status))
        return True

    async def _execute(self, image: images.Image, decided: planning.ReconcilePlan) -> None:
        """Each action with one API call, in kpack's order: PVC, resolver, Build, status, history."""
        await self._apply_pvc(decided)
        if decided.source_resolver.object is not None:
            if decided.source_resolver.action == "create":
                await _create_or_keep(self.cluster.create_source_resolver(decided.source_resolver.object))
            else:
                await self.cluster.replace_source_resolver(decided.source_resolver.object)
        if decided.build is not None:
            await self._schedule(decided.build)
        status = _keep_extensions(image, decided.status)
        if status.dump() != image.status.dump():  # Kiln's fields included: no write when nothing changed
            await self.cluster.replace_image_status(image.with_(status=status))
        for name in decided.delete_builds:
            await self.cluster.delete_build(image.namespace, name)

    async def _apply_pvc(self, decided: planning.ReconcilePlan) -> None:
        pvc = decided.cache_pvc
        if pvc.object is None:
            return
        if pvc.action == "create":
            await _create_or_keep(self.cluster.create_pvc(pvc.object))
        elif pvc.action == "update":
            await self.cluster.replace_pvc(pvc.object)
        elif pvc.action == "delete":
            md = pvc.object["metadata"]
            await self.cluster.delete_pvc(md["namespace"], md["name"], uid=md.get("uid"))

    async def _schedule(self, build: builds.Build) -> None:
        await _create_or_keep(self.cluster.create_build(build))
        await self._announce(build)
        logger.info("scheduled %s/%s (%s)", build.namespace, build.name, build.reason())

    async def _announce(self, build: builds.Build) -> None:
        """``build.scheduled`` for ``build``: again for a running build, since a worker that died
        between creating a Build and announcing it leaves a Build without a pod; the build-runner
        ignores a Build whose pod exists."""
        image_name = build.labels.get(builds.IMAGE_LABEL, "")
        scheduled = events.BuildScheduled(namespace=build.namespace, image=image_name, build=build.name)
        await self.publisher.publish_many(
            [events.new(scheduled, source=SOURCE, time=self.clock(), discriminator=build.name)]
        )


async def _create_or_keep(creating: object) -> None:
    """Create; an object of that name already there is what a replayed event expects."""
    try:
        await creating  # type: ignore[misc]
    except errors.AlreadyExistsError as e:
        logger.info("already exists: %s", e)


def _keep_extensions(image: images.Image, status: images.ImageStatus) -> images.ImageStatus:
    """Kiln's own status fields (e.g. ``latestCacheImage``) survive kpack's status rebuild."""
    extra = image.status.model_extra or {}
    return status.with_(**extra) if extra else status
