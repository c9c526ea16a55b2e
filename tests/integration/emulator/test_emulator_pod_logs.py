"""Pod logs from the emulator, as the API server serves them: ``GET …/pods/{name}/log`` through the
real kubernetes-asyncio client and kubectl, with the lines a kubelet appended (over HTTP, or from
Python with ``Emulator.append_log``)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
import shutil
import subprocess
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from services.testbed.emulator import Emulator

KUBECTL = shutil.which("kubectl")


def build_pod(name: str) -> dict[str, Any]:
    """A pod of two init containers (steps) and one container."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "initContainers": [{"name": "prepare", "image": "x"}, {"name": "build", "image": "x"}],
            "containers": [{"name": "completion", "image": "x"}],
        },
    }


def states(**by_container: str) -> dict[str, Any]:
    """``status`` with each named container ``waiting``, ``running`` or ``terminated``."""
    state = {
        "waiting": {"waiting": {"reason": "PodInitializing"}},
        "running": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
        "terminated": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    entries = {
        n: {"name": n, "state": state[s], "image": "x", "imageID": "", "ready": False, "restartCount": 0}
        for n, s in by_container.items()
    }
    init = [entry for n, entry in entries.items() if n != "completion"]
    main = [entry for n, entry in entries.items() if n == "completion"]
    return {"phase": "Pending", "initContainerStatuses": init, "containerStatuses": main}


async def set_states(core: client.CoreV1Api, name: str, namespace: str, **by_container: str) -> None:
    await core.patch_namespaced_pod_status(name, namespace, {"status": states(**by_container)})


async def read_log(core: client.CoreV1Api, name: str, namespace: str, **options: Any) -> str:
    text: str = await core.read_namespaced_pod_log(name, namespace, **options)
    return text


def status_of(error: ApiException) -> tuple[int, str]:
    return error.status or 0, json.loads(error.body)["message"]


async def test_a_step_log_is_served_as_plain_text_in_the_order_written(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="terminated", build="running", completion="waiting")
    emulator.append_log(namespace, "p", "prepare", ["Cloning repository", "Successfully cloned"])
    emulator.append_log(namespace, "p", "build", ["Building"])
    emulator.append_log(namespace, "p", "prepare", ["done"])

    assert await read_log(core, "p", namespace, container="prepare") == (
        "Cloning repository\nSuccessfully cloned\ndone\n"
    )
    assert await read_log(core, "p", namespace, container="build") == "Building\n"
    assert await read_log(core, "p", namespace, container="prepare", tail_lines=1) == "done\n"
    stamped = await read_log(core, "p", namespace, container="build", timestamps=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z Building\n", stamped), stamped
    assert await read_log(core, "p", namespace, container="prepare", since_seconds=3600) != ""
    assert await read_log(core, "p", namespace, container="prepare", limit_bytes=7) == "Cloning"


async def test_a_pod_of_several_containers_asked_without_one_is_refused_naming_them(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    pod = build_pod("multi")
    pod["spec"]["containers"].append({"name": "sidecar", "image": "x"})
    emulator.create(pod, namespace=namespace)

    with pytest.raises(ApiException) as refused:
        await read_log(core, "multi", namespace)

    assert status_of(refused.value) == (
        400,
        "a container name must be specified for pod multi, choose one of: [completion sidecar] "
        "or one of the init containers: [prepare build]",
    )


async def test_missing_pods_unknown_containers_and_waiting_ones_are_refused_as_kubernetes_does(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")

    with pytest.raises(ApiException) as missing:
        await read_log(core, "nope", namespace, container="prepare")
    with pytest.raises(ApiException) as unknown:
        await read_log(core, "p", namespace, container="deploy")
    with pytest.raises(ApiException) as waiting:
        await read_log(core, "p", namespace, container="build")
    with pytest.raises(ApiException) as bad_number:
        await read_log(core, "p", namespace, container="prepare", tail_lines="ten")

    assert status_of(missing.value) == (404, 'pods "nope" not found')
    assert status_of(unknown.value) == (400, "container deploy is not valid for pod p")
    assert status_of(waiting.value) == (
        400,
        'container "build" in pod "p" is waiting to start: PodInitializing',
    )
    assert bad_number.value.status == 400
    assert "tailLines" in status_of(bad_number.value)[1]
    # the only container is the default
    await set_states(core, "p", namespace, prepare="terminated", build="terminated", completion="running")
    emulator.append_log(namespace, "p", "completion", ["Build successful"])
    assert await read_log(core, "p", namespace) == "Build successful\n"


async def test_follow_streams_new_lines_until_the_container_terminates(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")
    emulator.append_log(namespace, "p", "prepare", ["one"])

    response: aiohttp.ClientResponse = await core.read_namespaced_pod_log(
        "p", namespace, container="prepare", follow=True, _preload_content=False
    )
    received: list[str] = []

    async def read() -> None:
        async for raw in response.content:
            received.append(raw.decode().rstrip("\n"))

    reader = asyncio.create_task(read())
    try:
        await asyncio.sleep(0.3)
        assert received == ["one"]
        assert not reader.done(), "the stream stays open while the container runs"
        emulator.append_log(namespace, "p", "prepare", ["two", "three"])
        await asyncio.sleep(0.3)
        assert received == ["one", "two", "three"]
        emulator.append_log(namespace, "p", "prepare", ["last"])
        await set_states(core, "p", namespace, prepare="terminated", build="running", completion="waiting")
        async with asyncio.timeout(5):
            await reader
    finally:
        reader.cancel()
        response.release()
    assert received == ["one", "two", "three", "last"]


async def test_a_kubelet_appends_over_http_for_the_pod_it_runs_only(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    created = emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")
    url = f"{emulator.base_url}/_emulator/logs/namespaces/{namespace}/pods/p"
    uid = created["metadata"]["uid"]

    async with aiohttp.ClientSession() as http:
        written = await http.post(url, json={"uid": uid, "containers": {"prepare": ["a", "b"]}})
        stale = await http.post(url, json={"uid": "another", "containers": {"prepare": ["x"]}})
        gone = await http.post(url.replace("/p", "/q"), json={"containers": {"prepare": ["x"]}})
        malformed = await http.post(url, json={"uid": uid})

    assert (written.status, stale.status, gone.status, malformed.status) == (201, 409, 404, 400)
    assert await read_log(core, "p", namespace, container="prepare") == "a\nb\n"


async def test_a_pod_made_again_under_the_same_name_starts_with_no_logs(
    emulator: Emulator, core: client.CoreV1Api, namespace: str
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")
    emulator.append_log(namespace, "p", "prepare", ["old"])
    await core.delete_namespaced_pod("p", namespace)
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")

    assert await read_log(core, "p", namespace, container="prepare") == ""


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)")
async def test_kubectl_logs_reads_a_step(
    emulator: Emulator,
    core: client.CoreV1Api,
    namespace: str,
    kubeconfig: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="terminated", build="waiting", completion="waiting")
    emulator.append_log(namespace, "p", "prepare", ["Cloning repository", "Successfully cloned"])
    assert KUBECTL is not None
    base = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path), "-n", namespace]

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=30, check=False)

    shown = await asyncio.to_thread(kubectl, "logs", "p", "-c", "prepare")
    waiting = await asyncio.to_thread(kubectl, "logs", "p", "-c", "build")

    assert (shown.returncode, shown.stdout) == (0, "Cloning repository\nSuccessfully cloned\n")
    assert waiting.returncode == 1
    assert 'container "build" in pod "p" is waiting to start: PodInitializing' in waiting.stderr


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)")
async def test_kubectl_logs_follow_ends_when_the_step_terminates(
    emulator: Emulator,
    core: client.CoreV1Api,
    namespace: str,
    kubeconfig: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    emulator.create(build_pod("p"), namespace=namespace)
    await set_states(core, "p", namespace, prepare="running", build="waiting", completion="waiting")
    emulator.append_log(namespace, "p", "prepare", ["Cloning repository"])
    assert KUBECTL is not None
    command = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path), "-n", namespace]
    process = await asyncio.create_subprocess_exec(
        *command, "logs", "-f", "p", "-c", "prepare", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        assert await process.stdout.readline() == b"Cloning repository\n"
        emulator.append_log(namespace, "p", "prepare", ["Successfully cloned"])
        assert await process.stdout.readline() == b"Successfully cloned\n"
        await set_states(core, "p", namespace, prepare="terminated", build="running", completion="waiting")
        assert await process.stdout.read() == b""
        assert await process.wait() == 0
