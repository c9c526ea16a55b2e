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
    metrics.count_api_requests(lambda: {("get", "Image"): 30, ("create", "Build"): 7})

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
    assert 'kiln_kube_requests_total{kind="Image",verb="get"} 30.0' in text
    assert 'kiln_kube_requests_total{kind="Build",verb="create"} 7.0' in text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_readiness_check_failing_past_its_bound_fails_liveness_until_it_passes_again() -> None:
    clock, state = Clock(), {"reason": None}
    health = admin.Health(clock=clock)
    health.add("bridge", lambda: None, liveness=True)
    health.add("image-state", lambda: state["reason"], liveness=False, fatal_after=60.0)
    assert (health.live(), health.ready()) == ({"bridge": "ok"}, {"bridge": "ok", "image-state": "ok"})

    state["reason"] = "image-state: not subscribed to ['kiln.image-state.0']"
    assert health.ready()["image-state"] == state["reason"], "unready at once"
    clock.now += 59.0
    assert health.live() == {"bridge": "ok"}, "alive within the bound"
    clock.now += 2.0
    assert health.live() == {
        "bridge": "ok",
        "image-state": "image-state: not subscribed to ['kiln.image-state.0'] (for 61 s)",
    }

    state["reason"] = None
    assert (health.live(), health.ready()) == ({"bridge": "ok"}, {"bridge": "ok", "image-state": "ok"})
    state["reason"] = "lost again"
    clock.now += 30.0
    assert health.live() == {"bridge": "ok"}, "the bound counts from the new failure"


def test_a_readiness_check_without_a_bound_never_fails_liveness() -> None:
    clock = Clock()
    health = admin.Health(clock=clock)
    health.add("broker", lambda: "the broker connection is down; reconnecting", liveness=False)
    health.ready()
    clock.now += 3600.0
    assert health.live() == {}


@pytest.mark.parametrize(
    ("reason", "since", "now", "after", "expected"),
    [
        pytest.param(None, 10.0, 100.0, 5.0, None, id="passing"),
        pytest.param("down", None, 100.0, 5.0, None, id="failing for the first time"),
        pytest.param("down", 96.0, 100.0, 5.0, None, id="within the bound"),
        pytest.param("down", 95.0, 100.0, 5.0, "down (for 5 s)", id="at the bound"),
        pytest.param("down", 0.0, 100.0, None, None, id="no bound"),
    ],
)
def test_fatal(
    reason: str | None, since: float | None, now: float, after: float | None, expected: str | None
) -> None:
    assert admin.fatal(reason, since=since, now=now, after=after) == expected
