"""Kiln under broker faults: connections and channels closed by the broker in the middle of a run.

Some tens of Images are built once and then again after a git push; during the first round the
broker closes every connection of the Kiln processes under test (found by name: ``<prefix>/…``,
the sandbox's unique prefix; nothing else on the shared broker is touched), and during the
second it closes, with a channel error, the channels consuming one queue of each service. Two
layouts: every service in one process (the sandbox), and the image-reconciler as separate
``python -m services.cli run image-reconciler`` worker processes beside the sandbox's other
services. Every Image must end with exactly its two builds, nothing may be left on the work,
retry or dead-letter queues, every work queue must have its consumers back, and each process's
``/readyz`` must have gone failing and then ok again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from contracts import builds as build_models
from services.broker import settings as broker_settings
from services.broker import topology
from services.testbed.sandbox import examples, harness
from tests.integration.broker import broker_faults

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"
IMAGES = 24
WORKERS = 2
WAIT_SECONDS = 30.0
ADMIN_URL = re.compile(r"admin endpoint listening on (http://[\d.:]+)")


@dataclass
class Readiness:
    """Polls one process's ``/readyz`` as fast as it answers; ``seen`` is the run of its statuses."""

    url: str
    seen: list[int] = field(default_factory=list)

    async def poll(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    status = (await http.get("/readyz")).status_code
                    if not self.seen or self.seen[-1] != status:
                        self.seen.append(status)
                await asyncio.sleep(0.001)

    def went_failing(self) -> bool:
        return 503 in self.seen


@dataclass
class Layout:
    """The sandbox, the admin endpoints of the Kiln processes under test, and its worker counts."""

    sb: harness.Sandbox
    admin_urls: list[str]
    reconcilers: int
    """Consumers each image-reconciler shard should have."""


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


async def _worker_admin_url(log: Path, process: asyncio.subprocess.Process) -> str:
    for _ in range(600):
        found = ADMIN_URL.search(_read(log))
        if found:
            return found.group(1)
        assert process.returncode is None, f"the worker exited: {_read(log)}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker never served its admin endpoint: {_read(log)}")


@contextlib.asynccontextmanager
async def _workers(sb: harness.Sandbox, tmp_path: Path) -> AsyncIterator[list[str]]:
    """``WORKERS`` image-reconciler processes on the sandbox's prefix and cluster; their admin URLs."""
    processes, logs = [], []
    try:
        for index in range(WORKERS):
            log = tmp_path / f"worker-{index}.log"
            processes.append(await sb.start_process(["image-reconciler"], log=log))
            logs.append(log)
        yield [await _worker_admin_url(log, p) for log, p in zip(logs, processes, strict=True)]
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        await asyncio.gather(*(p.wait() for p in processes))


@pytest.fixture(params=["one process", "image-reconciler workers"])
async def layout(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Layout]:
    if request.param == "one process":
        async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.02) as sb:
            assert sb.wiring.admin_url is not None
            yield Layout(sb, [sb.wiring.admin_url], reconcilers=1)
        return
    services = ("bridge", "triggers", "build-runner", "image-state", "builder")
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.02, services=services) as sb:
        assert sb.wiring.admin_url is not None
        async with _workers(sb, tmp_path) as urls:
            yield Layout(sb, [sb.wiring.admin_url, *urls], reconcilers=WORKERS)


def _finished(sb: harness.Sandbox, namespace: str) -> int:
    return len([b for b in sb.builds(namespace) if not b.running()])


async def _queues_left(sb: harness.Sandbox) -> dict[str, int]:
    """Messages (ready or unacknowledged) on the run's work, retry and dead-letter queues."""
    names = _names(sb)
    queues = set(names.all_queues(topology.SERVICES)) - {names.stream}
    listed = await broker_faults.rabbitmqctl("list_queues", "name", "messages")
    rows = (line.partition("\t") for line in listed.splitlines()[1:])
    return {name: int(count) for name, _, count in rows if name in queues and count != "0"}


