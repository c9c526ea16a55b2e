"""The image-reconciler service: kpack's Image reconcile, one event at a time per image.

Consumes ``image.changed``, ``source.changed`` and ``source.image.pushed`` (keyed by image, so a
shard handles one image at a time) and ``builder.changed`` (fanned out to an
``image.changed.storm`` per Image using that builder, consumed on the service's storm lane, a few at
a time). Each reconcile reads the Image and what it depends on once — Builder, SourceResolver,
Builds, cache PVC, and the newest Build's pod when that Build runs; the first three from the
process's watch caches, at the versions its event names (``services.kube.caching``) — asks the pure
:func:`services.image_reconciler.reconcile.plan` what to do (the pushed revision included), and
performs each action with one API call; a Build created publishes ``build.scheduled``. One plan
per event: the plan resolves the SourceResolver itself (:mod:`.resolvers`), so a new Image gets its
resolver, its resolver's status and its first Build from the one event that announced it.

It writes Image and SourceResolver status, and nothing else's. ``build.finished`` is image-state's:
its Build status write is followed by ``image.changed``, the event on which a finished build is
reconciled (a ``build.finished`` delivered here, by a topology bound before, is ignored).

A Build it creates (not one found already there) is counted by reason and told as a
``BuildScheduled`` Event on the Image (:mod:`.notices`), once it is announced; an Image whose
status turns ``Ready=False`` for a reason of its own (invalid spec, builder missing or not ready)
gets a Warning Event with the condition's message.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from contracts import builders, builds, events, images, meta, source_resolvers
from services import errors, ports
from services.image_reconciler import builder_reads, cache_volumes, notices, resolvers, statuses
from services.image_reconciler import reconcile as planning
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains
from services.sources import git_refs

logger = logging.getLogger(__name__)
T = TypeVar("T")
SOURCE = "/kiln/image-reconciler"
BUILDERS_REMEMBERED = 10_000
"""At most this many builders are kept between reconciles (then they are read again)."""


@dataclasses.dataclass
class ImageReconciler:
    """Handles the events of one image-reconciler worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    _: dataclasses.KW_ONLY
    clock: Callable[[], datetime]
    enable_priority_classes: bool = False
    list_git: Callable[[images.Image], Awaitable[events.SourceChanged | None]] | None = None
    """Lists the Image's branch or tag from its remote (``git ls-remote``) as the commit it is at,
    or None when it cannot be listed; None: never list (a push names every commit)."""
    read_tree: Callable[[images.Image, str], Awaitable[str | None]] | None = None
    """Reads the tree id at the Image's ``subPath`` in a commit of its repository, or None when it
    cannot be read; None: never read (every commit moves the branch, as without a ``subPath``)."""
    builder_ttl_seconds: float = 30.0
    """How long a builder read may decide later reconciles (:mod:`.builder_reads`); 0: never."""
    monotonic: Callable[[], float] = time.monotonic
    _builders: dict[tuple[str, str, str], tuple[builders.Builder, float]] = dataclasses.field(
        default_factory=dict, init=False
    )
    """The builders read: (kind, namespace, name) → (builder, when)."""
    read_source_digest: Callable[[images.Image], Awaitable[str | None]] | None = None
    """Resolves the Image's registry source tag to ``<tag>@sha256:…``, or None when there is no
    such image or Kiln may not read it; None: never (the tag is recorded as given, as kpack does)."""
    recorder: ports.Recorder = dataclasses.field(default_factory=ports.NoRecorder)
    """Writes the Kubernetes Events of its decisions (``BuildScheduled``, :mod:`.notices`)."""
    metrics: ports.BuildMetrics = dataclasses.field(default_factory=ports.NoMetrics)
    """Counts the Builds it creates, by reason (a Build found already there is not counted)."""

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.ImageChanged):
            await self._catch_up(data)
            await self.reconcile(data.namespace, data.name, builder_version=data.builder_version)
        elif isinstance(data, events.SourceChanged):
            await self.reconcile(data.namespace, data.image, pushed=data)
        elif isinstance(data, events.SourceImagePushed):
            await self.reconcile(data.namespace, data.image, image_pushed=True)
        elif isinstance(data, events.BuilderChanged):
            await self.fan_out(data, discriminator=event.id)

    async def _catch_up(self, changed: events.ImageChanged) -> None:
        """Reads show the Image and the recorded Build at the versions the event names, or newer."""
        if changed.resource_version:
            await self.cluster.catch_up("Image", changed.namespace, changed.name, changed.resource_version)
        if changed.build and changed.build_version:
            await self.cluster.catch_up(
                "Build", changed.namespace, changed.build, changed.build_version, image=changed.name
            )

    async def fan_out(self, changed: events.BuilderChanged, *, discriminator: str) -> None:
        """An ``image.changed.storm`` for every Image built with the changed builder (its own lane:
        users' pushes are not queued behind them)."""
        affected = planning.images_using(
            await self.cluster.list_images(changed.namespace or None), builder=changed
        )
        now = self.clock()
        await self.publisher.publish_many(
            events.new(
                events.StormImageChanged(
                    namespace=image.namespace, name=image.name, builder_version=changed.resource_version
                ),
                source=SOURCE,
                time=now,
                discriminator=f"builder:{discriminator}",
            )
            for image in affected
        )
        logger.info("builder %s changed: %d image(s) to reconcile", changed.key, len(affected))

    async def reconcile(
        self,
        namespace: str,
        name: str,
        *,
        pushed: events.SourceChanged | None = None,
        image_pushed: bool = False,
        builder_version: str | None = None,
    ) -> None:
        """Read, plan once, execute: an Image being deleted or with an invalid spec is planned from
        itself alone (its builder reference or name may not even make a valid request)."""
        image = await self._read(namespace, name)
        if image is None:
            return
        now = self.clock()
        resolver = None
        decided = planning.early_stop(image, now=now)  # an invalid spec may not even be readable
        if decided is None:
            resolver, decided = await self._plan(
                image, now=now, pushed=pushed, image_pushed=image_pushed, builder_version=builder_version
            )
        self._log(image, decided, pushed=pushed)
        await self._execute(image, resolver, decided)

    async def _plan(
        self,
        image: images.Image,
        *,
        now: datetime,
        pushed: events.SourceChanged | None,
        image_pushed: bool = False,
        builder_version: str | None = None,
    ) -> tuple[source_resolvers.SourceResolver | None, planning.ReconcilePlan]:
        """Read what the reconcile of ``image`` depends on, once, and plan it: the observed resolver
        (the executor writes on it) and the plan."""
        resolver = await self.cluster.get_source_resolver(
            image.namespace, meta.child_name(image.name, "-source")
        )
        listed = None
        if pushed is None and self.list_git is not None and resolvers.needs_listing(image, resolver):
            listed = await self.list_git(image)
        resolution = planning.Resolution(pushed=pushed, listed=listed)
        commit = resolvers.tree_wanted(image, resolver, resolution)
        if commit is not None and self.read_tree is not None:
            resolution = resolution.model_copy(update={"tree": await self.read_tree(image, commit)})
        read_digest = self.read_source_digest
        if read_digest is not None and resolvers.needs_source_digest(image, resolver, pushed=image_pushed):
            resolution = resolution.model_copy(update={"source_image": await read_digest(image)})
        observed_builds = await self.cluster.list_builds(image.namespace, image=image.name)
        newest = planning.newest_build(observed_builds, image_name=image.name)
        builder = await self._builder(image, newest=newest, wanted_version=builder_version)
        pvc = None
        if cache_volumes.needs_lookup(image):
            pvc = await self.cluster.get_pvc(image.namespace, cache_volumes.cache_name(image))
        pod = None
        if newest is not None and newest.running():
            pod = await self.cluster.get_pod(image.namespace, newest.pod_name())
        return resolver, planning.plan(
            image=image,
            builder=builder,
            source_resolver=resolver,
            builds=observed_builds,
            pvc=pvc,
            now=now,
            enable_priority_classes=self.enable_priority_classes,
            resolution=resolution,
            pod=pod,
        )

    async def _builder(
        self, image: images.Image, *, newest: builds.Build | None, wanted_version: str | None
    ) -> builders.Builder | None:
        """The Image's builder: the one read before when :func:`.builder_reads.reusable` says it
        may decide, else read now (and kept)."""
        ref = image.spec.builder
        key = (
            ref.kind,
            ref.namespace or image.namespace if ref.kind != builders.CLUSTER_BUILDER else "",
            ref.name,
        )
        cached, read_at = self._builders.get(key, (None, 0.0))
        age = self.monotonic() - read_at
        if builder_reads.reusable(
            cached,
            age_seconds=age,
            ttl_seconds=self.builder_ttl_seconds,
            wanted_version=wanted_version,
            newest=newest,
        ):
            return cached
        builder = await self.cluster.get_builder(ref.kind, ref.namespace or image.namespace, ref.name)
        if builder is None:
            self._builders.pop(key, None)
        else:
            if len(self._builders) >= BUILDERS_REMEMBERED:
                self._builders.clear()
            self._builders[key] = (builder, self.monotonic())
        return builder

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

    def _log(
        self, image: images.Image, decided: planning.ReconcilePlan, *, pushed: events.SourceChanged | None
    ) -> None:
        if decided.outcome == "InvalidSpec":
            ready = decided.status.condition(statuses.READY)
            logger.warning("image %s is invalid: %s", image.key, ready.message if ready else "")
        verdict = decided.source_resolver.push
        if pushed is not None and verdict not in (None, "move"):
            logger.info(
                "push of %s (delivery %r) to %s/%s not applied: %s",
                pushed.revision,
                pushed.delivery,
                image.namespace,
                meta.child_name(image.name, "-source"),
                verdict,
            )

    async def _execute(
        self,
        image: images.Image,
        resolver: source_resolvers.SourceResolver | None,
        decided: planning.ReconcilePlan,
    ) -> None:
        """Each action with one API call, in kpack's order: PVC, resolver, Build, status, history.
        A Build created (not found already there) is counted and told as an Event once it is
        announced (an Event never fails the reconcile: :class:`services.ports.Recorder`)."""
        await self._apply_pvc(decided)
        await self._apply_resolver(resolver, decided.source_resolver)
        if decided.build is not None:
            created = await _create_or_keep(self.cluster.create_build(decided.build))
            await self._announce(created or decided.build)
            logger.info(
                "scheduled %s/%s (%s)", decided.build.namespace, decided.build.name, decided.build.reason()
            )
            if created is not None:
                self.metrics.build_scheduled(created.reason(), namespace=created.namespace)
                await self.recorder.record(notices.scheduled(image, created))
        if decided.status_changed:
            await self.cluster.replace_image_status(image.with_(status=decided.status))
            warning = notices.not_ready(image, decided.status)
            if warning is not None:
                await self.recorder.record(warning)
        for name in decided.delete_builds:
            await self.cluster.delete_build(image.namespace, name)
        if decided.reannounce is not None:
            await self._announce(decided.reannounce)

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

    async def _apply_resolver(
        self, observed: source_resolvers.SourceResolver | None, planned: planning.SourceResolverPlan
    ) -> None:
        """Create or update the resolver, then write the status planned for it on what was written.

        The status was planned for the generation the API server gives the object (1 when created,
        one more after a spec change); an object written otherwise, or created by someone else
        meanwhile, means the plan's view is stale: the event is retried, and planned again."""
        written = observed
        if planned.action == "create" and planned.object is not None:
            try:
                written = await self.cluster.create_source_resolver(planned.object)
            except errors.AlreadyExistsError as e:
                raise errors.ConflictError(f"source resolver created meanwhile: {e}") from e
        elif planned.action == "update" and planned.object is not None:
            written = await self.cluster.replace_source_resolver(planned.object)
        if planned.status is None or written is None:
            return
        if written.generation != (planned.status.observed_generation or 0):
            raise errors.ConflictError(
                f"source resolver {written.namespace}/{written.name} is at generation {written.generation}, "
                f"planned for {planned.status.observed_generation}"
            )
        await self.cluster.replace_source_resolver_status(written.with_(status=planned.status))

    async def _announce(self, build: builds.Build) -> None:
        """``build.scheduled`` for ``build``, on the storm lane for a storm build (the build-runner
        ignores a Build whose pod exists)."""
        scheduled = events.build_scheduled(build)
        await self.publisher.publish_many(
            [events.new(scheduled, source=SOURCE, time=self.clock(), discriminator=build.name)]
        )


