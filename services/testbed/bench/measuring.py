"""One run of ``kiln bench``: every figure of :class:`~services.testbed.bench.figures.Figures`.

In order, so that each figure sees the cluster it names:

1. the raw broker round trip, the services started but idle;
2. ``images_small`` Images alone in the cluster: a push rebuilding them all (requests per build),
   then, pods held, a push → their new pods (``e2e_triggers_per_s``, ``hops``);
3. two sets of ``pair_images``, two latency sets and two warm-up sets added while a second
   image-reconciler process starts: with two processes a warm-up push, a push → pods of one set
   and a latency run; then, the second process stopped, the same on the others with one;
4. Images added up to ``images_large`` in the cluster, all built once, ``images_small`` of them
   following one repository: a push → their pods, the full resync, the reconciler's peak memory.

Every Image is built once before it is measured (a push to an Image without a finished build
makes no build), ``in_flight`` at a time: the simulated kubelet's registry pushes cost the bench
process far more when hundreds run at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from services.broker import settings as broker_settings
from services.testbed.bench import figures, fleet, processes, roundtrip, windows
from services.testbed.bench import system as bench_system

logger = logging.getLogger(__name__)
RECONCILER = "image-reconciler"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How big each part of the run is."""

    quick: bool = False
    images_small: int = 100
    pair_images: int = 100
    """Images per push in the one vs two image-reconciler runs."""
    images_large: int = 10_000
    latency_pushes: int = 60
    latency_rate_per_s: float = 2.0
    """Below what the triggers service takes here with a few hundred Images (each push lists them
    all), so the latency runs measure the path, not a queue."""
    roundtrip_messages: int = 2000
    in_flight: int = 8
    """Images being built at once while the bench builds them the first time."""
    warm_up_images: int = 20
    """Images of the push before each measured one vs two reconciler run."""


FULL = Plan()
QUICK = Plan(
    quick=True,
    pair_images=20,
    warm_up_images=5,
    images_large=280,
    latency_pushes=8,
    roundtrip_messages=1000,
)


async def run(plan: Plan, *, registry_host: str, logs: Path | None = None) -> figures.Figures:
    """Measure everything once (see the module docstring); the service processes log into ``logs``."""
    started, load = time.monotonic(), os.getloadavg()[0]
    async with bench_system.running(registry_host=registry_host, logs=logs) as system:
        raw = await roundtrip.measure(broker_settings.BrokerSettings(), count=plan.roundtrip_messages)
        logger.info("bench: raw round trip %.0f deliveries/s", raw)
        small = await _small(system, plan)
        pair = await _one_and_two_reconcilers(system, plan)
        large = await _large(system, plan)
    return figures.Figures.model_validate(
        {
            "quick": plan.quick,
            "raw_roundtrip_per_s": raw,
            "ratio": small["e2e_triggers_per_s"] * small["hops"] / raw,
            "images_small": plan.images_small,
            "scale_ratio_100_vs_10000": large["e2e_triggers_per_s_large"] / small["e2e_triggers_per_s"],
            "scale_ratio_cpu_100_vs_10000": small["cpu_ms_per_trigger"] / large["cpu_ms_per_trigger_large"],
            "load_1m": [load, os.getloadavg()[0]],
            "seconds": time.monotonic() - started,
            **small,
            **pair,
            **large,
        }
    )


async def _built(system: bench_system.System, plan: Plan, *sets: fleet.ImageSet) -> None:
    """Create the sets' Images, let each build once, and hold the pods made from then on."""
    system.hold_pods(False)
    for images in sets:
        await fleet.create(system.sb, images, in_flight=plan.in_flight)
    for images in sets:
        await fleet.built(system.sb, images)
    await system.settle()
    system.hold_pods(True)
    logger.info("bench: %d Images built once", sum(len(images) for images in sets))


async def _small(system: bench_system.System, plan: Plan) -> dict[str, Any]:
    images = fleet.ImageSet.following_one("small", plan.images_small)
    await _built(system, plan, images)
    system.hold_pods(False)
    rebuilt = await windows.rebuilt(system, images)
    logger.info("bench: %d Images rebuilt in %.1f s", len(images), rebuilt.seconds)
    system.hold_pods(True)
    triggered = await windows.triggered(system, images)
    return {
        "e2e_triggers_per_s": triggered.per_second,
        "hops": triggered.total.deliveries / triggered.triggers,
        "hops_by_service": _per(triggered, lambda c: c.handled, lambda key: key[1]),
        "cpu_ms_per_trigger": sum(triggered.cpu_ms_per_trigger().values()),
        "cpu_ms_per_trigger_by_process": triggered.cpu_ms_per_trigger(),
        "deliveries_per_build": rebuilt.total.deliveries / rebuilt.triggers,
        "deliveries_per_build_by_service": _per(rebuilt, lambda c: c.handled, lambda key: key[1]),
        "k8s_reads_per_build": rebuilt.total.reads / rebuilt.triggers,
        "k8s_writes_per_build": rebuilt.total.writes / rebuilt.triggers,
        "k8s_requests_by_service": _per(rebuilt, lambda c: c.requests, " ".join),
    }


