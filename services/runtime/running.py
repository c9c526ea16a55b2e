"""Run one or several Kiln services in this process, against a broker, a cluster and a registry.

``kiln run image-reconciler`` is one production worker; ``kiln run all`` (and the sandbox) runs
them side by side. Each consuming service gets its own consumer (and so its own shards) on one
connection; the bridge watches the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika.abc
import pydantic
from kubernetes_asyncio import client
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import builds
from services import git, retrying
from services.admission import service as admission_service
from services.admission import settings as admission_settings
from services.bridge import service as bridge_service
from services.broker import connecting, consuming, depths, publishing, topology
from services.broker import settings as broker_settings
from services.build_runner import service as build_runner_service
from services.build_runner import slots as build_slots
from services.builder import service as builder_service
from services.image_reconciler import service as reconciler_service
from services.image_state import service as image_state_service
from services.kube import caching, recording, watching
from services.kube import client as kube_client
from services.kube import cluster as kube_cluster
from services.kube import resources as kube_resources
from services.kube import settings as kube_settings
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains
from services.runtime import admin, memory, status_page, status_views
from services.sources import polling
from services.sources import service as sources_service
from services.triggers import service as triggers_service
from services.triggers import settings as triggers_settings

logger = logging.getLogger(__name__)
CONSUMERS = topology.lanes()
SERVICE_NAMES = ("bridge", "triggers", "sources", "admission", *CONSUMERS)
ALL = tuple(name for name in SERVICE_NAMES if name != "admission")
"""What ``all`` starts: every service but the admission webhook, which is only started by its name
(it needs its TLS certificate, and the API server, not the bus, calls it)."""


class RunSettings(BaseSettings):
    """Settings of ``kiln run`` (env prefix ``KILN_``)."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    resync_seconds: float = Field(default=300.0, gt=0)
    """How often the bridge announces again what the services have not settled (Images whose
    status does not observe their generation or whose build runs, finished pods not recorded,
    running Builds without a pod)."""
    full_resync_every: int = Field(default=12, ge=1)
    """Every this many resyncs, the bridge announces every Image and re-reports every finished
    pod (at the default 300 s: hourly), for lost news no status shows."""
    builder_resync_seconds: float = Field(default=36_000.0, gt=0)
    """How often the bridge announces every ClusterStore, ClusterStack, ClusterLifecycle, Buildpack
    and ClusterBuildpack again, so that each is resolved from the registry once more even when no
    registry notification said an image moved (kpack's resync period, 10 h, by default)."""
    enable_priority_classes: bool = False
    """Write kpack's build priority classes on Builds."""
    builds_max_running: int = Field(default=0, ge=0)
    """Build pods running at once, all builds (0: no limit); a fifth of it is kept for users'
    builds (COMMIT, CONFIG, TRIGGER) when storm builds (BUILDPACK, STACK, LIFECYCLE) wait."""
    builds_max_running_per_namespace: int = Field(default=0, ge=0)
    """Build pods running at once in one namespace (0: no limit)."""
    storm_builds_max_running: int = Field(default=50, ge=0)
    """Storm build pods running at once (0: no limit): a builder or stack change under thousands
    of Images rebuilds them this many at a time, users' builds first."""
    build_admission_hold_seconds: float = Field(default=10.0, gt=0)
    """How long a build waiting for a free slot waits in the build-runner before it goes to its
    lane's wait queue (and comes back)."""
    insecure_registries: tuple[str, ...] = ()
    """Registry hosts reached over plain http (loopback hosts always are)."""
    registry_docker_config: Path | None = None
    """Kiln's own registry credentials: a docker ``config.json`` (a mounted
    ``kubernetes.io/dockerconfigjson`` Secret), read again when it changes. The builder and cache
    look-ups use them after the secrets of the Build's service account."""
    registry_keychain_seconds: float = Field(default=30.0, gt=0)
    """How long a service account's registry credentials are reused before its secrets are read again."""
    registry_max_retry_after: float = Field(default=retrying.DEFAULT_MAX_RETRY_AFTER, ge=0)
    """The longest a registry's ``Retry-After`` may make one retry wait, in seconds."""
    git_listing: bool = True
    """List a new or changed Image's git branch or tag from its remote (``git ls-remote``, with the
    Image's service account's ``kpack.io/git`` secrets), so its first Build builds a commit; and
    read the tree at an Image's ``subPath`` in each new commit (a depth-1 blob-less fetch), so a
    commit that changes nothing in that folder does not rebuild it. False: Kiln reads no git
    remote in the image-reconciler (webhooks name every commit, and every commit rebuilds)."""
    git_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long one ``git ls-remote`` may take before it counts as unreachable."""
    git_polling: bool = True
    """Poll the git remotes Images follow (``kiln run sources``), the fallback to webhooks."""
    git_poll_seconds: float = Field(default=60.0, gt=0)
    """How often each remote is listed (kpack's 1 minute), lengthened by up to 10 % at random."""
    git_poll_per_second: float = Field(default=20.0, gt=0)
    """At most this many ``git ls-remote`` started per second, however many remotes there are."""
    git_poll_concurrency: int = Field(default=8, ge=1)
    """At most this many ``git ls-remote`` at a time."""
    watch_caches: bool = True
    """Serve the services' reads of Images, SourceResolvers and Builds from list+watch caches in
    their process (``services.kube.caching``); False: read each from the API server."""
    cache_wait_seconds: float = Field(default=2.0, ge=0)
    """How long a reconcile waits for the caches to show the version its event names before it
    reads the API server instead."""
    watch_unhealthy_after_seconds: float = Field(default=60.0, gt=0)
    """How long one of the bridge's watches may stay down (refused, unreachable) before ``/healthz``
    fails (``/readyz`` fails at once), so that a bridge that cannot watch is restarted."""
    admin_host: str = "0.0.0.0"
    """Interface of the admin endpoint (``/healthz``, ``/readyz``, ``/metrics``)."""
    admin_port: int | None = Field(default=8081, ge=0, le=65535)
    """Port of the admin endpoint; 0 picks a free one, empty (``KILN_ADMIN_PORT=``) serves none."""
    status_page: bool | None = None
    """Serve the live status page on the admin endpoint (``/``, ``/status.json``, ``/status/events``,
    see ``services.runtime.status_page``). Unset: in a process that keeps watch caches of Images and
    Builds (image-reconciler, ``all``); True: in any process, which then also starts the caches of
    Images and Builds it lacks, for the page alone; False: nowhere."""

    @pydantic.field_validator("admin_port", mode="before")
    @classmethod
    def _empty_port_serves_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@dataclass
class Wiring:
    """The adapters the services share in one process."""

    api: client.ApiClient
    kube: kube_resources.Kube
    cluster: kube_cluster.KubeCluster
    publisher: publishing.Publisher
    registry: registry_client.RegistryClient
    keychains: registry_keychains.Keychains
    """Registry credentials per service account (with Kiln's own after them)."""
    connection: object
    health: admin.Health
    metrics: admin.Metrics
    admin_url: str | None = None
    """Where the admin endpoint answers, when it is served."""
    webhooks_url: str | None = None
    """Where the triggers service takes webhooks, when it runs."""
    admission_url: str | None = None
    """Where the admission webhook answers the API server, when it runs."""


@contextlib.asynccontextmanager
async def running(
    names: Sequence[str],
    *,
    settings: RunSettings,
    broker: broker_settings.BrokerSettings,
    kube: kube_settings.KubeSettings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    triggers: triggers_settings.TriggersSettings | None = None,
    admission: admission_settings.AdmissionSettings | None = None,
) -> AsyncIterator[Wiring]:
    """Start ``names`` (``all`` for every service but ``admission``); they run until the context exits.

    ``triggers`` defaults to ``TriggersSettings()`` (the ``KILN_TRIGGERS_*`` environment),
    ``admission`` to ``AdmissionSettings()`` (``KILN_ADMISSION_*``)."""
    chosen = list(dict.fromkeys(n for name in names for n in (ALL if name == "all" else (name,))))
    unknown = [n for n in chosen if n not in SERVICE_NAMES]
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}: expected some of {list(SERVICE_NAMES)} or all")
    admission = admission or admission_settings.AdmissionSettings()
    tls = admission_service.ssl_context(admission) if "admission" in chosen else None
    own_credentials = registry_keychains.DockerConfigFile(settings.registry_docker_config)
    connection = await connecting.connect(broker, service="+".join(chosen))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(connection.close)
        channel = await connection.channel()
        await topology.declare(channel, settings=broker)
        await channel.close()
        metrics, health = admin.Metrics(), admin.Health()
        publisher = await publishing.Publisher.open(connection, settings=broker)
        publisher.observe = metrics.published
        stack.push_async_callback(publisher.close)
        health.add("broker", publisher.health, liveness=False, fatal_after=broker.unhealthy_after_seconds)
        api = await kube_client.api_client(kube, agent="+".join(chosen))
        stack.push_async_callback(api.close)
        typed = kube_resources.Kube(api, settings=kube)
        cluster = kube_cluster.KubeCluster(typed)
        cached = caching.kinds_read(chosen)
        caches: caching.Caches | None = None
        if settings.watch_caches and cached:
            caches = await stack.enter_async_context(caching.caching(typed, cached))
            cluster = caching.CachedCluster(typed, caches, wait_seconds=settings.cache_wait_seconds)
            health.add(
                "watch-caches",
                caches.health,
                liveness=False,
                fatal_after=settings.watch_unhealthy_after_seconds,
            )
            metrics.count_cache(caches.objects, caches.memory_bytes, lambda: cluster.served)
        registry, keychains = _registry(settings, own=own_credentials, cluster=cluster)
        stack.push_async_callback(registry.aclose)
        metrics.count_api_requests(lambda: cluster.requests)
        wiring = Wiring(
            api=api,
            kube=typed,
            cluster=cluster,
            publisher=publisher,
            registry=registry,
            keychains=keychains,
            connection=connection,
            health=health,
            metrics=metrics,
        )
        for name in chosen:
            if name == "bridge":
                bridge = bridge_service.Bridge(
                    typed,
                    publisher,
                    clock=clock,
                    resync_seconds=settings.resync_seconds,
                    builder_resync_seconds=settings.builder_resync_seconds,
                    full_resync_every=settings.full_resync_every,
                )
                task = await stack.enter_async_context(_background(bridge.run(), name=name))
                health.add(name, functools.partial(_task_health, task), liveness=True)
                health.add(
                    "bridge-watches",
                    bridge.health,
                    liveness=False,
                    fatal_after=settings.watch_unhealthy_after_seconds,
                )
                continue
            if name == "sources":
                if not settings.git_polling:
                    continue
                poller = sources_service.SourcePoller(
                    cluster,
                    publisher,
                    functools.partial(_ls_remote, cluster, seconds=settings.git_timeout_seconds),
                    find_digest=functools.partial(_tag_digest, wiring.registry, wiring.keychains),
                    clock=clock,
                    period=settings.git_poll_seconds,
                    concurrency=settings.git_poll_concurrency,
                    per_second=settings.git_poll_per_second,
                )
                task = await stack.enter_async_context(_background(poller.run(), name=name))
                health.add(name, functools.partial(_task_health, task), liveness=True)
                continue
            if name == "triggers":
                hooks = triggers_service.Triggers(
                    cluster, publisher, settings=triggers or triggers_settings.TriggersSettings(), clock=clock
                )
                wiring.webhooks_url = await stack.enter_async_context(
                    admin.serving(
                        hooks.app(), host=hooks.settings.host, port=hooks.settings.port, what="webhooks"
                    )
                )
                continue
            if name == "admission":
                wiring.admission_url = await stack.enter_async_context(
                    _admission(api, settings=admission, kube=kube, tls=tls)
                )
                continue
            slots = None
            if name == "build-runner":
                slots = build_runner_service.Slots(_limits(settings))
                if slots.limits.limited():
                    watch = await stack.enter_async_context(
                        _background(_follow_build_pods(wiring.kube, slots), name="build-slots")
                    )
                    health.add("build-slots", functools.partial(_task_health, watch), liveness=True)
            handler = _handler(
                name, wiring=wiring, settings=settings, clock=clock, slots=slots, broker=broker
            )
            for lane in CONSUMERS[name]:
                consumer = await stack.enter_async_context(
                    consuming.consuming(
                        connection, settings=broker, service=lane, handler=handler, observe=metrics.settled
                    )
                )
                health.add(
                    lane.name, consumer.health, liveness=False, fatal_after=broker.unhealthy_after_seconds
                )
        if settings.admin_port is not None:
            app = admin.application(health, metrics)
            if status_views.enabled(
                settings.status_page, cached=caches.by_kind if caches is not None else ()
            ):
                page = await stack.enter_async_context(
                    status_page.serving(
                        typed, caches=caches, connection=connection, broker=broker, clock=clock
                    )
                )
                page.add_routes(app)
            memory.add_routes(app)
            wiring.admin_url = await stack.enter_async_context(
                admin.serving(
                    app,
                    host=settings.admin_host,
                    port=settings.admin_port,
                    what="admin endpoint",
                )
            )
        logger.info("running %s", ", ".join(chosen))
        yield wiring


