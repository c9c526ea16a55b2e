"""Requests reach the API server through the proxy the kubeconfig or the environment names, chosen once
when the client is built (no per-request look-up of the environment)."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator

import pytest
import yaml
from aiohttp import web

from services.kube import client, resources, settings
from services.testbed.emulator import Emulator


class Proxy:
    """A forward proxy that answers every request itself, noting the URL it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.url = ""

    async def answer(self, request: web.Request) -> web.Response:
        self.asked.append(str(request.url))
        return web.json_response({"kind": "ServiceAccount", "metadata": {"name": "from-the-proxy"}})


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    serving = Proxy()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", serving.answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    serving.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield serving
    finally:
        await runner.cleanup()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@contextlib.asynccontextmanager
async def _kube(kubeconfig: pathlib.Path) -> AsyncIterator[resources.Kube]:
    configured = settings.KubeSettings(
        kubeconfig=kubeconfig, in_cluster=False, request_timeout=2.0, backoff=()
    )
    async with client.connected(configured) as api:
        yield resources.Kube(api, settings=configured)


async def _read_through(kubeconfig: pathlib.Path, namespace: str) -> str:
    """The name of the ServiceAccount read (the proxy answers ``from-the-proxy``)."""
    async with _kube(kubeconfig) as kube:
        found = await kube.service_accounts.find("default", namespace=namespace)
    return str(((found or {}).get("metadata") or {}).get("name") or "")


def _with_proxy_url(kubeconfig: pathlib.Path, proxy_url: str, path: pathlib.Path) -> pathlib.Path:
    document = yaml.safe_load(kubeconfig.read_text())
    document["clusters"][0]["cluster"]["proxy-url"] = proxy_url
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def kubeconfig(kube_settings: settings.KubeSettings) -> pathlib.Path:
    assert kube_settings.kubeconfig is not None
    return kube_settings.kubeconfig


async def test_http_proxy_in_the_environment_carries_the_requests(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, kubeconfig: pathlib.Path, emulator: Emulator
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)

    name = await _read_through(kubeconfig, "proxied")

    assert name == "from-the-proxy"
    assert proxy.asked == [f"{emulator.base_url}/api/v1/namespaces/proxied/serviceaccounts/default"]


async def test_no_proxy_naming_the_server_sends_the_requests_straight_to_it(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, kubeconfig: pathlib.Path
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)
    clean_environment.setenv("NO_PROXY", "localhost,127.0.0.1")

    name = await _read_through(kubeconfig, "direct")

    assert name == ""
    assert proxy.asked == []


async def test_the_kubeconfigs_proxy_url_carries_the_requests_whatever_the_environment_says(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, kubeconfig: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    clean_environment.setenv("NO_PROXY", "*")

    name = await _read_through(_with_proxy_url(kubeconfig, proxy.url, tmp_path / "config"), "configured")

    assert name == "from-the-proxy"
    assert len(proxy.asked) == 1


async def test_the_environment_is_read_when_the_client_is_built_not_per_request(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, kubeconfig: pathlib.Path
) -> None:
    async with _kube(kubeconfig) as kube:
        clean_environment.setenv("HTTP_PROXY", proxy.url)
        found = await kube.service_accounts.find("default", namespace="built-before")

    assert found is None
    assert proxy.asked == []
