"""Handing a step's log lines to the emulator, as a kubelet's container runtime keeps them.

One request per batch: ``POST /_emulator/logs/namespaces/{namespace}/pods/{name}`` with the pod's
uid and the lines by container (:mod:`services.testbed.emulator.logs`), through the same
``kubernetes-asyncio`` client the kubelet writes pod statuses with. Logs are a courtesy: a write
that fails is logged and the build goes on (404 or 409: the pod is gone or made again, or the
server is no emulator).
"""

from __future__ import annotations

import logging

import aiohttp

from services import errors
from services.kube import resources, translating

logger = logging.getLogger(__name__)
PATH = "/_emulator/logs/namespaces/{namespace}/pods/{name}"


class LogWriter:
    """Appends lines to build pods' containers through ``kube``'s API client."""

    def __init__(self, kube: resources.Kube) -> None:
        self.kube = kube

    async def append(self, namespace: str, pod: str, *, uid: str, lines: dict[str, list[str]]) -> None:
        """Append ``lines`` (by container) to pod ``pod`` whose uid is ``uid``."""
        if not any(lines.values()):
            return
        settings = self.kube.settings
        try:
            response = await self.kube.api.call_api(
                PATH,
                "POST",
                path_params={"namespace": namespace, "name": pod},
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                body={"uid": uid, "containers": lines},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=aiohttp.ClientTimeout(
                    total=settings.request_timeout, sock_connect=settings.connect_timeout
                ),
            )
            await translating.read_json(response)
        except translating.CLIENT_ERRORS as e:
            self._failed(namespace, pod, translating.translate(e))
        except errors.KilnError as e:
            self._failed(namespace, pod, e)

    def _failed(self, namespace: str, pod: str, error: errors.KilnError) -> None:
        if isinstance(error, (errors.NotFoundError, errors.ConflictError)):
            logger.debug("simulated kubelet: no log of %s/%s kept: %s", namespace, pod, error)
            return
        logger.warning("simulated kubelet: log lines of %s/%s not written: %s", namespace, pod, error)
