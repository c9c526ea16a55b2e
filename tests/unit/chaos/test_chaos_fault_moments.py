"""When a chaos run's faults strike: as many as the plan says, spread over the run, the same for
the same seed."""

from __future__ import annotations

import random

from services.testbed.chaos import injecting
from services.testbed.emulator import faults as emulator_faults


def test_the_fault_moments_follow_the_plan_and_the_seed() -> None:
    plan = injecting.Plan(kills=3, connection_closes=1, registry_outages=2, broker_restart=True)

    first = injecting.moments(plan, random.Random(5), seconds=40.0)
    again = injecting.moments(plan, random.Random(5), seconds=40.0)
    other = injecting.moments(plan, random.Random(6), seconds=40.0)

    assert first == again
    assert first != other
    assert sorted(kind for _, kind in first) == sorted(
        ["kill"] * 3 + ["connections"] + ["registry"] * 2 + ["broker-restart"]
    )
    assert all(2.0 <= at <= 36.0 for at, _ in first)
    assert [at for at, _ in first] == sorted(at for at, _ in first)
    assert injecting.moments(injecting.CLEAN, random.Random(5), seconds=40.0) == []


def test_an_api_fault_rule_spares_the_resources_it_names() -> None:
    rule = emulator_faults.Fault(spares=("pods/status",))

    assert rule.matches("patch", "builds/status", "ns", "b")
    assert rule.matches("get", "pods", "ns", "p")
    assert not rule.matches("patch", "pods/status", "ns", "p")
    assert emulator_faults.Fault().matches("patch", "pods/status", "ns", "p")