async def _create_or_keep(creating: Awaitable[T]) -> T | None:
    """Create: the object created, or None when one of that name is already there (what a
    replayed event expects)."""
    try:
        return await creating
    except errors.AlreadyExistsError as e:
        logger.info("already exists: %s", e)
        return None


async def list_git_branch(
    image: images.Image,
    *,
    ls_remote: Callable[[str, str, str], Awaitable[dict[str, str]]],
) -> events.SourceChanged | None:
    """The commit ``image``'s branch or tag is at, as ``source.changed`` from the remote's listing
    (``ls_remote(url, namespace, service_account)``); None when it names no commit there, or
    when the remote cannot be listed (kpack's ``Unknown``: the branch name stands, and the next
    push or listing resolves it), which is logged with the reason."""
    git = image.spec.source.git
    if git is None:
        return None
    account = image.spec.service_account_name or "default"
    try:
        listing = await ls_remote(git.url, image.namespace, account)
    except errors.KilnError as e:
        logger.warning("image %s: %s lists no %s now: %s", image.key, git.url, git.revision, e)
        return None
    commit = git_refs.resolve(listing, git.revision).followed_commit
    if commit is None:
        return None
    return events.SourceChanged(namespace=image.namespace, image=image.name, url=git.url, revision=commit)


async def read_git_tree(
    image: images.Image,
    commit: str,
    *,
    tree_id: Callable[[str, str, str, str, str], Awaitable[str | None]],
) -> str | None:
    """The tree id at ``image``'s ``subPath`` in ``commit`` of its repository
    (``tree_id(url, commit, sub_path, namespace, service_account)``); None when the commit holds
    nothing there or cannot be read, which is logged: the commit then rebuilds, as any does."""
    git = image.spec.source.git
    if git is None:
        return None
    account = image.spec.service_account_name or "default"
    try:
        found = await tree_id(git.url, commit, image.spec.source.sub_path or "", image.namespace, account)
    except errors.KilnError as e:
        logger.warning("image %s: no tree of %s at %s: %s", image.key, commit, image.spec.source.sub_path, e)
        return None
    if found is None:
        logger.info("image %s: %s holds nothing at %s", image.key, commit, image.spec.source.sub_path)
    return found


