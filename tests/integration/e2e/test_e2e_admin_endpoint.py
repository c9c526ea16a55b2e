"""The admin endpoint of a running Kiln: health, readiness and Prometheus metrics after a build."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition: (name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_health_readiness_and_metrics_answer_for_every_service(run: Run) -> None:
    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_finished(1)
    assert build.succeeded()
    url = run.sb.wiring.admin_url
    assert url is not None

    async with httpx.AsyncClient(base_url=url) as http:
        # image-state writes the Build's outcome, then acknowledges the delivery and counts it: the
        # Build can read as finished a moment before its build.finished is counted as settled.
        for _ in range(200):
            if await _settled(http, service="image-state", event_type="kiln.build.finished"):
                break
            await asyncio.sleep(0.05)
        live, ready, metrics = [await http.get(path) for path in ("/healthz", "/readyz", "/metrics")]

    assert (live.status_code, live.json()) == (
        200,
        {"status": "ok", "checks": {"bridge": "ok", "build-slots": "ok"}},
    )
    assert (ready.status_code, ready.json()) == (
        200,
        {
            "status": "ok",
            "checks": {
                "bridge": "ok",
                "bridge-watches": "ok",
                "broker": "ok",
                "watch-caches": "ok",
                "image-reconciler": "ok",
                "image-reconciler-storm": "ok",
                "build-runner": "ok",
                "build-runner-storm": "ok",
                "build-slots": "ok",
                "image-state": "ok",
                "builder": "ok",
            },
        },
    )
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    found = samples(metrics.text)
    handled = {
        (dict(labels)["service"], dict(labels)["type"], dict(labels)["outcome"]): value
        for (name, labels), value in found.items()
        if name == "kiln_events_handled_total"
    }
    assert handled[("build-runner", "kiln.build.scheduled", "ok")] >= 1
    assert handled[("image-state", "kiln.build.finished", "ok")] >= 1
    assert handled[("image-reconciler", "kiln.image.changed", "ok")] >= 1
    assert all(outcome == "ok" for (_, _, outcome) in handled), handled
    published = {
        dict(labels)["type"]: v for (n, labels), v in found.items() if n == "kiln_events_published_total"
    }
    assert published["kiln.build.scheduled"] >= 1
    assert published["kiln.cache.digest.updated"] >= 1
    requests = {
        labels: value for (name, labels), value in found.items() if name == "kiln_kube_requests_total"
    }
    assert sum(requests.values()) > 10
    assert requests[(("kind", "Build"), ("verb", "create"))] >= 1
    # the reconciler read its Image, resolver and Builds from the watch caches
    assert found[("kiln_cache_reads_total", ())] >= 3
    assert {dict(labels)["kind"] for (n, labels) in found if n == "kiln_cache_objects"} == {
        "Image",
        "SourceResolver",
        "Build",
    }
    assert found[("kiln_cache_objects", (("kind", "Image"),))] >= 1
    assert found[("kiln_cache_bytes", ())] > 0
    count = found[
        ("kiln_event_handle_seconds_count", (("service", "image-state"), ("type", "kiln.build.finished")))
    ]
    assert count == handled[("image-state", "kiln.build.finished", "ok")]


async def _settled(http: httpx.AsyncClient, *, service: str, event_type: str) -> bool:
    """Whether ``/metrics`` counts at least one ``ok`` settlement of ``event_type`` by ``service``."""
    found = samples((await http.get("/metrics")).text)
    key = ("kiln_events_handled_total", (("outcome", "ok"), ("service", service), ("type", event_type)))
    return found.get(key, 0) >= 1
