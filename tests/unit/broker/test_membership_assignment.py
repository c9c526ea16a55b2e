"""Shard assignment and the roster of live workers (pure)."""

from __future__ import annotations

import pytest

from services.broker import membership

SHARDS = tuple(f"kiln.image-reconciler.{i}" for i in range(8))


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        pytest.param([], {}, id="no workers own nothing"),
        pytest.param(["a"], {"a": SHARDS}, id="a lone worker owns every shard"),
        pytest.param(
            ["b", "a"],
            {"a": SHARDS[0::2], "b": SHARDS[1::2]},
            id="two workers alternate in sorted order whatever order they are given in",
        ),
        pytest.param(
            ["c", "a", "b"],
            {"a": SHARDS[0::3], "b": SHARDS[1::3], "c": SHARDS[2::3]},
            id="three workers over eight shards get three three and two",
        ),
        pytest.param(
            ["a", "a", "b"],
            {"a": SHARDS[0::2], "b": SHARDS[1::2]},
            id="a worker heard twice counts once",
        ),
        pytest.param(
            [f"w{i}" for i in range(10)],
            {**{f"w{i}": (SHARDS[i],) for i in range(8)}, "w8": (), "w9": ()},
            id="workers beyond the shard count own nothing and stand by",
        ),
    ],
)
def test_assign(workers: list[str], expected: dict[str, tuple[str, ...]]) -> None:
    assert membership.assign(SHARDS, workers) == expected


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_roster_always_holds_this_worker_and_the_others_heard_from_lately() -> None:
    clock = Clock()
    roster = membership.Roster("me", heartbeat=2.0, clock=clock)
    assert roster.workers() == ("me",)

    roster.heard("other")
    roster.heard("zed")
    assert roster.workers() == ("me", "other", "zed")

    clock.now += 6.0  # three heartbeats: still alive
    assert roster.workers() == ("me", "other", "zed")
    roster.heard("zed")
    clock.now += 0.5  # "other" silent for more than three heartbeats
    assert roster.workers() == ("me", "zed")


def test_a_worker_that_says_it_leaves_is_forgotten_at_once() -> None:
    roster = membership.Roster("me", heartbeat=2.0, clock=Clock())
    roster.heard("other")
    roster.heard("other", leaving=True)
    roster.heard("never-seen", leaving=True)
    assert roster.workers() == ("me",)


def test_a_worker_id_names_the_service_and_differs_per_start() -> None:
    first, second = membership.new_worker_id("image-reconciler"), membership.new_worker_id("image-reconciler")
    assert first.startswith("image-reconciler/")
    assert len(first) == len("image-reconciler/") + 12
    assert first != second


def test_the_view_carries_each_worker_s_epoch_so_a_new_epoch_changes_it() -> None:
    roster = membership.Roster("me", heartbeat=2.0, clock=Clock())
    roster.heard("other")
    first = roster.view()
    assert first == (("me", 0), ("other", 0))

    roster.heard("other", epoch=1)  # it subscribed again after a loss
    assert roster.view() == (("me", 0), ("other", 1))
    assert roster.workers() == ("me", "other"), "the same workers"
    roster.epoch += 1
    assert roster.view() == (("me", 1), ("other", 1))
