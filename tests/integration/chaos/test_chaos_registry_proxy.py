"""The registry proxy of a chaos run: down, it refuses connections and cuts the ones open; up
again on the same port, the registry answers through it; its downtime is counted. The shared
registry behind it is never touched."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.testbed.chaos import proxy

pytestmark = pytest.mark.integration


async def test_the_proxy_goes_down_and_up_on_one_port_and_counts_its_downtime() -> None:
    registry = proxy.TcpProxy("127.0.0.1", 5000)
    await registry.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://{registry.address}", timeout=5.0) as http:
            assert (await http.get("/v2/")).status_code == httpx.codes.OK

            await registry.stop()
            with pytest.raises(httpx.ConnectError):
                await http.get("/v2/")
            await asyncio.sleep(0.3)
            await registry.start()

            assert (await http.get("/v2/")).status_code == httpx.codes.OK
        assert 0.3 <= registry.downtime < 5.0
    finally:
        await registry.stop()


async def test_stopping_cuts_a_connection_in_the_middle_of_a_request() -> None:
    registry = proxy.TcpProxy("127.0.0.1", 5000)
    await registry.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", registry.port)
        await registry.stop()
        writer.write(b"GET /v2/ HTTP/1.1\r\nHost: registry\r\n\r\n")
        try:
            await writer.drain()
            answer = await reader.read(100)
        except ConnectionError:
            answer = b""
        writer.close()

        assert answer == b"", "no answer comes through a proxy that is down"
    finally:
        await registry.stop()
