"""The faults of a chaos run, at moments a seeded random generator picks, and what each did.

A :class:`Plan` says how many of each fault a run gets; :func:`moments` spreads them over the
run's expected length (pure, from the seed); :class:`Injector` performs them while the scenario
runs and counts them in its :class:`Tally`:

* ``kill`` — SIGKILL of one worker process picked at random, started again a moment later;
* ``connections`` — the broker closes the run's connections (all of them, or one service's),
  found by the run's connection-name prefix;
* ``channel`` — the broker closes, with a channel error, the channels consuming one work queue;
* ``registry`` — the registry proxy goes down for a few seconds, cutting what passes through it;
* ``duplicates`` — a share of the events in the run's event log so far are published again,
  with their ids (what a redelivery, a replay or a publisher retry does);
* ``broker-restart`` — ``rabbitmqctl stop_app``/``start_app`` (only with ``--broker-restart``);
* throughout: ``api_fault_rate`` of the Kubernetes API requests fail (half 500, a quarter 429,
  a quarter time out unanswered) — but the simulated kubelet's pod status writes
  (``pods/status``): it stands for the cluster's nodes, not for Kiln, and gives up on a pod once
  its client's retries are spent, where a real kubelet tries again for as long as the pod lives.

When the run's steps are done, :meth:`Injector.heal` ends every fault: no more API faults, the
proxy up, every killed worker started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import AsyncIterator

import aiormq.exceptions

from services import errors
from services.broker import replay as broker_replay
from services.testbed.chaos import acting, brokering, system
from services.testbed.emulator import faults as emulator_faults

logger = logging.getLogger(__name__)
KINDS = ("kill", "connections", "channel", "registry", "duplicates", "broker-restart")
HANG_SECONDS = 2.0
"""How long an API request picked to time out hangs before its connection is closed."""
SPARED = ("pods/status",)
"""What the API faults never hit: the simulated kubelet's writes (see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """How many faults of each kind one run gets."""

    kills: int = 0
    connection_closes: int = 0
    channel_breaks: int = 0
    registry_outages: int = 0
    registry_down_seconds: tuple[float, float] = (3.0, 6.0)
    duplicate_rounds: int = 0
    duplicate_share: float = 0.3
    broker_restart: bool = False
    api_fault_rate: float = 0.0

    @property
    def any(self) -> bool:
        return self != Plan()


CLEAN = Plan()


def moments(plan: Plan, rng: random.Random, *, seconds: float) -> list[tuple[float, str]]:
    """When each fault of ``plan`` strikes, seconds after the start, spread over ``seconds``."""
    counts = {
        "kill": plan.kills,
        "connections": plan.connection_closes,
        "channel": plan.channel_breaks,
        "registry": plan.registry_outages,
        "duplicates": plan.duplicate_rounds,
        "broker-restart": int(plan.broker_restart),
    }
    found = [
        (round(rng.uniform(0.05, 0.9) * seconds, 2), kind) for kind in KINDS for _ in range(counts[kind])
    ]
    return sorted(found)


@dataclasses.dataclass
class Tally:
    workers_killed: int = 0
    connections_closed: int = 0
    channels_closed: int = 0
    broker_restarts: int = 0
    duplicates_injected: int = 0
    api_faults: int = 0
    registry_downtime_seconds: float = 0.0
    log: list[str] = dataclasses.field(default_factory=list)


class Injector:
    def __init__(self, box: system.System, plan: Plan, *, seed: int, seconds: float) -> None:
        self.box = box
        self.plan = plan
        self.rng = random.Random(seed)
        self.schedule = moments(plan, self.rng, seconds=seconds)
        self.tally = Tally()
        self._faults: list[emulator_faults.Fault] = []
        self._stopping = asyncio.Event()

    @contextlib.asynccontextmanager
    async def active(self) -> AsyncIterator[Tally]:
        """The faults strike while the block runs; healed when it ends."""
        self._api_faults_on()
        task = asyncio.create_task(self._strike(), name="chaos faults")
        try:
            yield self.tally
        finally:
            self._stopping.set()  # no new fault; one under way (a broker restart) ends first
            await asyncio.gather(task, return_exceptions=True)
            await self.heal()

    def _api_faults_on(self) -> None:
        rate = self.plan.api_fault_rate
        if rate <= 0:
            return
        emulator = self.box.sb.emulator
        # the rules are asked in turn: each one's probability is of what the ones before it passed
        shares = ((rate / 2, "error", 500), (rate / 4, "error", 429), (rate / 4, "timeout", 0))
        passed = 1.0
        for share, action, status in shares:
            fields = {
                "action": action,
                "probability": min(1.0, share / passed),
                "hang_seconds": HANG_SECONDS,
                "spares": SPARED,
            }
            if status:
                fields["status"] = status
            self._faults.append(emulator.add_fault(**fields))
            passed -= share

    async def _strike(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for at, kind in self.schedule:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, at - (loop.time() - started))):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return
            try:
                await self._fault(kind)
            except (
                brokering.BrokerCommandError,
                OSError,  # and TimeoutError, its subclass
                RuntimeError,
                errors.KilnError,
                aiormq.exceptions.AMQPError,
            ) as e:  # a fault that could not be made is logged, and the run goes on
                self.tally.log.append(f"{kind} at {at:.1f} s failed: {e}")
                logger.warning("chaos: %s failed: %s", kind, e)

    async def _fault(self, kind: str) -> None:
        box, tally = self.box, self.tally
        if kind == "kill":
            if await box.kill(self.rng, restart_after=self.rng.uniform(0.5, 2.0)):
                tally.workers_killed += 1
        elif kind == "connections":
            service = self.rng.choice(["", *sorted(system.SERVICES)])
            closed = await brokering.close_connections(box.prefix, service=service)
            tally.connections_closed += len(closed)
            tally.log.append(f"closed {len(closed)} connection(s) of {service or 'every service'}")
        elif kind == "channel":
            queue = self.rng.choice(box.queues[: box.settings.shards])  # an image-reconciler shard
            tally.channels_closed += await brokering.break_consuming_channels(queue)
        elif kind == "registry":
            await box.proxy.stop()
            await asyncio.sleep(self.rng.uniform(*self.plan.registry_down_seconds))
            await box.proxy.start()
        elif kind == "duplicates":
            await self._duplicate()
        elif kind == "broker-restart":
            await brokering.restart_app(down_seconds=3.0)
            tally.broker_restarts += 1

    async def _duplicate(self) -> None:
        """Publish a share of the run's events so far again, with their ids."""
        box = self.box
        found = await broker_replay.replay(box.connection, settings=box.settings, offset="first", idle=0.5)
        if not found:
            return
        chosen = self.rng.sample(found, max(1, int(len(found) * self.plan.duplicate_share)))
        await acting.persist("duplicates", lambda: box.sb.wiring.publisher.publish_many(chosen))
        self.tally.duplicates_injected += len(chosen)

    async def heal(self) -> None:
        """End every fault: API faults off, the registry proxy up, killed workers started again."""
        for fault in self._faults:
            self.tally.api_faults += fault.hits
        self.box.sb.emulator.clear_faults()
        self._faults.clear()
        await self.box.proxy.start()
        self.tally.registry_downtime_seconds = self.box.proxy.downtime
        await self.box.restarted()
