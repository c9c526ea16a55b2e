"""Run one or several Kiln services in this process, against a broker, a cluster and a registry.

``kiln run image-reconciler`` is one production worker; ``kiln run all`` (and the sandbox) runs
them side by side. Each consuming service gets its own consumer (and so its own shards) on one
connection; the bridge watches the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes_asyncio import client
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bridge import service as bridge_service
from services.broker import connecting, consuming, publishing, topology
from services.broker import settings as broker_settings
from services.build_runner import service as build_runner_service
from services.image_reconciler import service as reconciler_service
from services.image_state import service as image_state_service
from services.kube import client as kube_client
from services.kube import cluster as kube_cluster
from services.kube import resources as kube_resources
from services.kube import settings as kube_settings
from services.registry import client as registry_client

logger = logging.getLogger(__name__)
CONSUMERS = {service.name: service for service in topology.SERVICES}
SERVICE_NAMES = ("bridge", *CONSUMERS)


class RunSettings(BaseSettings):
    """Settings of ``kiln run`` (env prefix ``KILN_``)."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    resync_seconds: float = Field(default=300.0, gt=0)
    """How often the bridge announces every Image again."""
    enable_priority_classes: bool = False
    """Write kpack's build priority classes on Builds."""
    insecure_registries: tuple[str, ...] = ()
    """Registry hosts reached over plain http (loopback hosts always are)."""


@dataclass
class Wiring:
    """The adapters the services share in one process."""

    api: client.ApiClient
    kube: kube_resources.Kube
    cluster: kube_cluster.KubeCluster
    publisher: publishing.Publisher
    registry: registry_client.RegistryClient
    connection: object


@contextlib.asynccontextmanager
async def running(
    names: Sequence[str],
    *,
    settings: RunSettings,
    broker: broker_settings.BrokerSettings,
    kube: kube_settings.KubeSettings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[Wiring]:
    """Start ``names`` (``all`` for every service); they run until the context exits."""
    chosen = list(SERVICE_NAMES) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in SERVICE_NAMES]
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}: expected some of {list(SERVICE_NAMES)} or all")
    connection = await connecting.connect(broker, service="+".join(chosen))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(connection.close)
        channel = await connection.channel()
        await topology.declare(channel, settings=broker)
        await channel.close()
        publisher = await publishing.Publisher.open(connection, settings=broker)
        stack.push_async_callback(publisher.close)
        api = await kube_client.api_client(kube)
        stack.push_async_callback(api.close)
        typed = kube_resources.Kube(api, settings=kube)
        registry = registry_client.RegistryClient(insecure_hosts=settings.insecure_registries)
        stack.push_async_callback(registry.aclose)
        wiring = Wiring(
            api=api,
            kube=typed,
            cluster=kube_cluster.KubeCluster(typed),
            publisher=publisher,
            registry=registry,
            connection=connection,
        )
        for name in chosen:
            if name == "bridge":
                bridge = bridge_service.Bridge(
                    typed, publisher, clock=clock, resync_seconds=settings.resync_seconds
                )
                await stack.enter_async_context(_background(bridge.run(), name=name))
                continue
            handler = _handler(name, wiring=wiring, settings=settings, clock=clock)
            await stack.enter_async_context(
                consuming.consuming(connection, settings=broker, service=CONSUMERS[name], handler=handler)
            )
        logger.info("running %s", ", ".join(chosen))
        yield wiring


def _handler(
    name: str, *, wiring: Wiring, settings: RunSettings, clock: Callable[[], datetime]
) -> consuming.Handler:
    if name == "image-reconciler":
        return reconciler_service.ImageReconciler(
            wiring.cluster,
            wiring.publisher,
            clock=clock,
            enable_priority_classes=settings.enable_priority_classes,
        ).handle
    if name == "build-runner":
        return build_runner_service.BuildRunner(
            wiring.cluster, wiring.publisher, wiring.registry, clock=clock
        ).handle
    return image_state_service.ImageState(
        wiring.cluster, wiring.publisher, wiring.registry, clock=clock
    ).handle


@contextlib.asynccontextmanager
async def _background(coroutine: object, *, name: str) -> AsyncIterator[None]:
    task: asyncio.Task[None] = asyncio.create_task(coroutine, name=name)  # type: ignore[arg-type]
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
