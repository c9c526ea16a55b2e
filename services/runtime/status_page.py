"""The live status page of a ``kiln run`` process, on its admin endpoint.

* ``GET /`` and ``GET /status`` — the page: plain HTML and a little JavaScript, one static file
  shipped in the package (``services/runtime/static/status.html``), no front-end build;
* ``GET /status.json`` — what it shows, as JSON (:mod:`services.runtime.status_views`);
* ``GET /status/events`` — the same document again as a server-sent event (``event: status``)
  whenever it changes, and a comment line every 15 s to keep proxies from closing the stream.

Where the data comes from: the process's watch caches of Images and Builds
(:mod:`services.kube.caching`), a watch of the running build pods (their current step), and the
storm lanes' queues (a passive declare on the process's broker connection gives their message
counts, every 2 s while someone watches). A change the caches take wakes the streams: nothing
polls the API server. The page is built once per change for every open stream, at most every half
second and with at most a tenth of the process's time; an object is parsed again only when the
cache holds a new version of it (2,000 Images and their Builds parse in about 0.25 s).

Which processes serve it (``KILN_STATUS_PAGE``): unset, those that already keep watch caches of
Images and Builds (the image-reconciler, ``kiln run all``, the sandbox); ``true``, any process with
an admin endpoint, which then starts the caches of Images and Builds it lacks, for the page alone
(the build-runner, image-state, triggers); ``false``, none. Every process serving it also watches
the running build pods, so its role needs ``list`` and ``watch`` of pods; where the API server
refuses the list, the running builds show no step, and the log says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aio_pika.abc
import aio_pika.exceptions
import aiohttp
import orjson
from aiohttp import web

from contracts import builds
from services import errors
from services.broker import settings as broker_settings
from services.broker import topology
from services.kube import caching, informers, parsing
from services.kube import resources as kube_resources
from services.runtime import status_views

logger = logging.getLogger(__name__)
PAGE = "static/status.html"
"""The page, inside this package."""
SETTLE_SECONDS = 0.5
"""After a change, how long a stream waits for more before it sends: a burst of changes is one event."""
SHARE = 0.1
"""At most this share of the process's time goes to building the page: a stream waits ten times as
long as the last build took before it sends again (about 2.5 s at 2,000 Images that all changed)."""
KEEPALIVE_SECONDS = 15.0
PROBE_SECONDS = 10.0
"""How long the first list of build pods may take before the page watches them without knowing."""
BACKLOG_SECONDS = 2.0
"""How often the storm lanes' queues are counted while someone watches."""
FAILED = b'"status":"False"'
"""In a cached Build's JSON whenever one of its conditions is False: only those are parsed to find
the failures (the caches hold compact JSON)."""


def storm_queues(settings: broker_settings.BrokerSettings) -> dict[str, tuple[str, ...]]:
    """Each storm lane and the queues its waiting messages are in (its shards or queue, its wait queue)."""
    names = topology.Names(settings)
    found = {}
    for service in topology.SERVICES:
        if service.name.endswith("-storm"):
            waiting = names.wait_queue(service)
            found[service.name] = (*names.queues(service), *((waiting,) if waiting else ()))
    return found


class Backlog:
    """The storm lanes' waiting messages, counted by passive queue declares on one channel."""

    def __init__(
        self, connection: aio_pika.abc.AbstractConnection, *, settings: broker_settings.BrokerSettings
    ) -> None:
        self.connection = connection
        self.queues = storm_queues(settings)
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def count(self) -> dict[str, int] | None:
        """Messages waiting in each storm lane; None when the broker did not answer."""
        try:
            if self._channel is None or self._channel.is_closed:
                self._channel = await self.connection.channel()
            counts = {}
            for lane, queues in self.queues.items():
                counts[lane] = 0
                for name in queues:
                    declared = await self._channel.declare_queue(name, passive=True)
                    counts[lane] += declared.declaration_result.message_count or 0
            return counts
        except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as e:
            logger.info("storm backlog not counted: %r", e)
            await self.close()
            return None

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):  # a channel the broker closed, a connection gone
                await channel.close()


