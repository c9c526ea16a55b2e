"""The admin endpoint of a ``kiln run`` process: health and Prometheus metrics.

* ``GET /healthz`` — liveness: 200 while every background task of the process is alive and no
  readiness check registered with ``fatal_after`` has been failing for longer than that (a
  consumer that stays unsubscribed, a publisher without a channel); 503 with the failing checks
  otherwise (a crashed watch loop or a process that cannot recover needs a restart, not patience).
* ``GET /readyz`` — readiness: liveness plus every readiness check: the broker connection and
  publishing channel, and each consumer subscribed to every queue it should consume.
* ``GET /metrics`` — the process's metrics in the Prometheus text format: the events handled and
  published, the Kubernetes requests, the watch caches, health (``kiln_ready``), and the builds
  (:class:`Metrics`: scheduled by reason, finished by outcome, queue wait and run time, running,
  caches handed to restore, the storm lanes' backlog and the dead-letter queue).

Both health answers are JSON: ``{"status": "ok"|"failing", "checks": {name: "ok" | reason}}``;
``/healthz`` lists the liveness checks, and a readiness check only once it fails liveness.
How long a check has been failing is measured from the first answer that found it failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence

import prometheus_client
import prometheus_client.core
import prometheus_client.registry
from aiohttp import web
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

Check = Callable[[], str | None]
"""A health check: ``None`` when healthy, else the reason it is not."""

HANDLE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BUILD_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
"""Seconds: a build's queue wait or run time (whole seconds: Kubernetes times have no fraction)."""
OTHER_NAMESPACES = "other"
"""The ``namespace`` label of the namespaces past :attr:`MetricsSettings.namespace_label_limit`."""
Sampler = Callable[[], Awaitable[None]]
"""Reads what a metric shows from outside the process (a queue's depth) just before a scrape."""
ReadDepths = Callable[[Sequence[str]], Awaitable[Mapping[str, int]]]
"""The messages ready in each of some queues, one missing left out (:func:`services.broker.depths.ready_messages`)."""


class MetricsSettings(BaseSettings):
    """Settings of the build metrics (env prefix ``KILN_METRICS_``)."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_METRICS_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    namespace_label_limit: int = Field(default=0, ge=0)
    """How many namespaces get a ``namespace`` label value of their own on the build metrics; the
    rest share ``other``. 0 (the default): no namespace label value at all (``""``), so the series
    stay as few as the reasons and outcomes, however many namespaces build."""
    sample_seconds: float = Field(default=2.0, gt=0)
    """How long a scrape waits for the queue depths (storm backlog, dead letters) before it answers
    with the last ones read."""


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

    def __init__(self, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings()
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self._samplers: dict[str, Sampler] = {}
        self._labelled: set[str] = set()
        self._registered: set[str] = set()
        self._builds = _BuildMetrics(self.registry)
        self._depths: _QueueDepths | None = None
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

    def build_scheduled(self, reasons: str, *, namespace: str) -> None:
        """A Build created for ``reasons`` (``COMMIT,CONFIG``): each reason counted once
        (:class:`services.ports.BuildMetrics`)."""
        label = self._namespace(namespace)
        for reason in dict.fromkeys(r.strip() for r in reasons.split(",")):
            self._builds.scheduled.labels(reason or "NONE", label).inc()

    def build_finished(
        self,
        outcome: str,
        *,
        namespace: str,
        queue_seconds: float | None,
        run_seconds: float | None,
        cache: str,
        cache_restored: bool,
    ) -> None:
        """A Build's outcome written for the first time (:class:`services.ports.BuildMetrics`)."""
        self._builds.finished.labels(outcome, self._namespace(namespace)).inc()
        if queue_seconds is not None:
            self._builds.queue.observe(queue_seconds)
        if run_seconds is not None:
            self._builds.duration.labels(outcome).observe(run_seconds)
        if cache:
            self._builds.caches.labels(cache, "true" if cache_restored else "false").inc()

    def _namespace(self, namespace: str) -> str:
        """The ``namespace`` label value: bounded by :attr:`MetricsSettings.namespace_label_limit`."""
        limit = self.settings.namespace_label_limit
        if not limit:
            return ""
        if namespace in self._labelled or len(self._labelled) < limit:
            self._labelled.add(namespace)
            return namespace
        return OTHER_NAMESPACES

    def count_running_builds(self, running: Callable[[], int]) -> None:
        """Expose ``running()`` as ``kiln_builds_running``: build pods running now, as the
        build-runner's watch of them counts them (each build-runner counts all of them)."""
        if self._once("running"):
            self.registry.register(_Gauge("kiln_builds_running", "Build pods running now.", running))

    def count_backlog(self, lanes: Mapping[str, Sequence[str]], *, dead_queue: str, read: ReadDepths) -> None:
        """Expose the messages waiting in the storm ``lanes`` (lane → its queues) as
        ``kiln_storm_backlog_messages{lane}`` and in ``dead_queue`` as ``kiln_dead_letter_messages``,
        read with ``read`` before each scrape (a lane added again is ignored)."""
        if self._once("dead"):
            self._depths = _QueueDepths(read, dead_queue=dead_queue)
            self._samplers["queue depths"] = self._depths.sample
            self.registry.register(self._depths)
        assert self._depths is not None
        for lane, queues in lanes.items():
            self._depths.lanes.setdefault(lane, tuple(queues))

    def backlog_queues(self) -> dict[str, tuple[str, ...]]:
        """The queues whose depth ``/metrics`` shows: each storm lane's, and ``dead`` (the dead letters)."""
        if self._depths is None:
            return {}
        return {**self._depths.lanes, "dead": (self._depths.dead_queue,)}

    def expose_health(self, health: Health) -> None:
        """``kiln_ready`` (1 while ``/readyz`` answers ok) and ``kiln_health_check_ok{check}``."""
        if self._once("health"):
            self.registry.register(_HealthGauges(health))

    def _once(self, key: str) -> bool:
        if key in self._registered:
            return False
        self._registered.add(key)
        return True

    async def sample(self) -> None:
        """Run every sampler, bounded by ``sample_seconds`` in all; one failing is logged and its
        metric keeps the last value read."""
        if not self._samplers:
            return
        try:
            async with asyncio.timeout(self.settings.sample_seconds):
                results = await asyncio.gather(
                    *(sampler() for sampler in self._samplers.values()), return_exceptions=True
                )
        except TimeoutError:
            logger.warning("metrics: queue depths not read within %.1f s", self.settings.sample_seconds)
            return
        for key, result in zip(self._samplers, results, strict=True):
            if isinstance(result, Exception):
                logger.warning("metrics: %s not read: %r", key, result)

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)


