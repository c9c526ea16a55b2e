"""``Kube``: the Kubernetes objects Kiln reads and writes, typed, over ``kubernetes-asyncio``.

Each kind is a :class:`Resource` attribute — ``kube.images``, ``kube.builds``, ``kube.builders``,
``kube.cluster_builders``, ``kube.source_resolvers``, and the builder half's ``kube.cluster_stores``,
``kube.buildpacks``, ``kube.cluster_buildpacks``, ``kube.cluster_stacks``,
``kube.cluster_lifecycles`` (``kpack.io/v1alpha2``, contracts models)
and ``kube.pods``, ``kube.pvcs``, ``kube.service_accounts`` (core v1, plain dicts), ``kube.events``
(``events.k8s.io/v1``, plain dicts) — with the same
verbs (``kube.custom_objects(api_version, plural)`` gives any other custom resource, as dicts):

* ``get`` (NotFoundError) / ``find`` (None), ``list`` by label (and field) selector, ``watch``
  (``with_fields`` narrows a watch by a field selector, as a kubelet watches its node's pods);
* ``create`` (AlreadyExistsError on 409) and ``create_or_get`` (409 → the existing object);
* ``replace`` / ``replace_status``: conditional on ``metadata.resourceVersion`` (stale →
  ConflictError); ``patch`` / ``patch_status``: JSON merge patches with their content type;
* ``delete`` with ``uid`` / ``resourceVersion`` preconditions (mismatch → ConflictError).

Raw dicts are validated into the contracts here, once. An object that does not fit its model
(:mod:`services.kube.parsing`) never fails a list or a watch: it is left out, with a warning once
per object and problem (``Listing.unparsed`` and the watch's ``on_unparsed`` still show it); a read
of it raises :class:`~services.errors.UnparseableError`, which carries the raw object and the
fields at fault. Temporary failures are retried with the settings' back-off
(:mod:`services.kube.translating`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, Generic, TypeVar

import aiohttp
import pydantic
from kubernetes_asyncio import client

from contracts import builders, buildpacks, builds, images, meta, source_resolvers, stacks
from services import errors
from services.kube import endpoints, parsing, translating, watching
from services.kube import settings as kube_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=meta.KubeObject)
GROUP, VERSION = meta.API_GROUP, "v1alpha2"


class Resource(Generic[T]):
    """Typed requests for one kind; ``namespace`` is ignored for cluster-scoped kinds."""

    def __init__(
        self,
        endpoint: endpoints.Endpoint,
        *,
        kind: str,
        parse: Callable[[dict[str, Any]], T],
        dump: Callable[[T], dict[str, Any]],
        settings: kube_settings.KubeSettings,
    ) -> None:
        self.endpoint = endpoint
        self.kind = kind
        self._parse = parse
        self._dump = dump
        self.settings = settings
        self.skips = parsing.SkipLog()
        """Which unparseable objects were already reported."""

    # reading

    async def get(self, name: str, *, namespace: str = "") -> T:
        """The object; :class:`~services.errors.NotFoundError` when there is none."""
        return self.parse(await self._call(lambda o: self.endpoint.read(namespace, name, **o)))

    async def find(self, name: str, *, namespace: str = "") -> T | None:
        """The object, or None when there is none."""
        try:
            return await self.get(name, namespace=namespace)
        except errors.NotFoundError:
            return None

    async def list(
        self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = ""
    ) -> list[T]:
        """Objects in ``namespace`` (None: all namespaces) matching ``label_selector`` (and
        ``field_selector``); those that do not fit their model are left out (and reported once)."""
        listed = await self.list_with_version(
            namespace=namespace, label_selector=label_selector, field_selector=field_selector
        )
        return listed.items

    async def list_with_version(
        self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = ""
    ) -> watching.Listing[T]:
        """The list and its ``resourceVersion``, the point a watch starts from; the objects that do
        not fit their model apart, in ``unparsed``."""
        listed = await self.list_raw(
            namespace=namespace, label_selector=label_selector, field_selector=field_selector
        )
        version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        items: list[T] = []
        unparsed: list[parsing.Unparsed] = []
        for raw in listed.get("items") or []:
            found = self.typed(raw)
            if isinstance(found, parsing.Unparsed):
                self.skips.skipped(found, where=f"the list of {self.kind}")
                unparsed.append(found)
            else:
                items.append(found)
        return watching.Listing(items, version, unparsed)

    def watch(
        self,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        on_unparsed: watching.OnUnparsed | None = None,
    ) -> AsyncGenerator[watching.WatchEvent[T], None]:
        """List, then watch: see :func:`services.kube.watching.watch`."""
        return watching.watch(
            self, namespace=namespace, label_selector=label_selector, on_unparsed=on_unparsed
        )

    def with_fields(self, field_selector: str) -> FieldSelected[T]:
        """This kind seen through ``field_selector`` (``status.phase=Pending``), for
        :func:`services.kube.watching.watch` and ``follow``: an object that stops matching is
        announced ``DELETED``, one that starts matching ``ADDED``, as the API server does."""
        return FieldSelected(self, field_selector)

    # writing

    async def create(self, obj: T) -> T:
        """Create ``obj``; :class:`~services.errors.AlreadyExistsError` when the name is taken."""
        body = self._dump(obj)
        namespace = _namespace_of(body)
        created = await self._call(lambda o: self.endpoint.create(namespace, body, **o), creating=True)
        return self.parse(created)

    async def create_or_get(self, obj: T) -> T:
        """Create ``obj``, or return the object already there under its name."""
        try:
            return await self.create(obj)
        except errors.AlreadyExistsError:
            body = self._dump(obj)
            logger.debug("%s %s already exists", self.kind, body["metadata"].get("name"))
            return await self.get(body["metadata"]["name"], namespace=_namespace_of(body))

    async def replace(self, obj: T) -> T:
        """Write ``obj`` if it still is at its ``metadata.resourceVersion``; else ConflictError."""
        namespace, name, body = self._conditional(obj)
        return self.parse(await self._call(lambda o: self.endpoint.replace(namespace, name, body, **o)))

    async def replace_status(self, obj: T) -> T:
        """Write ``obj``'s status (status subresource), conditional like :meth:`replace`."""
        namespace, name, body = self._conditional(obj)
        replaced = await self._call(lambda o: self.endpoint.replace_status(namespace, name, body, **o))
        return self.parse(replaced)

    async def patch(self, name: str, patch: dict[str, Any], *, namespace: str = "") -> T:
        """Apply a JSON merge patch (a ``metadata.resourceVersion`` in it makes it conditional)."""
        return self.parse(await self._call(lambda o: self.endpoint.patch(namespace, name, patch, **o)))

    async def patch_status(self, name: str, patch: dict[str, Any], *, namespace: str = "") -> T:
        """Apply a JSON merge patch to the status subresource."""
        return self.parse(await self.patch_status_raw(name, patch, namespace=namespace))

    async def patch_status_raw(
        self, name: str, patch: dict[str, Any], *, namespace: str = ""
    ) -> dict[str, Any]:
        """:meth:`patch_status` answering the object as the server sent it: writes the status of an
        object that does not fit its model (a ``metadata.resourceVersion`` in ``patch`` makes it
        conditional)."""
        return await self._call(lambda o: self.endpoint.patch_status(namespace, name, patch, **o))

    async def delete(
        self,
        name: str,
        *,
        namespace: str = "",
        uid: str | None = None,
        resource_version: str | None = None,
        missing_ok: bool = False,
    ) -> None:
        """Delete, only if the object still has ``uid`` / ``resource_version`` (else ConflictError)."""
        preconditions = {"uid": uid, "resourceVersion": resource_version}
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if any(preconditions.values()):
            body["preconditions"] = {k: v for k, v in preconditions.items() if v}
        try:
            await self._call(lambda o: self.endpoint.delete(namespace, name, body, **o))
        except errors.NotFoundError:
            if not missing_ok:
                raise
            logger.debug("%s %s/%s already gone", self.kind, namespace, name)

    # plumbing shared with watching

    def parse(self, raw: dict[str, Any]) -> T:
        """``raw`` validated into this kind's type; UnparseableError naming the fields when it does not fit."""
        found = self.typed(raw)
        if isinstance(found, parsing.Unparsed):
            raise errors.UnparseableError(found.describe(), raw=raw, problems=found.message)
        return found

    def dump(self, obj: T) -> dict[str, Any]:
        """``obj`` as the API server takes and gives it (what :meth:`parse` reads back)."""
        return self._dump(obj)

    def typed(self, raw: dict[str, Any]) -> T | parsing.Unparsed:
        """``raw`` validated into this kind's type, or what is wrong with it."""
        try:
            return self._parse(raw)
        except pydantic.ValidationError as e:
            return parsing.Unparsed(kind=self.kind, raw=raw, problems=parsing.problems(e, raw))

    async def list_raw(
        self, *, namespace: str | None, label_selector: str, field_selector: str = ""
    ) -> dict[str, Any]:
        """The list answer as the server sent it (``items``, ``metadata.resourceVersion``)."""
        selectors = _selectors(label_selector, field_selector)
        return await self._call(lambda o: self.endpoint.list(namespace, **selectors, **o))

    def request_options(self, *, read_timeout: float | None = None) -> dict[str, Any]:
        timeout = (self.settings.connect_timeout, read_timeout or self.settings.request_timeout)
        return {"_preload_content": False, "_request_timeout": timeout}

    async def open_watch(
        self, *, namespace: str | None, label_selector: str, resource_version: str, field_selector: str = ""
    ) -> aiohttp.ClientResponse:
        """One watch request from ``resource_version``; the caller reads and releases the stream."""
        seconds = self.settings.watch_timeout_seconds
        options = self.request_options(read_timeout=seconds + self.settings.request_timeout)
        return await self.endpoint.list(
            namespace,
            **_selectors(label_selector, field_selector),
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=seconds,
            **options,
        )

    async def _call(
        self, send: Callable[[dict[str, Any]], endpoints.Response], *, creating: bool = False
    ) -> dict[str, Any]:
        options = self.request_options()
        return await translating.call(
            lambda: send(options),
            backoff=self.settings.backoff,
            creating=creating,
            deadline=2 * (self.settings.connect_timeout + self.settings.request_timeout),
            max_retry_after=self.settings.max_retry_after,
        )

    def _conditional(self, obj: T) -> tuple[str, str, dict[str, Any]]:
        body = self._dump(obj)
        metadata = body.get("metadata") or {}
        if not metadata.get("resourceVersion"):
            raise ValueError(
                f"{self.kind} {metadata.get('name')}: a conditional write needs a resourceVersion"
            )
        return _namespace_of(body), metadata["name"], body


