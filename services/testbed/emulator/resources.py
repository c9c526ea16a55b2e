"""The resource types the emulator serves, and how a URL or a short name maps onto them.

One `ResourceType` per stored kind. kpack's ``v1alpha1`` and ``v1alpha2`` share one storage (no
conversion: objects are returned with the ``apiVersion`` of the URL they were read through).
"""

from __future__ import annotations

import dataclasses

CORE = ""
KPACK = "kpack.io"
STORAGE = "storage.k8s.io"
EVENTS = "events.k8s.io"
KPACK_VERSIONS = ("v1alpha2", "v1alpha1")


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """One kind of object: its URL names, scope and write rules."""

    group: str
    versions: tuple[str, ...]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    unconditional_update: bool = True
    """Whether a PUT without metadata.resourceVersion is accepted (custom resources refuse it)."""

    @property
    def key(self) -> str:
        """The storage key and the ``<plural>.<group>`` name used in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def api_version(self, version: str | None = None) -> str:
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version


def _core(
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    status: bool = False,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(CORE, ("v1",), plural, kind.lower(), kind, namespaced, status, short, categories)


def _kpack(plural: str, kind: str, *, namespaced: bool = True, short: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(
        KPACK,
        KPACK_VERSIONS,
        plural,
        kind.lower(),
        kind,
        namespaced,
        True,
        short,
        ("kpack",),
        unconditional_update=False,
    )


RESOURCES: tuple[ResourceType, ...] = (
    _core("pods", "Pod", status=True, short=("po",), categories=("all",)),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", status=True, short=("pvc",)),
    _core("events", "Event", short=("ev",)),
    _core("secrets", "Secret"),
    _core("serviceaccounts", "ServiceAccount", short=("sa",)),
    _core("configmaps", "ConfigMap", short=("cm",)),
    _core("namespaces", "Namespace", namespaced=False, status=True, short=("ns",)),
    ResourceType(
        STORAGE, ("v1",), "storageclasses", "storageclass", "StorageClass", False, short_names=("sc",)
    ),
    # What Kiln's services write (regarding, note, series…). A real API server keeps these and the
    # core v1 events in one storage, converting between the two; the emulator keeps them apart, so
    # ``kubectl get events.events.k8s.io`` (not ``kubectl get events``) lists Kiln's.
    ResourceType(EVENTS, ("v1",), "events", "event", "Event", True, short_names=("ev",)),
    _kpack("images", "Image", short=("cnbimage", "cnbimages")),
    _kpack("builds", "Build", short=("cnbbuild", "cnbbuilds", "bld", "blds")),
    _kpack("builders", "Builder", short=("bldr", "bldrs")),
    _kpack("clusterbuilders", "ClusterBuilder", namespaced=False, short=("clstbldr", "clstbldrs")),
    _kpack("sourceresolvers", "SourceResolver"),
    _kpack("clusterstores", "ClusterStore", namespaced=False),
    _kpack("clusterstacks", "ClusterStack", namespaced=False),
    _kpack("clusterlifecycles", "ClusterLifecycle", namespaced=False),
    _kpack("buildpacks", "Buildpack", short=("bp", "bps")),
    _kpack("clusterbuildpacks", "ClusterBuildpack", namespaced=False, short=("clstbp", "clstbps")),
)

_BY_URL: dict[tuple[str, str, str], ResourceType] = {
    (r.group, version, r.plural): r for r in RESOURCES for version in r.versions
}
_BY_NAME: dict[str, ResourceType] = {}
for _r in RESOURCES:
    for _name in (_r.plural, _r.singular, _r.key, _r.kind, *_r.short_names):
        _BY_NAME.setdefault(_name.lower(), _r)


def by_url(group: str, version: str, plural: str) -> ResourceType | None:
    """The resource served at ``/api(s)/<group>/<version>/<plural>``, if any."""
    return _BY_URL.get((group, version, plural))


def by_name(name: str) -> ResourceType:
    """Resolve ``images``, ``images.kpack.io``, ``Image``, ``pvc``… for the Python API."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise KeyError(f"the emulator serves no resource named {name!r}") from None


def groups() -> dict[str, tuple[str, ...]]:
    """Group name → served versions (preferred first), for discovery."""
    served: dict[str, tuple[str, ...]] = {}
    for r in RESOURCES:
        served.setdefault(r.group, r.versions)
    return served
