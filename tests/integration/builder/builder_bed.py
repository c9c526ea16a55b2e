"""The builder service's test bed: the real service over the emulator and the real registry.

Each test gets a :class:`Bed`: Kiln's real ``BuilderService`` over a ``KubeCluster`` (the real
kubernetes-asyncio client talking HTTP to the emulator), a real ``RegistryClient`` and
``Keychains``, and a :class:`RecordingPublisher` in place of the broker — the publisher port
itself, keeping what the service publishes so a test can hand ``builder.outdated`` back to the
service as the broker would. Its clock moves one minute per reading, so a second push of a builder
image would get a timestamp tag of its own.

Every test owns a registry prefix (``127.0.0.1:5000/kiln-builder-it/<id>``), a namespace and
object names ending in the same id, so parallel runs of the suite never share anything.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import itertools
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts import builders, buildpacks, events, stacks
from services.builder import service as builder_service
from services.kube import cluster, resources
from services.registry import auth
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains
from services.testbed.emulator import Emulator
from services.testbed.registry import cnb_images

REGISTRY = "127.0.0.1:5000"
"""The real docker-registry the suite runs against."""
KPACK = "kpack.io/v1alpha2"
LOCKED_USERS = {"builder-it": "builder-it-password"}
"""The one user of the throw-away registry that wants basic auth."""
PLURALS = {
    "ClusterStore": "clusterstores",
    "ClusterStack": "clusterstacks",
    "ClusterLifecycle": "clusterlifecycles",
    "Buildpack": "buildpacks",
    "ClusterBuildpack": "clusterbuildpacks",
    "Builder": "builders",
    "ClusterBuilder": "clusterbuilders",
}


class RecordingPublisher:
    """The publisher port (:class:`services.ports.Publisher`), keeping every event published."""

    def __init__(self) -> None:
        self.events: list[events.Event[events.Payload]] = []

    async def publish_many(self, batch: Iterable[events.Event[events.Payload]]) -> None:
        self.events.extend(batch)

    def take(self) -> list[events.Event[events.Payload]]:
        """The events published since the last take."""
        taken, self.events = self.events, []
        return taken

    def take_outdated(self) -> list[tuple[str, str, str]]:
        """``(kind, namespace, name)`` of each builder told ``builder.outdated`` since the last
        take, sorted."""
        return sorted(
            (e.data.kind, e.data.namespace, e.data.name)
            for e in self.take()
            if isinstance(e.data, events.BuilderOutdated)
        )


class SteppingClock:
    """Wall-clock time that moves on a minute at every reading."""

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self._start = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self._start + timedelta(minutes=next(self._ticks))


@dataclasses.dataclass
class Bed:
    """One test's builder service and the places it works in."""

    service: builder_service.BuilderService
    kube: resources.Kube
    emulator: Emulator
    registry: registry_client.RegistryClient
    publisher: RecordingPublisher
    suffix: str
    """Ends every name the test owns."""

    @property
    def prefix(self) -> str:
        """``host/path`` under which the test's repositories live."""
        return f"{REGISTRY}/kiln-builder-it/{self.suffix}"

    @property
    def namespace(self) -> str:
        return f"bldr-{self.suffix}"

    def name(self, base: str) -> str:
        return f"{base}-{self.suffix}"

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create a kpack object through the API, as ``kubectl apply`` would."""
        resource = self._resource(obj["kind"])
        created = await resource.create(resource.parse(obj))
        dumped: dict[str, Any] = created.dump()
        return dumped

    async def update_spec(self, kind: str, name: str, spec: dict[str, Any], *, namespace: str = "") -> None:
        resource = self._resource(kind)
        current = (await resource.get(name, namespace=namespace)).dump()
        await resource.replace(resource.parse({**current, "spec": spec}))

    def read(self, kind: str, name: str, *, namespace: str = "") -> dict[str, Any]:
        """The object as the API holds it (what ``kubectl get -o json`` shows)."""
        found = self.emulator.get(PLURALS[kind], name, namespace)
        assert found is not None, f"{kind} {namespace}/{name} does not exist"
        return found

    async def resolve(self, kind: str, name: str, *, namespace: str = "") -> dict[str, Any]:
        """What a ``builder.input.changed`` for the object does; the object afterwards."""
        await self.service.resolve_input(kind, namespace, name, discriminator=uuid.uuid4().hex)
        return self.read(kind, name, namespace=namespace)

    async def resolve_deleted(self, kind: str, name: str, *, namespace: str = "") -> None:
        """What a ``builder.input.changed`` for an object that is gone does."""
        await self.service.resolve_input(kind, namespace, name, discriminator=uuid.uuid4().hex)
        assert self.emulator.get(PLURALS[kind], name, namespace) is None

    async def make(self, kind: str, name: str, *, namespace: str = "") -> dict[str, Any]:
        """What a ``builder.changed`` for a new builder does; the builder afterwards."""
        await self.service.reconcile_builder(kind, namespace, name, only_new_generation=True)
        return self.read(kind, name, namespace=namespace)

    async def deliver(self, payload: events.Payload) -> None:
        """Hand the service one event, as the broker would deliver it."""
        now = datetime.now(UTC)
        await self.service.handle(
            events.new(payload, source="/tests", time=now, discriminator=uuid.uuid4().hex)
        )

    async def deliver_published(self) -> list[events.BuilderOutdated]:
        """Hand every event published so far back to the service, as the broker would; the
        ``builder.outdated`` payloads delivered."""
        delivered = []
        for event in self.publisher.take():
            await self.service.handle(event)
            if isinstance(event.data, events.BuilderOutdated):
                delivered.append(event.data)
        return delivered

    async def push_sample(self, **kwargs: Any) -> cnb_images.SampleImages:
        """The stack, lifecycle and the ``nodejs`` (meta + children) and ``go`` buildpackages."""
        return await cnb_images.push_sample_images(self.registry, f"{self.prefix}/sample", **kwargs)

    async def add_inputs(
        self,
        sample: cnb_images.SampleImages,
        *,
        store_sources: list[str] | None = None,
        service_account: dict[str, str] | None = None,
    ) -> Inputs:
        """A ClusterStack, ClusterLifecycle and ClusterStore of ``sample`` (the store of
        ``store_sources`` if given), each reading with ``service_account`` if given, each resolved."""
        inputs = Inputs(stack=self.name("stack"), lifecycle=self.name("lifecycle"), store=self.name("store"))
        sources = list(sample.store_images.values()) if store_sources is None else store_sources
        await self.apply(cluster_stack(inputs.stack, sample, service_account=service_account))
        await self.apply(
            cluster_lifecycle(inputs.lifecycle, sample.lifecycle_image, service_account=service_account)
        )
        await self.apply(cluster_store(inputs.store, sources, service_account=service_account))
        for kind, name in inputs.items():
            resolved = await self.resolve(kind, name)
            assert condition(resolved, "Ready")["status"] == "True", resolved["status"]
        self.publisher.take()
        return inputs

    async def add_registry_account(self, name: str, *, host: str, users: dict[str, str]) -> None:
        """A service account in the test's namespace whose docker config secret logs in to ``host``."""
        [(username, password)] = users.items()
        config = {"auths": {host: {"username": username, "password": password}}}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-registry", "namespace": self.namespace},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
        }
        account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": self.namespace},
            "secrets": [{"name": f"{name}-registry"}],
        }
        await self.kube.secrets.create(secret)
        await self.kube.service_accounts.create(account)

    async def tags(self, repository: str) -> list[str]:
        """The tags of ``host/path`` as the registry lists them."""
        host, _, path = repository.partition("/")
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.get(f"http://{host}/v2/{path}/tags/list")
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])

    async def blob(self, repository: str, digest: str) -> bytes:
        host, _, path = repository.partition("/")
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as http:
            response = await http.get(f"http://{host}/v2/{path}/blobs/{digest}")
        response.raise_for_status()
        return response.content

    def _resource(self, kind: str) -> resources.Resource[Any]:
        if kind in builders.KINDS:
            return self.kube.builder_kind(kind)
        return self.kube.input_kind(kind)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Names of the cluster-scoped inputs a test made."""

    stack: str
    lifecycle: str
    store: str

    def items(self) -> Iterator[tuple[str, str]]:
        yield stacks.CLUSTER_STACK, self.stack
        yield stacks.CLUSTER_LIFECYCLE, self.lifecycle
        yield buildpacks.CLUSTER_STORE, self.store


# objects as users write them ---------------------------------------------------------------------


def cluster_stack(
    name: str, sample: cnb_images.SampleImages, *, service_account: dict[str, str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": cnb_images.DEFAULT_STACK,
        "buildImage": {"image": sample.build_image},
        "runImage": {"image": sample.run_image},
    }
    if service_account:
        spec["serviceAccountRef"] = service_account
    return {"apiVersion": KPACK, "kind": "ClusterStack", "metadata": {"name": name}, "spec": spec}


def cluster_lifecycle(
    name: str, image: str, *, service_account: dict[str, str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": image}
    if service_account:
        spec["serviceAccountRef"] = service_account
    return {"apiVersion": KPACK, "kind": "ClusterLifecycle", "metadata": {"name": name}, "spec": spec}


def cluster_store(
    name: str, sources: list[str], *, service_account: dict[str, str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"sources": [{"image": image} for image in sources]}
    if service_account:
        spec["serviceAccountRef"] = service_account
    return {"apiVersion": KPACK, "kind": "ClusterStore", "metadata": {"name": name}, "spec": spec}


def buildpack(name: str, namespace: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": KPACK,
        "kind": "Buildpack",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": image, "serviceAccountName": "default"},
    }


def cluster_buildpack(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": KPACK,
        "kind": "ClusterBuildpack",
        "metadata": {"name": name},
        "spec": {"image": image},
    }


def cluster_builder(
    name: str, *, tag: str, inputs: Inputs, order: list[dict[str, Any]], store: bool = True
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "tag": tag,
        "stack": {"kind": "ClusterStack", "name": inputs.stack},
        "lifecycle": {"kind": "ClusterLifecycle", "name": inputs.lifecycle},
        "serviceAccountRef": {"name": "default", "namespace": "default"},
        "order": order,
    }
    if store:
        spec["store"] = {"kind": "ClusterStore", "name": inputs.store}
    return {"apiVersion": KPACK, "kind": "ClusterBuilder", "metadata": {"name": name}, "spec": spec}


def builder(
    name: str,
    namespace: str,
    *,
    tag: str,
    inputs: Inputs,
    order: list[dict[str, Any]],
    store: str = "",
) -> dict[str, Any]:
    """A namespaced Builder; without ``store`` its buildpacks come from Buildpacks and
    ClusterBuildpacks alone."""
    spec: dict[str, Any] = {
        "tag": tag,
        "stack": {"kind": "ClusterStack", "name": inputs.stack},
        "lifecycle": {"kind": "ClusterLifecycle", "name": inputs.lifecycle},
        "serviceAccountName": "default",
        "order": order,
    }
    if store:
        spec["store"] = {"kind": "ClusterStore", "name": store}
    return {
        "apiVersion": KPACK,
        "kind": "Builder",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@dataclasses.dataclass(frozen=True)
class TarEntry:
    """One entry of a tar archive, its header fields as written (name bytes unaltered)."""

    name: str
    typeflag: str
    mode: int
    uid: int
    gid: int
    mtime: int
    uname: str
    gname: str
    content: bytes


@dataclasses.dataclass(frozen=True)
class Layer:
    """A gzip layer blob opened: its tar's entries, the diffID, and whether the tar ends right
    after the two zero blocks (Go's ``archive/tar``; Python's ``tarfile`` pads to 10 KiB)."""

    entries: list[TarEntry]
    diff_id: str
    ends_after_zero_blocks: bool


def open_layer(blob: bytes) -> Layer:
    """Read a gzip tar layer header by header, without ``tarfile`` (which rewrites names)."""
    tar = gzip.decompress(blob)
    entries, offset = [], 0
    while tar[offset : offset + 512].strip(b"\0"):
        header = tar[offset : offset + 512]
        size = int(_field(header, 124, 12) or "0", 8)
        entries.append(
            TarEntry(
                name=_field(header, 345, 155) + _field(header, 0, 100),
                typeflag=header[156:157].decode(),
                mode=int(_field(header, 100, 8), 8),
                uid=int(_field(header, 108, 8), 8),
                gid=int(_field(header, 116, 8), 8),
                mtime=int(_field(header, 136, 12), 8),
                uname=_field(header, 265, 32),
                gname=_field(header, 297, 32),
                content=tar[offset + 512 : offset + 512 + size],
            )
        )
        offset += 512 + -(-size // 512) * 512
    return Layer(
        entries=entries,
        diff_id=f"sha256:{hashlib.sha256(tar).hexdigest()}",
        ends_after_zero_blocks=tar[offset:] == b"\0" * 1024,
    )


def _field(header: bytes, start: int, width: int) -> str:
    return header[start : start + width].split(b"\0", 1)[0].decode().strip()


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """The object's condition of type ``kind`` (an empty dict when it has none)."""
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind]
    return found[0] if found else {}


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Type → condition, each without ``lastTransitionTime``."""
    return {
        c["type"]: {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in (obj.get("status") or {}).get("conditions") or []
    }


def locked_keychain(host: str) -> auth.Keychain:
    """Credentials of :data:`LOCKED_USERS` for ``host``."""
    [(username, password)] = LOCKED_USERS.items()
    return auth.Keychain.from_docker_config({"auths": {host: {"username": username, "password": password}}})


def make_bed(
    *,
    kube: resources.Kube,
    emulator: Emulator,
    registry: registry_client.RegistryClient,
    suffix: str,
) -> Bed:
    """The builder service as ``kiln run builder`` wires it (without own registry credentials),
    publishing to a recorder."""
    kube_cluster = cluster.KubeCluster(kube)
    publisher = RecordingPublisher()
    service = builder_service.BuilderService(
        kube_cluster,
        publisher,
        registry,
        keychains=registry_keychains.Keychains(kube_cluster),
        clock=SteppingClock(),
    )
    return Bed(
        service=service,
        kube=kube,
        emulator=emulator,
        registry=registry,
        publisher=publisher,
        suffix=suffix,
    )
