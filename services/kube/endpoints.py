"""Raw calls per kind: the generated ``CustomObjectsApi`` / ``CoreV1Api`` methods, one seam.

Every call asks for the raw response (``_preload_content=False``), so bodies stay plain JSON
dicts (no round trip through the generated models) and every status code is handled in one
place, :func:`services.kube.translating.read_json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio import client

MERGE_PATCH = "application/merge-patch+json"
"""Content type of a JSON merge patch (RFC 7386); the client's default would be a JSON patch."""

Response = Awaitable[aiohttp.ClientResponse]


class Endpoint(Protocol):
    """The requests one kind answers; ``namespace`` is ignored for cluster-scoped kinds."""

    @property
    def namespaced(self) -> bool: ...

    def read(self, namespace: str, name: str, **options: Any) -> Response: ...

    def list(self, namespace: str | None, **options: Any) -> Response: ...

    def create(self, namespace: str, body: dict[str, Any], **options: Any) -> Response: ...

    def replace(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response: ...

    def replace_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response: ...

    def patch(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response: ...

    def patch_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response: ...

    def delete(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response: ...


@dataclasses.dataclass(frozen=True)
class CustomEndpoint:
    """A custom resource (``kpack.io/v1alpha2`` images, builds…) through ``CustomObjectsApi``."""

    api: client.CustomObjectsApi
    group: str
    version: str
    plural: str
    namespaced: bool = True

    def _at(self, namespace: str | None) -> tuple[str, ...]:
        if self.namespaced and namespace:
            return (self.group, self.version, namespace, self.plural)
        return (self.group, self.version, self.plural)

    def _method(self, verb: str, namespace: str | None, suffix: str = "") -> Any:
        scope = "namespaced" if self.namespaced and namespace else "cluster"
        return getattr(self.api, f"{verb}_{scope}_custom_object{suffix}")

    def read(self, namespace: str, name: str, **options: Any) -> Response:
        return self._method("get", namespace)(*self._at(namespace), name, **options)  # type: ignore[no-any-return]

    def list(self, namespace: str | None, **options: Any) -> Response:
        return self._method("list", namespace)(*self._at(namespace), **options)  # type: ignore[no-any-return]

    def create(self, namespace: str, body: dict[str, Any], **options: Any) -> Response:
        return self._method("create", namespace)(*self._at(namespace), body, **options)  # type: ignore[no-any-return]

    def replace(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("replace", namespace)
        return method(*self._at(namespace), name, body, **options)  # type: ignore[no-any-return]

    def replace_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("replace", namespace, "_status")
        return method(*self._at(namespace), name, body, **options)  # type: ignore[no-any-return]

    def patch(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("patch", namespace)
        return method(*self._at(namespace), name, body, _content_type=MERGE_PATCH, **options)  # type: ignore[no-any-return]

    def patch_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("patch", namespace, "_status")
        return method(*self._at(namespace), name, body, _content_type=MERGE_PATCH, **options)  # type: ignore[no-any-return]

    def delete(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("delete", namespace)
        return method(*self._at(namespace), name, body=body, **options)  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True)
class CoreEndpoint:
    """A namespaced core v1 kind (pods, PVCs) through ``CoreV1Api``; ``singular`` in snake case."""

    api: client.CoreV1Api
    singular: str
    namespaced: bool = True

    def _method(self, name: str) -> Any:
        return getattr(self.api, name.format(self.singular))

    def read(self, namespace: str, name: str, **options: Any) -> Response:
        return self._method("read_namespaced_{}")(name, namespace, **options)  # type: ignore[no-any-return]

    def list(self, namespace: str | None, **options: Any) -> Response:
        if namespace:
            return self._method("list_namespaced_{}")(namespace, **options)  # type: ignore[no-any-return]
        return self._method("list_{}_for_all_namespaces")(**options)  # type: ignore[no-any-return]

    def create(self, namespace: str, body: dict[str, Any], **options: Any) -> Response:
        return self._method("create_namespaced_{}")(namespace, body, **options)  # type: ignore[no-any-return]

    def replace(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        return self._method("replace_namespaced_{}")(name, namespace, body, **options)  # type: ignore[no-any-return]

    def replace_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("replace_namespaced_{}_status")
        return method(name, namespace, body, **options)  # type: ignore[no-any-return]

    def patch(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("patch_namespaced_{}")
        return method(name, namespace, body, _content_type=MERGE_PATCH, **options)  # type: ignore[no-any-return]

    def patch_status(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        method = self._method("patch_namespaced_{}_status")
        return method(name, namespace, body, _content_type=MERGE_PATCH, **options)  # type: ignore[no-any-return]

    def delete(self, namespace: str, name: str, body: dict[str, Any], **options: Any) -> Response:
        return self._method("delete_namespaced_{}")(name, namespace, body=body, **options)  # type: ignore[no-any-return]
