"""The admin endpoint of a ``kiln run`` process: health and Prometheus metrics.

* ``GET /healthz`` — liveness: 200 while every background task of the process is alive and no
  readiness check registered with ``fatal_after`` has been failing for longer than that (a
  consumer that stays unsubscribed, a publisher without a channel); 503 with the failing checks
  otherwise (a crashed watch loop or a process that cannot recover needs a restart, not patience).
* ``GET /readyz`` — readiness: liveness plus every readiness check: the broker connection and
  publishing channel, and each consumer subscribed to every queue it should consume.
* ``GET /metrics`` — the process's metrics in the Prometheus text format.

Both health answers are JSON: ``{"status": "ok"|"failing", "checks": {name: "ok" | reason}}``;
``/healthz`` lists the liveness checks, and a readiness check only once it fails liveness.
How long a check has been failing is measured from the first answer that found it failing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import prometheus_client
import prometheus_client.core
import prometheus_client.registry
from aiohttp import web

logger = logging.getLogger(__name__)

Check = Callable[[], str | None]
"""A health check: ``None`` when healthy, else the reason it is not."""

HANDLE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def failing_since(reason: str | None, *, since: float | None, now: float) -> float | None:
    """When a check answering ``reason`` now started failing (``since`` is the last answer's)."""
    if reason is None:
        return None
    return now if since is None else since


def fatal(reason: str | None, *, since: float | None, now: float, after: float | None) -> str | None:
    """The liveness failure of a readiness check failing since ``since``, once past ``after``."""
    if reason is None or since is None or after is None or now - since < after:
        return None
    return f"{reason} (for {now - since:.0f} s)"


@dataclasses.dataclass(eq=False)
class _Entry:
    check: Check
    liveness: bool
    fatal_after: float | None
    since: float | None = None


@dataclasses.dataclass
class Health:
    """Named checks; liveness checks are part of readiness too."""

    clock: Callable[[], float] = time.monotonic
    _checks: dict[str, _Entry] = dataclasses.field(default_factory=dict)

    def add(self, name: str, check: Check, *, liveness: bool, fatal_after: float | None = None) -> None:
        """Register ``check``; ``liveness`` ones fail ``/healthz`` as well as ``/readyz``.

        A readiness check with ``fatal_after`` fails ``/healthz`` too once it has been failing for
        that many seconds on end."""
        self._checks[name] = _Entry(check, liveness=liveness, fatal_after=fatal_after)

    def live(self) -> dict[str, str]:
        results: dict[str, str] = {}
        now = self.clock()
        for name, (entry, reason) in self._run().items():
            if entry.liveness:
                results[name] = reason or "ok"
            else:
                found = fatal(reason, since=entry.since, now=now, after=entry.fatal_after)
                if found is not None:
                    results[name] = found
        return results

    def ready(self) -> dict[str, str]:
        return {name: reason or "ok" for name, (_, reason) in self._run().items()}

    def _run(self) -> dict[str, tuple[_Entry, str | None]]:
        results: dict[str, tuple[_Entry, str | None]] = {}
        now = self.clock()
        for name, entry in self._checks.items():
            try:
                reason = entry.check()
            except Exception as e:  # a check that raises is a failing check, not a failing endpoint
                reason = f"check failed: {e!r}"
            entry.since = failing_since(reason, since=entry.since, now=now)
            results[name] = (entry, reason)
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

    def count_api_requests(self, read: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        """Expose ``read()`` as ``kiln_kube_requests_total{verb, kind}``, the Kubernetes API calls
        made so far by verb and kind."""
        self.registry.register(_ApiRequests(read))

    def count_cache(
        self, objects: Callable[[], Mapping[str, int]], size: Callable[[], int], served: Callable[[], int]
    ) -> None:
        """Expose the watch caches: ``kiln_cache_objects{kind}``, ``kiln_cache_bytes`` (the JSON
        they hold) and ``kiln_cache_reads_total`` (reads answered without an API request)."""
        self.registry.register(_Caches(objects, size, served))

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)


@dataclasses.dataclass(eq=False)
class _ApiRequests(prometheus_client.registry.Collector):
    read: Callable[[], Mapping[tuple[str, str], int]]

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        family = prometheus_client.core.CounterMetricFamily(
            "kiln_kube_requests",
            "Kubernetes API requests made by the services (retries not counted), by verb and kind.",
            labels=["verb", "kind"],
        )
        for (verb, kind), count in sorted(self.read().items()):
            family.add_metric([verb, kind], count)
        yield family


@dataclasses.dataclass(eq=False)
class _Caches(prometheus_client.registry.Collector):
    objects: Callable[[], Mapping[str, int]]
    size: Callable[[], int]
    served: Callable[[], int]

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        held = prometheus_client.core.GaugeMetricFamily(
            "kiln_cache_objects", "Objects held by the watch caches, by kind.", labels=["kind"]
        )
        for kind, count in sorted(self.objects().items()):
            held.add_metric([kind], count)
        yield held
        yield prometheus_client.core.GaugeMetricFamily(
            "kiln_cache_bytes", "Bytes of JSON held by the watch caches.", value=self.size()
        )
        yield prometheus_client.core.CounterMetricFamily(
            "kiln_cache_reads",
            "Reads answered by the watch caches, without an API request.",
            value=self.served(),
        )


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
async def serving(
    app: web.Application, *, host: str, port: int, what: str, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (0: any free port) until exit, over https with ``ssl_context``;
    yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound = runner.addresses[0]
        scheme = "https" if ssl_context is not None else "http"
        url = f"{scheme}://{_url_host(bound[0])}:{bound[1]}"
        logger.info("%s listening on %s", what, url)
        yield url
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
