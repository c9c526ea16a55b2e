"""What the services need from the cluster: one protocol, typed in the domain's models.

:class:`services.kube.cluster.KubeCluster` implements it over ``kubernetes-asyncio`` (and so over
a real API server or the emulator). Writes are conditional on ``metadata.resourceVersion``
where the object carries one; a stale write raises :class:`services.errors.ConflictError`. A read
of an object that does not fit its model raises :class:`services.errors.UnparseableError`; lists
leave such objects out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from contracts import builders, buildpacks, builds, events, images, kube_events, source_resolvers, stacks

BuilderInput = (
    buildpacks.ClusterStore
    | buildpacks.Buildpack
    | buildpacks.ClusterBuildpack
    | stacks.ClusterStack
    | stacks.ClusterLifecycle
)
"""What a builder image is made from: the objects behind ``kiln.builder.input.changed``."""


class Publisher(Protocol):
    """Publishes events with confirms (:class:`services.broker.publishing.Publisher`)."""

    async def publish_many(self, batch: Iterable[events.Event[events.Payload]]) -> None: ...


class Cluster(Protocol):
    """The Kubernetes objects Kiln reads and writes."""

    async def catch_up(self, kind: str, namespace: str, name: str, version: str, *, image: str = "") -> None:
        """Until reads show that object (a ``Build`` of ``image``) at ``version`` or newer: an
        event's consistency token. Reads straight from the API server always do."""
        ...

    async def get_image(self, namespace: str, name: str) -> images.Image | None: ...

    async def list_images(self, namespace: str | None = None) -> list[images.Image]: ...

    async def find_images(self, matches: Callable[[dict[str, Any]], bool]) -> list[images.Image]:
        """The Images (all namespaces) whose raw object ``matches``: a cheap test on the JSON, so
        that only the Images it keeps are validated into models."""
        ...

    async def replace_image_status(self, image: images.Image) -> images.Image: ...

    async def patch_image_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """A JSON merge patch of an Image's status, which needs no typed Image: it writes the status of
        one that does not fit the model (:class:`services.errors.UnparseableError`)."""
        ...

    async def get_builder(self, kind: str, namespace: str, name: str) -> builders.Builder | None: ...

    async def list_builders(self, kind: str, namespace: str | None = None) -> list[builders.Builder]: ...

    async def replace_builder_status(self, builder: builders.Builder) -> builders.Builder: ...

    async def get_builder_input(self, kind: str, namespace: str, name: str) -> BuilderInput | None:
        """A ClusterStore, ClusterStack, ClusterLifecycle, Buildpack or ClusterBuildpack, or None."""
        ...

    async def list_builder_inputs(self, kind: str, namespace: str | None = None) -> list[BuilderInput]: ...

    async def replace_builder_input_status(self, obj: BuilderInput) -> BuilderInput: ...

    async def get_source_resolver(
        self, namespace: str, name: str
    ) -> source_resolvers.SourceResolver | None: ...

    async def list_source_resolvers(
        self, namespace: str | None = None
    ) -> list[source_resolvers.SourceResolver]: ...

    async def create_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver: ...

    async def replace_source_resolver(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver: ...

    async def replace_source_resolver_status(
        self, resolver: source_resolvers.SourceResolver
    ) -> source_resolvers.SourceResolver: ...

    async def get_build(self, namespace: str, name: str) -> builds.Build | None: ...

    async def list_builds(self, namespace: str, *, image: str) -> list[builds.Build]: ...

    async def create_build(self, build: builds.Build) -> builds.Build: ...

    async def replace_build_status(self, build: builds.Build) -> builds.Build: ...

    async def delete_build(self, namespace: str, name: str) -> None: ...

    async def get_pvc(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def create_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]: ...

    async def replace_pvc(self, pvc: dict[str, Any]) -> dict[str, Any]: ...

    async def delete_pvc(self, namespace: str, name: str, *, uid: str | None) -> None: ...

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]: ...

    async def delete_pod(self, namespace: str, name: str, *, uid: str | None) -> None:
        """Delete the pod, only while it is the one of ``uid``; one already gone is no error."""
        ...

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def list_service_accounts(self, namespace: str) -> list[dict[str, Any]]: ...

    async def get_custom_object(
        self, namespace: str, *, api_version: str, plural: str, name: str
    ) -> dict[str, Any] | None:
        """A namespaced object of any custom resource (``group/version`` and plural), or None."""
        ...

    async def get_event(self, namespace: str, name: str) -> dict[str, Any] | None:
        """An ``events.k8s.io/v1`` Event, or None."""
        ...

    async def create_event(self, event: dict[str, Any]) -> dict[str, Any]: ...

    async def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]: ...


class Recorder(Protocol):
    """Writes Kubernetes Events (:class:`services.kube.recording.EventRecorder`), aggregated.

    Never raises for an Event it could not write: that is logged, and the caller goes on (an Event
    is news about a decision, never part of it)."""

    async def record(self, notice: kube_events.Notice) -> None: ...


class BuildMetrics(Protocol):
    """Counts builds (:class:`services.runtime.admin.Metrics`): each at the one state transition
    a service owns, so a redelivered message or two workers racing count it once."""

    def build_scheduled(self, reasons: str, *, namespace: str) -> None:
        """A Build was created for ``reasons`` (``COMMIT,CONFIG``: each counted)."""
        ...

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
        """A Build's outcome (``succeeded``, ``failed``, ``canceled``) was recorded for the first
        time, with how long it waited for its pod to start and how long it ran (None: unknown), its
        cache (``registry``, ``volume``, "" for none) and whether restore was handed a previous
        build's cache."""
        ...


class NoMetrics:
    """:class:`BuildMetrics` that counts nothing (a service built without a metrics registry)."""

    def build_scheduled(self, reasons: str, *, namespace: str) -> None:
        return None

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
        return None


class NoRecorder:
    """:class:`Recorder` that writes nothing (a service built without one)."""

    async def record(self, notice: kube_events.Notice) -> None:
        return None
