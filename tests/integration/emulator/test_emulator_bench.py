"""The benchmark measures something (figures only; no timed pass/fail thresholds)."""

from __future__ import annotations

from services.testbed.bench import emulator as bench
from services.testbed.emulator import Emulator


async def test_the_benchmark_returns_positive_figures_for_both_clients(emulator: Emulator) -> None:
    figures = await bench.measure(emulator.base_url, requests=200, concurrency=8)

    assert {(f.client, f.operation) for f in figures} == {
        (client, operation) for client in ("aiohttp", "kubernetes-asyncio") for operation in ("create", "get")
    }
    assert all(f.requests == 200 and f.per_second > 0 for f in figures)
    assert "req/s" in bench.render(figures)