async def _close_connections_until_unready(layout: Layout, watchers: list[Readiness]) -> list[str]:
    """Have the broker close the run's connections; again if a process recovered before any poll
    saw it unready (recovery takes some tens of milliseconds), at most three times."""
    closed: list[str] = []
    for _ in range(3):
        closed = await broker_faults.close_connections(layout.sb.prefix)
        with contextlib.suppress(TimeoutError):
            await layout.sb.wait_for(lambda: all(w.went_failing() for w in watchers), seconds=2.0)
            break
    return closed


async def test_every_image_gets_all_its_builds_when_the_broker_closes_connections_and_channels(
    layout: Layout,
) -> None:
    sb = layout.sb
    await sb.add_builder()
    watchers = [Readiness(url) for url in layout.admin_urls]
    polls = [asyncio.create_task(w.poll()) for w in watchers]
    await sb.wait_for(lambda: all(w.seen == [200] for w in watchers), seconds=10, what="ready")
    namespace = f"faults-{uuid.uuid4().hex[:8]}"
    names = [f"app-{index:02d}" for index in range(IMAGES)]
    try:
        for name in names:
            await sb.apply(
                examples.image(
                    "registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default"
                )
            )
        await sb.wait_for(lambda: len(sb.builds(namespace)) >= IMAGES // 3, seconds=WAIT_SECONDS)
        closed = await _close_connections_until_unready(layout, watchers)
        await sb.wait_for(
            lambda: _finished(sb, namespace) >= IMAGES, seconds=WAIT_SECONDS, what="every first build"
        )

        await sb.push_commit()  # 202: the triggers' publisher is back too
        await sb.wait_for(lambda: len(sb.builds(namespace)) >= IMAGES + IMAGES // 3, seconds=WAIT_SECONDS)
        broken = [
            await broker_faults.break_consuming_channels(_names(sb).queues(service)[0])
            for service in topology.SERVICES
        ]
        await sb.wait_for(
            lambda: _finished(sb, namespace) >= 2 * IMAGES, seconds=WAIT_SECONDS, what="every second build"
        )
        await sb.wait_for(lambda: all(w.seen[-1] == 200 for w in watchers), seconds=10, what="ready again")
    finally:
        for poll in polls:
            poll.cancel()
        await asyncio.gather(*polls, return_exceptions=True)

    by_image: dict[str, list[tuple[str, str | None, bool]]] = {}
    for build in sb.builds(namespace):
        by_image.setdefault(build.labels[build_models.IMAGE_LABEL], []).append(
            (build.name, build.reason(), build.succeeded())
        )
    assert by_image == {
        name: [(f"{name}-build-1", "CONFIG", True), (f"{name}-build-2", "COMMIT", True)] for name in names
    }
    left = await _queues_left(sb)
    for _ in range(50):  # the last acknowledgements may still be on their way
        if not left:
            break
        await asyncio.sleep(0.1)
        left = await _queues_left(sb)
    assert left == {}, "nothing left on the work, retry or dead-letter queues"
    # each image-reconciler worker consumes both its lanes; one process runs every other service
    expected = [layout.reconcilers if s.run_by == "image-reconciler" else 1 for s in topology.SERVICES]
    assert broken == expected, "the channels consuming one queue of each service"
    assert len(closed) == len(layout.admin_urls), closed
    for watcher in watchers:
        assert (watcher.seen[0], watcher.went_failing(), watcher.seen[-1]) == (200, True, 200), watcher
    await _assert_consumers_back(layout)


async def _assert_consumers_back(layout: Layout) -> None:
    """Every queue has its consumers again (a handover closes a shard's channel and subscribes
    again at once, so a count is looked at again for a few seconds before it fails)."""
    names = _names(layout.sb)
    for service in topology.SERVICES:
        queues = names.queues(service)
        expected = layout.reconcilers if service.run_by == "image-reconciler" else 1
        found = await broker_faults.consumers(queues)
        for _ in range(50):
            if found == [expected] * len(queues):
                break
            await asyncio.sleep(0.2)
            found = await broker_faults.consumers(queues)
        assert found == [expected] * len(queues), service.name


def _names(sb: harness.Sandbox) -> topology.Names:
    return topology.Names(broker_settings.BrokerSettings(prefix=sb.prefix))
