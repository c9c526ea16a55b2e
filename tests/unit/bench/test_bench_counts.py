"""What ``kiln bench`` reads from a process's ``/metrics``: the exposition the admin endpoint serves."""

from __future__ import annotations

import pytest

from services.runtime import admin
from services.testbed.bench import processes


def exposition(requests: dict[tuple[str, str], int], settled: list[tuple[str, str, str]]) -> str:
    """What a Kiln process serves at ``/metrics`` after making ``requests`` and settling ``settled``."""
    metrics = admin.Metrics()
    metrics.count_api_requests(lambda: requests)
    for service, event_type, outcome in settled:
        metrics.settled(service, event_type, outcome, 0.01)
    metrics.published("kiln.build.scheduled")
    return metrics.exposition().decode()


def test_requests_and_settled_deliveries_are_read_by_verb_kind_and_by_service_type() -> None:
    counts = processes.parse(
        exposition(
            {("get", "Image"): 3, ("update_status", "Image"): 2},
            [
                ("image-reconciler", "kiln.source.changed", "ok"),
                ("image-reconciler", "kiln.source.changed", "retry"),
                ("image-reconciler", "kiln.image.changed", "ok"),
            ],
        )
    )

    assert counts.requests == {("get", "Image"): 3.0, ("update_status", "Image"): 2.0}
    assert counts.handled == {
        ("image-reconciler", "kiln.source.changed"): 2.0,
        ("image-reconciler", "kiln.image.changed"): 1.0,
    }
    assert counts.deliveries == 3.0


def test_a_process_that_counted_nothing_yet_reads_as_empty() -> None:
    assert processes.parse(exposition({}, [])) == processes.Counts()


@pytest.mark.parametrize(
    ("verb", "reads", "writes"),
    [
        pytest.param("get", 1, 0, id="a get reads"),
        pytest.param("list", 1, 0, id="a list reads"),
        pytest.param("create", 0, 1, id="a create writes"),
        pytest.param("update", 0, 1, id="an update writes"),
        pytest.param("update_status", 0, 1, id="a status update writes"),
        pytest.param("patch_status", 0, 1, id="a status patch writes"),
        pytest.param("delete", 0, 1, id="a delete writes"),
    ],
)
def test_each_verb_counts_as_a_read_or_a_write(verb: str, reads: int, writes: int) -> None:
    counts = processes.Counts(requests={(verb, "Build"): 1.0})

    assert (counts.reads, counts.writes) == (reads, writes)


def test_the_difference_of_two_readings_keeps_only_what_moved() -> None:
    earlier = processes.Counts({("get", "Image"): 5.0, ("list", "Build"): 1.0}, {("a", "x"): 2.0})
    later = processes.Counts(
        {("get", "Image"): 8.0, ("list", "Build"): 1.0, ("create", "Pod"): 1.0}, {("a", "x"): 2.0}
    )

    assert later - earlier == processes.Counts({("get", "Image"): 3.0, ("create", "Pod"): 1.0}, {})


def test_the_total_of_several_processes_adds_them_up() -> None:
    one = processes.Counts({("get", "Image"): 1.0}, {("image-reconciler", "x"): 2.0})
    two = processes.Counts({("get", "Image"): 2.0, ("create", "Pod"): 1.0}, {("build-runner", "y"): 1.0})

    total = processes.total([one, two])

    assert total.requests == {("get", "Image"): 3.0, ("create", "Pod"): 1.0}
    assert total.deliveries == 3.0
