"""Watches through kubernetes_asyncio.watch.Watch: live events, resume without replay, 410, bookmarks."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator
from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION

MERGE = "application/merge-patch+json"


async def _collect(
    func: Any, *args: Any, count: int | None = None, **kwargs: Any
) -> list[tuple[str, dict[str, Any]]]:
    """Events as (type, raw object) until ``count`` arrived or the server ends the stream."""
    seen: list[tuple[str, dict[str, Any]]] = []
    async with watch.Watch() as stream:
        async for event in stream.stream(func, *args, **kwargs):
            seen.append((event["type"], event["raw_object"]))
            if count is not None and len(seen) >= count:
                break
    return seen


def _names(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    return [(kind, obj["metadata"].get("name", "")) for kind, obj in events if kind != "BOOKMARK"]


async def test_a_namespaced_watch_sees_live_changes(core: client.CoreV1Api, namespace: str) -> None:
    async def change() -> None:
        await asyncio.sleep(0.2)
        await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"v": "1"}})
        await core.patch_namespaced_config_map("cm", namespace, {"data": {"v": "2"}})
        await core.delete_namespaced_config_map("cm", namespace)

    events, _ = await asyncio.gather(
        _collect(core.list_namespaced_config_map, namespace, count=3, timeout_seconds=5), change()
    )

    assert _names(events) == [("ADDED", "cm"), ("MODIFIED", "cm"), ("DELETED", "cm")]
    assert events[1][1]["data"] == {"v": "2"}
    versions = [int(obj["metadata"]["resourceVersion"]) for _, obj in events]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


async def test_a_watch_without_a_version_starts_with_what_exists(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image("one"))

    events = await _collect(
        custom.list_namespaced_custom_object, GROUP, VERSION, namespace, "images", count=1
    )

    assert _names(events) == [("ADDED", "one")]


async def test_a_resumed_watch_sends_only_later_events(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image("a"))
    listed = await custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "images")
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image("b"))
    await custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "images", "a", {"spec": {"tag": "r/new"}}, _content_type=MERGE
    )

    events = await _collect(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        "images",
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=1,
    )

    assert _names(events) == [("ADDED", "b"), ("MODIFIED", "a")]


async def test_a_cluster_wide_watch_sees_every_namespace(custom: client.CustomObjectsApi) -> None:
    run = support.unique("run")
    spaces = sorted([support.unique("ns"), support.unique("ns")])

    async def create() -> None:
        await asyncio.sleep(0.2)
        for space in spaces:
            body = support.image("img", labels={"run": run})
            await custom.create_namespaced_custom_object(GROUP, VERSION, space, "images", body)

    events, _ = await asyncio.gather(
        _collect(
            custom.list_cluster_custom_object,
            GROUP,
            VERSION,
            "images",
            label_selector=f"run={run}",
            count=2,
            timeout_seconds=5,
        ),
        create(),
    )

    assert sorted(obj["metadata"]["namespace"] for _, obj in events) == spaces


async def test_leaving_the_selector_is_seen_as_deleted(core: client.CoreV1Api, namespace: str) -> None:
    await core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cm", "labels": {"watched": "yes"}}}
    )
    listed = await core.list_namespaced_config_map(namespace)
    await core.patch_namespaced_config_map("cm", namespace, {"metadata": {"labels": {"watched": "no"}}})

    events = await _collect(
        core.list_namespaced_config_map,
        namespace,
        label_selector="watched=yes",
        resource_version=listed.metadata.resource_version,
        count=1,
        timeout_seconds=2,
    )

    assert _names(events) == [("DELETED", "cm")]


async def test_resuming_from_a_compacted_version_is_410_gone(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    created = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    await core.patch_namespaced_config_map("cm", namespace, {"data": {"v": "2"}})
    emulator.compact()

    with pytest.raises(ApiException) as gone:
        await _collect(
            core.list_namespaced_config_map,
            namespace,
            resource_version=created.metadata.resource_version,
            timeout_seconds=1,
        )

    assert gone.value.status == 410
    assert "too old resource version" in str(gone.value.reason)


async def test_the_410_arrives_as_an_error_event(emulator: Emulator, namespace: str) -> None:
    emulator.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, namespace=namespace
    )
    old = emulator.resource_version
    emulator.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm2"}}, namespace=namespace
    )
    emulator.compact()
    url = f"{emulator.base_url}/api/v1/namespaces/{namespace}/configmaps?watch=1&resourceVersion={old}"

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        lines = (await response.read()).decode().splitlines()

    [event] = [json.loads(line) for line in lines]
    assert response.status == 200
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"]) == ("Status", 410)


async def test_timeout_seconds_ends_the_stream(core: client.CoreV1Api, namespace: str) -> None:
    started = time.monotonic()

    events = await _collect(core.list_namespaced_config_map, namespace, timeout_seconds=1)

    assert events == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_bookmarks_carry_the_current_resource_version(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    events = await _collect(
        core.list_namespaced_pod, namespace, allow_watch_bookmarks=True, timeout_seconds=1
    )

    bookmarks = [obj for kind, obj in events if kind == "BOOKMARK"]
    assert bookmarks
    assert int(bookmarks[-1]["metadata"]["resourceVersion"]) <= emulator.resource_version
