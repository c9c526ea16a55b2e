"""A registry outage while image-state looks up the cache a build wrote: the outcome waits for the
registry and records the cache image by digest, so the next build reads it pinned.

Found by ``kiln chaos``: a registry down for a few seconds (longer than image-state's quick
retries) made image-state record an empty cache for the build, and the next build ran with the
cache tag unpinned where the run without the outage pinned its digest.

Real broker, the shared registry behind a TCP proxy the test takes down (the simulated kubelet,
standing for the build pods, reaches the registry directly), the emulator, every Kiln service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contracts import builds as build_models
from services.broker import settings as broker_settings
from services.registry import client as registry_client
from services.testbed.chaos import proxy, system
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

RETRY_DELAYS = (1.0, 3.0, 10.0)


@pytest.fixture
async def proxied() -> AsyncIterator[tuple[harness.Sandbox, proxy.TcpProxy]]:
    registry_proxy = proxy.TcpProxy(*system.REGISTRY)
    await registry_proxy.start()
    try:
        broker = broker_settings.BrokerSettings(retry_delays=RETRY_DELAYS)
        async with harness.sandbox(
            registry_host=registry_proxy.address, broker=broker, step_seconds=0.4, admin_port=None
        ) as sb:
            direct = registry_client.RegistryClient(transport=system.DirectTransport(registry_proxy.address))
            sb.kubelet.registry = direct
            try:
                yield sb, registry_proxy
            finally:
                await direct.aclose()
    finally:
        await registry_proxy.stop()


def build_1(sb: harness.Sandbox) -> build_models.Build | None:
    return next((b for b in sb.builds("default") if b.name == "sample-build-1"), None)


async def test_the_cache_image_is_recorded_by_digest_once_the_registry_answers_again(
    proxied: tuple[harness.Sandbox, proxy.TcpProxy],
) -> None:
    sb, registry_proxy = proxied
    await sb.add_prebuilt_builder()
    image = examples.image(
        "registry-cache", name="sample", namespace="default", registry=sb.registry_host, builder="default"
    )
    cache_tag = image["spec"]["cache"]["registry"]["tag"]
    await sb.apply(image)
    await sb.wait_for(
        lambda: (b := build_1(sb)) is not None and sb.pod(b) is not None, seconds=30, what="build 1's pod"
    )

    await (
        registry_proxy.stop()
    )  # down from before the build ends until well after image-state's quick retries
    await asyncio.sleep(8)
    finished_while_down = build_1(sb)
    await registry_proxy.start()
    await sb.wait_for(
        lambda: (b := build_1(sb)) is not None and not b.running(), seconds=60, what="build 1 to finish"
    )
    build = build_1(sb)

    assert finished_while_down is not None
    assert finished_while_down.running(), "the outcome was recorded while the registry was down"
    assert build is not None
    assert build.succeeded(), build
    digest = await sb.wiring.registry.resolve_digest(cache_tag)
    assert build.status.latest_cache_image == f"{cache_tag}@{digest}"
