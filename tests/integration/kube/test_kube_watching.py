"""The list+watch loop: typed events, resume without replay, retried opens, re-list after 410."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from contracts import images
from services.kube import resources, watching
from services.testbed.emulator import Emulator
from tests.integration.kube import kube_support as support

T = TypeVar("T")


async def _next(events: AsyncIterator[watching.WatchEvent[T]]) -> tuple[str, str]:
    event = await asyncio.wait_for(anext(events), timeout=5)
    return event.type, support.meta_of(event.object)["name"]


async def _take(events: AsyncIterator[watching.WatchEvent[T]], count: int) -> list[tuple[str, str]]:
    return [await _next(events) for _ in range(count)]


async def test_a_watch_lists_then_follows_live_changes_as_typed_events(
    kube: resources.Kube, namespace: str
) -> None:
    await kube.images.create(support.image("before", namespace))
    async with contextlib.aclosing(kube.images.watch(namespace=namespace)) as events:
        first = await anext(events)
        await kube.images.create(support.image("during", namespace))
        await kube.images.patch("during", {"metadata": {"labels": {"x": "1"}}}, namespace=namespace)
        await kube.images.delete("before", namespace=namespace)
        rest = await _take(events, 3)

    assert first.type == "ADDED"
    assert isinstance(first.object, images.Image)
    assert first.object.name == "before"
    assert rest == [("ADDED", "during"), ("MODIFIED", "during"), ("DELETED", "before")]


async def test_a_label_selector_narrows_the_watch(kube: resources.Kube, namespace: str) -> None:
    async with contextlib.aclosing(
        kube.pods.watch(namespace=namespace, label_selector="kpack.io/build")
    ) as events:
        await kube.pods.create(support.pod("other", namespace))
        await kube.pods.create(support.pod("build-pod", namespace, labels={"kpack.io/build": "b"}))
        seen = await _next(events)

    assert seen == ("ADDED", "build-pod")


async def test_a_resumed_watch_does_not_replay_what_it_already_gave(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    await kube.pvcs.create(support.pvc("a", namespace))
    async with contextlib.aclosing(kube.pvcs.watch(namespace=namespace)) as events:
        assert await _next(events) == ("ADDED", "a")
        await kube.pvcs.create(support.pvc("b", namespace))
        assert await _next(events) == ("ADDED", "b")
        fault = emulator.fail_next(1, status=500, verb="watch", resource="persistentvolumeclaims")
        # the stream ends after watch_timeout_seconds; its reopening fails once and is retried
        await asyncio.sleep(kube.settings.watch_timeout_seconds + 0.5)
        await kube.pvcs.create(support.pvc("c", namespace))
        after_resume = await _next(events)

    assert fault.hits == 1, "the watch should have been reopened (and the first reopen failed)"
    assert after_resume == ("ADDED", "c")


async def test_a_watch_whose_version_is_gone_lists_again_and_yields_only_the_difference(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    for name in ("kept", "changed", "deleted"):
        await kube.builds.create(support.build(name, namespace))
    async with contextlib.aclosing(kube.builds.watch(namespace=namespace)) as events:
        initial = await _take(events, 3)
        # the generator sits before opening its watch: change things, then forget the history
        await kube.builds.patch("changed", {"metadata": {"labels": {"v": "2"}}}, namespace=namespace)
        await kube.builds.delete("deleted", namespace=namespace)
        await kube.builds.create(support.build("new", namespace))
        emulator.compact()
        relisted = sorted(await _take(events, 3))
        await kube.builds.create(support.build("later", namespace))
        live = await _next(events)

    assert sorted(initial) == [("ADDED", "changed"), ("ADDED", "deleted"), ("ADDED", "kept")]
    assert relisted == [("ADDED", "new"), ("DELETED", "deleted"), ("MODIFIED", "changed")]
    assert live == ("ADDED", "later")


async def test_cancelling_the_consumer_closes_the_watch(kube: resources.Kube, namespace: str) -> None:
    seen: list[Any] = []
    got_one = asyncio.Event()

    async def consume() -> None:
        async for event in kube.source_resolvers.watch(namespace=namespace):
            seen.append(event)
            got_one.set()

    task = asyncio.create_task(consume())
    await kube.source_resolvers.create(support.source_resolver("r", namespace))
    await asyncio.wait_for(got_one.wait(), timeout=5)
    task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError)
    assert [e.object.name for e in seen] == ["r"]


async def test_a_cluster_wide_watch_sees_every_namespace(kube: resources.Kube, namespace: str) -> None:
    selector = f"test={namespace}"
    async with contextlib.aclosing(kube.images.watch(label_selector=selector)) as events:
        await kube.images.create(support.image("one", f"{namespace}-a", labels={"test": namespace}))
        await kube.images.create(support.image("two", f"{namespace}-b", labels={"test": namespace}))
        seen = await _take(events, 2)

    assert seen == [("ADDED", "one"), ("ADDED", "two")]


async def test_a_watch_whose_connection_is_dropped_unanswered_is_reopened(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    async with contextlib.aclosing(kube.pods.watch(namespace=namespace)) as events:
        await kube.pods.create(support.pod("first", namespace))
        assert await _next(events) == ("ADDED", "first")
        fault = emulator.hang_next(1, seconds=0.2, verb="watch", resource="pods")
        await kube.pods.create(support.pod("second", namespace))
        seen = await _next(events)

    assert fault.hits == 1
    assert seen == ("ADDED", "second")