def _admission(
    api: client.ApiClient,
    *,
    settings: admission_settings.AdmissionSettings,
    kube: kube_settings.KubeSettings,
    tls: ssl.SSLContext | None,
) -> contextlib.AbstractAsyncContextManager[str]:
    """The admission webhook server, over https with ``tls`` (checked before anything started)."""
    classes = admission_service.StorageClasses(api, settings=kube, ttl=settings.storage_class_seconds)
    webhook = admission_service.AdmissionWebhook(classes, settings=settings)
    return admin.serving(
        webhook.app(), host=settings.host, port=settings.port, what="admission webhook", ssl_context=tls
    )


def _handler(
    name: str,
    *,
    wiring: Wiring,
    settings: RunSettings,
    clock: Callable[[], datetime],
    slots: build_runner_service.Slots | None = None,
    broker: broker_settings.BrokerSettings | None = None,
) -> consuming.Handler:
    """The handler of consuming service ``name``, with its Event recorder and build metrics (and,
    for the services with a storm lane, that lane's backlog on ``/metrics``)."""
    recorder = recording.EventRecorder(
        wiring.cluster, controller=f"kiln.dev/{name}", instance=f"{name}-{socket.gethostname()}", clock=clock
    )
    _count_backlog(name, wiring=wiring, broker=broker)
    if name == "image-reconciler":
        ls_remote = functools.partial(_ls_remote, wiring.cluster, seconds=settings.git_timeout_seconds)
        return reconciler_service.ImageReconciler(
            wiring.cluster,
            wiring.publisher,
            recorder=recorder,
            metrics=wiring.metrics,
            clock=clock,
            enable_priority_classes=settings.enable_priority_classes,
            list_git=(
                functools.partial(reconciler_service.list_git_branch, ls_remote=ls_remote)
                if settings.git_listing
                else None
            ),
            read_tree=(
                functools.partial(
                    reconciler_service.read_git_tree,
                    tree_id=functools.partial(_tree_id, wiring.cluster, seconds=settings.git_timeout_seconds),
                )
                if settings.git_listing
                else None
            ),
            read_source_digest=functools.partial(
                reconciler_service.read_source_digest, registry=wiring.registry, keychains=wiring.keychains
            ),
        ).handle
    if name == "build-runner":
        slots = slots or build_runner_service.Slots(build_slots.Limits())
        if slots.limits.limited():  # only then does a watch of the build pods count them
            wiring.metrics.count_running_builds(lambda: slots.running("").total)
        return build_runner_service.BuildRunner(
            wiring.cluster,
            wiring.publisher,
            wiring.registry,
            keychains=wiring.keychains,
            clock=clock,
            slots=slots,
            account_ttl_seconds=settings.registry_keychain_seconds,
            recorder=recorder,
            metrics=wiring.metrics,
        ).handle
    if name == "builder":
        return builder_service.BuilderService(
            wiring.cluster, wiring.publisher, wiring.registry, keychains=wiring.keychains, clock=clock
        ).handle
    return image_state_service.ImageState(
        wiring.cluster,
        wiring.publisher,
        wiring.registry,
        keychains=wiring.keychains,
        clock=clock,
        recorder=recorder,
        metrics=wiring.metrics,
    ).handle


