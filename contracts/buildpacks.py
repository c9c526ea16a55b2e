"""kpack's buildpack sources: ``ClusterStore``, ``Buildpack`` and ``ClusterBuildpack``, and the
buildpack types the builder half shares (``pkg/apis/core/v1alpha1/buildpack_types.go``).

A store (or a Buildpack / ClusterBuildpack, a store of one image) names buildpackage images; the
builder service reads their labels and records every buildpack they hold in ``status.buildpacks``
(:class:`BuildpackStatus`), which Builders resolve their order against.
"""

from __future__ import annotations

from pydantic import Field

from contracts import meta

CLUSTER_STORE = "ClusterStore"
BUILDPACK = "Buildpack"
CLUSTER_BUILDPACK = "ClusterBuildpack"
KINDS = (CLUSTER_STORE, BUILDPACK, CLUSTER_BUILDPACK)
DEFAULT_SERVICE_ACCOUNT = "default"
"""A Buildpack's ``spec.serviceAccountName`` when it names none (kpack's SetDefaults)."""


class ImageSource(meta.KubeModel):
    image: str = ""
    """An image reference (tag or digest)."""


class BuildpackInfo(meta.KubeModel):
    id: str = ""
    """Buildpack id."""
    version: str = ""
    """Buildpack version; empty in a group entry means the highest available."""

    def __str__(self) -> str:
        return f"{self.id}@{self.version}"


class BuildpackRef(BuildpackInfo):
    optional: bool = False
    """Whether the group passes detection without this buildpack."""

    def wire(self) -> dict[str, object]:
        """kpack's JSON: ``id``, ``version`` and ``optional`` only when set (omitempty)."""
        out: dict[str, object] = {"id": self.id}
        if self.version:
            out["version"] = self.version
        if self.optional:
            out["optional"] = True
        return out


class OrderEntry(meta.KubeModel):
    group: list[BuildpackRef] = Field(default_factory=list)
    """Buildpacks tried together, in order."""


class BuildpackStack(meta.KubeModel):
    id: str = ""
    """Stack id the buildpack supports, or ``*``."""
    mixins: list[str] | None = None
    """Mixins the buildpack requires of that stack."""


class BuildpackageInfo(meta.KubeModel):
    id: str = ""
    """Buildpackage id (label ``io.buildpacks.buildpackage.metadata``)."""
    version: str = ""
    """Buildpackage version."""
    homepage: str = ""
    """Buildpackage homepage."""


class BuildpackStatus(BuildpackInfo):
    """One buildpack found in a buildpackage image, with where its layer is."""

    always_serialized = ("buildpackage", "store_image")

    buildpackage: BuildpackageInfo = Field(default_factory=BuildpackageInfo)
    """The buildpackage the buildpack came in (``{}`` without the label)."""
    store_image: ImageSource = Field(default_factory=ImageSource)
    """The buildpackage image as the source names it."""
    diff_id: str = ""
    """``sha256:…`` of the uncompressed layer."""
    digest: str = ""
    """``sha256:…`` of the compressed layer blob."""
    size: int = 0
    """Compressed size of the layer blob in bytes."""
    api: str = ""
    """Buildpack API version."""
    homepage: str = ""
    """Buildpack homepage."""
    order: list[OrderEntry] | None = None
    """A meta-buildpack's order of children."""
    stacks: list[BuildpackStack] | None = None
    """Stacks the buildpack supports."""


class ServiceAccountRef(meta.KubeModel):
    name: str = ""
    """Service account name."""
    namespace: str = ""
    """Service account namespace."""


class StoreStatus(meta.Status):
    buildpacks: list[BuildpackStatus] | None = None
    """Every buildpack of every source, sorted by ``id@version``, then by source."""


class ClusterStoreSpec(meta.KubeModel):
    sources: list[ImageSource] | None = None
    """Buildpackage images."""
    service_account_ref: ServiceAccountRef | None = None
    """Service account whose secrets pull the images."""


class ClusterStore(meta.KubeObject):
    """A cluster-scoped set of buildpackage images."""

    spec: ClusterStoreSpec = Field(default_factory=ClusterStoreSpec)
    """The images."""
    status: StoreStatus = Field(default_factory=StoreStatus)
    """The buildpacks found in them."""

    def images(self) -> list[str]:
        return [source.image for source in self.spec.sources or []]


class BuildpackSpec(meta.KubeModel):
    image: str = ""
    """One buildpackage image."""
    service_account_name: str = ""
    """Service account (in the Buildpack's namespace) whose secrets pull the image."""


class Buildpack(meta.KubeObject):
    """A namespaced buildpackage image, usable by the Builders of its namespace."""

    spec: BuildpackSpec = Field(default_factory=BuildpackSpec)
    """The image."""
    status: StoreStatus = Field(default_factory=StoreStatus)
    """The buildpacks found in it."""

    def images(self) -> list[str]:
        return [self.spec.image]


class ClusterBuildpackSpec(meta.KubeModel):
    image: str = ""
    """One buildpackage image."""
    service_account_ref: ServiceAccountRef | None = None
    """Service account whose secrets pull the image."""


class ClusterBuildpack(meta.KubeObject):
    """A cluster-scoped buildpackage image."""

    spec: ClusterBuildpackSpec = Field(default_factory=ClusterBuildpackSpec)
    """The image."""
    status: StoreStatus = Field(default_factory=StoreStatus)
    """The buildpacks found in it."""

    def images(self) -> list[str]:
        return [self.spec.image]


AnyStore = ClusterStore | Buildpack | ClusterBuildpack
"""Anything whose status lists buildpacks."""