async def _one_and_two_reconcilers(system: bench_system.System, plan: Plan) -> dict[str, Any]:
    one, two = (fleet.ImageSet.following_one(f"pair-{n}", plan.pair_images) for n in (1, 2))
    late1, late2 = (
        fleet.ImageSet.following_each_their_own(f"latency-{n}", plan.latency_pushes) for n in (1, 2)
    )
    warm1, warm2 = (fleet.ImageSet.following_one(f"warm-{n}", plan.warm_up_images) for n in (1, 2))
    second = f"{RECONCILER}-2"
    async with asyncio.TaskGroup() as tasks:  # the second process starts while the sets are built
        tasks.create_task(system.start(RECONCILER, name=second))
        tasks.create_task(_built(system, plan, one, two, late1, late2, warm1, warm2))
    images = len(system.sb.emulator.objects("images"))
    await system.balanced([RECONCILER, second])
    double, latency2 = await _warm_then_measure(system, plan, warm=warm2, images=two, latency=late2)
    await system.stop(second)  # its shards' consumers in waiting, the first process's, take over
    single, latency1 = await _warm_then_measure(system, plan, warm=warm1, images=one, latency=late1)
    logger.info("bench: 1 vs 2 reconcilers: %.1f vs %.1f triggers/s", single.per_second, double.per_second)
    return {
        "images_medium": images,
        "pair_images": plan.pair_images,
        "e2e_triggers_per_s_1_reconciler": single.per_second,
        "e2e_triggers_per_s_2_reconcilers": double.per_second,
        "reconciler_deliveries_2_reconcilers": [double.counts[n].deliveries for n in (RECONCILER, second)],
        "latency_pushes": plan.latency_pushes,
        "latency_rate_per_s": plan.latency_rate_per_s,
        "p50_ms": figures.percentile(latency1, 50),
        "p99_ms": figures.percentile(latency1, 99),
        "p50_ms_2_reconcilers": figures.percentile(latency2, 50),
        "p99_ms_2_reconcilers": figures.percentile(latency2, 99),
    }


async def _warm_then_measure(
    system: bench_system.System,
    plan: Plan,
    *,
    warm: fleet.ImageSet,
    images: fleet.ImageSet,
    latency: fleet.ImageSet,
) -> tuple[windows.Window, list[float]]:
    """A push to ``warm`` (not reported: a process just started is slower at first), then the
    measured push to ``images`` and the latency run on ``latency``."""
    await windows.triggered(system, warm)
    triggered = await windows.triggered(system, images)
    return triggered, await windows.latencies(system, latency, rate=plan.latency_rate_per_s)


async def _large(system: bench_system.System, plan: Plan) -> dict[str, Any]:
    measured = fleet.ImageSet.following_one("large", plan.images_small)
    present = len(system.sb.emulator.objects("images")) + len(measured)
    filler = fleet.ImageSet.following_one("fill", max(0, plan.images_large - present))
    logger.info("bench: adding %d Images", len(filler) + len(measured))
    await _built(system, plan, filler, measured)
    images = len(system.sb.emulator.objects("images"))
    triggered = await windows.triggered(system, measured)
    resynced = await windows.resync(system)
    logger.info("bench: resync of %d Images in %.1f s", resynced.triggers, resynced.seconds)
    return {
        "images_large": images,
        "e2e_triggers_per_s_large": triggered.per_second,
        "cpu_ms_per_trigger_large": sum(triggered.cpu_ms_per_trigger().values()),
        "rss_mb_10000": system.processes[RECONCILER].peak_rss_mib(),
        "resync_s_10000": resynced.seconds,
        "resync_deliveries_per_image": resynced.total.deliveries / resynced.triggers,
    }


def _per(
    window: windows.Window,
    counted: Callable[[processes.Counts], Mapping[tuple[str, str], float]],
    label: Callable[[tuple[str, str]], str],
) -> figures.Breakdown:
    """What ``counted`` picks of each process's counts in ``window``, per trigger, by ``label``."""
    return {
        process: {label(key): value / window.triggers for key, value in counted(counts).items()}
        for process, counts in window.counts.items()
        if counted(counts)
    }
