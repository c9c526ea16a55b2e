"""The Kiln a chaos run drives: a sandbox whose services run as separate ``kiln run`` processes,
several workers per service, behind a registry proxy the run can take down.

The chaos process holds the Kubernetes emulator, the simulated kubelet and the triggers service
(it takes the pushes); the bridge, the image-reconciler, the build-runner and the image-state
service run as ``kiln run`` processes (:data:`Layout`: how many of each), which the run may
SIGKILL and start again (:meth:`System.kill`). The run's Images name the registry through a
:class:`~services.testbed.chaos.proxy.TcpProxy` in front of the shared registry, so "the registry
is down" is felt by Kiln's services; the simulated build pods reach the registry directly (a
cluster's nodes are not behind Kiln's network path), so a build's outcome does not depend on
when the proxy is down. Retries are delayed 1, 3 and 10 s (``KILN_BROKER_RETRY_DELAYS``) rather
than 5, 30 and 300 s so a run falls quiet within a minute of its last fault.

:meth:`System.quiesce` waits until nothing moves: no write in the API for a while, every Build
finished, every Image's status observed and Ready either way, nothing ready on the run's queues,
no worker starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc
import aiormq.exceptions
import httpx

from services.broker import settings as broker_settings
from services.broker import topology
from services.registry import client as registry_client
from services.testbed.bench import processes as service_processes
from services.testbed.chaos import brokering, proxy
from services.testbed.sandbox import harness

logger = logging.getLogger(__name__)
REGISTRY = ("127.0.0.1", 5000)
"""The shared registry: behind the run's proxy, never stopped."""
SERVICES = ("bridge", "image-reconciler", "build-runner", "image-state")
Layout = Mapping[str, int]
"""How many ``kiln run`` processes each of :data:`SERVICES` runs as."""
RETRY_DELAYS = (1.0, 3.0, 10.0)
RESYNC_SECONDS = 20.0
STEP_SECONDS = 0.05
POLL_SECONDS = 0.25
STATE_KINDS = ("images", "builds", "pods", "persistentvolumeclaims")


def layout(workers: int) -> dict[str, int]:
    """One bridge, and ``workers`` processes of each other service."""
    return {"bridge": 1, "image-reconciler": workers, "build-runner": workers, "image-state": workers}


