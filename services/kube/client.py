"""A ``kubernetes_asyncio`` ``ApiClient`` from a kubeconfig file or the in-cluster service account.

    async with client.connected(settings) as api:
        kube = resources.Kube(api, settings=settings)

The ``ApiClient`` owns an aiohttp session: close it (``connected`` does, or ``await api.close()``).

That session does not trust the environment per request: ``kubernetes-asyncio`` opens it with
aiohttp's ``trust_env=True``, which looks the proxy variables and ``~/.netrc`` up again on an
executor thread for every request (a third of a busy service's CPU went to those threads). The
proxy is chosen once instead, when the client is built: the kubeconfig's ``proxy-url`` when it has
one, else ``HTTPS_PROXY`` / ``HTTP_PROXY`` for the server's scheme unless ``NO_PROXY`` exempts
the server (:func:`environment_proxy`, the rule aiohttp applied per request). ``~/.netrc`` is
not read: the kubeconfig or the service account carries the API server's credentials.

Every request says which Kiln services sent it, in its ``User-Agent`` (:func:`user_agent`:
``kiln/0.1.0 (image-reconciler)``), as Kubernetes' own components do: audit logs, API priority
and fairness rules and the RBAC test (one service per process, each with its own role) can tell
the services apart.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import pathlib
import urllib.parse
from collections.abc import AsyncIterator, Mapping

import aiohttp
from kubernetes_asyncio import client, config

from services.kube import settings as kube_settings

logger = logging.getLogger(__name__)
_SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
_SERVICE_ACCOUNT_NAMESPACE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_NAMESPACE = "default"
_READ_BUFFER_BYTES = 2**21
"""aiohttp's read buffer for API answers: a watch event carries a whole object, up to etcd's 1.5 MiB
request limit (the size ``kubernetes-asyncio`` gives its own session)."""
_PRODUCT = "kiln"


def user_agent(agent: str = "") -> str:
    """The ``User-Agent`` of Kiln's requests: ``kiln/<version>``, then the services (or command)
    that send them in parentheses when named (``kiln/0.1.0 (bridge+triggers)``)."""
    try:
        version = importlib.metadata.version(_PRODUCT)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"{_PRODUCT}/{version} ({agent})" if agent else f"{_PRODUCT}/{version}"


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


def environment_proxy(server: str, environment: Mapping[str, str]) -> str | None:
    """The proxy the environment names for the API server at URL ``server``, or None.

    ``<scheme>_proxy`` for the server's scheme (lower case wins over upper case), unless
    ``no_proxy`` exempts the server: ``*``, or an entry that is its host or a domain of it
    (``example.com`` and ``.example.com`` both cover ``api.example.com``), with or without its
    port."""
    named = sorted(environment.items(), key=lambda item: item[0].islower())  # lower case last: it wins
    variables = {name.lower(): value for name, value in named if value}
    url = urllib.parse.urlsplit(server)
    proxy = variables.get(f"{url.scheme}_proxy")
    if not proxy or not url.hostname:
        return None
    exempt = [entry.strip() for entry in variables.get("no_proxy", "").split(",") if entry.strip()]
    return None if any(_exempts(entry, url) for entry in exempt) else proxy


def _exempts(entry: str, url: urllib.parse.SplitResult) -> bool:
    if entry == "*":
        return True
    host, _, port = entry.lstrip(".").lower().partition(":")
    default_port = {"https": 443, "http": 80}.get(url.scheme)
    if port and port != str(url.port or default_port):
        return False
    server = (url.hostname or "").lower()
    return server == host or server.endswith(f".{host}")


def _without_per_request_lookups(api: client.ApiClient, *, proxy: str | None) -> None:
    """Swap the session ``kubernetes-asyncio`` opened with ``trust_env=True`` for one that keeps its
    connection pool but trusts nothing per request, and send through ``proxy`` when the
    configuration names none (see the module docstring)."""
    rest = api.rest_client
    trusting: aiohttp.ClientSession = rest.pool_manager
    connector = trusting.connector
    trusting.detach()
    rest.pool_manager = aiohttp.ClientSession(
        connector=connector, trust_env=False, read_bufsize=_READ_BUFFER_BYTES
    )
    if not rest.proxy and proxy:
        rest.proxy = proxy


async def api_client(settings: kube_settings.KubeSettings, *, agent: str = "") -> client.ApiClient:
    """A new ``ApiClient`` whose requests carry :func:`user_agent` of ``agent`` (the services or
    command using it); the caller closes it (``await api.close()``)."""
    configured = await configuration(settings)
    api = client.ApiClient(configured)
    api.user_agent = user_agent(agent)
    proxy = None if configured.proxy else environment_proxy(configured.host or "", os.environ)
    _without_per_request_lookups(api, proxy=proxy)
    chosen = urllib.parse.urlsplit(configured.proxy or proxy or "")
    if chosen.hostname:
        logger.info("Kubernetes: through the proxy %s:%s", chosen.hostname, chosen.port or "")
    return api


@contextlib.asynccontextmanager
async def connected(
    settings: kube_settings.KubeSettings, *, agent: str = ""
) -> AsyncIterator[client.ApiClient]:
    """An ``ApiClient`` for the block (requests sent as ``agent``), closed on the way out."""
    api = await api_client(settings, agent=agent)
    try:
        yield api
    finally:
        await api.close()
