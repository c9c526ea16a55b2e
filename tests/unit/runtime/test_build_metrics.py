"""The build metrics of ``/metrics``: builds scheduled by reason, finished by outcome, with their
queue wait and run time, the caches handed to restore, a namespace label kept bounded, and the
queue depths read before a scrape."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import parser

from services.runtime import admin


def samples(metrics: admin.Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families = parser.text_string_to_metric_families(metrics.exposition().decode())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def finished(metrics: admin.Metrics, outcome: str = "succeeded", namespace: str = "ns") -> None:
    metrics.build_finished(
        outcome,
        namespace=namespace,
        queue_seconds=4.0,
        run_seconds=66.0,
        cache="registry",
        cache_restored=True,
    )


def test_a_build_made_for_two_reasons_counts_under_each() -> None:
    metrics = admin.Metrics(admin.MetricsSettings())
    metrics.build_scheduled("COMMIT,CONFIG", namespace="ns")
    metrics.build_scheduled("COMMIT", namespace="ns")

    found = samples(metrics)
    assert found["kiln_builds_scheduled_total", (("namespace", ""), ("reason", "COMMIT"))] == 2
    assert found["kiln_builds_scheduled_total", (("namespace", ""), ("reason", "CONFIG"))] == 1


def test_a_finished_build_counts_its_outcome_times_and_cache() -> None:
    metrics = admin.Metrics(admin.MetricsSettings())
    finished(metrics)
    finished(metrics, "failed")

    found = samples(metrics)
    assert found["kiln_builds_finished_total", (("namespace", ""), ("outcome", "succeeded"))] == 1
    assert found["kiln_builds_finished_total", (("namespace", ""), ("outcome", "failed"))] == 1
    assert found["kiln_build_queue_seconds_count", ()] == 2
    assert found["kiln_build_queue_seconds_sum", ()] == 8.0
    assert found["kiln_build_duration_seconds_bucket", (("le", "60.0"), ("outcome", "succeeded"))] == 0
    assert found["kiln_build_duration_seconds_bucket", (("le", "120.0"), ("outcome", "succeeded"))] == 1
    assert found["kiln_build_caches_total", (("cache", "registry"), ("restored", "true"))] == 2


@pytest.mark.parametrize(
    ("limit", "labels"),
    [
        pytest.param(0, {""}, id="no namespace label unless asked for"),
        pytest.param(2, {"a", "b", "other"}, id="namespaces past the limit share other"),
        pytest.param(5, {"a", "b", "c", "d"}, id="within the limit each namespace is its own"),
    ],
)
def test_the_namespace_label_stays_bounded(limit: int, labels: set[str]) -> None:
    metrics = admin.Metrics(admin.MetricsSettings(namespace_label_limit=limit))
    for namespace in ("a", "b", "c", "d", "a"):
        finished(metrics, namespace=namespace)

    found = {dict(key)["namespace"] for name, key in samples(metrics) if name == "kiln_builds_finished_total"}
    assert found == labels


async def test_queue_depths_are_read_before_a_scrape() -> None:
    metrics = admin.Metrics(admin.MetricsSettings())
    asked: list[Sequence[str]] = []

    async def read(queues: Sequence[str]) -> dict[str, int]:
        asked.append(queues)
        return {"kiln.dead": 3, "kiln.build-runner-storm": 5, "kiln.build-runner-storm.wait": 2}

    metrics.count_backlog(
        {"build-runner-storm": ("kiln.build-runner-storm", "kiln.build-runner-storm.wait")},
        dead_queue="kiln.dead",
        read=read,
    )
    metrics.count_backlog(
        {"image-reconciler-storm": ("kiln.image-reconciler-storm.0",)}, dead_queue="kiln.dead", read=read
    )
    await metrics.sample()

    found = samples(metrics)
    assert found["kiln_storm_backlog_messages", (("lane", "build-runner-storm"),)] == 7
    assert found["kiln_storm_backlog_messages", (("lane", "image-reconciler-storm"),)] == 0
    assert found["kiln_dead_letter_messages", ()] == 3
    assert len(asked) == 1


async def test_a_depth_read_that_fails_keeps_the_last_values_and_the_scrape_answers() -> None:
    metrics = admin.Metrics(admin.MetricsSettings())
    answers: list[dict[str, int] | Exception] = [{"kiln.dead": 1}, ConnectionError("broker gone")]

    async def read(queues: Sequence[str]) -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    metrics.count_backlog({}, dead_queue="kiln.dead", read=read)
    await metrics.sample()
    await metrics.sample()

    assert samples(metrics)["kiln_dead_letter_messages", ()] == 1


def test_readiness_is_a_metric() -> None:
    metrics, health = admin.Metrics(admin.MetricsSettings()), admin.Health()
    health.add("broker", lambda: "connection closed", liveness=False)
    health.add("image-state", lambda: None, liveness=False)
    metrics.expose_health(health)

    found = samples(metrics)
    assert found["kiln_ready", ()] == 0
    assert found["kiln_health_check_ok", (("check", "broker"),)] == 0
    assert found["kiln_health_check_ok", (("check", "image-state"),)] == 1