class _BuildMetrics:
    """The build counters and histograms (:meth:`Metrics.build_scheduled`, :meth:`Metrics.build_finished`)."""

    def __init__(self, registry: prometheus_client.CollectorRegistry) -> None:
        self.scheduled = prometheus_client.Counter(
            "kiln_builds_scheduled",
            "Builds the image-reconciler created, by rebuild reason (COMMIT, CONFIG, TRIGGER, BUILDPACK, "
            "STACK, LIFECYCLE; a Build made for two reasons counts under each) and namespace "
            "(empty unless KILN_METRICS_NAMESPACE_LABEL_LIMIT).",
            ["reason", "namespace"],
            registry=registry,
        )
        self.finished = prometheus_client.Counter(
            "kiln_builds_finished",
            "Builds whose outcome was recorded, by outcome (succeeded, failed, canceled) and namespace.",
            ["outcome", "namespace"],
            registry=registry,
        )
        self.queue = prometheus_client.Histogram(
            "kiln_build_queue_seconds",
            "Time from a Build's creation to its pod starting.",
            buckets=BUILD_BUCKETS,
            registry=registry,
        )
        self.duration = prometheus_client.Histogram(
            "kiln_build_duration_seconds",
            "Time from a build pod starting to the build's end, by outcome.",
            ["outcome"],
            buckets=BUILD_BUCKETS,
            registry=registry,
        )
        self.caches = prometheus_client.Counter(
            "kiln_build_caches",
            "Finished builds with a cache, by cache (registry, volume) and whether restore was handed a "
            "previous build's cache (restored=true: its pinned cache image, or a volume a previous build "
            "ran on); no build step reports whether restore found layers in it.",
            ["cache", "restored"],
            registry=registry,
        )


@dataclasses.dataclass(eq=False)
class _Gauge(prometheus_client.registry.Collector):
    name: str
    documentation: str
    read: Callable[[], int]

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        yield prometheus_client.core.GaugeMetricFamily(self.name, self.documentation, value=self.read())


@dataclasses.dataclass(eq=False)
class _QueueDepths(prometheus_client.registry.Collector):
    """The storm lanes' backlog and the dead letters, as last read."""

    read: ReadDepths
    dead_queue: str
    lanes: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    depths: dict[str, int] = dataclasses.field(default_factory=dict)

    async def sample(self) -> None:
        queues = [self.dead_queue, *(queue for queues in self.lanes.values() for queue in queues)]
        self.depths = dict(await self.read(queues))

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        backlog = prometheus_client.core.GaugeMetricFamily(
            "kiln_storm_backlog_messages",
            "Messages waiting in a storm lane's queues (builder, stack or lifecycle rebuilds), by lane.",
            labels=["lane"],
        )
        for lane, queues in sorted(self.lanes.items()):
            backlog.add_metric([lane], sum(self.depths.get(queue, 0) for queue in queues))
        yield backlog
        yield prometheus_client.core.GaugeMetricFamily(
            "kiln_dead_letter_messages",
            "Messages in the dead-letter queue (what no retry can fix, with its reason).",
            value=self.depths.get(self.dead_queue, 0),
        )


@dataclasses.dataclass(eq=False)
class _HealthGauges(prometheus_client.registry.Collector):
    health: Health

    def collect(self) -> Iterator[prometheus_client.core.Metric]:
        checks = self.health.ready()
        ready = all(result == "ok" for result in checks.values())
        yield prometheus_client.core.GaugeMetricFamily(
            "kiln_ready", "1 while the process is ready (/readyz answers ok), else 0.", value=int(ready)
        )
        each = prometheus_client.core.GaugeMetricFamily(
            "kiln_health_check_ok", "1 while a readiness check passes, else 0, by check.", labels=["check"]
        )
        for name, result in sorted(checks.items()):
            each.add_metric([name], int(result == "ok"))
        yield each


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
        await metrics.sample()
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST}
        )

    metrics.expose_health(health)
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
