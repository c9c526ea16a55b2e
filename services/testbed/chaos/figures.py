"""What ``kiln chaos`` counts and reports: expected effects, lost triggers, duplicate Builds, and
the figures of each run.

* An **effect** is a Build an input must cause (:func:`expected_effects`, from the scenario alone):
  an Image its CONFIG build, a push a COMMIT build of the pushed commit for every Image following
  the pushed repository, a builder update a BUILDPACK build of every Image on that builder, a
  manual trigger a TRIGGER build, a recorded ``kiln.source.changed`` a COMMIT build of its
  revision (an event recorded twice, same id, is one trigger). A **lost trigger** is an effect
  no Build of the run shows (:func:`lost_triggers`): one per Image an input failed to build.
* A **duplicate build** is a Build beyond the first with the same Image, reasons, revision and
  builder image (:func:`duplicate_builds`): two Builds for one trigger.

Pure: no I/O; the Builds are raw documents as the API returns them.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from contracts import builds as build_models
from contracts import events
from services.testbed.chaos import scenarios
from services.testbed.sandbox import examples


@dataclasses.dataclass(frozen=True)
class Effect:
    """A Build that input ``step`` (its index among the scenario's steps) must cause."""

    step: int
    image: str
    reason: str
    revision: str | None = None
    """The commit the Build must build; None: any."""

    def __str__(self) -> str:
        at = f" at {self.revision[:12]}" if self.revision else ""
        return f"step {self.step + 1}: {self.reason} build of {self.image}{at}"


def expected_effects(scenario: scenarios.Scenario) -> list[Effect]:
    """Every Build the scenario's inputs must cause, in step order."""
    followers: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    on_builder: dict[str, list[str]] = collections.defaultdict(list)
    found: list[Effect] = []
    replayed: set[str] = set()
    for index, step in enumerate(scenario.steps):
        if isinstance(step, scenarios.Image):
            followers[_repository(step.repository), step.branch].append(step.name)
            on_builder[step.builder].append(step.name)
            found.append(Effect(index, step.name, "CONFIG"))
        elif isinstance(step, scenarios.GitPush | scenarios.WebhookPush):
            revision = examples.commit(step.commit)
            for image in followers[_repository(step.repository), step.branch]:
                found.append(Effect(index, image, "COMMIT", revision))
        elif isinstance(step, scenarios.BuilderUpdate):
            found += [Effect(index, image, "BUILDPACK") for image in on_builder[step.name]]
        elif isinstance(step, scenarios.Trigger):
            found.append(Effect(index, step.image, "TRIGGER"))
        elif isinstance(step, scenarios.RecordedEvent):
            event = step.parsed()
            if event.id in replayed:
                continue  # the same event again (same id): a duplicate, not another trigger
            replayed.add(event.id)
            if isinstance(event.data, events.SourceChanged) and event.data.namespace == scenario.namespace:
                found.append(Effect(index, event.data.image, "COMMIT", event.data.revision))
    return found


def _repository(url: str) -> str:
    return url.removesuffix(".git").rstrip("/")


def _image(build: Mapping[str, Any]) -> str:
    return str(((build.get("metadata") or {}).get("labels") or {}).get(build_models.IMAGE_LABEL, ""))


def _reasons(build: Mapping[str, Any]) -> frozenset[str]:
    text = ((build.get("metadata") or {}).get("annotations") or {}).get(build_models.REASON_ANNOTATION, "")
    return frozenset(r for r in str(text).split(",") if r)


def _revision(build: Mapping[str, Any]) -> str:
    return str((((build.get("spec") or {}).get("source") or {}).get("git") or {}).get("revision", ""))


def _builder(build: Mapping[str, Any]) -> str:
    return str(((build.get("spec") or {}).get("builder") or {}).get("image", ""))


def shows(build: Mapping[str, Any], effect: Effect) -> bool:
    """Whether ``build`` is (or includes) ``effect``."""
    return (
        _image(build) == effect.image
        and effect.reason in _reasons(build)
        and (effect.revision is None or _revision(build) == effect.revision)
    )


def lost_triggers(effects: Sequence[Effect], found: Sequence[Mapping[str, Any]]) -> list[Effect]:
    """The effects no Build in ``found`` shows."""
    return [effect for effect in effects if not any(shows(build, effect) for build in found)]


def duplicate_builds(found: Sequence[Mapping[str, Any]]) -> list[str]:
    """The names of the Builds beyond the first for one (Image, reasons, revision, builder image)."""
    seen: set[tuple[str, frozenset[str], str, str]] = set()
    doubled: list[str] = []
    for build in sorted(found, key=_number):
        key = (_image(build), _reasons(build), _revision(build), _builder(build))
        if key in seen:
            doubled.append(str((build.get("metadata") or {}).get("name", "")))
        seen.add(key)
    return doubled


def _number(build: Mapping[str, Any]) -> tuple[str, int]:
    labels = (build.get("metadata") or {}).get("labels") or {}
    number = str(labels.get(build_models.BUILD_NUMBER_LABEL, "0"))
    return (_image(build), int(number) if number.isdigit() else 0)


@dataclasses.dataclass(frozen=True)
class BadInput:
    """Where one bad input ended (:mod:`services.testbed.badinput`)."""

    surface: str
    name: str
    ended: str
    detail: str

    @property
    def handled(self) -> bool:
        return self.ended != "unhandled"


@dataclasses.dataclass(frozen=True)
class RunFigures:
    """One scenario run, its faults and what came of them."""

    scenario: str
    run: str
    """``clean`` (the reference) or ``chaos``."""
    seconds: float
    events_replayed: int = 0
    duplicates_injected: int = 0
    workers_killed: int = 0
    connections_closed: int = 0
    channels_closed: int = 0
    broker_restarts: int = 0
    api_faults: int = 0
    registry_downtime_seconds: float = 0.0
    lost_triggers: tuple[str, ...] = ()
    late_triggers: int = 0
    """Inputs whose Build was missing once the run fell quiet and came within a resync and a half
    after (what the bridge's resync is for): not lost, but counted."""
    duplicate_builds: tuple[str, ...] = ()
    builds: int = 0
    state_equal: bool | None = None
    """Whether the normalised final state equals the clean run's (None: this is the clean run)."""
    differences: tuple[str, ...] = ()
    quiet: bool = True
    """Whether every wait for quiescence ended in quiet (not in its time limit)."""
    bad_inputs: tuple[BadInput, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            not self.lost_triggers
            and not self.duplicate_builds
            and self.state_equal is not False
            and self.quiet
            and all(b.handled for b in self.bad_inputs)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "run": self.run,
            "seconds": round(self.seconds, 1),
            "events_replayed": self.events_replayed,
            "duplicates_injected": self.duplicates_injected,
            "workers_killed": self.workers_killed,
            "connections_closed": self.connections_closed,
            "channels_closed": self.channels_closed,
            "broker_restarts": self.broker_restarts,
            "api_faults": self.api_faults,
            "registry_downtime_seconds": round(self.registry_downtime_seconds, 1),
            "builds": self.builds,
            "lost_triggers": len(self.lost_triggers),
            "lost": list(self.lost_triggers),
            "late_triggers": self.late_triggers,
            "duplicate_builds": len(self.duplicate_builds),
            "duplicated": list(self.duplicate_builds),
            "state_equal": self.state_equal,
            "differences": list(self.differences),
            "quiet": self.quiet,
            "bad_inputs": [dataclasses.asdict(b) for b in self.bad_inputs],
            "bad_inputs_unhandled": sum(not b.handled for b in self.bad_inputs),
        }


def report(pairs: Sequence[tuple[RunFigures, RunFigures]], *, seed: int, seconds: float) -> dict[str, Any]:
    """The JSON object of ``kiln chaos --output json``: one entry per scenario (its run under
    faults, with its clean reference run inside), and the totals over both runs of each."""
    runs = [run for pair in pairs for run in pair]
    bad = [b for run in runs for b in run.bad_inputs]
    return {
        "seed": seed,
        "seconds": round(seconds, 1),
        "scenarios": [{**chaos.as_json(), "reference": clean.as_json()} for clean, chaos in pairs],
        "lost_triggers": sum(len(run.lost_triggers) for run in runs),
        "duplicate_builds": sum(len(run.duplicate_builds) for run in runs),
        "state_equal": bool(pairs) and all(chaos.state_equal is True for _, chaos in pairs),
        "bad_inputs": len(bad),
        "bad_inputs_unhandled": sum(not b.handled for b in bad),
        "ok": bool(pairs) and all(run.ok for run in runs) and all(c.state_equal is True for _, c in pairs),
    }
