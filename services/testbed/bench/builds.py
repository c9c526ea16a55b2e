"""What a build costs the services: Kubernetes API requests per build and the process's peak memory.

:func:`measure` runs a sandbox with ``images`` registry-cache Images, lets each build once, then
sends one git push webhook that rebuilds them all (reason COMMIT) and counts the API requests the
services make (``KubeCluster.calls``: the reconciler, build-runner, image-state and triggers; not
the bridge's watches and not the simulated kubelet's own writes) from the push until the last of
those builds is recorded and the services fall quiet; over the same span, how many
``build.scheduled`` events the services published per build (1.0 when no build is announced twice).
"""

from __future__ import annotations

import asyncio
import dataclasses
import resource
import uuid

from contracts import events
from services.testbed.sandbox import examples, harness

QUIET_SECONDS = 1.0
"""The services are done when no request was made for this long after the last build finished."""


@dataclasses.dataclass(frozen=True)
class BuildFigures:
    images: int
    requests_per_build: float
    peak_rss_mib: float
    scheduled_per_build: float
    """``build.scheduled`` events published per build."""


async def measure(*, images: int = 10, registry_host: str = "127.0.0.1:5000") -> BuildFigures:
    """Second builds of ``images`` Images, triggered by one push; see the module docstring."""
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    async with harness.sandbox(registry_host=registry_host, step_seconds=0.01) as sb:
        await sb.add_builder()
        for index in range(images):
            await sb.apply(
                examples.image(
                    "registry-cache",
                    name=f"app-{index}",
                    namespace=namespace,
                    registry=registry_host,
                    builder=harness.BUILDER_NAME,
                )
            )
        await _finished(sb, namespace, images)
        await _quiet(sb)
        before, scheduled_before = sb.wiring.cluster.calls, _scheduled(sb)
        await sb.push_commit()
        await _finished(sb, namespace, 2 * images)
        await _quiet(sb)
        calls = sb.wiring.cluster.calls - before
        scheduled = _scheduled(sb) - scheduled_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return BuildFigures(
        images=images,
        requests_per_build=calls / images,
        peak_rss_mib=peak,
        scheduled_per_build=scheduled / images,
    )


def _scheduled(sb: harness.Sandbox) -> float:
    """``build.scheduled`` events the sandbox's services have published (and the broker confirmed)."""
    published = sb.wiring.metrics.registry.get_sample_value(
        "kiln_events_published_total", {"type": events.BuildScheduled.event_type}
    )
    return published or 0.0


async def _finished(sb: harness.Sandbox, namespace: str, count: int) -> None:
    def done() -> bool:
        builds = sb.builds(namespace)
        return sum(1 for b in builds if not b.running() and b.status.latest_cache_image) >= count

    await sb.wait_for(done, seconds=60 + count, what=f"{count} recorded builds in {namespace}")


async def _quiet(sb: harness.Sandbox) -> None:
    calls = -1
    while calls != sb.wiring.cluster.calls:
        calls = sb.wiring.cluster.calls
        await asyncio.sleep(QUIET_SECONDS)
