"""kpack's ``ClusterStack`` and ``ClusterLifecycle``: the base images and the lifecycle a builder
is made from (``cluster_stack_types.go``, ``cluster_lifecycle_types.go``).

The builder service resolves each from the registry and records what it found in the status: a
stack's build and run image digests, id, mixins and user; a lifecycle's digest, version and APIs.
"""

from __future__ import annotations

from pydantic import Field

from contracts import buildpacks, meta

CLUSTER_STACK = "ClusterStack"
CLUSTER_LIFECYCLE = "ClusterLifecycle"
DEFAULT_LIFECYCLE = "default-lifecycle"
"""The ClusterLifecycle a builder uses when it names none (kpack installs one by this name)."""


class StackSpecImage(meta.KubeModel):
    image: str = ""
    """Image reference (tag or digest)."""


class StackStatusImage(meta.KubeModel):
    latest_image: str = ""
    """``repository@sha256:…`` of the image resolved."""
    image: str = ""
    """The image as the spec names it."""


class ClusterStackSpec(meta.KubeModel):
    id: str = ""
    """Stack id the images must carry (label ``io.buildpacks.stack.id``)."""
    build_image: StackSpecImage = Field(default_factory=StackSpecImage)
    """The image builds run on."""
    run_image: StackSpecImage = Field(default_factory=StackSpecImage)
    """The image apps run on."""
    service_account_ref: buildpacks.ServiceAccountRef | None = None
    """Service account whose secrets pull the images."""


class ClusterStackStatus(meta.Status):
    id: str = ""
    """Stack id."""
    build_image: StackStatusImage | None = None
    """The build image resolved."""
    run_image: StackStatusImage | None = None
    """The run image resolved."""
    mixins: list[str] | None = None
    """Mixins the stack provides."""
    user_id: int = 0
    """``CNB_USER_ID`` of the build image."""
    group_id: int = 0
    """``CNB_GROUP_ID`` of the build image."""


class ClusterStack(meta.KubeObject):
    spec: ClusterStackSpec = Field(default_factory=ClusterStackSpec)
    """The images."""
    status: ClusterStackStatus = Field(default_factory=ClusterStackStatus)
    """What they resolved to."""

    def images(self) -> list[str]:
        return [self.spec.build_image.image, self.spec.run_image.image]

    def ready(self) -> bool:
        """Ready True (kpack does not compare the generation here)."""
        return self.status.is_true("Ready")


class ApiVersions(meta.KubeModel):
    always_serialized = ("deprecated", "supported")

    deprecated: list[str] | None = None
    """Deprecated API versions (``null`` when none, as kpack writes them)."""
    supported: list[str] | None = None
    """Supported API versions."""

    def all(self) -> list[str]:
        return [*(self.deprecated or []), *(self.supported or [])]


class LifecycleApis(meta.KubeModel):
    always_serialized = ("buildpack", "platform")

    buildpack: ApiVersions = Field(default_factory=ApiVersions)
    """Buildpack APIs the lifecycle speaks."""
    platform: ApiVersions = Field(default_factory=ApiVersions)
    """Platform APIs the lifecycle speaks."""


class LifecycleApi(meta.KubeModel):
    buildpack: str = ""
    """Deprecated single buildpack API."""
    platform: str = ""
    """Deprecated single platform API."""


class ClusterLifecycleSpec(meta.KubeModel):
    image: str = ""
    """The lifecycle image."""
    service_account_ref: buildpacks.ServiceAccountRef | None = None
    """Service account whose secrets pull the image."""


class ResolvedLifecycle(meta.KubeModel):
    image: StackStatusImage | None = None
    """The lifecycle image resolved (a Builder's copy leaves it ``{}``)."""
    version: str = ""
    """Lifecycle version."""
    api: LifecycleApi | None = None
    """Deprecated single APIs."""
    apis: LifecycleApis | None = None
    """APIs the lifecycle speaks."""


class ClusterLifecycleStatus(meta.Status, ResolvedLifecycle):
    """Status plus the resolved lifecycle, inline."""


class ClusterLifecycle(meta.KubeObject):
    spec: ClusterLifecycleSpec = Field(default_factory=ClusterLifecycleSpec)
    """The image."""
    status: ClusterLifecycleStatus = Field(default_factory=ClusterLifecycleStatus)
    """What it resolved to."""

    def images(self) -> list[str]:
        return [self.spec.image]

    def ready(self) -> bool:
        return self.status.is_true("Ready")
