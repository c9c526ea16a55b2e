"""``CachedCluster``: a :class:`~services.kube.cluster.KubeCluster` whose Image, SourceResolver and
Build reads come from watch caches (:mod:`services.kube.informers`), as kpack's controllers read
from informers.

* Reads answer from the cache when it holds the object, or knows it absent; else (not synced yet,
  marked stale) they read the API server and keep the answer.
* Writes go to the API server, conditional on ``resourceVersion`` as before, and the answer is
  kept, so the next reconcile sees this process's own writes at once. A write refused with 409
  marks the object stale: the retried event reads it from the API server.
* :meth:`CachedCluster.catch_up` is the consistency token: an event that names the version of the
  object it tells of (an Image's ``resource_version``, a recorded Build's ``build_version``) waits
  until the cache shows that version, or reads the API server after ``wait_seconds``.
* An Image whose status names a newest Build the cache does not hold has its Builds listed from
  the API server (that Build was created by another process, and the Build watch is behind).

Builds are cached only with the ``image.kpack.io/image`` label, indexed by it: the Builds of an
Image are one dictionary lookup, not a label scan of the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

import orjson

from contracts import builds, images, meta, source_resolvers
from services import errors
from services.kube import cluster, informers, parsing, resources

logger = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=meta.KubeObject)
KINDS = ("Image", "SourceResolver", "Build")


class Caches:
    """The list+watch caches of one process: one per kind it reads (of :data:`KINDS`), shared by
    its services."""

    def __init__(self, kube: resources.Kube, kinds: Iterable[str] = KINDS) -> None:
        wanted = set(kinds)
        unknown = wanted - set(KINDS)
        if unknown:
            raise ValueError(f"no watch cache for {sorted(unknown)}: expected some of {list(KINDS)}")
        made = {
            "Image": lambda: informers.Informer(kube.images, compress=True),
            "SourceResolver": lambda: informers.Informer(kube.source_resolvers, compress=True),
            "Build": lambda: informers.Informer(
                kube.builds, label_selector=builds.IMAGE_LABEL, index_label=builds.IMAGE_LABEL, compress=True
            ),
        }
        self.by_kind: dict[str, informers.Informer] = {kind: made[kind]() for kind in KINDS if kind in wanted}

    def all(self) -> tuple[informers.Informer, ...]:
        return tuple(self.by_kind.values())

    async def run(self) -> None:
        """Every cache's list+watch, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            for informer in self.all():
                tasks.create_task(informer.run(), name=f"cache of {informer.store.kind}")

    def health(self) -> str | None:
        problems = [found for found in (i.health() for i in self.all()) if found is not None]
        return "; ".join(problems) or None

    def memory_bytes(self) -> int:
        return sum(informer.store.memory_bytes() for informer in self.all())

    def objects(self) -> dict[str, int]:
        return {informer.store.kind: len(informer.store) for informer in self.all()}


