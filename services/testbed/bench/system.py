"""The system ``kiln bench`` measures: a sandbox whose services run as separate ``kiln run`` processes.

The bench process holds the Kubernetes emulator, the simulated kubelet, the triggers service
(it takes the pushes) and, in a measured window, a :class:`~services.testbed.bench.fleet.PodClock`.
The bridge, the image-reconciler (one worker, or two), the build-runner and the image-state
service each run in a process of their own with an admin endpoint, so that requests, deliveries,
CPU and memory are read per process, i.e. per service. The bridge's periodic resync is pushed
beyond the run (the bench starts the one it measures itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from services.testbed.bench import fleet
from services.testbed.bench import processes as service_processes
from services.testbed.sandbox import harness

logger = logging.getLogger(__name__)
SERVICES = ("bridge", "image-reconciler", "build-runner", "image-state")
"""What runs in processes of its own (``image-reconciler`` may run twice)."""
IN_PROCESS = "triggers"
BENCH_PROCESS = "bench process"
"""The CPU of the bench process: the emulator, the simulated kubelet, the triggers service and the
bench's own watch and metric reads."""
STEP_SECONDS = 0.002
"""Each simulated build step while builds are meant to finish."""
HELD_SECONDS = 86_400.0
"""Each step while pods are held: a pod created then stays at its first step for the whole run,
as real builds take minutes, so a measured window holds the trigger → pod path alone."""
QUIET_SECONDS = 1.0
"""The services are quiet when no delivery settled for this long."""
QUIET_HELD_SECONDS = 0.5
"""The same once every pod a push makes was seen, pods held: only acknowledgements are left."""
RESYNC_SECONDS = "86400"


@dataclasses.dataclass
class System:
    """A running sandbox, its service processes and the bench's own instruments."""

    sb: harness.Sandbox
    http: httpx.AsyncClient
    pusher: fleet.Pusher
    workdir: Path
    processes: dict[str, service_processes.ServiceProcess] = dataclasses.field(default_factory=dict)

    async def counts(self) -> dict[str, service_processes.Counts]:
        """What each process (by name) and the bench's own triggers service counted so far."""
        names = list(self.processes)
        found = await asyncio.gather(*(self.processes[name].counts(self.http) for name in names))
        own = service_processes.parse(self.sb.wiring.metrics.exposition().decode())
        return {**dict(zip(names, found, strict=True)), IN_PROCESS: own}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each process, and by the bench process (:data:`BENCH_PROCESS`)."""
        used = {name: process.cpu_seconds() for name, process in self.processes.items()}
        return {**used, BENCH_PROCESS: time.process_time()}

    async def settle(self, *, quiet: float = QUIET_SECONDS, poll: float = 0.2) -> float:
        """Until no process settled a delivery for ``quiet`` seconds; when the last one settled."""
        loop = asyncio.get_running_loop()
        last = _deliveries(await self.counts())
        changed = time.monotonic()
        deadline = loop.time() + fleet.STALL_SECONDS
        while time.monotonic() - changed < quiet:
            await asyncio.sleep(poll)
            now = _deliveries(await self.counts())
            if now != last:
                last, changed = now, time.monotonic()
            if loop.time() > deadline:
                raise TimeoutError(f"the services did not fall quiet in {fleet.STALL_SECONDS:.0f} s")
        return changed

    def hold_pods(self, held: bool) -> None:
        """Build pods created from now on stay at their first step (``held``) or run to the end."""
        step = HELD_SECONDS if held else STEP_SECONDS
        self.sb.kubelet.config = dataclasses.replace(self.sb.kubelet.config, step_seconds=step)

    async def start(self, service: str, *, name: str | None = None) -> service_processes.ServiceProcess:
        name = name or service
        env = {"KILN_RESYNC_SECONDS": RESYNC_SECONDS}
        started = await service_processes.start(self.sb, service, name=name, workdir=self.workdir, env=env)
        self.processes[name] = started
        return started

    async def stop(self, name: str) -> None:
        await self.processes.pop(name).stop()

    async def balanced(self, names: list[str]) -> None:
        """Until each of ``names`` logged that it balanced the shards for ``len(names)`` workers."""
        line = re.compile(rf": {len(names)} worker\(s\); owning")

        def done() -> int:
            return sum(bool(line.search(self.processes[n].log.read_text(errors="replace"))) for n in names)

        await fleet.until(done, len(names), what=f"{names} to share the shards", poll=0.5)
        await asyncio.sleep(QUIET_SECONDS)  # the handovers: closing a channel, subscribing again


def _deliveries(counts: Mapping[str, service_processes.Counts]) -> float:
    return sum(c.deliveries for c in counts.values())


@contextlib.asynccontextmanager
async def running(*, registry_host: str, logs: Path | None = None) -> AsyncIterator[System]:
    """The sandbox, a prebuilt ClusterBuilder and one process of each of :data:`SERVICES`; the
    processes log to files in ``logs`` (default: a temporary directory, removed on exit)."""
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as directory:
        workdir = logs or Path(directory)
        async with contextlib.AsyncExitStack() as stack:
            sb = await stack.enter_async_context(
                harness.sandbox(
                    registry_host=registry_host,
                    step_seconds=STEP_SECONDS,
                    services=(IN_PROCESS,),
                    admin_port=None,
                    workdir=workdir,
                )
            )
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=60.0))
            system = System(sb, http, fleet.Pusher(sb, http), workdir)
            stack.push_async_callback(_stop_all, system)
            try:
                async with asyncio.TaskGroup() as starting:
                    starting.create_task(sb.add_prebuilt_builder())
                    for service in SERVICES:
                        starting.create_task(system.start(service))
                logger.info("bench: %s running (logs in %s)", ", ".join(system.processes), workdir)
                yield system
            except Exception:
                for name, process in system.processes.items():
                    logger.error("bench failed; the end of %s's log:\n%s", name, process.tail())
                raise


async def _stop_all(system: System) -> None:
    cpu = ", ".join(f"{name} {p.cpu_seconds():.1f}" for name, p in system.processes.items())
    logger.info("bench: CPU seconds used: %s, the bench process %.1f", cpu, time.process_time())
    await asyncio.gather(*(p.stop() for p in system.processes.values()))
