"""How fast the emulator is: requests/s of simple creates and GETs, through two clients.

`measure` drives a running emulator with raw aiohttp and with kubernetes-asyncio (the client
Kiln uses) for a bounded number of requests and returns the figures; nothing here is a pass/fail
threshold. ``python -m services.testbed.bench.emulator`` starts an emulator in a child process (so that
client and server each get a core, as in the sandbox) and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from kubernetes_asyncio import client as k8s

from services.testbed.registry import registry_process

Request = Callable[[int], Awaitable[object]]


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured run."""

    client: str
    operation: str
    requests: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


async def _timed(client: str, operation: str, request: Request, *, requests: int, concurrency: int) -> Figure:
    async def worker(offset: int) -> None:
        for i in range(offset, requests, concurrency):
            await request(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(offset) for offset in range(concurrency)))
    return Figure(client, operation, requests, time.perf_counter() - started)


def _config_map(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"key": "value"}}


async def _raw(base_url: str, namespace: str, *, requests: int, concurrency: int) -> list[Figure]:
    url = f"{base_url}/api/v1/namespaces/{namespace}/configmaps"
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def create(i: int) -> None:
            async with session.post(
                url, data=json.dumps(_config_map(f"raw-{i}")), headers=headers
            ) as response:
                assert response.status == 201, await response.text()

        async def get(i: int) -> None:
            async with session.get(f"{url}/raw-{i}") as response:
                assert response.status == 200, await response.text()
                await response.read()

        return [
            await _timed("aiohttp", "create", create, requests=requests, concurrency=concurrency),
            await _timed("aiohttp", "get", get, requests=requests, concurrency=concurrency),
        ]


async def _kubernetes(base_url: str, namespace: str, *, requests: int, concurrency: int) -> list[Figure]:
    configuration = k8s.Configuration(host=base_url)
    async with k8s.ApiClient(configuration) as api_client:
        core = k8s.CoreV1Api(api_client)

        async def create(i: int) -> None:
            body = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"k8s-{i}"), data={"key": "value"})
            await core.create_namespaced_config_map(namespace, body)

        async def get(i: int) -> None:
            await core.read_namespaced_config_map(f"k8s-{i}", namespace)

        return [
            await _timed("kubernetes-asyncio", "create", create, requests=requests, concurrency=concurrency),
            await _timed("kubernetes-asyncio", "get", get, requests=requests, concurrency=concurrency),
        ]


async def measure(base_url: str, *, requests: int = 2000, concurrency: int = 16) -> list[Figure]:
    """Creates then GETs of ``requests`` ConfigMaps per client, in a fresh namespace each."""
    figures = await _raw(
        base_url, f"bench-{uuid.uuid4().hex[:8]}", requests=requests, concurrency=concurrency
    )
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    figures += await _kubernetes(base_url, namespace, requests=requests, concurrency=concurrency)
    return figures


def render(figures: list[Figure]) -> str:
    lines = [f"{'client':<20} {'operation':<10} {'requests':>9} {'req/s':>9}"]
    lines += [f"{f.client:<20} {f.operation:<10} {f.requests:>9} {f.per_second:>9,.0f}" for f in figures]
    return "\n".join(lines)


async def measure_in_child(*, requests: int = 2000, concurrency: int = 16) -> list[Figure]:
    """Start ``python -m services.testbed.emulator`` in a child process, measure it, stop it."""
    port = registry_process.free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.testbed.emulator", "--port", str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        await asyncio.wait_for(child.stdout.readline(), timeout=30)
        return await measure(f"http://127.0.0.1:{port}", requests=requests, concurrency=concurrency)
    finally:
        child.terminate()
        await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.testbed.bench.emulator", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--url", help="measure an emulator already running there instead of a child")
    args = parser.parse_args()
    if args.url:
        figures = asyncio.run(measure(args.url, requests=args.requests, concurrency=args.concurrency))
    else:
        figures = asyncio.run(measure_in_child(requests=args.requests, concurrency=args.concurrency))
    print(render(figures))


if __name__ == "__main__":
    main()
