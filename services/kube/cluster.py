"""``KubeCluster``: :class:`services.ports.Cluster` — what the services ask for — over :class:`Kube`.

One port call is one API request (retries of temporary failures aside); ``calls`` counts them, which
gives the "API requests per build" figure. Reads answer None for a missing object and raise
UnparseableError for one that does not fit its model; lists leave such objects out; writes keep
``Kube``'s errors (AlreadyExistsError on create, ConflictError on a stale conditional write).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from contracts import builders, builds, images, source_resolvers
from services import ports
from services.kube import parsing, resources

T = TypeVar("T")


class KubeCluster:
    """The Kubernetes objects Kiln's services read and write, typed in the domain's models."""

    def __init__(self, kube: resources.Kube) -> None:
        self.kube = kube
        self.calls = 0
        """Port calls made so far (each one API request, not counting retries)."""
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        """The same calls by ``(verb, kind)``: ``("get", "Image")``, ``("update_status", "Build")``…"""

    def _count(self, verb: str, kind: str) -> resources.Kube:
        self.calls += 1
        self.requests[verb, kind] += 1
        return self.kube

    async def catch_up(self, kind: str, namespace: str, name: str, version: str, *, image: str = "") -> None:
        """Nothing to wait for: every read asks the API server."""

    async def get_image(self, namespace: str, name: str) -> images.Image | None:
        return await self._count("get", "Image").images.find(name, namespace=namespace)

    async def list_images(self, namespace: str | None = None) -> list[images.Image]:
        return await self._count("list", "Image").images.list(namespace=namespace)

    async def find_images(self, matches: Callable[[dict[str, Any]], bool]) -> list[images.Image]:
        listed = await self._count("list", "Image").images.list_raw(namespace=None, label_selector="")
        return typed_matching(self.kube.images, listed.get("items") or [], matches)

    async def replace_image_status(self, image: images.Image) -> images.Image:
        return await self._count("update_status", "Image").images.replace_status(image)

    async def patch_image_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        await self._count("patch_status", "Image").images.patch_status_raw(name, patch, namespace=namespace)

    async def get_builder(self, kind: str, namespace: str, name: str) -> builders.Builder | None:
        if kind not in builders.KINDS:
            return None
        return await self._count("get", kind).builder_kind(kind).find(name, namespace=namespace)

    async def list_builders(self, kind: str, namespace: str | None = None) -> list[builders.Builder]:
        """Builders (in ``namespace``; None: all) or ClusterBuilders; ValueError for another kind."""
        return await self._count("list", kind).builder_kind(kind).list(namespace=namespace)

    async def replace_builder_status(self, builder: builders.Builder) -> builders.Builder:
        return (
            await self._count("update_status", builder.kind)
            .builder_kind(builder.kind)
            .replace_status(builder)
        )

    async def get_builder_input(self, kind: str, namespace: str, name: str) -> ports.BuilderInput | None:
        """A ClusterStore, ClusterStack, ClusterLifecycle, Buildpack or ClusterBuildpack, or None."""
        found: ports.BuilderInput | None = (
            await self._count("get", kind).input_kind(kind).find(name, namespace=namespace)
        )
        return found

    async def list_builder_inputs(self, kind: str, namespace: str | None = None) -> list[ports.BuilderInput]:
        """Every object of a builder input kind (Buildpacks: in ``namespace``; None: all)."""
        kube = self._count("list", kind)
        listed: list[ports.BuilderInput] = await kube.input_kind(kind).list(namespace=namespace)
        return listed

    async def replace_builder_input_status(self, obj: ports.BuilderInput) -> ports.BuilderInput:
        kube = self._count("update_status", obj.kind)
        replaced: ports.BuilderInput = await kube.input_kind(obj.kind).replace_status(obj)
        return replaced

    async def list_source_resolvers(
        self, namespace: str | None = None
    ) -> list[source_resolvers.SourceResolver]:
        return await self._count("list", "SourceResolver").source_resolvers.list(namespace=namespace)

    async def get_source_resolver(self, namespace: str, name: str) -> source_resolvers.SourceResolver | None:
        return await self._count("get", "SourceResolver").source_resolvers.find(name, namespace=namespace)

    async def create_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._count("create", "SourceResolver").source_resolvers.create(resolver)

    async def replace_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._count("update", "SourceResolver").source_resolvers.replace(resolver)

    async def replace_source_resolver_status(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver:
        return await self._count("update_status", "SourceResolver").source_resolvers.replace_status(resolver)

    async def get_build(self, namespace: str, name: str) -> builds.Build | None:
        return await self._count("get", "Build").builds.find(name, namespace=namespace)

    async def list_builds(self, namespace: str, *, image: str) -> list[builds.Build]:
        selector = f"{builds.IMAGE_LABEL}={image}"
        return await self._count("list", "Build").builds.list(namespace=namespace, label_selector=selector)

    async def create_build(self, build: builds.Build) -> builds.Build:
        return await self._count("create", "Build").builds.create(build)

    async def replace_build_status(self, build: builds.Build) -> builds.Build:
        return await self._count("update_status", "Build").builds.replace_status(build)

    async def delete_build(self, namespace: str, name: str) -> None:
        await self._count("delete", "Build").builds.delete(name, namespace=namespace, missing_ok=True)

    async def get_pvc(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._count("get", "PersistentVolumeClaim").pvcs.find(name, namespace=namespace)

    async def create_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]:
        return await self._count("create", "PersistentVolumeClaim").pvcs.create(pvc)

    async def replace_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]:
        return await self._count("update", "PersistentVolumeClaim").pvcs.replace(pvc)

    async def delete_pvc(self, namespace: str, name: str, *, uid: str | None) -> None:
        kube = self._count("delete", "PersistentVolumeClaim")
        await kube.pvcs.delete(name, namespace=namespace, uid=uid, missing_ok=True)

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._count("get", "Pod").pods.find(name, namespace=namespace)

    async def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        return await self._count("create", "Pod").pods.create(pod)

    async def delete_pod(self, namespace: str, name: str, *, uid: str | None) -> None:
        await self._count("delete", "Pod").pods.delete(name, namespace=namespace, uid=uid, missing_ok=True)

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._count("get", "ServiceAccount").service_accounts.find(name, namespace=namespace)

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._count("get", "Secret").secrets.find(name, namespace=namespace)

    async def list_service_accounts(self, namespace: str) -> list[dict[str, Any]]:
        return await self._count("list", "ServiceAccount").service_accounts.list(namespace=namespace)

    async def get_event(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._count("get", "Event").events.find(name, namespace=namespace)

    async def create_event(self, event: dict[str, Any]) -> dict[str, Any]:
        return await self._count("create", "Event").events.create(event)

    async def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of an Event (a ``metadata.resourceVersion`` in it makes it conditional)."""
        return await self._count("patch", "Event").events.patch(name, patch, namespace=namespace)

    async def get_custom_object(
        self, namespace: str, *, api_version: str, plural: str, name: str
    ) -> dict[str, Any] | None:
        kube = self._count("get", plural)
        return await kube.custom_objects(api_version, plural).find(name, namespace=namespace)


def typed_matching(
    resource: resources.Resource[T],
    items: Iterable[dict[str, Any]],
    matches: Callable[[dict[str, Any]], bool],
) -> list[T]:
    """The raw ``items`` that ``matches`` keeps, validated; one that does not fit its model is left
    out (and reported once), as a list leaves it out."""
    found: list[T] = []
    for raw in items:
        if not matches(raw):
            continue
        typed = resource.typed(raw)
        if isinstance(typed, parsing.Unparsed):
            resource.skips.skipped(typed, where=f"the list of {resource.kind}")
            continue
        found.append(typed)
    return found
