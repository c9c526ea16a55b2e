"""Kiln services as separate ``kiln run`` processes of a sandbox, and what each one counted.

Each process serves its admin endpoint on a port of its own, so :meth:`ServiceProcess.counts`
reads its ``/metrics``: Kubernetes API requests by (verb, kind) and settled deliveries by (service,
event type). What the bench process itself runs (the triggers service) is read from its own
metrics registry the same way (:func:`parse`), so every figure is attributed to the process, and
so the service, that made it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import logging
import operator
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx
from prometheus_client import parser

from services.testbed.registry import registry_process
from services.testbed.sandbox import harness

logger = logging.getLogger(__name__)
READ_VERBS = frozenset({"get", "list"})
"""Reads; every other verb counted (create, update, update_status, patch_status, delete) writes."""
READY_SECONDS = 180.0


@dataclasses.dataclass(frozen=True)
class Counts:
    """What one process counted so far (or between two readings, after subtraction)."""

    requests: Mapping[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    """Kubernetes API requests by (verb, kind)."""
    handled: Mapping[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    """Deliveries settled (any outcome) by (service, event type)."""

    def __add__(self, other: Counts) -> Counts:
        return Counts(_sum(self.requests, other.requests), _sum(self.handled, other.handled))

    def __sub__(self, earlier: Counts) -> Counts:
        return Counts(
            _sum(self.requests, earlier.requests, sign=-1), _sum(self.handled, earlier.handled, sign=-1)
        )

    @property
    def reads(self) -> float:
        return sum(n for (verb, _), n in self.requests.items() if verb in READ_VERBS)

    @property
    def writes(self) -> float:
        return sum(n for (verb, _), n in self.requests.items() if verb not in READ_VERBS)

    @property
    def deliveries(self) -> float:
        return sum(self.handled.values())


def parse(exposition: str) -> Counts:
    """The counts in a Prometheus text exposition of a Kiln process."""
    requests: collections.defaultdict[tuple[str, str], float] = collections.defaultdict(float)
    handled: collections.defaultdict[tuple[str, str], float] = collections.defaultdict(float)
    for family in parser.text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "kiln_kube_requests_total":
                requests[sample.labels["verb"], sample.labels["kind"]] += sample.value
            elif sample.name == "kiln_events_handled_total":
                handled[sample.labels["service"], sample.labels["type"]] += sample.value
    return Counts(dict(requests), dict(handled))


def total(counts: Iterable[Counts]) -> Counts:
    return functools.reduce(operator.add, counts, Counts())


@dataclasses.dataclass
class ServiceProcess:
    """One ``kiln run SERVICE`` process of a sandbox, with its admin endpoint."""

    name: str
    """What the bench calls it: the service, numbered when it runs more than once."""
    process: asyncio.subprocess.Process
    admin_url: str
    log: Path

    async def counts(self, http: httpx.AsyncClient) -> Counts:
        response = await http.get(f"{self.admin_url}/metrics")
        response.raise_for_status()
        return parse(response.text)

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory so far (``VmHWM``), in MiB."""
        return _status_kib(self.process.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time the process used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        """SIGTERM (the process drains and leaves its shards), then wait for it."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def start(
    sb: harness.Sandbox, service: str, *, name: str, workdir: Path, env: Mapping[str, str] | None = None
) -> ServiceProcess:
    """``kiln run SERVICE`` on the sandbox's broker and cluster, once its ``/readyz`` answers 200."""
    port = registry_process.free_port()
    log = workdir / f"{name}.log"
    process = await sb.start_process([service], log=log, env={"KILN_ADMIN_PORT": str(port), **(env or {})})
    started = ServiceProcess(name, process, f"http://127.0.0.1:{port}", log)
    try:
        await _ready(started)
    except BaseException:
        await started.stop()
        raise
    return started


async def _ready(service: ServiceProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            if service.process.returncode is not None:
                raise RuntimeError(
                    f"{service.name} exited with {service.process.returncode}:\n{service.tail()}"
                )
            try:
                if (await http.get(f"{service.admin_url}/readyz")).status_code == httpx.codes.OK:
                    return
            except httpx.HTTPError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{service.name} not ready after {READY_SECONDS:.0f} s:\n{service.tail()}")
            await asyncio.sleep(0.2)


def _sum(
    one: Mapping[tuple[str, str], float], other: Mapping[tuple[str, str], float], *, sign: int = 1
) -> dict[tuple[str, str], float]:
    """``one + sign * other`` key by key, without the keys that come to nothing."""
    found = {key: one.get(key, 0.0) + sign * other.get(key, 0.0) for key in {*one, *other}}
    return {key: value for key, value in found.items() if value}


def _status_kib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return float(line.split()[1])
    raise ValueError(f"no {field} in /proc/{pid}/status")