def _count_backlog(name: str, *, wiring: Wiring, broker: broker_settings.BrokerSettings | None) -> None:
    """The storm lanes of service ``name`` (their queues and wait queues) and the dead letters on
    ``/metrics``, read before each scrape."""
    if broker is None or not isinstance(wiring.connection, aio_pika.abc.AbstractConnection):
        return
    names = topology.Names(broker)
    lanes = {
        lane.name: (*names.queues(lane), *filter(None, [names.wait_queue(lane)]))
        for lane in CONSUMERS.get(name, ())
        if lane.name.endswith("-storm")
    }
    connection = wiring.connection
    wiring.metrics.count_backlog(
        lanes, dead_queue=names.dead_queue, read=functools.partial(depths.ready_messages, connection)
    )


def _limits(settings: RunSettings) -> build_slots.Limits:
    return build_slots.Limits(
        max_running=settings.builds_max_running,
        max_running_per_namespace=settings.builds_max_running_per_namespace,
        storm_max_running=settings.storm_builds_max_running,
        hold_seconds=settings.build_admission_hold_seconds,
    )


class _SlotsWatch(watching.WatchStatus):
    """The build pods' watch: once it streams, the slots count every running build pod."""

    def __init__(self, slots: build_runner_service.Slots) -> None:
        super().__init__("build pods")
        self.slots = slots

    def streaming(self) -> None:
        super().streaming()
        self.slots.ready.set()


