"""Helpers shared by the registry tests and their conftest (kept out of conftest so that test
modules import them by name)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator

import httpx
from aiohttp import web

from services.testbed.registry import registry_process, token_server

USERS = {"alice": "alice-password"}
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "host"}


def docker_registry_secret(host: str, *, username: str, password: str) -> dict[str, object]:
    """A ``kubernetes.io/dockerconfigjson`` Secret as the Kubernetes API returns it."""
    config = {"auths": {host: {"username": username, "password": password}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry-credentials", "namespace": "default"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": encoded},
    }


@dataclasses.dataclass
class TokenRegistry:
    process: registry_process.RegistryProcess
    tokens: token_server.TokenServer


@dataclasses.dataclass
class RegistryProxy:
    """A proxy to a real registry that drops ``Docker-Content-Digest`` from HEAD answers (as
    some registries do) and can answer the next requests with 503, or with 429 and a
    ``Retry-After``, instead of forwarding them."""

    host: str = ""
    seen: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    """(method, path) of every request forwarded."""
    fail_next: int = 0
    """How many of the next requests get a 503."""
    throttle_next: int = 0
    """How many of the next requests get a 429 with ``Retry-After: <retry_after>``."""
    retry_after: str = "1"
    arrived_at: list[float] = dataclasses.field(default_factory=list)
    """When each request arrived (``time.monotonic()``), forwarded or not."""


@contextlib.asynccontextmanager
async def registry_proxy(upstream_url: str) -> AsyncIterator[RegistryProxy]:
    proxy = RegistryProxy()
    async with httpx.AsyncClient(base_url=upstream_url) as upstream:

        async def forward(request: web.Request) -> web.Response:
            proxy.arrived_at.append(time.monotonic())
            if proxy.throttle_next > 0:
                proxy.throttle_next -= 1
                headers = {"Retry-After": proxy.retry_after}
                return web.Response(status=429, headers=headers, text="injected throttling")
            if proxy.fail_next > 0:
                proxy.fail_next -= 1
                return web.Response(status=503, text="injected failure")
            proxy.seen.append((request.method, request.path))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = await upstream.request(
                request.method, request.path_qs, headers=headers, content=await request.read()
            )
            hidden = _HOP_HEADERS | ({"docker-content-digest"} if request.method == "HEAD" else set())
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in hidden}
            body = None if request.method == "HEAD" else answer.content
            return web.Response(status=answer.status_code, headers=kept, body=body)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            proxy.host = f"127.0.0.1:{runner.addresses[0][1]}"
            yield proxy
        finally:
            await runner.cleanup()