async def read_source_digest(
    image: images.Image,
    *,
    registry: registry_client.RegistryClient,
    keychains: registry_keychains.Keychains,
) -> str | None:
    """``image``'s registry source tag pinned to the digest it is at now (``<tag>@sha256:…``), read
    with the keychain a build pulls it with: the source's ``imagePullSecrets``, then the Image's
    service account's secrets. None when the tag does not exist, Kiln may not read it, or the
    registry cannot be reached (logged: the tag is recorded as given, as kpack records it, the
    build reports what it finds, and the next reconcile resolves it again)."""
    source = image.spec.source.registry
    if source is None:
        return None
    account = registry_keychains.Account(
        image.namespace,
        image.spec.service_account_name or registry_keychains.DEFAULT_SERVICE_ACCOUNT,
        image_pull_secrets=tuple(ref.name for ref in source.image_pull_secrets or [] if ref.name),
    )
    try:
        digest = await keychains.using(
            account, lambda keychain: registry.find_digest(source.image, keychain=keychain)
        )
    except errors.KilnError as e:
        logger.warning("image %s: source image %s not resolved: %s", image.key, source.image, e)
        return None
    if digest is None:
        logger.warning("image %s: source image %s does not exist", image.key, source.image)
        return None
    return f"{source.image}@{digest}"