class FieldSelected(Generic[T]):
    """A :class:`Resource` whose lists and watches carry a field selector (what
    :func:`services.kube.watching.watch` needs of a kind, :class:`~services.kube.watching.Watchable`)."""

    def __init__(self, resource: Resource[T], field_selector: str) -> None:
        self.resource = resource
        self.field_selector = field_selector
        self.kind = resource.kind
        self.settings = resource.settings
        self.skips = resource.skips

    async def list_raw(self, *, namespace: str | None, label_selector: str) -> dict[str, Any]:
        return await self.resource.list_raw(
            namespace=namespace, label_selector=label_selector, field_selector=self.field_selector
        )

    async def open_watch(
        self, *, namespace: str | None, label_selector: str, resource_version: str
    ) -> aiohttp.ClientResponse:
        return await self.resource.open_watch(
            namespace=namespace,
            label_selector=label_selector,
            resource_version=resource_version,
            field_selector=self.field_selector,
        )

    def typed(self, raw: dict[str, Any]) -> T | parsing.Unparsed:
        return self.resource.typed(raw)


def _selectors(label_selector: str, field_selector: str) -> dict[str, str]:
    """The selector arguments of a list or watch request (an empty field selector is left out)."""
    selectors = {"label_selector": label_selector}
    if field_selector:
        selectors["field_selector"] = field_selector
    return selectors


