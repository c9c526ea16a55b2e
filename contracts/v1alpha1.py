"""kpack ``kpack.io/v1alpha1`` Image and Build, as far as caching and conversion need them.

v1alpha1 predates the registry cache: an Image has ``spec.cacheSize`` (the volume cache size)
instead of ``spec.cache``, a Build has ``spec.cacheName`` (the PVC name), ``lastBuild`` has no
cache, and the Build status has no ``latestCacheImage``. Service accounts are
``serviceAccount`` and CNB bindings are ``bindings``. An Image's build settings beyond ``env``,
``resources`` and ``bindings``, and its ``projectDescriptorPath``, ``cosign`` and
``defaultProcess``, travel in kpack's annotations (:data:`contracts.conversion.CARRIED`). Like the
v1alpha2 models these are tolerant: unknown keys are kept and dumped back unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts import builds, images, meta, sources

IMAGE_KIND = "Image"
BUILD_KIND = "Build"


class ImageBuild(meta.KubeModel):
    bindings: list[dict[str, Any]] | None = None
    """CNB bindings (v1alpha2 ``cnbBindings``)."""
    env: list[dict[str, Any]] | None = None
    """Environment of the build (Kubernetes EnvVar list)."""
    resources: dict[str, Any] | None = None
    """Resource requests and limits of the build steps."""


class ImageSpec(meta.KubeModel):
    tag: str = ""
    """Where the image is pushed. Required, immutable."""
    builder: meta.ObjectReference = Field(default_factory=meta.ObjectReference)
    """The Builder or ClusterBuilder to build with."""
    service_account: str | None = None
    """Service account whose secrets the build uses (v1alpha2 ``serviceAccountName``)."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """Where the source comes from."""
    cache_size: str | int | None = None
    """Size of the volume cache, a resource quantity; absent means no volume cache."""
    failed_build_history_limit: int | None = None
    """Failed builds kept."""
    success_build_history_limit: int | None = None
    """Successful builds kept."""
    image_tagging_strategy: Literal["None", "BuildNumber", ""] | None = None
    """``BuildNumber`` adds a per-build tag; ``None`` does not."""
    build: ImageBuild | None = None
    """Settings passed to every Build."""
    notary: dict[str, Any] | None = None
    """Notary v1 signing configuration."""


class Image(meta.KubeObject):
    spec: ImageSpec = Field(default_factory=ImageSpec)
    """Desired state."""
    status: images.ImageStatus = Field(default_factory=images.ImageStatus)
    """Observed state; the same fields as v1alpha2."""


class LastBuild(meta.KubeModel):
    image: str = ""
    """Digest reference of the previously built image."""
    stack_id: str = ""
    """Stack id of the previous build."""


class BuildSpec(meta.KubeModel):
    tags: list[str] | None = None
    """Tags to export; ``tags[0]`` is the image's tag."""
    builder: builds.BuildBuilderSpec = Field(default_factory=builds.BuildBuilderSpec)
    """Builder image."""
    service_account: str | None = None
    """Service account whose secrets the build uses (v1alpha2 ``serviceAccountName``)."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """Resolved source."""
    cache_name: str | None = None
    """Name of the cache PVC; empty means no volume cache."""
    bindings: list[dict[str, Any]] | None = None
    """CNB bindings (v1alpha2 ``cnbBindings``)."""
    env: list[dict[str, Any]] | None = None
    """Build environment."""
    resources: dict[str, Any] | None = None
    """Build step resources."""
    last_build: LastBuild | None = None
    """The previous build (no cache in v1alpha1)."""
    notary: dict[str, Any] | None = None
    """Notary v1 signing configuration."""


class BuildStatus(meta.Status):
    build_metadata: list[builds.BuildpackInfo] | None = None
    """Buildpacks that took part."""
    stack: builds.BuildStack | None = None
    """Stack the image was built on."""
    latest_image: str | None = None
    """Digest reference of the built image."""
    pod_name: str | None = None
    """Name of the build pod."""
    step_states: list[dict[str, Any]] | None = None
    """Container states of the steps."""
    steps_completed: list[str] | None = None
    """Steps that finished successfully."""


class Build(meta.KubeObject):
    spec: BuildSpec = Field(default_factory=BuildSpec)
    """Desired build; immutable."""
    status: BuildStatus = Field(default_factory=BuildStatus)
    """Observed state."""
