"""Fault injection as the client sees it: 500s, 429 with Retry-After, hangs, a failing fraction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator
from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION


@pytest.fixture(autouse=True)
def no_faults_left(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.clear_faults()


async def test_the_next_requests_fail_with_500_then_succeed(
    custom: client.CustomObjectsApi, emulator: Emulator, namespace: str
) -> None:
    await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "images", support.image("img"))
    emulator.fail_next(2, status=500, verb="get", resource="images")
    statuses = []

    for _ in range(3):
        try:
            await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "images", "img")
            statuses.append(200)
        except ApiException as e:
            statuses.append(e.status)

    assert statuses == [500, 500, 200]


async def test_429_carries_retry_after(core: client.CoreV1Api, emulator: Emulator, namespace: str) -> None:
    emulator.fail_next(status=429, verb="list", resource="pods")

    with pytest.raises(ApiException) as throttled:
        await core.list_namespaced_pod(namespace)

    assert throttled.value.status == 429
    assert throttled.value.headers["Retry-After"] == "1"
    assert (await core.list_namespaced_pod(namespace)).items == []


async def test_a_hanging_request_times_out_in_the_client(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    emulator.hang_next(verb="list", resource="configmaps", seconds=2)

    with pytest.raises(asyncio.TimeoutError):
        await core.list_namespaced_config_map(namespace, _request_timeout=0.3)

    assert (await core.list_namespaced_config_map(namespace)).items == []


async def test_a_hang_ends_with_the_connection_closed(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    # aiohttp retries an idempotent request once on a dropped connection; a create is not retried.
    emulator.hang_next(verb="create", resource="secrets", seconds=0.2)

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})

    assert emulator.objects("secrets", namespace) == []


async def test_a_fraction_of_requests_fail(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    emulator.fail_fraction(0.5, status=503, verb="list", resource="secrets")
    statuses = []

    for _ in range(100):
        try:
            await core.list_namespaced_secret(namespace)
            statuses.append(200)
        except ApiException as e:
            statuses.append(e.status)

    assert set(statuses) == {200, 503}
    assert 25 <= statuses.count(503) <= 75


async def test_faults_can_be_set_over_http(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    rule = {"verb": "create", "resource": "pods", "namespace": namespace, "status": 503, "count": 1}
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    async with aiohttp.ClientSession(base_url=emulator.base_url) as session:
        async with session.post("/_emulator/faults", json=rule) as added:
            assert added.status == 201
        async with session.get("/_emulator/faults") as listed:
            assert [f["status"] for f in (await listed.json())["faults"]] == [503]

        with pytest.raises(ApiException) as unavailable:
            await core.create_namespaced_pod(namespace, pod)
        created = await core.create_namespaced_pod(namespace, pod)

        async with session.post("/_emulator/faults", json={"verb": "get"}) as added:
            assert added.status == 201
        async with session.delete("/_emulator/faults") as cleared:
            assert (await cleared.json())["faults"] == []

    assert unavailable.value.status == 503
    assert created.metadata.name == "p"
    assert (await core.read_namespaced_pod("p", namespace)).metadata.name == "p"


async def test_a_bad_fault_is_refused_over_http(emulator: Emulator) -> None:
    async with (
        aiohttp.ClientSession(base_url=emulator.base_url) as session,
        session.post("/_emulator/faults", json={"verb": "fly"}) as refused,
    ):
        assert refused.status == 400
