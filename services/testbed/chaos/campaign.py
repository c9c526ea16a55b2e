"""``kiln chaos``: each scenario run clean for its reference final state, then under faults.

A run starts its own system (:mod:`.system`), performs the scenario's steps (:mod:`.acting`)
with the faults of its :class:`~.injecting.Plan` striking meanwhile, heals them, waits until
nothing moves, and compares: the Builds each input must cause (none lost), no two Builds for one
trigger, and the normalised final state equal to the clean run's. Bad inputs
(:mod:`services.testbed.badinput`) are tried once the state is taken, so they never change it.

The scenarios ship with the package (``scenarios/*.jsonl``), or come from files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from services.testbed import badinput
from services.testbed.chaos import acting, figures, injecting, normalising, scenarios, system
from services.testbed.sandbox import harness
from services.triggers import settings as triggers_settings

logger = logging.getLogger(__name__)
QUIET_SECONDS = 1.5
"""How long nothing may move for a ``quiesce`` step to end."""
FINAL_QUIET_SECONDS = 3.0
FINAL_SECONDS = 120.0
BAD_NAMESPACE_SUFFIX = "-bad"


def bundled() -> list[str]:
    """The names of the scenarios that ship with Kiln."""
    folder = resources.files("services.testbed.chaos") / "scenarios"
    return sorted(p.name.removesuffix(".jsonl") for p in folder.iterdir() if p.name.endswith(".jsonl"))


def load(name_or_path: str) -> scenarios.Scenario:
    """A bundled scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".jsonl" or path.exists():
        return scenarios.parse(path.read_text(encoding="utf-8").splitlines(), source=str(path))
    resource = resources.files("services.testbed.chaos") / "scenarios" / f"{name_or_path}.jsonl"
    if not resource.is_file():
        raise FileNotFoundError(f"no scenario {name_or_path!r}: bundled ones are {', '.join(bundled())}")
    return scenarios.parse(resource.read_text(encoding="utf-8").splitlines(), source=f"{name_or_path}.jsonl")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A run's figures, its normalised final state, and how long its steps took."""

    figures: figures.RunFigures
    state: list[normalising.Document]
    steps_seconds: float


async def run(
    scenario: scenarios.Scenario,
    *,
    workers: system.Layout,
    plan: injecting.Plan = injecting.CLEAN,
    seed: int = 0,
    reference: Outcome | None = None,
    bad_inputs: bool = False,
    label: str = "clean",
    logs: Path | None = None,
) -> Outcome:
    """One run of ``scenario``; compared with ``reference`` when given."""
    began = time.monotonic()
    async with system.running(workers, logs=logs) as box:
        spread = reference.steps_seconds if reference else 30.0
        injector = injecting.Injector(box, plan, seed=seed, seconds=spread)
        quiet = True
        steps_began = time.monotonic()
        async with injector.active() as tally:
            for step in scenario.steps:
                if isinstance(step, scenarios.Quiesce):
                    quiet &= await box.quiesce(scenario.namespace, seconds=step.seconds, quiet=QUIET_SECONDS)
                else:
                    await acting.perform(box, scenario, step)
        steps_seconds = time.monotonic() - steps_began
        quiet &= await box.quiesce(scenario.namespace, seconds=FINAL_SECONDS, quiet=FINAL_QUIET_SECONDS)
        effects = figures.expected_effects(scenario)
        missing = figures.lost_triggers(effects, box.builds(scenario.namespace))
        lost = await _late(box, scenario, effects) if missing else []
        found = box.builds(scenario.namespace)
        state = normalising.normalise(box.state(scenario.namespace), replacements=box.replacements())
        differences = normalising.differences(reference.state, state) if reference else []
        tried = await try_bad_inputs(box, scenario) if bad_inputs else []
    result = figures.RunFigures(
        scenario=scenario.name,
        run=label,
        seconds=time.monotonic() - began,
        events_replayed=scenario.recorded_events,
        duplicates_injected=tally.duplicates_injected,
        workers_killed=tally.workers_killed,
        connections_closed=tally.connections_closed,
        channels_closed=tally.channels_closed,
        broker_restarts=tally.broker_restarts,
        api_faults=tally.api_faults,
        registry_downtime_seconds=tally.registry_downtime_seconds,
        lost_triggers=tuple(str(e) for e in lost),
        late_triggers=len(missing) - len(lost),
        duplicate_builds=tuple(figures.duplicate_builds(found)),
        builds=len(found),
        state_equal=None if reference is None else not differences,
        differences=tuple(differences),
        quiet=quiet,
        bad_inputs=tuple(tried),
    )
    for line in tally.log:
        logger.info("chaos %s/%s: %s", scenario.name, label, line)
    return Outcome(result, state, steps_seconds)


