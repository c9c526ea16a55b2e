"""kpack ``Image`` (``kpack.io/v1alpha2``): what to build, from which source, with which cache."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts import meta, sources

KIND = "Image"
BUILD_NUMBER_STRATEGY = "BuildNumber"
NO_TAGGING_STRATEGY = "None"


class VolumeCache(meta.KubeModel):
    size: str | int | None = None
    """Size of the cache PersistentVolumeClaim, a resource quantity such as ``2G``."""
    storage_class_name: str | None = None
    """StorageClass of the cache PVC; empty means the default StorageClass. Immutable."""


class RegistryCache(meta.KubeModel):
    always_serialized = ("tag",)
    tag: str = ""
    """Image tag the build cache is exported to; empty means no registry cache."""


class ImageCacheConfig(meta.KubeModel):
    volume: VolumeCache | None = None
    """Cache on a PersistentVolumeClaim (``-cache-dir=/cache``)."""
    registry: RegistryCache | None = None
    """Cache as an image in a registry (``-cache-image=…``)."""


class ImageBuild(meta.KubeModel):
    env: list[dict[str, Any]] | None = None
    """Environment of the build (Kubernetes EnvVar list)."""
    resources: dict[str, Any] | None = None
    """Resource requests and limits of the build steps."""
    services: list[dict[str, Any]] | None = None
    """Service bindings."""
    cnb_bindings: list[dict[str, Any]] | None = None
    """CNB bindings (deprecated)."""
    tolerations: list[dict[str, Any]] | None = None
    """Build pod tolerations."""
    node_selector: dict[str, str] | None = None
    """Build pod node selector."""
    affinity: dict[str, Any] | None = None
    """Build pod affinity."""
    runtime_class_name: str | None = None
    """Build pod runtime class."""
    scheduler_name: str | None = None
    """Build pod scheduler."""
    build_timeout: int | None = None
    """Build timeout in seconds (``activeDeadlineSeconds``)."""
    creation_time: str | None = None
    """``now`` or a unix timestamp for reproducible image creation times."""


class ImageSpec(meta.KubeModel):
    tag: str = ""
    """Where the image is pushed. Required, immutable."""
    additional_tags: list[str] | None = None
    """More tags in the same registry."""
    builder: meta.ObjectReference = Field(default_factory=meta.ObjectReference)
    """The Builder or ClusterBuilder to build with."""
    service_account_name: str | None = None
    """Service account whose secrets the build uses; defaults to ``default``."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """Where the source comes from."""
    cache: ImageCacheConfig | None = None
    """Build cache: ``volume`` or ``registry``, not both."""
    failed_build_history_limit: int | None = None
    """Failed builds kept; defaults to 10."""
    success_build_history_limit: int | None = None
    """Successful builds kept; defaults to 10."""
    image_tagging_strategy: Literal["None", "BuildNumber", ""] | None = None
    """``BuildNumber`` (default) adds a per-build tag; ``None`` does not."""
    project_descriptor_path: str | None = None
    """Path of ``project.toml`` in the source."""
    build: ImageBuild | None = None
    """Settings passed to every Build."""
    default_process: str | None = None
    """Default process type of the built image."""

    def volume_cache_requested(self) -> bool:
        return self.cache is not None and self.cache.volume is not None and self.cache.volume.size is not None

    def registry_cache_requested(self) -> bool:
        return self.cache is not None and self.cache.registry is not None and self.cache.registry.tag != ""


class ImageStatus(meta.Status):
    latest_build_ref: str | None = None
    """Name of the newest Build."""
    latest_build_image_generation: int | None = None
    """Image generation stamped on the newest Build."""
    latest_image: str | None = None
    """Digest reference of the latest successfully built image."""
    latest_stack: str | None = None
    """Stack id of the newest Build if it succeeded."""
    build_counter: int | None = None
    """Build number of the newest Build."""
    build_cache_name: str | None = None
    """Name of the cache PVC, or empty."""
    latest_build_reason: str | None = None
    """Comma-joined reasons of the newest Build."""
    latest_cache_image: str | None = None
    """Kiln's extension, not kpack's: digest reference of the registry cache image the newest
    successful Build wrote (its ``status.latestCacheImage``), the one the next build reads
    (``spec.lastBuild.cache.image``); absent without a registry cache. Derived from the Builds."""
    latest_cache_build_number: int | None = None
    """Kiln's extension, not kpack's: the build number of that Build."""


class Image(meta.KubeObject):
    spec: ImageSpec = Field(default_factory=ImageSpec)
    """Desired state."""
    status: ImageStatus = Field(default_factory=ImageStatus)
    """Observed state, written by Kiln."""

    @property
    def key(self) -> str:
        """``namespace/name``, the ordering key of every event about this image."""
        return f"{self.namespace}/{self.name}"

    def settled(self) -> bool:
        """Whether the services have seen this Image as it is and have nothing in flight for it:
        its status observes its generation, and ``Ready`` is decided (True or False, not Unknown,
        which a running build or a resolver not ready yet leaves)."""
        ready = self.status.condition("Ready")
        observed = self.status.observed_generation == self.generation
        return observed and ready is not None and ready.status in ("True", "False")

    def shows_running(self, build: str) -> bool:
        """Whether this Image's status still shows ``build`` as its newest build, running
        (``Ready`` ``BuildRunning``): a finished ``build`` has not been told to it yet."""
        if not build or self.status.latest_build_ref != build:
            return False
        ready = self.status.condition("Ready")
        return ready is not None and ready.reason == "BuildRunning"
