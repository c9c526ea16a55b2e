"""End-to-end fixtures: a whole Kiln (every service, the emulator, the simulated kubelet) per test.

Each test gets its own sandbox — its own emulator and a broker topology under a unique prefix,
deleted on exit — and its own namespace and Image name, so tests never see each other's
objects, events or registry repositories. A sandbox starts in about half a second, so one per
test costs less than the coupling a shared one would bring.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.sandbox import examples, harness

REGISTRY = "127.0.0.1:5000"
"""The real docker-registry the suite runs against."""
BUILDER = "default"
WAIT_SECONDS = 20.0


@dataclass
class Run:
    """One test's sandbox, and the namespace and Image name that test owns."""

    sb: harness.Sandbox
    namespace: str
    name: str

    @property
    def tag(self) -> str:
        return f"{REGISTRY}/sandbox/{self.name}"

    @property
    def cache_tag(self) -> str:
        return f"{self.tag}-cache"

    def image(self, example: str) -> dict[str, Any]:
        """The sandbox example Image (``registry-cache`` or ``volume-cache``) for this test."""
        return examples.image(
            example, name=self.name, namespace=self.namespace, registry=REGISTRY, builder=BUILDER
        )

    def builds(self) -> list[build_models.Build]:
        """This test's Builds, oldest first."""
        return self.sb.builds(self.namespace)

    async def wait_finished(self, count: int, *, what: str = "") -> list[build_models.Build]:
        """Wait until ``count`` Builds have finished (succeeded or failed); return all Builds."""
        await self.sb.wait_for(
            lambda: len([b for b in self.builds() if not b.running()]) >= count,
            seconds=WAIT_SECONDS,
            what=what or f"{count} finished build(s) in {self.namespace}",
        )
        return self.builds()

    async def wait_created(self, count: int, *, what: str = "") -> list[build_models.Build]:
        await self.sb.wait_for(
            lambda: len(self.builds()) >= count,
            seconds=WAIT_SECONDS,
            what=what or f"{count} build(s) in {self.namespace}",
        )
        return self.builds()


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    """A running sandbox with the ready ClusterBuilder ``default``, and a fresh namespace and name."""
    suffix = uuid.uuid4().hex[:10]
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.05) as sb:
        await sb.add_builder(name=BUILDER)
        yield Run(sb=sb, namespace=f"e2e-{suffix}", name=f"app-{suffix}")