async def _follow_build_pods(kube: kube_resources.Kube, slots: build_runner_service.Slots) -> None:
    """Feed ``slots`` every change of a build pod, until cancelled."""

    async def observe(event: watching.WatchEvent[dict[str, Any]]) -> None:
        await slots.observe(event.type, event.object)

    await watching.follow(
        kube.pods, handle=observe, label_selector=builds.BUILD_LABEL, status=_SlotsWatch(slots)
    )


async def _ls_remote(
    cluster: kube_cluster.KubeCluster, url: str, namespace: str, account: str, *, seconds: float
) -> dict[str, str]:
    """``git ls-remote`` of ``url`` with the git credentials of service account ``namespace/account``."""
    found = await git.account_credentials(cluster, namespace=namespace, service_account=account, url=url)
    return await git.ls_remote(url, credentials=found, timeout_seconds=seconds)


async def _tag_digest(
    registry: registry_client.RegistryClient, keychains: registry_keychains.Keychains, tag: polling.SourceTag
) -> str | None:
    """The digest a registry source tag is at, read as its Image's build pulls it."""
    account = registry_keychains.Account(tag.namespace, tag.service_account, tag.image_pull_secrets)
    return await keychains.using(
        account, lambda keychain: registry.find_digest(tag.reference, keychain=keychain)
    )


