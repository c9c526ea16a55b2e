"""The emulator counts its answers by status code, verb and resource (the 409s a run provoked)."""

from __future__ import annotations

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}


async def test_a_stale_write_and_a_second_create_are_counted_as_409s(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    before = emulator.answers()
    created = await core.create_namespaced_pod(namespace, POD)
    with pytest.raises(ApiException) as exists:
        await core.create_namespaced_pod(namespace, POD)
    stale = {**POD, "metadata": {"name": "p", "resourceVersion": created.metadata.resource_version}}
    await core.replace_namespaced_pod_status("p", namespace, stale)
    with pytest.raises(ApiException) as conflict:
        await core.replace_namespaced_pod_status("p", namespace, stale)
    await core.read_namespaced_pod("p", namespace)

    after = emulator.answers()

    assert (exists.value.status, conflict.value.status) == (409, 409)

    def delta(code: int, verb: str, resource: str) -> int:
        return after.count(code=code, verb=verb, resource=resource) - before.count(
            code=code, verb=verb, resource=resource
        )

    assert delta(201, "create", "pods") == 1
    assert delta(409, "create", "pods") == 1
    assert delta(200, "update", "pods/status") == 1
    assert delta(409, "update", "pods/status") == 1
    assert delta(200, "get", "pods") >= 1
    assert after.count(code=409) - before.count(code=409) == 2


async def test_the_answers_are_served_and_cleared_over_http(
    core: client.CoreV1Api, emulator: Emulator, namespace: str
) -> None:
    await core.create_namespaced_pod(namespace, POD)
    async with aiohttp.ClientSession(base_url=emulator.base_url) as session:
        async with session.get("/_emulator/answers") as listed:
            answers = (await listed.json())["answers"]
        async with session.delete("/_emulator/answers") as cleared:
            assert (await cleared.json())["answers"] == []
    assert {"code": 201, "verb": "create", "resource": "pods"} in [
        {k: a[k] for k in ("code", "verb", "resource")} for a in answers
    ]
    assert emulator.answers().count(code=201) == 0
