"""Lists and watches narrowed by a field selector, as a kubelet watches the pods still to run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from services.kube import resources, watching
from tests.integration.kube import kube_support as support

PENDING = "status.phase=Pending"


async def _next(events: AsyncIterator[watching.WatchEvent[dict[str, Any]]]) -> tuple[str, str]:
    event = await asyncio.wait_for(anext(events), timeout=5)
    return event.type, support.meta_of(event.object)["name"]


async def test_a_field_selector_narrows_a_list(kube: resources.Kube, namespace: str) -> None:
    await kube.pods.create(support.pod("waiting", namespace))
    await kube.pods.create(support.pod("running", namespace))
    await kube.pods.patch_status("running", {"status": {"phase": "Running"}}, namespace=namespace)

    pending = await kube.pods.list(namespace=namespace, field_selector=PENDING)
    everything = await kube.pods.list(namespace=namespace)

    assert [support.meta_of(pod)["name"] for pod in pending] == ["waiting"]
    assert len(everything) == 2


async def test_an_object_leaving_the_selection_is_deleted_from_the_watch_and_one_entering_added(
    kube: resources.Kube, namespace: str
) -> None:
    await kube.pods.create(support.pod("first", namespace))
    await kube.pods.create(support.pod("done", namespace))
    await kube.pods.patch_status("done", {"status": {"phase": "Succeeded"}}, namespace=namespace)
    pending = kube.pods.with_fields(PENDING)

    async with contextlib.aclosing(watching.watch(pending, namespace=namespace)) as events:
        listed = await _next(events)
        await kube.pods.patch_status("first", {"status": {"phase": "Running"}}, namespace=namespace)
        left = await _next(events)
        await kube.pods.patch_status("done", {"status": {"phase": "Pending"}}, namespace=namespace)
        entered = await _next(events)

    assert (listed, left, entered) == (("ADDED", "first"), ("DELETED", "first"), ("ADDED", "done"))
