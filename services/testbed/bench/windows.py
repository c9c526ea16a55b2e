"""The measured windows of ``kiln bench``, each on an :class:`~services.testbed.bench.fleet.ImageSet`
whose first builds are done.

* :func:`triggered` — one git push that triggers every Image of the set, until each has a new
  build pod (pods held: see :meth:`System.hold_pods`), then until the services fall quiet; the
  deliveries and requests each process made meanwhile.
* :func:`rebuilt` — the same push with pods running to the end: until every build is recorded
  and the services fall quiet (requests per build, the whole build).
* :func:`latencies` — one push per Image at a fixed rate: each push → its Image's new build pod.
* :func:`resync` — the bridge's full resync, until every delivery it caused is settled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from contracts import events
from services.bridge import service as bridge_service
from services.testbed.bench import fleet, processes
from services.testbed.bench import system as bench_system

FINISHED_PHASES = ("Succeeded", "Failed")
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Window:
    """What happened between a push and its end."""

    triggers: int
    seconds: float
    """From the push to the end (the last pod seen, or the last delivery settled)."""
    counts: Mapping[str, processes.Counts]
    """What each process counted meanwhile, by process name."""
    cpu: Mapping[str, float]
    """CPU seconds each process used meanwhile, until the services fell quiet."""

    @property
    def per_second(self) -> float:
        return self.triggers / self.seconds

    @property
    def total(self) -> processes.Counts:
        return processes.total(self.counts.values())

    def cpu_ms_per_trigger(self) -> dict[str, float]:
        return {name: 1000 * seconds / self.triggers for name, seconds in self.cpu.items()}


async def triggered(system: bench_system.System, images: fleet.ImageSet) -> Window:
    """One push to the repository all of ``images`` follow → a new build pod for each."""
    async with fleet.watching_pods(system.sb.wiring.kube, images) as clock:
        before, cpu = await system.counts(), system.cpu_seconds()
        started = time.monotonic()
        await system.pusher.push(images.urls[0])
        seen = await clock.wait(images, started)
        await system.settle(quiet=bench_system.QUIET_HELD_SECONDS)
        window = await _window(system, len(images), max(seen) - started, before=before, cpu=cpu)
    used = ", ".join(f"{name} {ms:.1f}" for name, ms in window.cpu_ms_per_trigger().items())
    logger.info(
        "bench: %d triggers → pods in %.2f s; CPU ms per trigger: %s", len(images), window.seconds, used
    )
    return window


async def rebuilt(system: bench_system.System, images: fleet.ImageSet) -> Window:
    """One push to the repository all of ``images`` follow → each Image's build run and recorded."""
    before, cpu = await system.counts(), system.cpu_seconds()
    started = time.monotonic()
    await system.pusher.push(images.urls[0])
    await fleet.built(system.sb, images, builds_each=2)
    ended = await system.settle()
    return await _window(system, len(images), ended - started, before=before, cpu=cpu)


async def latencies(system: bench_system.System, images: fleet.ImageSet, *, rate: float) -> list[float]:
    """Push to each Image's repository in turn, ``rate`` pushes a second (whatever the answers
    take); seconds from each push to its Image's new build pod."""
    sent: list[float] = [0.0] * len(images)

    async def push(index: int) -> None:
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        sent[index] = time.monotonic()
        await system.pusher.push(images.urls[index])

    async with fleet.watching_pods(system.sb.wiring.kube, images) as clock:
        started = time.monotonic()
        await asyncio.gather(*(push(index) for index in range(len(images))))
        await clock.wait(images, started)
        await system.settle(quiet=bench_system.QUIET_HELD_SECONDS)
    seen = [clock.first_after(name, since) for name, since in zip(images.names, sent, strict=True)]
    return [pod - since for pod, since in zip(seen, sent, strict=True) if pod is not None]


async def resync(system: bench_system.System) -> Window:
    """The bridge's full resync (every Image announced, every finished build pod re-reported)
    until the image-reconciler handled every Image's ``image.changed`` and the image-state every
    pod's ``build.finished``, and the services fell quiet."""
    sb = system.sb
    images = len(sb.emulator.objects("images"))
    finished = sum(1 for r in sb.kubelet.records.values() if r.done and r.phase in FINISHED_PHASES)
    bridge = bridge_service.Bridge(sb.wiring.kube, sb.wiring.publisher, clock=lambda: datetime.now(UTC))
    before, cpu = await system.counts(), system.cpu_seconds()
    started = time.monotonic()
    await bridge.resync()

    async def handled(service: str, event_type: str) -> int:
        total = processes.total(_minus(await system.counts(), before).values())
        return int(total.handled.get((service, event_type), 0))

    for service, event_type, wanted in (
        ("image-reconciler", events.ImageChanged.event_type, images),
        ("image-state", events.BuildFinished.event_type, finished),
    ):
        count = functools.partial(handled, service, event_type)
        await fleet.until(count, wanted, what=f"{wanted} {event_type} handled by {service}")
    ended = await system.settle()
    return await _window(system, images, ended - started, before=before, cpu=cpu)


async def _window(
    system: bench_system.System,
    triggers: int,
    seconds: float,
    *,
    before: Mapping[str, processes.Counts],
    cpu: Mapping[str, float],
) -> Window:
    """The window that began with ``before`` and ``cpu``, ending now."""
    used = {name: now - cpu.get(name, 0.0) for name, now in system.cpu_seconds().items()}
    return Window(triggers, seconds, _minus(await system.counts(), before), used)


def _minus(
    after: Mapping[str, processes.Counts], before: Mapping[str, processes.Counts]
) -> dict[str, processes.Counts]:
    return {name: counts - before.get(name, processes.Counts()) for name, counts in after.items()}
