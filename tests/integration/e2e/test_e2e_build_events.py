"""Kubernetes Events and build metrics after builds, as a user sees them: ``kubectl get
events.events.k8s.io`` on the Image and its Builds (scheduled, succeeded with the image digest,
failed naming the step, the cache digest pinned), and ``/metrics`` counting each build once — also
when its ``build.finished`` is delivered again."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aio_pika.abc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts import builds as build_models
from contracts import events
from services.broker import depths
from services.testbed.kubelet import failures
from tests.integration.e2e.user_commands import kubectl

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

EVENTS = "events.events.k8s.io"
COLUMNS = "TYPE:.type,REASON:.reason,OBJECT:.regarding.name,NOTE:.note,COUNT:.series.count"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def events_of(run: Run, name: str) -> list[dict[str, Any]]:
    """The Events regarding ``name`` in the test's namespace, oldest first."""
    found = [e for e in run.sb.emulator.objects(EVENTS, run.namespace) if e["regarding"]["name"] == name]
    return sorted(found, key=lambda e: e["eventTime"])


async def metrics(run: Run) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert run.sb.wiring.admin_url is not None
    async with httpx.AsyncClient(base_url=run.sb.wiring.admin_url) as http:
        return samples((await http.get("/metrics")).text)


def settled(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], event_type: str) -> float:
    key = ("kiln_events_handled_total", (("outcome", "ok"), ("service", "image-state"), ("type", event_type)))
    return found.get(key, 0)