async def _late(
    box: system.System, scenario: scenarios.Scenario, effects: Sequence[figures.Effect]
) -> list[figures.Effect]:
    """The effects no Build shows, after waiting up to a resync and a half for late ones (a lost
    event is caught by the bridge's resync: late, not lost; counted apart)."""
    lost = figures.lost_triggers(effects, box.builds(scenario.namespace))
    logger.warning("chaos %s: waiting for %d missing build(s): %s", scenario.name, len(lost), lost)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + system.RESYNC_SECONDS * 1.5
    while lost and loop.time() < deadline:
        await asyncio.sleep(1.0)
        lost = figures.lost_triggers(effects, box.builds(scenario.namespace))
    await box.quiesce(scenario.namespace, seconds=FINAL_SECONDS, quiet=FINAL_QUIET_SECONDS)
    return figures.lost_triggers(effects, box.builds(scenario.namespace))


async def try_bad_inputs(box: system.System, scenario: scenarios.Scenario) -> list[figures.BadInput]:
    """The bad events, Images and webhooks of :mod:`services.testbed.badinput`, in a namespace of
    their own; where each ended."""
    namespace = f"{scenario.namespace}{BAD_NAMESPACE_SUFFIX}"
    shard = box.queues[0]  # the image-reconciler's first shard
    events = badinput.bad_events(namespace=namespace, name="ghost")
    outcomes = await badinput.try_bad_events(
        box.connection, settings=box.settings, queue=shard, inputs=events, within=10.0
    )
    image = next((s for s in scenario.steps if isinstance(s, scenarios.Image)), None)
    if image is not None:
        valid = acting.image_object(box, scenario, image)
        valid["metadata"]["namespace"] = namespace
        outcomes += await badinput.try_bad_resources(
            box.sb.emulator.base_url, namespace=namespace, inputs=badinput.bad_images(valid), within=10.0
        )
    url = box.sb.wiring.webhooks_url
    if url is not None:
        delivery = str(uuid.uuid4())
        await box.sb.github_push(
            "e" * 40, before="d" * 40, delivery=delivery, url="https://example.com/bad-input/app"
        )
        secret = harness.WEBHOOK_SECRET
        secrets = badinput.WebhookSecrets(github=secret, gitlab=secret, generic=secret, registry=secret)
        requests = badinput.bad_webhooks(
            secrets, max_body_bytes=triggers_settings.MAX_BODY_BYTES, delivery=delivery
        )
        outcomes += await badinput.try_bad_webhooks(url, requests)
    return [figures.BadInput(o.surface, o.name, o.ended, o.detail) for o in outcomes]


@dataclasses.dataclass(frozen=True)
class Campaign:
    """What ``kiln chaos`` runs."""

    scenarios: tuple[scenarios.Scenario, ...]
    workers: int = 2
    plan: injecting.Plan = injecting.CLEAN
    broker_restart_scenario: str | None = None
    """The one scenario whose chaos run restarts the broker (None: none does)."""
    seed: int = 0
    bad_inputs: bool = True
    logs: Path | None = None


async def run_campaign(
    campaign: Campaign, *, progress: Callable[[figures.RunFigures], Any] = lambda _: None
) -> list[tuple[figures.RunFigures, figures.RunFigures]]:
    """Each scenario clean (one worker per service), then under ``campaign.plan``: the pairs."""
    runs: list[tuple[figures.RunFigures, figures.RunFigures]] = []
    for index, scenario in enumerate(campaign.scenarios):
        logs = campaign.logs / scenario.name if campaign.logs else None
        clean = await run(
            scenario, workers=system.layout(1), logs=logs / "clean" if logs else None, label="clean"
        )
        progress(clean.figures)
        plan = campaign.plan
        if campaign.broker_restart_scenario == scenario.name:
            plan = dataclasses.replace(plan, broker_restart=True)
        chaos = await run(
            scenario,
            workers=system.layout(campaign.workers),
            plan=plan,
            seed=campaign.seed * 1000 + index,
            reference=clean,
            bad_inputs=campaign.bad_inputs,
            label="chaos",
            logs=logs / "chaos" if logs else None,
        )
        runs.append((clean.figures, chaos.figures))
        progress(chaos.figures)
    return runs
