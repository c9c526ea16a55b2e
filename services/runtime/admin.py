"""The admin endpoint of a ``kiln run`` process: health and Prometheus metrics.

* ``GET /healthz`` — liveness: 200 while every background task of the process is alive; 503 with
  the failing checks otherwise (a crashed watch loop needs a restart, not patience).
* ``GET /readyz`` — readiness: liveness plus the broker connection and every consumer channel
  being open; a broker outage makes the pod unready while the robust connection reconnects.
* ``GET /metrics`` — the process's metrics in the Prometheus text format.

Both health answers are JSON: ``{"status": "ok"|"failing", "checks": {name: "ok" | reason}}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import prometheus_client
import prometheus_client.core
import prometheus_client.registry
from aiohttp import web

logger = logging.getLogger(__name__)

Check = Callable[[], str | None]
"""A health check: ``None`` when healthy, else the reason it is not."""

HANDLE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclasses.dataclass
class Health:
    """Named checks; liveness checks are part of readiness too."""

    _live: dict[str, Check] = dataclasses.field(default_factory=dict)
    _ready: dict[str, Check] = dataclasses.field(default_factory=dict)

    def add(self, name: str, check: Check, *, liveness: bool) -> None:
        """Register ``check``; ``liveness`` ones fail ``/healthz`` as well as ``/readyz``."""
        (self._live if liveness else self._ready)[name] = check

    def live(self) -> dict[str, str]:
        return _run(self._live)

    def ready(self) -> dict[str, str]:
        return _run({**self._live, **self._ready})


def _run(checks: dict[str, Check]) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check() or "ok"
        except Exception as e:  # a check that raises is a failing check, not a failing endpoint
            results[name] = f"check failed: {e!r}"
    return results


class Metrics:
    """The metrics of one process, in a registry of its own (several runs may share a process)."""

    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self._handled = prometheus_client.Counter(
            "kiln_events_handled",
            "Events a consumer settled, by service, event type and outcome "
            "(ok, retry, dead-letter, requeue, invalid).",
            ["service", "type", "outcome"],
            registry=self.registry,
        )
        self._handle_seconds = prometheus_client.Histogram(
            "kiln_event_handle_seconds",
            "Time from a delivery to its settlement (handler, in-process retries, ack).",
            ["service", "type"],
            buckets=HANDLE_BUCKETS,
            registry=self.registry,
        )
        self._published = prometheus_client.Counter(
            "kiln_events_published",
            "Events published and confirmed by the broker, by event type.",
            ["type"],
            registry=self.registry,
        )

    def settled(self, service: str, event_type: str, outcome: str, seconds: float) -> None:
        """A consumer settled a delivery (see :class:`services.broker.consuming.Consumer`)."""
        self._handled.labels(service, event_type, outcome).inc()
        self._handle_seconds.labels(service, event_type).observe(seconds)

    def published(self, event_type: str) -> None:
        """The broker confirmed one publish."""
        self._published.labels(event_type).inc()

    def count_api_requests(self, read: Callable[[], int]) -> None:
        """Expose ``read()`` as ``kiln_kube_requests_total``, the Kubernetes API calls made so far."""
        self.registry.register(_ApiRequests(read))

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)


@dataclasses.dataclass(eq=False)
class _ApiRequests(prometheus_client.registry.Collector):
    read: Callable[[], int]

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        family = prometheus_client.core.CounterMetricFamily(
            "kiln_kube_requests", "Kubernetes API requests made by the services (retries not counted)."
        )
        family.add_metric([], self.read())
        yield family


def application(health: Health, metrics: Metrics) -> web.Application:
    """The admin routes over ``health`` and ``metrics``."""

    def answer(results: dict[str, str]) -> web.Response:
        healthy = all(result == "ok" for result in results.values())
        return web.json_response(
            {"status": "ok" if healthy else "failing", "checks": results}, status=200 if healthy else 503
        )

    async def healthz(_: web.Request) -> web.Response:
        return answer(health.live())

    async def readyz(_: web.Request) -> web.Response:
        return answer(health.ready())

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application, *, host: str, port: int, what: str) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (0: any free port) until exit; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        url = f"http://{_url_host(bound[0])}:{bound[1]}"
        logger.info("%s listening on %s", what, url)
        yield url
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
