"""The admin endpoint's health answers, served over HTTP on localhost."""

from __future__ import annotations

import httpx
import pytest

from services.runtime import admin


def crash() -> str | None:
    raise RuntimeError("no state")


@pytest.mark.parametrize(
    ("live", "ready", "path", "expected"),
    [
        pytest.param({}, {}, "/healthz", (200, {"status": "ok", "checks": {}}), id="no checks is healthy"),
        pytest.param(
            {"bridge": lambda: None},
            {"broker": lambda: "the broker connection is down; reconnecting"},
            "/healthz",
            (200, {"status": "ok", "checks": {"bridge": "ok"}}),
            id="a lost broker leaves the process alive",
        ),
        pytest.param(
            {"bridge": lambda: None},
            {"broker": lambda: "the broker connection is down; reconnecting"},
            "/readyz",
            (
                503,
                {
                    "status": "failing",
                    "checks": {"bridge": "ok", "broker": "the broker connection is down; reconnecting"},
                },
            ),
            id="a lost broker makes the process unready and says why",
        ),
        pytest.param(
            {"bridge": lambda: "bridge stopped: RuntimeError('watch')"},
            {},
            "/healthz",
            (503, {"status": "failing", "checks": {"bridge": "bridge stopped: RuntimeError('watch')"}}),
            id="a dead background task fails liveness",
        ),
        pytest.param(
            {},
            {"image-state": crash},
            "/readyz",
            (503, {"status": "failing", "checks": {"image-state": "check failed: RuntimeError('no state')"}}),
            id="a check that raises is a failing check",
        ),
    ],
)
async def test_health_answers(
    live: dict[str, admin.Check], ready: dict[str, admin.Check], path: str, expected: tuple[int, object]
) -> None:
    health = admin.Health()
    for name, check in live.items():
        health.add(name, check, liveness=True)
    for name, check in ready.items():
        health.add(name, check, liveness=False)

    app = admin.application(health, admin.Metrics())
    async with admin.serving(app, host="127.0.0.1", port=0, what="test") as url, httpx.AsyncClient() as http:
        response = await http.get(url + path)

    assert (response.status_code, response.json()) == expected


async def test_metrics_count_settled_events_and_published_ones() -> None:
    metrics = admin.Metrics()
    metrics.settled("image-state", "kiln.build.finished", "ok", 0.02)
    metrics.settled("image-state", "kiln.build.finished", "retry", 0.3)
    metrics.published("kiln.cache.digest.updated")
    metrics.count_api_requests(lambda: 37)

    text = metrics.exposition().decode()

    assert (
        'kiln_events_handled_total{outcome="ok",service="image-state",type="kiln.build.finished"} 1.0' in text
    )
    assert (
        'kiln_events_handled_total{outcome="retry",service="image-state",type="kiln.build.finished"} 1.0'
        in text
    )
    assert 'kiln_event_handle_seconds_count{service="image-state",type="kiln.build.finished"} 2.0' in text
    assert (
        'kiln_event_handle_seconds_bucket{le="0.025",service="image-state",type="kiln.build.finished"} 1.0'
        in text
    )
    assert 'kiln_events_published_total{type="kiln.cache.digest.updated"} 1.0' in text
    assert "kiln_kube_requests_total 37.0" in text