async def _tree_id(
    cluster: kube_cluster.KubeCluster,
    url: str,
    commit: str,
    sub_path: str,
    namespace: str,
    account: str,
    *,
    seconds: float,
) -> str | None:
    """The tree id at ``sub_path`` in ``commit`` of ``url``, read with the git credentials of
    service account ``namespace/account``."""
    found = await git.account_credentials(cluster, namespace=namespace, service_account=account, url=url)
    return await git.tree_id(url, commit, sub_path, credentials=found, timeout_seconds=seconds)


def _registry(
    settings: RunSettings, *, own: registry_keychains.DockerConfigFile, cluster: kube_cluster.KubeCluster
) -> tuple[registry_client.RegistryClient, registry_keychains.Keychains]:
    """The registry client (Kiln's own credentials by default) and the service accounts' keychains."""
    registry = registry_client.RegistryClient(
        own.keychain(),
        insecure_hosts=settings.insecure_registries,
        max_retry_after=settings.registry_max_retry_after,
    )
    keychains = registry_keychains.Keychains(cluster, own=own, ttl=settings.registry_keychain_seconds)
    return registry, keychains


def _task_health(task: asyncio.Task[None]) -> str | None:
    if not task.done():
        return None
    if task.cancelled():
        return f"{task.get_name()} was cancelled"
    error = task.exception()
    return f"{task.get_name()} stopped: {error!r}" if error else f"{task.get_name()} returned"


@contextlib.asynccontextmanager
async def _background(coroutine: object, *, name: str) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.create_task(coroutine, name=name)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