class CachedCluster(cluster.KubeCluster):
    """Reads Images, SourceResolvers and Builds from :class:`Caches` (the kinds it holds)."""

    def __init__(self, kube: resources.Kube, caches: Caches, *, wait_seconds: float = 2.0) -> None:
        super().__init__(kube)
        self.caches = caches
        self.wait_seconds = wait_seconds
        self.served = 0
        """Reads answered from the caches."""

    async def catch_up(self, kind: str, namespace: str, name: str, version: str, *, image: str = "") -> None:
        wanted = informers.parse_version(version)
        informer = self.caches.by_kind.get(kind)
        if wanted is None or informer is None:
            return
        if await informer.catch_up(namespace, name, wanted, seconds=self.wait_seconds):
            return
        logger.info("cache of %s behind %s/%s at %s: reading it", kind, namespace, name, version)
        if kind == "Build" and image:
            informer.store.mark_index_stale(namespace, image)

    # reads

    async def get_image(self, namespace: str, name: str) -> images.Image | None:
        # absent from the cache is not enough: an Image just created may be announced first
        return await self._read("Image", self.kube.images, namespace, name, super().get_image, absent=False)

    async def find_images(self, matches: Callable[[dict[str, Any]], bool]) -> list[images.Image]:
        informer = self.caches.by_kind.get("Image")
        held = informer.store.everything() if informer is not None else None
        if held is None:
            return await super().find_images(matches)
        self.served += 1
        return cluster.typed_matching(self.kube.images, informers.bodies(held), matches)

    async def get_source_resolver(self, namespace: str, name: str) -> source_resolvers.SourceResolver | None:
        return await self._read(
            "SourceResolver", self.kube.source_resolvers, namespace, name, super().get_source_resolver
        )

    async def get_build(self, namespace: str, name: str) -> builds.Build | None:
        # only Builds of an Image are cached: absent may be a Build of none
        return await self._read("Build", self.kube.builds, namespace, name, super().get_build, absent=False)

    async def list_builds(self, namespace: str, *, image: str) -> list[builds.Build]:
        informer = self.caches.by_kind.get("Build")
        if informer is None:
            return await super().list_builds(namespace, image=image)
        found = informer.store.by_index(namespace, image)
        if found is not None and self._shows_newest(namespace, image, found):
            self.served += 1
            return list(_parsed(self.kube.builds, informers.bodies(found)))
        listed = await self._count("list", "Build").builds.list_raw(
            namespace=namespace, label_selector=f"{builds.IMAGE_LABEL}={image}"
        )
        items = listed.get("items") or []
        version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        informer.store.indexed_listed(namespace, image, items, version)
        return list(_parsed(self.kube.builds, items))

    # writes

    async def replace_image_status(self, image: images.Image) -> images.Image:
        return await self._write("Image", self.kube.images, image, super().replace_image_status)

    async def patch_image_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        informer = self.caches.by_kind.get("Image")
        if informer is not None:
            informer.store.mark_stale(namespace, name)
        await super().patch_image_status(namespace, name, patch)

    async def create_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._write(
            "SourceResolver", self.kube.source_resolvers, resolver, super().create_source_resolver
        )

    async def replace_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._write(
            "SourceResolver", self.kube.source_resolvers, resolver, super().replace_source_resolver
        )

    async def replace_source_resolver_status(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._write(
            "SourceResolver", self.kube.source_resolvers, resolver, super().replace_source_resolver_status
        )

    async def create_build(self, build: builds.Build) -> builds.Build:
        return await self._write("Build", self.kube.builds, build, super().create_build)

    async def replace_build_status(self, build: builds.Build) -> builds.Build:
        return await self._write("Build", self.kube.builds, build, super().replace_build_status)

    async def delete_build(self, namespace: str, name: str) -> None:
        await super().delete_build(namespace, name)
        informer = self.caches.by_kind.get("Build")
        if informer is not None:
            informer.store.offer_deleted(namespace, name)

    # plumbing

    async def _read(
        self,
        kind: str,
        resource: resources.Resource[M],
        namespace: str,
        name: str,
        fetch: Callable[[str, str], Awaitable[M | None]],
        *,
        absent: bool = True,
    ) -> M | None:
        """From the cache when it knows (``absent``: also that there is none), else ``fetch``ed
        from the API server and kept."""
        informer = self.caches.by_kind.get(kind)
        if informer is None:
            return await fetch(namespace, name)
        found = informer.store.lookup(namespace, name)
        if found.state == informers.FRESH and found.body is not None:
            self.served += 1
            return resource.parse(orjson.loads(found.body))
        if found.state == informers.ABSENT and absent:
            self.served += 1
            return None
        fetched = await fetch(namespace, name)
        if fetched is not None:
            informer.store.offer(resource.dump(fetched))
        return fetched

    async def _write(
        self, kind: str, resource: resources.Resource[M], obj: M, write: Callable[[M], Awaitable[M]]
    ) -> M:
        """``write(obj)``, its answer kept; a refused conditional write marks the object stale."""
        informer = self.caches.by_kind.get(kind)
        try:
            written = await write(obj)
        except errors.ConflictError:
            if informer is not None:
                informer.store.mark_stale(obj.namespace, obj.name)
            raise
        if informer is not None:
            informer.store.offer(resource.dump(written))
        return written

    def _shows_newest(self, namespace: str, image: str, found: list[bytes]) -> bool:
        """Whether the cached Builds hold the one the cached Image's status names as its newest
        (or saw it deleted)."""
        images_cache, builds_cache = self.caches.by_kind.get("Image"), self.caches.by_kind.get("Build")
        if images_cache is None or builds_cache is None:
            return images_cache is None
        held = images_cache.store.lookup(namespace, image)
        if held.body is None:
            return True
        status = orjson.loads(held.body).get("status") or {}
        newest = str(status.get("latestBuildRef") or "").strip()
        if not newest:
            return True
        return any(_name(body) == newest for body in found) or builds_cache.store.deleted(namespace, newest)


def _name(body: bytes) -> str:
    return str((orjson.loads(body).get("metadata") or {}).get("name") or "")


def _parsed(resource: resources.Resource[T], items: Iterable[dict[str, Any]]) -> Iterator[T]:
    for raw in items:
        found = resource.typed(raw)
        if isinstance(found, parsing.Unparsed):
            resource.skips.skipped(found, where=f"the cached list of {resource.kind}")
            continue
        yield found


READ_BY = {
    "triggers": ("Image",),
    "image-reconciler": ("Image", "SourceResolver", "Build"),
    "build-runner": ("Build",),
    "image-state": ("Build",),
}
"""The kinds each service reads on its hot path."""


def kinds_read(services: Iterable[str]) -> list[str]:
    """The kinds to cache in a process running ``services``."""
    wanted = {kind for service in services for kind in READ_BY.get(service, ())}
    return [kind for kind in KINDS if kind in wanted]


@contextlib.asynccontextmanager
async def caching(kube: resources.Kube, kinds: Iterable[str] = KINDS) -> AsyncIterator[Caches]:
    """The caches of ``kinds`` of ``kube``, kept filled while inside."""
    caches = Caches(kube, kinds)
    task = asyncio.create_task(caches.run(), name="watch caches")
    try:
        yield caches
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
