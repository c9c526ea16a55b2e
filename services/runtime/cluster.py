"""``KubeCluster``: :class:`services.ports.Cluster` over the real ``kubernetes-asyncio`` client.

Raw dicts from the API are validated into contracts here, once. ``ApiException`` and transport
errors are translated at this edge (404 → None on reads / NotFoundError on writes, 409 on
create → AlreadyExistsError, 409 on update → ConflictError, 422 → InvalidError, 429/5xx and
timeouts → TemporaryError), and temporary ones are retried with the settings' back-off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from contracts import builders, builds, images, meta, source_resolvers
from services import errors, retrying

logger = logging.getLogger(__name__)
T = TypeVar("T")
GROUP, VERSION = "kpack.io", "v1alpha2"
MERGE_PATCH = "application/merge-patch+json"


def translate(error: Exception, *, creating: bool = False) -> errors.KilnError:
    """The Kiln error for a client failure."""
    if isinstance(error, ApiException):
        status, text = error.status or 0, f"{error.status} {error.reason}: {_message(error)}"
        if status == 404:
            return errors.NotFoundError(text)
        if status == 409:
            return errors.AlreadyExistsError(text) if creating else errors.ConflictError(text)
        if status in (400, 422):
            return errors.InvalidError(text)
        if status == 429 or status >= 500:
            return errors.TemporaryError(text)
        return errors.PermanentError(text)
    return errors.TemporaryError(f"{type(error).__name__}: {error}")


def _message(error: ApiException) -> str:
    body = getattr(error, "body", "") or ""
    return body.decode() if isinstance(body, bytes) else str(body)


class KubeCluster:
    """The Kubernetes objects Kiln reads and writes, typed."""

    def __init__(self, api: client.ApiClient, *, backoff: Sequence[float] = retrying.DEFAULT_BACKOFF) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.backoff = tuple(backoff)
        self.requests = 0
        """API requests sent (retries included): the requests-per-build figure."""

    async def _call(self, operation: Callable[[], Awaitable[T]], *, creating: bool = False) -> T:
        async for attempt in retrying.retrying(self.backoff, conflicts=False):
            with attempt:
                self.requests += 1
                try:
                    return await operation()
                except (TimeoutError, ApiException, aiohttp.ClientError) as e:
                    raise translate(e, creating=creating) from e
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_or_none(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await self._call(operation)
        except errors.NotFoundError:
            return None

    # kpack custom objects ---------------------------------------------------------------------

    async def _get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        if namespace:
            return await self._get_or_none(
                lambda: self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
            )
        return await self._get_or_none(
            lambda: self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        )

    async def _list_custom(
        self, plural: str, namespace: str | None, selector: str = ""
    ) -> list[dict[str, Any]]:
        if namespace:
            listed = await self._call(
                lambda: self.custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, label_selector=selector
                )
            )
        else:
            listed = await self._call(
                lambda: self.custom.list_cluster_custom_object(
                    GROUP, VERSION, plural, label_selector=selector
                )
            )
        items: list[dict[str, Any]] = listed.get("items", [])
        return items

    async def _create_custom(self, plural: str, obj: meta.KubeObject) -> dict[str, Any]:
        body = obj.dump()
        created: dict[str, Any] = await self._call(
            lambda: self.custom.create_namespaced_custom_object(GROUP, VERSION, obj.namespace, plural, body),
            creating=True,
        )
        return created

    async def _replace_custom(self, plural: str, obj: meta.KubeObject, *, status: bool) -> dict[str, Any]:
        body = obj.dump()
        api = self.custom
        method = (
            api.replace_namespaced_custom_object_status if status else api.replace_namespaced_custom_object
        )
        replaced: dict[str, Any] = await self._call(
            lambda: method(GROUP, VERSION, obj.namespace, plural, obj.name, body)
        )
        return replaced

    async def get_image(self, namespace: str, name: str) -> images.Image | None:
        found = await self._get_custom("images", namespace, name)
        return images.Image.model_validate(found) if found is not None else None

    async def list_images(self, namespace: str | None = None) -> list[images.Image]:
        return [images.Image.model_validate(i) for i in await self._list_custom("images", namespace)]

    async def replace_image_status(self, image: images.Image) -> images.Image:
        return images.Image.model_validate(await self._replace_custom("images", image, status=True))

    async def get_builder(self, kind: str, namespace: str, name: str) -> builders.Builder | None:
        if kind == builders.CLUSTER_BUILDER:
            found = await self._get_custom("clusterbuilders", "", name)
        else:
            found = await self._get_custom("builders", namespace, name)
        return builders.Builder.model_validate(found) if found is not None else None

    async def get_source_resolver(self, namespace: str, name: str) -> source_resolvers.SourceResolver | None:
        found = await self._get_custom("sourceresolvers", namespace, name)
        return source_resolvers.SourceResolver.model_validate(found) if found is not None else None

    async def create_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        created = await self._create_custom("sourceresolvers", resolver)
        return source_resolvers.SourceResolver.model_validate(created)

    async def replace_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        replaced = await self._replace_custom("sourceresolvers", resolver, status=False)
        return source_resolvers.SourceResolver.model_validate(replaced)

    async def replace_source_resolver_status(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        replaced = await self._replace_custom("sourceresolvers", resolver, status=True)
        return source_resolvers.SourceResolver.model_validate(replaced)

    async def get_build(self, namespace: str, name: str) -> builds.Build | None:
        found = await self._get_custom("builds", namespace, name)
        return builds.Build.model_validate(found) if found is not None else None

    async def list_builds(self, namespace: str, *, image: str) -> list[builds.Build]:
        listed = await self._list_custom("builds", namespace, f"{builds.IMAGE_LABEL}={image}")
        return [builds.Build.model_validate(b) for b in listed]

    async def create_build(self, build: builds.Build) -> builds.Build:
        return builds.Build.model_validate(await self._create_custom("builds", build))

    async def replace_build_status(self, build: builds.Build) -> builds.Build:
        return builds.Build.model_validate(await self._replace_custom("builds", build, status=True))

    async def delete_build(self, namespace: str, name: str) -> None:
        try:
            await self._call(
                lambda: self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "builds", name)
            )
        except errors.NotFoundError:
            logger.debug("build %s/%s already deleted", namespace, name)

    # core objects -----------------------------------------------------------------------------

    async def get_pvc(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_raw(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}")

    async def create_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]:
        namespace = pvc["metadata"]["namespace"]
        return await self._send("POST", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims", pvc)

    async def replace_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]:
        md = pvc["metadata"]
        path = f"/api/v1/namespaces/{md['namespace']}/persistentvolumeclaims/{md['name']}"
        return await self._send("PUT", path, pvc)

    async def delete_pvc(self, namespace: str, name: str, *, uid: str | None) -> None:
        body = {"preconditions": {"uid": uid}} if uid else None
        try:
            await self._send("DELETE", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}", body)
        except errors.NotFoundError:
            logger.debug("pvc %s/%s already deleted", namespace, name)

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_raw(f"/api/v1/namespaces/{namespace}/pods/{name}")

    async def list_pods(self, namespace: str | None, *, selector: str) -> list[dict[str, Any]]:
        path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        listed = await self._send("GET", path, None, query=[("labelSelector", selector)])
        items: list[dict[str, Any]] = listed.get("items", [])
        return items

    async def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        namespace = pod["metadata"]["namespace"]
        return await self._send("POST", f"/api/v1/namespaces/{namespace}/pods", pod, creating=True)

    async def replace_pod_status(self, pod: dict[str, Any]) -> dict[str, Any]:
        md = pod["metadata"]
        return await self._send("PUT", f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}/status", pod)

    async def _get_raw(self, path: str) -> dict[str, Any] | None:
        try:
            return await self._send("GET", path, None)
        except errors.NotFoundError:
            return None

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        creating: bool = False,
        query: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Core objects stay plain dicts (pods, PVCs): no round trip through the generated models."""

        async def send() -> dict[str, Any]:
            response = await self.api.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
            )
            raw = await response.read()
            if not 200 <= response.status <= 299:
                failure = ApiException(status=response.status, reason=response.reason or "")
                failure.body = raw
                raise failure
            data = json.loads(raw)
            return data if isinstance(data, dict) else {}

        return await self._call(send, creating=creating or method == "POST")
