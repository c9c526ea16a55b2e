"""The watch caches against the emulator over HTTP: reads cost no request once synced, this
process's writes are seen at once, another writer's once the watch brings them (an event's version
waited for), and a cache that cannot know reads the API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contracts import builds, images, source_resolvers
from services import errors
from services.kube import caching, cluster, informers, resources
from services.testbed.emulator import Emulator
from tests.integration.kube import kube_support

pytestmark = pytest.mark.integration


@pytest.fixture
async def cached(kube: resources.Kube) -> AsyncIterator[caching.CachedCluster]:
    async with caching.caching(kube) as caches:
        for informer in caches.all():
            assert await informer.until(lambda i=informer: i.store.synced, seconds=5)
        yield caching.CachedCluster(kube, caches, wait_seconds=2.0)


def reads(kube_cluster: cluster.KubeCluster) -> int:
    return sum(n for (verb, _), n in kube_cluster.requests.items() if verb in ("get", "list"))


async def seen(cached: caching.CachedCluster, kind: str, namespace: str, name: str) -> None:
    informer = cached.caches.by_kind[kind]
    assert await informer.until(lambda: informer.store.lookup(namespace, name).body is not None, seconds=5)


async def test_reads_of_watched_objects_cost_no_request(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    other = cluster.KubeCluster(kube)
    await other.create_build(kube_support.build("app-build-1", namespace, labels={builds.IMAGE_LABEL: "app"}))
    await other.create_build(kube_support.build("app-build-2", namespace, labels={builds.IMAGE_LABEL: "app"}))
    await other.create_build(kube_support.build("lone", namespace))
    await other.create_source_resolver(kube_support.source_resolver("app-source", namespace))
    await kube.images.create(kube_support.image("app", namespace))
    for kind, name in (("Image", "app"), ("SourceResolver", "app-source"), ("Build", "app-build-2")):
        await seen(cached, kind, namespace, name)

    image = await cached.get_image(namespace, "app")
    resolver = await cached.get_source_resolver(namespace, "app-source")
    listed = await cached.list_builds(namespace, image="app")
    missing = await cached.get_source_resolver(namespace, "other-source")

    assert image is not None
    assert image.name == "app"
    assert resolver is not None
    assert resolver.name == "app-source"
    assert sorted(b.name for b in listed) == ["app-build-1", "app-build-2"]
    assert missing is None
    assert reads(cached) == 0
    assert cached.served == 4
    # a Build of no Image is not watched: it is read from the API server
    lone = await cached.get_build(namespace, "lone")
    assert lone is not None
    assert reads(cached) == 1


async def test_this_processs_writes_are_read_back_at_once(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    await kube.images.create(kube_support.image("app", namespace))
    await seen(cached, "Image", namespace, "app")
    image = await cached.get_image(namespace, "app")
    assert image is not None

    written = await cached.replace_image_status(
        image.with_(status=images.ImageStatus(latest_build_ref="app-build-1"))
    )
    created = await cached.create_build(
        kube_support.build("app-build-1", namespace, labels={builds.IMAGE_LABEL: "app"})
    )
    resolver = await cached.create_source_resolver(kube_support.source_resolver("app-source", namespace))

    again = await cached.get_image(namespace, "app")
    assert again is not None
    assert again.status.latest_build_ref == "app-build-1"
    assert again.metadata.resource_version == written.metadata.resource_version
    assert [b.name for b in await cached.list_builds(namespace, image="app")] == [created.name]
    assert await cached.get_source_resolver(namespace, "app-source") == resolver
    assert reads(cached) == 0

    await cached.delete_build(namespace, "app-build-1")
    assert await cached.list_builds(namespace, image="app") == []


async def test_an_events_version_is_waited_for_then_read(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    other = cluster.KubeCluster(kube)
    await kube.images.create(kube_support.image("app", namespace))
    await seen(cached, "Image", namespace, "app")
    image = await other.get_image(namespace, "app")
    assert image is not None

    changed = await other.replace_image_status(image.with_(status=images.ImageStatus(latest_build_ref="x")))
    await cached.catch_up("Image", namespace, "app", changed.metadata.resource_version or "")

    found = await cached.get_image(namespace, "app")
    assert found is not None
    assert found.status.latest_build_ref == "x"
    assert reads(cached) == 0


async def test_a_version_the_watch_does_not_bring_in_time_is_read_from_the_api(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    await kube.images.create(kube_support.image("app", namespace))
    await seen(cached, "Image", namespace, "app")
    cached.wait_seconds = 0.2
    held = cached.caches.by_kind["Image"].store.lookup(namespace, "app")
    assert held.state == informers.FRESH

    await cached.catch_up("Image", namespace, "app", "999999999")  # a version never reached

    assert await cached.get_image(namespace, "app") is not None
    assert reads(cached) == 1


async def test_a_refused_write_makes_the_next_read_ask_the_api(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    await cached.create_source_resolver(kube_support.source_resolver("app-source", namespace))
    stale = await cached.get_source_resolver(namespace, "app-source")
    assert stale is not None
    other = cluster.KubeCluster(kube)
    newer = await other.replace_source_resolver_status(
        stale.with_(status=source_resolvers.SourceResolverStatus(observed_generation=1))
    )
    cached.caches.by_kind["SourceResolver"].store.offer(kube.source_resolvers.dump(stale))  # behind

    with pytest.raises(errors.ConflictError):
        await cached.replace_source_resolver_status(
            stale.with_(status=source_resolvers.SourceResolverStatus(observed_generation=2))
        )
    found = await cached.get_source_resolver(namespace, "app-source")

    assert found is not None
    assert found.metadata.resource_version == newer.metadata.resource_version
    assert reads(cached) == 1


async def test_builds_are_listed_when_the_image_names_a_newest_build_the_cache_lacks(
    kube: resources.Kube, namespace: str
) -> None:
    caches = caching.Caches(kube)  # not running: only what this test puts in
    for informer in caches.all():
        informer.store.listed([], "1")
    cached = caching.CachedCluster(kube, caches)
    other = cluster.KubeCluster(kube)
    await other.create_build(kube_support.build("app-build-1", namespace, labels={builds.IMAGE_LABEL: "app"}))
    await kube.images.create(kube_support.image("app", namespace))
    image = await other.get_image(namespace, "app")
    assert image is not None
    written = await other.replace_image_status(
        image.with_(status=images.ImageStatus(latest_build_ref="app-build-1"))
    )
    caches.by_kind["Image"].store.offer(kube.images.dump(written))

    listed = await cached.list_builds(namespace, image="app")

    assert [b.name for b in listed] == ["app-build-1"]
    assert cached.requests["list", "Build"] == 1
    assert [b.name for b in await cached.list_builds(namespace, image="app")] == ["app-build-1"]
    assert cached.requests["list", "Build"] == 1  # kept


async def test_the_caches_serve_again_after_the_api_server_dropped_the_watch(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    other = cluster.KubeCluster(kube)
    await other.create_source_resolver(kube_support.source_resolver("before", namespace))
    await seen(cached, "SourceResolver", namespace, "before")

    # the watch streams end every watch_timeout_seconds (2 s here) and are resumed
    await asyncio.sleep(2.5)
    await other.create_source_resolver(kube_support.source_resolver("after", namespace))
    await seen(cached, "SourceResolver", namespace, "after")

    assert await cached.get_source_resolver(namespace, "after") is not None
    assert reads(cached) == 0


async def test_a_build_of_no_image_is_never_served_from_the_cache(
    kube: resources.Kube, cached: caching.CachedCluster, namespace: str
) -> None:
    written = await cached.create_build(kube_support.build("lone", namespace))
    other = cluster.KubeCluster(kube)
    annotated = written.model_copy(
        update={"metadata": written.metadata.model_copy(update={"annotations": {"kiln.dev/cancel": "true"}})}
    )
    await other.kube.builds.replace(annotated)  # a user's change: the Build watch does not show it

    found = await cached.get_build(namespace, "lone")

    assert found is not None
    assert found.annotations == {"kiln.dev/cancel": "true"}


async def test_an_object_deleted_while_the_watch_was_away_is_absent_after_the_relist(
    kube: resources.Kube, emulator: Emulator, cached: caching.CachedCluster, namespace: str
) -> None:
    """The caches' watches keep nothing of the objects between events (the stores hold them): a
    deletion the watch never streamed is told by the list answer that follows a 410."""
    other = cluster.KubeCluster(kube)
    for name in ("kept", "gone"):
        await other.create_source_resolver(kube_support.source_resolver(name, namespace))
        await seen(cached, "SourceResolver", namespace, name)
    away = emulator.add_fault(verb="watch", resource="sourceresolvers", status=500, count=10_000)
    await asyncio.sleep(kube.settings.watch_timeout_seconds + 0.5)  # the stream ended; reopens fail
    assert away.hits >= 1
    await kube.source_resolvers.delete("gone", namespace=namespace)
    emulator.compact()  # the deletion is no longer in the history a watch resumes from
    emulator.faults.clear()
    store = cached.caches.by_kind["SourceResolver"].store

    assert await cached.caches.by_kind["SourceResolver"].until(
        lambda: store.lookup(namespace, "gone").state == informers.ABSENT, seconds=10
    )
    assert store.lookup(namespace, "kept").state == informers.FRESH