def _namespace_of(body: dict[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("namespace") or "")


def _dump_model(obj: meta.KubeObject) -> dict[str, Any]:
    return obj.dump()


def _same_dict(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def _core(
    api: client.CoreV1Api, name: str, *, kind: str, settings: kube_settings.KubeSettings
) -> Resource[dict[str, Any]]:
    """A core v1 kind as plain dicts (``name`` as in the client's ``*_namespaced_<name>`` methods)."""
    endpoint = endpoints.CoreEndpoint(api, name)
    return Resource(endpoint, kind=kind, parse=_same_dict, dump=_same_dict, settings=settings)


def _custom(
    api: client.CustomObjectsApi,
    model: type[M],
    *,
    plural: str,
    kind: str,
    settings: kube_settings.KubeSettings,
    namespaced: bool = True,
) -> Resource[M]:
    endpoint = endpoints.CustomEndpoint(api, GROUP, VERSION, plural, namespaced=namespaced)
    return Resource(endpoint, kind=kind, parse=model.model_validate, dump=_dump_model, settings=settings)


class Kube:
    """The typed Kubernetes adapter over one ``ApiClient`` (which the caller owns and closes)."""

    def __init__(self, api: client.ApiClient, *, settings: kube_settings.KubeSettings | None = None) -> None:
        self.api = api
        self.settings = settings or kube_settings.KubeSettings()
        custom, core, s = client.CustomObjectsApi(api), client.CoreV1Api(api), self.settings
        self._custom = custom
        self.images = _custom(custom, images.Image, plural="images", kind=images.KIND, settings=s)
        self.builds = _custom(custom, builds.Build, plural="builds", kind=builds.KIND, settings=s)
        self.builders = _custom(
            custom, builders.Builder, plural="builders", kind=builders.BUILDER, settings=s
        )
        self.cluster_builders = _custom(
            custom,
            builders.Builder,
            plural="clusterbuilders",
            kind=builders.CLUSTER_BUILDER,
            settings=s,
            namespaced=False,
        )
        self.source_resolvers = _custom(
            custom,
            source_resolvers.SourceResolver,
            plural="sourceresolvers",
            kind=source_resolvers.KIND,
            settings=s,
        )
        cluster = functools.partial(_custom, custom, settings=s, namespaced=False)
        self.cluster_stores = cluster(
            buildpacks.ClusterStore, plural="clusterstores", kind=buildpacks.CLUSTER_STORE
        )
        self.buildpacks = _custom(
            custom, buildpacks.Buildpack, plural="buildpacks", kind=buildpacks.BUILDPACK, settings=s
        )
        self.cluster_buildpacks = cluster(
            buildpacks.ClusterBuildpack, plural="clusterbuildpacks", kind=buildpacks.CLUSTER_BUILDPACK
        )
        self.cluster_stacks = cluster(stacks.ClusterStack, plural="clusterstacks", kind=stacks.CLUSTER_STACK)
        self.cluster_lifecycles = cluster(
            stacks.ClusterLifecycle, plural="clusterlifecycles", kind=stacks.CLUSTER_LIFECYCLE
        )
        self.pods = _core(core, "pod", kind="Pod", settings=s)
        self.pvcs = _core(core, "persistent_volume_claim", kind="PersistentVolumeClaim", settings=s)
        self.secrets = _core(core, "secret", kind="Secret", settings=s)
        self.service_accounts = _core(core, "service_account", kind="ServiceAccount", settings=s)
        events = endpoints.CustomEndpoint(custom, "events.k8s.io", "v1", "events")
        self.events = Resource(events, kind="Event", parse=_same_dict, dump=_same_dict, settings=s)
        """``events.k8s.io/v1`` Events (what :mod:`services.kube.recording` writes), as dicts."""

    def custom_objects(self, api_version: str, plural: str) -> Resource[dict[str, Any]]:
        """A namespaced custom resource of ``group/version`` (e.g. a provisioned service), as dicts."""
        group, _, version = api_version.rpartition("/")
        if not group:
            raise ValueError(f"{api_version!r} is not a custom resource's group/version")
        endpoint = endpoints.CustomEndpoint(self._custom, group, version, plural)
        return Resource(endpoint, kind=plural, parse=_same_dict, dump=_same_dict, settings=self.settings)

    def input_kind(self, kind: str) -> Resource[Any]:
        """The resource of a builder input kind (``ClusterStore``, ``ClusterStack``, ``ClusterLifecycle``,
        ``Buildpack``, ``ClusterBuildpack``)."""
        by_kind: dict[str, Resource[Any]] = {
            buildpacks.CLUSTER_STORE: self.cluster_stores,
            buildpacks.BUILDPACK: self.buildpacks,
            buildpacks.CLUSTER_BUILDPACK: self.cluster_buildpacks,
            stacks.CLUSTER_STACK: self.cluster_stacks,
            stacks.CLUSTER_LIFECYCLE: self.cluster_lifecycles,
        }
        if kind not in by_kind:
            raise ValueError(f"unknown builder input kind {kind!r}; one of {', '.join(by_kind)}")
        return by_kind[kind]

    def builder_kind(self, kind: str) -> Resource[builders.Builder]:
        """``builders`` or ``cluster_builders`` for an Image's ``spec.builder.kind``."""
        if kind == builders.CLUSTER_BUILDER:
            return self.cluster_builders
        if kind == builders.BUILDER:
            return self.builders
        raise ValueError(f"unknown builder kind {kind!r}; one of {', '.join(builders.KINDS)}")