class StatusPage:
    """The page's state: the caches it reads, the newest document, and the streams waiting for it."""

    def __init__(
        self,
        kube: kube_resources.Kube,
        *,
        image_cache: informers.Informer,
        build_cache: informers.Informer,
        pod_cache: informers.Informer | None,
        backlog: Backlog,
        clock: Callable[[], datetime],
    ) -> None:
        self.kube = kube
        self.image_cache, self.build_cache, self.pod_cache = image_cache, build_cache, pod_cache
        self.caches = tuple(c for c in (image_cache, build_cache, pod_cache) if c is not None)
        self.backlog = backlog
        self.clock = clock
        self.version = 0
        """Counts the changes seen: a stream sends again when it moved."""
        self.watching = 0
        """Open event streams."""
        self.closing = False
        self._lanes: dict[str, int] | None = None
        self._counted = 0.0
        self._moved = asyncio.Event()
        self._built: tuple[int, bytes] | None = None
        self._build_seconds = 0.0
        self._images = _Parsed(kube.images)
        self._builds = _Parsed(kube.builds)

    # what the routes answer

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/status", self.page)
        app.router.add_get("/status.json", self.document)
        app.router.add_get("/status/events", self.events)
        app.on_shutdown.append(self._shut_down)

    async def page(self, _: web.Request) -> web.Response:
        html = importlib.resources.files(__package__ or "services.runtime").joinpath(PAGE).read_bytes()
        return web.Response(body=html, content_type="text/html", charset="utf-8")

    async def document(self, _: web.Request) -> web.Response:
        if time.monotonic() - self._counted > BACKLOG_SECONDS:
            await self._count_backlog()
        return web.Response(body=self.body(), content_type="application/json")

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        self.watching += 1
        if self.watching == 1:
            self._bump()  # the backlog is counted again now that someone watches
        sent = b""
        try:
            while not self.closing:
                seen = self.version
                body = self.body()
                if body != sent:
                    await response.write(b"event: status\ndata: " + body + b"\n\n")
                    sent = body
                if await self._changed_since(seen, seconds=KEEPALIVE_SECONDS):
                    await asyncio.sleep(max(SETTLE_SECONDS, self._build_seconds / SHARE))
                elif not self.closing:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            logger.debug("status page stream closed by its reader")
        finally:
            self.watching -= 1
            if not self.watching:
                self._images.forget()
                self._builds.forget()
        return response

    def body(self) -> bytes:
        """The document at the current version (built once per version)."""
        if self._built is None or self._built[0] != self.version:
            started = time.monotonic()
            self._built = (self.version, orjson.dumps(self.view()))
            self._build_seconds = time.monotonic() - started
        return self._built[1]

    def view(self) -> dict[str, Any]:
        image_cache, build_cache, pod_cache = self.image_cache, self.build_cache, self.pod_cache
        held = image_cache.store.everything()
        found_images = self._images.many(held or [])
        latest = {}
        for image in found_images:
            name = image.status.latest_build_ref
            body = build_cache.store.lookup(image.namespace, name).body if name else None
            build = self._builds.one(body) if body is not None else None
            if build is not None:
                latest[(image.namespace, image.name)] = build
        held_builds = build_cache.store.everything() or []
        failed = self._builds.many([body for body in held_builds if FAILED in body])
        self._images.done()
        self._builds.done()
        return status_views.status_view(
            found_images,
            latest=latest,
            failed=failed,
            pods=list(informers.bodies(pod_cache.store.everything() or [])) if pod_cache else None,
            backlog=self._lanes,
            synced=held is not None and build_cache.store.synced,
            now=self.clock(),
        )

    # what keeps it moving

    async def run(self) -> None:
        """Follow the caches' changes and count the backlog while someone watches, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            for informer in self.caches:
                tasks.create_task(self._follow(informer), name=f"status page: {informer.store.kind}")
            tasks.create_task(self._watch_backlog(), name="status page: storm backlog")

    def close(self) -> None:
        self.closing = True
        self._bump()

    async def _shut_down(self, _: web.Application) -> None:
        self.close()

    async def _follow(self, informer: informers.Informer) -> None:
        while True:
            if await informer.until(_after_one_change(), seconds=3600.0):
                self._bump()

    async def _watch_backlog(self) -> None:
        while True:
            if self.watching:
                await self._count_backlog()
                await asyncio.sleep(BACKLOG_SECONDS)
            else:
                await self._changed_since(self.version, seconds=BACKLOG_SECONDS)

    async def _count_backlog(self) -> None:
        lanes = await self.backlog.count()
        self._counted = time.monotonic()
        if lanes != self._lanes:
            self._lanes = lanes
            self._bump()

    def _bump(self) -> None:
        self.version += 1
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def _changed_since(self, version: int, *, seconds: float) -> bool:
        """Until the version moves past ``version`` (True) or ``seconds`` pass (False)."""
        if self.version != version:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._moved.wait()
        return self.version != version


def _after_one_change() -> Callable[[], bool]:
    """A condition for :meth:`~services.kube.informers.Informer.until` that holds once the cache
    changed once more (it is asked before the first wait, then after each change)."""
    asked = 0

    def changed() -> bool:
        nonlocal asked
        asked += 1
        return asked > 1

    return changed


class _Parsed:
    """The cached objects of one kind as models, each parsed again only when its JSON changed: the
    caches keep one ``bytes`` per object version, whose hash Python keeps, so a page built again
    after a few changes parses those few."""

    def __init__(self, resource: kube_resources.Resource[Any]) -> None:
        self.resource = resource
        self._last: dict[bytes, Any] = {}
        self._now: dict[bytes, Any] = {}

    def one(self, body: bytes) -> Any:
        """The model of ``body``; None when it does not fit (skipped, as the services skip it)."""
        if body in self._now:
            return self._now[body]
        found = self._last[body] if body in self._last else self._parse(body)
        self._now[body] = found
        return found

    def many(self, bodies: list[bytes]) -> list[Any]:
        return [found for found in (self.one(body) for body in bodies) if found is not None]

    def done(self) -> None:
        """The page is built: keep what it read, for the next one."""
        self._last, self._now = self._now, {}

    def forget(self) -> None:
        self._last, self._now = {}, {}

    def _parse(self, body: bytes) -> Any:
        typed = self.resource.typed(orjson.loads(body))
        return None if isinstance(typed, parsing.Unparsed) else typed


async def _may_list(pods: kube_resources.FieldSelected[dict[str, Any]]) -> bool:
    """Whether this process may list the build pods: False only when the API server refuses it (a
    role without ``list`` of pods), said once here rather than by a watch failing every second."""
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            await pods.list_raw(namespace=None, label_selector=builds.BUILD_LABEL)
    except errors.PermanentError as e:
        logger.warning(
            "status page: running builds show no step, this process may not list build pods (%s); "
            "grant list and watch of pods to its role",
            e,
        )
        return False
    except (errors.TemporaryError, TimeoutError) as e:
        logger.info("status page: build pods not listed (%s); watching them all the same", e)
    return True


@contextlib.asynccontextmanager
async def serving(
    kube: kube_resources.Kube,
    *,
    caches: caching.Caches | None,
    connection: aio_pika.abc.AbstractConnection,
    broker: broker_settings.BrokerSettings,
    clock: Callable[[], datetime],
) -> AsyncIterator[StatusPage]:
    """The page over ``caches`` (those of Images and Builds it lacks started for it), with a watch
    of the running build pods (unless the process may not list pods: the running builds then show
    no step); its routes are added with :meth:`StatusPage.add_routes`."""
    held = caches.by_kind if caches is not None else {}
    missing = [kind for kind in ("Image", "Build") if kind not in held]
    own = caching.Caches(kube, missing) if missing else None
    by_kind = {**held, **(own.by_kind if own is not None else {})}
    running_pods = kube.pods.with_fields(status_views.RUNNING_PODS)
    pods = None
    if await _may_list(running_pods):
        pods = informers.Informer(running_pods, label_selector=builds.BUILD_LABEL)
    backlog = Backlog(connection, settings=broker)
    page = StatusPage(
        kube,
        image_cache=by_kind["Image"],
        build_cache=by_kind["Build"],
        pod_cache=pods,
        backlog=backlog,
        clock=clock,
    )

    async def run() -> None:
        async with asyncio.TaskGroup() as tasks:
            if own is not None:
                tasks.create_task(own.run(), name="status page: caches")
            if pods is not None:
                tasks.create_task(pods.run(), name="status page: running build pods")
            tasks.create_task(page.run(), name="status page")

    task = asyncio.create_task(run(), name="status page")
    try:
        yield page
    finally:
        page.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await backlog.close()
