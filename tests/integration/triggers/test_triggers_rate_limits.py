"""The webhook endpoints rate-limited per source, served for real: one sender flooding gets 429 with
``Retry-After`` while another sender's pushes still get 202; behind a trusted proxy the source is
the first hop of ``X-Forwarded-For``, and without one that header buys a flooder nothing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import aio_pika.abc
import aiohttp
import triggers_support as support

from services.broker import publishing
from services.broker import settings as broker_settings
from services.kube import cluster, resources
from services.triggers import service

BURST = 5
RATE = 0.1
"""A token back every 10 s: none comes back while a test posts."""
PATH = "/webhooks/generic"


@contextlib.asynccontextmanager
async def served(
    connection: aio_pika.abc.AbstractConnection,
    broker: broker_settings.BrokerSettings,
    kube: resources.Kube,
    *,
    trusted_proxy: bool,
) -> AsyncIterator[support.Served]:
    settings = support.settings().model_copy(
        update={"rate_per_second": RATE, "burst": BURST, "trusted_proxy": trusted_proxy}
    )
    async with await publishing.Publisher.open(connection, settings=broker) as publisher:
        triggers = service.Triggers(cluster.KubeCluster(kube), publisher, settings=settings)
        async with support.serve(triggers) as running:
            yield running


def _push(revision: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"url": "https://git.example.com/team/unfollowed", "revision": f"{revision:040x}"})
    return body.encode(), {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {support.GENERIC_TOKEN}",
    }


async def _post(
    session: aiohttp.ClientSession, url: str, revision: int, **headers: str
) -> aiohttp.ClientResponse:
    body, sent = _push(revision)
    async with session.post(url + PATH, data=body, headers={**sent, **headers}) as response:
        await response.read()
        return response


async def test_a_flooding_source_gets_429_with_retry_after_and_another_source_still_gets_202(
    connection: aio_pika.abc.AbstractConnection, broker: broker_settings.BrokerSettings, kube: resources.Kube
) -> None:
    async with served(connection, broker, kube, trusted_proxy=False) as running:
        flood = [await _post(running.session, running.url, n) for n in range(3 * BURST)]
        other_peer = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=other_peer) as other:
            others = [await _post(other, running.url, 100 + n) for n in range(BURST)]

    assert [r.status for r in flood] == [202] * BURST + [429] * (2 * BURST)
    refused = flood[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 1 / RATE
    assert refused.content_type == "application/json"
    assert [r.status for r in others] == [202] * BURST, "127.0.0.2 is another source"


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate(
    connection: aio_pika.abc.AbstractConnection, broker: broker_settings.BrokerSettings, kube: resources.Kube
) -> None:
    async with served(connection, broker, kube, trusted_proxy=True) as running:
        flooder = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
        flood = [await _post(running.session, running.url, n, **flooder) for n in range(2 * BURST)]
        other = {"X-Forwarded-For": "198.51.100.9, 10.0.0.1"}
        others = [await _post(running.session, running.url, 100 + n, **other) for n in range(BURST)]

    assert [r.status for r in flood] == [202] * BURST + [429] * BURST
    assert [r.status for r in others] == [202] * BURST


async def test_without_a_trusted_proxy_a_forged_forwarded_header_buys_a_flooder_nothing(
    connection: aio_pika.abc.AbstractConnection, broker: broker_settings.BrokerSettings, kube: resources.Kube
) -> None:
    async with served(connection, broker, kube, trusted_proxy=False) as running:
        answers = [
            await _post(running.session, running.url, n, **{"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(2 * BURST)
        ]

    assert [r.status for r in answers] == [202] * BURST + [429] * BURST
