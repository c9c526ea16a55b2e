"""Admission of builds to a limited number of running build pods: the rule as a truth table, and
the slots: users' builds ahead of storm builds, nothing over the limits, a deferral past the hold."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services import errors
from services.build_runner import service as build_runner_service
from services.build_runner import slots as build_slots

LIMITS = build_slots.Limits(max_running=10, max_running_per_namespace=4, storm_max_running=6)


@pytest.mark.parametrize(
    ("limits", "running", "storm", "waiting", "expected"),
    [
        (build_slots.Limits(), build_slots.Running(total=1000, storm=1000, in_namespace=1000), True, 0, True),
        (LIMITS, build_slots.Running(total=9, in_namespace=3), False, 0, True),
        (LIMITS, build_slots.Running(total=10), False, 0, False),
        (LIMITS, build_slots.Running(total=5, in_namespace=4), False, 0, False),
        (LIMITS, build_slots.Running(total=5, storm=5, in_namespace=1), True, 0, True),
        (LIMITS, build_slots.Running(total=6, storm=6), True, 0, False),
        (LIMITS, build_slots.Running(total=1), True, 1, False),
        (build_slots.Limits(max_running=10), build_slots.Running(total=7, storm=7), True, 0, تrue := True)
        if False
        else (build_slots.Limits(max_running=10), build_slots.Running(total=7, storm=7), True, 0, True),
        (build_slots.Limits(max_running=10), build_slots.Running(total=8, storm=8), True, 0, False),
        (build_slots.Limits(max_running=1), build_slots.Running(total=0), True, 0, True),
        (build_slots.Limits(storm_max_running=2), build_slots.Running(total=50, storm=1), True, 0, True),
    ],
    ids=[
        "no limits admit everything",
        "a user's build under every limit",
        "the global limit",
        "the namespace limit",
        "a storm build under the storm cap",
        "the storm cap",
        "no storm build while a user's waits",
        "storms fill the global limit less a fifth",
        "and no more",
        "a limit of one still lets a storm build run alone",
        "a storm cap without a global limit",
    ],
)
def test_which_build_is_admitted(
    limits: build_slots.Limits, running: build_slots.Running, storm: bool, waiting: int, expected: bool
) -> None:
    assert build_slots.admits(limits, running, storm=storm, users_waiting=waiting) is expected


def pod(
    name: str, *, phase: str = "Running", namespace: str = "ns", deleting: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-06T09:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (pod("a"), True),
        (pod("a", phase="Pending"), True),
        (pod("a", phase="Succeeded"), False),
        (pod("a", phase="Failed"), False),
        (pod("a", deleting=True), False),
    ],
    ids=["running", "pending", "succeeded", "failed", "being deleted"],
)
def test_which_pods_hold_a_slot(found: dict[str, Any], expected: bool) -> None:
    assert build_slots.pod_running(found) is expected


async def test_without_limits_every_build_is_admitted_at_once() -> None:
    slots = build_runner_service.Slots(build_slots.Limits())

    async with slots.admitted("ns", "a-build-pod", storm=True):
        pass

    assert slots.running("ns") == build_slots.Running()


async def test_a_freed_slot_goes_to_the_users_build_before_the_storm_build() -> None:
    slots = build_runner_service.Slots(build_slots.Limits(max_running=2, hold_seconds=5))
    slots.ready.set()
    await slots.observe("ADDED", pod("busy-1"))
    await slots.observe("ADDED", pod("busy-2"))
    order: list[str] = []

    async def start(name: str, *, storm: bool) -> None:
        async with slots.admitted("ns", name, storm=storm):
            order.append(name)

    storm = asyncio.create_task(start("storm-pod", storm=True))
    await asyncio.sleep(0.01)
    user = asyncio.create_task(start("user-pod", storm=False))
    await asyncio.sleep(0.01)
    await slots.observe("MODIFIED", pod("busy-1", phase="Succeeded"))
    await user
    assert order == ["user-pod"]
    assert not storm.done()

    await slots.observe("DELETED", pod("busy-2"))
    await storm

    assert order == ["user-pod", "storm-pod"]
    assert slots.running("ns") == build_slots.Running(total=2, storm=1, in_namespace=2)
    assert slots.peak == 2


async def test_a_build_that_finds_no_slot_within_the_hold_is_deferred() -> None:
    slots = build_runner_service.Slots(build_slots.Limits(max_running_per_namespace=1, hold_seconds=0.05))
    slots.ready.set()
    await slots.observe("ADDED", pod("busy", namespace="team"))

    with pytest.raises(errors.DeferredError, match="no free build slot for team/next-build-pod"):
        async with slots.admitted("team", "next-build-pod", storm=False):
            pass
    async with slots.admitted("other", "elsewhere-build-pod", storm=False):
        pass


async def test_nothing_is_admitted_before_the_watch_listed_the_pods() -> None:
    slots = build_runner_service.Slots(build_slots.Limits(max_running=5, hold_seconds=0.05))

    with pytest.raises(errors.DeferredError):
        async with slots.admitted("ns", "a-build-pod", storm=False):
            pass


async def test_a_pod_that_could_not_be_created_frees_its_slot() -> None:
    slots = build_runner_service.Slots(build_slots.Limits(max_running=1, hold_seconds=0.05))
    slots.ready.set()

    with pytest.raises(RuntimeError):
        async with slots.admitted("ns", "a-build-pod", storm=True):
            raise RuntimeError("refused")

    assert slots.running("ns") == build_slots.Running()