class DirectTransport(httpx.AsyncBaseTransport):
    """Sends requests for the proxy's address straight to the registry (the build pods' path)."""

    def __init__(self, proxied: str) -> None:
        self._proxied = proxied
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if f"{request.url.host}:{request.url.port}" == self._proxied:
            request.url = request.url.copy_with(host=REGISTRY[0], port=REGISTRY[1])
            request.headers["Host"] = f"{REGISTRY[0]}:{REGISTRY[1]}"
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclasses.dataclass
class System:
    """A running chaos system; build with :func:`running`."""

    sb: harness.Sandbox
    proxy: proxy.TcpProxy
    settings: broker_settings.BrokerSettings
    connection: aio_pika.abc.AbstractRobustConnection
    """The run's observer connection (named ``<prefix>-observer/…``: the run's own faults spare it)."""
    workdir: Path
    env: Mapping[str, str]
    processes: dict[str, service_processes.ServiceProcess] = dataclasses.field(default_factory=dict)
    starting: int = 0
    """Processes being started again after a kill."""
    incarnations: dict[str, int] = dataclasses.field(default_factory=dict)
    restarts: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)
    """The starts of killed workers under way."""

    @property
    def prefix(self) -> str:
        return self.sb.prefix

    @property
    def queues(self) -> list[str]:
        """The work, retry and wait queues of the services that run here."""
        names = topology.Names(self.settings)
        running = {*SERVICES, "triggers"}
        found: list[str] = []
        for service in topology.SERVICES:
            if service.run_by in running:
                waiting = names.wait_queue(service)
                found += [
                    *names.queues(service),
                    *names.retry_queues(service),
                    *([waiting] if waiting else []),
                ]
        return found

    def replacements(self) -> dict[str, str]:
        """Run-specific strings → stable ones, for :func:`~services.testbed.chaos.normalising.normalise`."""
        host = self.proxy.address
        return {
            f"{host}/chaos-{self.sb.run_id}": "registry/chaos",
            f"{host}/sandbox/{self.sb.run_id}": "registry/sandbox/run",
            host: "registry",
        }

    def registry_prefix(self) -> str:
        """Where the run's Images push: unique per run on the shared registry."""
        return f"{self.proxy.address}/chaos-{self.sb.run_id}"

    async def start(self, service: str, *, name: str) -> service_processes.ServiceProcess:
        self.incarnations[name] = self.incarnations.get(name, 0) + 1
        log_name = f"{name}.{self.incarnations[name]}"
        started = await service_processes.start(
            self.sb, service, name=log_name, workdir=self.workdir, env=self.env
        )
        self.processes[name] = started
        return started

    async def kill(self, rng: random.Random, *, restart_after: float) -> str | None:
        """SIGKILL one running worker picked by ``rng``, and start it again after ``restart_after``
        seconds (in the background: :attr:`starting` counts it meanwhile); its name."""
        alive = sorted(n for n, p in self.processes.items() if p.process.returncode is None)
        if not alive:
            return None
        name = rng.choice(alive)
        victim = self.processes[name]
        victim.process.kill()
        await victim.process.wait()
        logger.info("chaos: SIGKILLed %s (pid %s)", name, victim.process.pid)
        self.starting += 1
        task = asyncio.create_task(self._restart(name, after=restart_after), name=f"restart {name}")
        self.restarts.add(task)
        task.add_done_callback(self.restarts.discard)
        return name

    async def _restart(self, name: str, *, after: float) -> None:
        try:
            await asyncio.sleep(after)
            await self.start(name.rpartition("-")[0], name=name)
        finally:
            self.starting -= 1

    async def restarted(self) -> None:
        """Until no killed worker is still being started again."""
        while self.restarts:
            await asyncio.gather(*self.restarts, return_exceptions=True)

    def settled(self, namespace: str) -> bool:
        """Every Build finished; every Image's status observed and Ready True or False."""
        for build in self.sb.emulator.objects("builds", namespace):
            if _condition(build, "Succeeded") not in ("True", "False"):
                return False
        for image in self.sb.emulator.objects("images", namespace):
            status = image.get("status") or {}
            if status.get("observedGeneration") != image["metadata"].get("generation"):
                return False
            if _condition(image, "Ready") not in ("True", "False"):
                return False
        return True

    async def quiesce(self, namespace: str, *, seconds: float, quiet: float) -> bool:
        """Until :meth:`settled`, with nothing ready on the run's queues, no worker starting and no
        write to the API for ``quiet`` seconds; False if ``seconds`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        version, since = self.sb.emulator.resource_version, loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            now = self.sb.emulator.resource_version
            calm = now == version and self.starting == 0 and self.settled(namespace)
            if calm:
                calm = await self._queues_empty()
            if not calm:
                version, since = now, loop.time()
            elif loop.time() - since >= quiet:
                return True
        logger.warning("chaos: %s not quiet after %.0f s", namespace, seconds)
        return False

    async def _queues_empty(self) -> bool:
        """Whether nothing is ready on the run's queues; False while the broker cannot be asked
        (its connections closed, the broker restarting)."""
        try:
            return await brokering.ready_messages(self.connection, self.queues) == 0
        except (OSError, RuntimeError, aiormq.exceptions.AMQPError, TimeoutError) as e:
            logger.info("chaos: cannot read the queues now: %r", e)
            return False

    def state(self, namespace: str) -> list[dict[str, Any]]:
        """The objects of ``namespace`` the final state compares: Images, Builds, pods, PVCs."""
        found: list[dict[str, Any]] = []
        for plural in STATE_KINDS:
            found += self.sb.emulator.objects(plural, namespace)
        return found

    def builds(self, namespace: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.sb.emulator.objects("builds", namespace)
        return found


def _condition(obj: Mapping[str, Any], kind: str) -> str:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return str(next((c.get("status", "") for c in conditions if c.get("type") == kind), ""))


@contextlib.asynccontextmanager
async def running(workers: Layout, *, logs: Path | None = None) -> AsyncIterator[System]:
    """The sandbox (triggers in this process), the registry proxy, and ``workers`` processes."""
    with tempfile.TemporaryDirectory(prefix="kiln-chaos-") as directory:
        workdir = logs or Path(directory)
        workdir.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as stack:
            registry_proxy = proxy.TcpProxy(*REGISTRY)
            await registry_proxy.start()
            stack.push_async_callback(registry_proxy.stop)
            broker = broker_settings.BrokerSettings(retry_delays=RETRY_DELAYS)
            sb = await stack.enter_async_context(
                harness.sandbox(
                    registry_host=registry_proxy.address,
                    broker=broker,
                    step_seconds=STEP_SECONDS,
                    services=("triggers",),
                    admin_port=None,
                    workdir=workdir,
                    resync_seconds=RESYNC_SECONDS,
                )
            )
            direct = registry_client.RegistryClient(transport=DirectTransport(registry_proxy.address))
            stack.push_async_callback(direct.aclose)
            sb.kubelet.registry = direct
            settings = broker.model_copy(update={"prefix": sb.prefix})
            connection = await aio_pika.connect_robust(
                settings.url.get_secret_value(),
                client_properties={"connection_name": f"{sb.prefix}-observer/chaos"},
            )
            stack.push_async_callback(connection.close)
            env = {
                "KILN_BROKER_RETRY_DELAYS": json.dumps(list(RETRY_DELAYS)),
                "KILN_RESYNC_SECONDS": str(RESYNC_SECONDS),
            }
            system = System(sb, registry_proxy, settings, connection, workdir, env)
            stack.push_async_callback(_stop_all, system)
            async with asyncio.TaskGroup() as starting:
                for service, count in workers.items():
                    for index in range(count):
                        starting.create_task(system.start(service, name=f"{service}-{index + 1}"))
            logger.info("chaos: %s running (logs in %s)", ", ".join(sorted(system.processes)), workdir)
            yield system


async def _stop_all(system: System) -> None:
    await system.restarted()
    await asyncio.gather(*(p.stop() for p in system.processes.values()))
