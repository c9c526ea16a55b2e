"""A bridge that cannot watch says so: its readiness names the refused watch at once, its liveness
fails once that lasts past ``watch_unhealthy_after_seconds`` (so Kubernetes restarts it), and both
recover when the API server lets it watch again. Before, /healthz and /readyz stayed 200 while a
watch retried for ever, so a bridge that saw no change at all looked healthy."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.broker import connecting, topology
from services.broker import settings as broker_settings
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.emulator import Emulator, faults

pytestmark = pytest.mark.integration


async def answer(http: httpx.AsyncClient, path: str) -> tuple[int, dict[str, Any]]:
    response = await http.get(path)
    return response.status_code, response.json()


async def until(
    http: httpx.AsyncClient, path: str, wanted: int, *, saying: str = "", seconds: float = 15.0
) -> dict[str, Any]:
    """The body of ``path`` once it answers ``wanted`` with a ``bridge-watches`` check containing
    ``saying``, every watch past its start."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        status, body = await answer(http, path)
        check = body["checks"].get("bridge-watches", "")
        if status == wanted and saying in check and "not started" not in check:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{path} still answers {status} {body} after {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def until_hit(fault: faults.Fault, *, times: int, seconds: float = 15.0) -> None:
    """Once the emulator has answered ``fault`` ``times`` times (a retry comes after its back-off,
    which on a loaded machine may end after liveness has already failed)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while fault.hits < times:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the refused watch was tried {fault.hits} time(s) in {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def test_a_bridge_whose_image_watch_is_refused_is_unready_then_not_live_then_recovers() -> None:
    emulator = Emulator()
    refused = emulator.add_fault(verb="list", resource="images", status=403)
    await emulator.start()
    broker = broker_settings.BrokerSettings().model_copy(
        update={"prefix": f"kiln-watch-{uuid.uuid4().hex[:8]}"}
    )
    kubeconfig = emulator.write_kubeconfig(Path(tempfile.mkdtemp(prefix="kiln-watch-")) / "kubeconfig")
    settings = running.RunSettings(admin_host="127.0.0.1", admin_port=0, watch_unhealthy_after_seconds=1.0)
    kube = kube_settings.KubeSettings(kubeconfig=kubeconfig, in_cluster=False)
    try:
        async with (
            running.running(["bridge"], settings=settings, broker=broker, kube=kube) as wiring,
            httpx.AsyncClient(base_url=wiring.admin_url or "") as http,
        ):
            unready = await until(http, "/readyz", 503, saying="403")
            assert unready["checks"]["bridge-watches"].startswith("watch of Image: failed"), unready
            assert "watch of Builder" not in unready["checks"]["bridge-watches"], "the others stream"
            assert unready["checks"]["broker"] == "ok"

            not_live = await until(http, "/healthz", 503, saying="403")
            assert not_live["checks"]["bridge-watches"].startswith("watch of Image"), not_live
            await until_hit(refused, times=2)  # the bridge keeps trying to watch

            emulator.clear_faults()
            ready = await until(http, "/readyz", 200)
            assert ready["checks"]["bridge-watches"] == "ok"
            assert (await answer(http, "/healthz"))[0] == 200
    finally:
        await emulator.stop()
        connection = await connecting.connect(broker, service="watch-health-cleanup")
        try:
            await topology.delete(await connection.channel(), settings=broker)
        finally:
            await connection.close()