async def test_events_and_metrics_tell_what_happened_to_each_build(run: Run, tmp_path: Path) -> None:
    def fail_build_two(pod: dict[str, Any]) -> failures.Failure | None:
        number = pod["metadata"]["labels"].get(build_models.BUILD_NUMBER_LABEL)
        return failures.Failure("export", message="registry refused the layer") if number == "2" else None

    run.sb.fail(fail_build_two)
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    assert first.succeeded()
    await run.sb.push_commit()
    _, second = await run.wait_finished(2)
    assert second.failed()
    await run.sb.wait_for(
        lambda: len(events_of(run, run.name)) == 3 and len(events_of(run, second.name)) == 1,
        seconds=10,
        what="the Events of both builds",
    )

    image_events = events_of(run, run.name)
    assert [(e["type"], e["reason"]) for e in image_events] == [
        ("Normal", "BuildScheduled"),
        ("Normal", "CacheDigestPinned"),
        ("Normal", "BuildScheduled"),
    ]
    old, new = first.spec.source.git, second.spec.source.git
    assert old is not None
    assert new is not None
    assert image_events[0]["note"].startswith("Scheduled build 1: ")
    assert image_events[2]["note"] == f"Scheduled build 2: COMMIT {old.revision[:7]} → {new.revision[:7]}"
    pinned = first.status.latest_cache_image or ""
    assert image_events[1]["note"] == f"Cache digest pinned: {pinned.rpartition('@')[2]} (build 1)"
    assert image_events[0]["related"]["name"] == first.name
    assert image_events[0]["reportingController"] == "kiln.dev/image-reconciler"
    [succeeded] = events_of(run, first.name)
    assert (succeeded["type"], succeeded["reason"]) == ("Normal", "BuildSucceeded")
    assert succeeded["note"] == f"Build succeeded: {first.status.latest_image}"
    assert succeeded["reportingController"] == "kiln.dev/image-state"
    [failed] = events_of(run, second.name)
    assert (failed["type"], failed["reason"]) == ("Warning", "BuildFailed")
    assert failed["note"].startswith("Build failed in step export: ")
    assert "registry refused the layer" in failed["note"]
    assert all("series" not in e for e in [*image_events, succeeded, failed])

    # what a user types: the Events of the Image and of a Build, through the API
    table = await kubectl(
        run,
        "get",
        EVENTS,
        "-n",
        run.namespace,
        "--field-selector",
        f"regarding.name={second.name}",
        "-o",
        f"custom-columns={COLUMNS}",
        cache=tmp_path,
    )
    assert "Warning   BuildFailed   " in table, table
    listed = json.loads(await kubectl(run, "get", EVENTS, "-n", run.namespace, "-o", "json", cache=tmp_path))
    assert len(listed["items"]) == 5

    found = await metrics(run)
    scheduled = {
        dict(labels)["reason"]: v for (n, labels), v in found.items() if n == "kiln_builds_scheduled_total"
    }
    assert scheduled["COMMIT"] == 1
    assert sum(scheduled.values()) == 2 + len(first.reason().split(",")) - 1
    assert found["kiln_builds_finished_total", (("namespace", ""), ("outcome", "succeeded"))] == 1
    assert found["kiln_builds_finished_total", (("namespace", ""), ("outcome", "failed"))] == 1
    assert found["kiln_build_queue_seconds_count", ()] == 2
    assert found["kiln_build_duration_seconds_count", (("outcome", "succeeded"),)] == 1
    assert found["kiln_build_duration_seconds_count", (("outcome", "failed"),)] == 1
    # build 1 had no cache to restore; build 2 was handed build 1's pinned cache image
    assert found["kiln_build_caches_total", (("cache", "registry"), ("restored", "false"))] == 1
    assert found["kiln_build_caches_total", (("cache", "registry"), ("restored", "true"))] == 1
    assert found["kiln_builds_running", ()] == 0
    assert found["kiln_storm_backlog_messages", (("lane", "build-runner-storm"),)] == 0
    assert found["kiln_storm_backlog_messages", (("lane", "image-reconciler-storm"),)] == 0
    assert found["kiln_dead_letter_messages", ()] == 0
    # … and those are the depths of queues that exist (a wrong name would read as an empty lane)
    shown = run.sb.wiring.metrics.backlog_queues()
    assert set(shown) == {"build-runner-storm", "image-reconciler-storm", "dead"}
    every = [queue for queues in shown.values() for queue in queues]
    assert isinstance(run.sb.wiring.connection, aio_pika.abc.AbstractConnection)
    assert set(await depths.ready_messages(run.sb.wiring.connection, every)) == set(every)
    assert found["kiln_ready", ()] == 1

    # build 1's build.finished delivered again (a redelivery, the bridge's resync): counted and told once
    before = settled(found, "kiln.build.finished")
    pod = run.sb.pod(first)
    assert pod is not None
    again = events.BuildFinished(
        namespace=run.namespace,
        image=run.name,
        build=first.name,
        outcome="Succeeded",
        pod=pod["metadata"]["name"],
    )
    await run.sb.wiring.publisher.publish_many(
        [events.new(again, source="/test", time=datetime.now(UTC), discriminator="again")]
    )
    for _ in range(200):
        found = await metrics(run)
        if settled(found, "kiln.build.finished") > before:
            break
        await asyncio.sleep(0.05)
    assert settled(found, "kiln.build.finished") > before
    assert found["kiln_builds_finished_total", (("namespace", ""), ("outcome", "succeeded"))] == 1
    assert len(events_of(run, first.name)) == 1
    assert "series" not in events_of(run, first.name)[0]


async def test_an_image_that_cannot_build_gets_one_warning(run: Run) -> None:
    image = run.image("registry-cache")
    image["spec"]["builder"] = {"kind": "ClusterBuilder", "name": "missing"}
    await run.sb.apply(image)
    await run.sb.wait_for(lambda: bool(events_of(run, run.name)), seconds=10, what="the Image's warning")
    await asyncio.sleep(1.0)  # the reconciles its own status write sets off say nothing more

    [warning] = events_of(run, run.name)
    assert (warning["type"], warning["reason"]) == ("Warning", "BuilderNotFound")
    assert "missing" in warning["note"]
    status = (run.sb.emulator.get("images", run.name, run.namespace) or {}).get("status") or {}
    [ready] = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
    assert ready["message"] == warning["note"]
    assert run.builds() == []
