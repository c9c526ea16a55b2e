"""A ``kubernetes_asyncio`` ``ApiClient`` from a kubeconfig file or the in-cluster service account.

    async with client.connected(settings) as api:
        kube = resources.Kube(api, settings=settings)

The ``ApiClient`` owns an aiohttp session: close it (``connected`` does, or ``await api.close()``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections.abc import AsyncIterator

from kubernetes_asyncio import client, config

from services.kube import settings as kube_settings

logger = logging.getLogger(__name__)
_SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
_SERVICE_ACCOUNT_NAMESPACE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_NAMESPACE = "default"


def in_cluster(settings: kube_settings.KubeSettings) -> bool:
    """Whether to use the in-cluster config: as set, else when running in a pod without a kubeconfig."""
    if settings.in_cluster is not None:
        return settings.in_cluster
    return settings.kubeconfig is None and bool(os.environ.get(_SERVICE_HOST_ENV))


async def configuration(settings: kube_settings.KubeSettings) -> client.Configuration:
    """The client configuration the settings point at (server, credentials, TLS)."""
    configured = client.Configuration()
    if in_cluster(settings):
        config.load_incluster_config(client_configuration=configured)  # type: ignore[no-untyped-call]
        logger.info("Kubernetes: in-cluster config, server %s", configured.host)
        return configured
    config_file = str(settings.kubeconfig) if settings.kubeconfig is not None else None
    await config.load_kube_config(
        config_file=config_file, context=settings.context, client_configuration=configured
    )
    logger.info("Kubernetes: kubeconfig %s, server %s", config_file or "(default)", configured.host)
    return configured


def default_namespace(settings: kube_settings.KubeSettings) -> str:
    """The namespace kubectl would use without ``-n``: the kubeconfig context's (``settings.context``,
    else the current one), the pod's own namespace in a cluster, else ``default``."""
    if in_cluster(settings):
        try:
            return _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or DEFAULT_NAMESPACE
        except OSError:
            return DEFAULT_NAMESPACE
    config_file = str(settings.kubeconfig) if settings.kubeconfig is not None else None
    contexts, current = config.list_kube_config_contexts(config_file)
    chosen = (
        next((c for c in contexts if c.get("name") == settings.context), None)
        if settings.context
        else current
    )
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else DEFAULT_NAMESPACE


async def api_client(settings: kube_settings.KubeSettings) -> client.ApiClient:
    """A new ``ApiClient``; the caller closes it (``await api.close()``)."""
    return client.ApiClient(await configuration(settings))


@contextlib.asynccontextmanager
async def connected(settings: kube_settings.KubeSettings) -> AsyncIterator[client.ApiClient]:
    """An ``ApiClient`` for the block, closed on the way out."""
    api = await api_client(settings)
    try:
        yield api
    finally:
        await api.close()
