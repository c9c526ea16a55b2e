"""kpack ``Build`` (``kpack.io/v1alpha2``): one run of the buildpacks lifecycle."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from contracts import meta, sources

KIND = "Build"
IMAGE_LABEL = "image.kpack.io/image"
BUILD_NUMBER_LABEL = "image.kpack.io/buildNumber"
IMAGE_GENERATION_LABEL = "image.kpack.io/imageGeneration"
REASON_ANNOTATION = "image.kpack.io/reason"
CHANGES_ANNOTATION = "image.kpack.io/buildChanges"
BUILDER_NAME_ANNOTATION = "image.kpack.io/builderName"
BUILDER_KIND_ANNOTATION = "image.kpack.io/builderKind"
ADDITIONAL_BUILD_NEEDED_ANNOTATION = "image.kpack.io/additionalBuildNeeded"
CANCEL_ANNOTATION = "kiln.dev/cancel"
"""Kiln's request to cancel a running Build (kpack has none, kpack#245): the value ``"true"`` cancels
it; kpack ignores an annotation it does not know, so the YAML stays kpack's."""
CANCELED_REASON = "BuildCanceled"
STORM_REASONS = frozenset({"BUILDPACK", "STACK", "LIFECYCLE"})
"""Build reasons a builder's change causes for every Image built with it (a rebuild storm), as
opposed to a user's (COMMIT, CONFIG, TRIGGER)."""
"""The ``Succeeded=False`` reason of a canceled Build (Shipwright's ``BuildRunCanceled``, for a Build)."""
BUILD_LABEL = "kpack.io/build"
COMPLETION_STEP = "completion"
"""The build pod's last container: it reports the build's metadata (:mod:`contracts.completion`)."""
BUILD_STEPS = ("prepare", "analyze", "detect", "restore", "build", "export", COMPLETION_STEP, "rebase")
"""The build pod's step containers (kpack's names): the init steps in order, then ``completion``;
``rebase`` alone in a rebase pod. Other containers of the pod are not steps."""


class BuildBuilderSpec(meta.KubeModel):
    image: str = ""
    """Resolved builder image (digest reference); or else ``ref``."""
    image_pull_secrets: list[meta.LocalObjectReference] | None = None
    """Secrets to pull the builder image."""
    ref: meta.ObjectReference | None = None
    """The Builder or ClusterBuilder to build with, instead of ``image`` (exactly one of the two;
    a user-written Build may name its builder so, kpack ``BuildBuilderSpec.Ref``)."""


class BuildPersistentVolumeCache(meta.KubeModel):
    persistent_volume_claim_name: str = ""
    """Name of the cache PVC; empty means no volume cache."""


class BuildRegistryCache(meta.KubeModel):
    always_serialized = ("tag",)
    tag: str = ""
    """Tag the exporter writes the cache to."""


class BuildCacheConfig(meta.KubeModel):
    volume: BuildPersistentVolumeCache | None = None
    """Volume cache."""
    registry: BuildRegistryCache | None = None
    """Registry cache."""


class LastBuildCache(meta.KubeModel):
    image: str = ""
    """Digest reference of the cache image the previous build wrote."""


class LastBuild(meta.KubeModel):
    always_serialized = ("cache",)
    image: str = ""
    """Digest reference of the previously built image."""
    cache: LastBuildCache = Field(default_factory=LastBuildCache)
    """The previous build's cache image (always serialised)."""
    stack_id: str = ""
    """Stack id of the previous build."""


class RunImage(meta.KubeModel):
    image: str = ""
    """The builder's run image when the Build was scheduled."""


class Service(meta.KubeModel):
    """A service to bind (a Kubernetes ObjectReference): a Secret itself, or a provisioned service."""

    api_version: str = ""
    """``apiVersion`` of the service; with ``kind`` it names the resource to read."""
    kind: str = ""
    """``Secret``, or the kind of a provisioned service whose ``status.binding`` names a Secret."""
    name: str = ""
    """Name of the service in the Build's namespace; also the binding's name."""

    def is_secret(self) -> bool:
        """kpack looks at the kind only: a ``Secret`` is bound as it is, whatever its apiVersion."""
        return self.kind == "Secret"


class CNBBinding(meta.KubeModel):
    """A CNB binding (deprecated): metadata from a ConfigMap, optionally a Secret."""

    name: str = ""
    """Binding name: the directory under ``/platform/bindings``."""
    metadata_ref: meta.LocalObjectReference | None = None
    """ConfigMap holding the binding's metadata (kind, provider, …)."""
    secret_ref: meta.LocalObjectReference | None = None
    """Secret holding the binding's credentials."""


class NotaryV1Config(meta.KubeModel):
    url: str = ""
    """Notary server the completion step signs the image with."""
    secret_ref: meta.LocalObjectReference = Field(default_factory=meta.LocalObjectReference)
    """Secret with the notary signing keys, mounted at ``/var/notary/v1``."""


class NotaryConfig(meta.KubeModel):
    v1: NotaryV1Config | None = None
    """Notary v1 signing."""


class CosignAnnotation(meta.KubeModel):
    name: str = ""
    """Annotation key on the cosign signature."""
    value: str = ""
    """Annotation value."""


class CosignConfig(meta.KubeModel):
    annotations: list[CosignAnnotation] | None = None
    """Extra annotations of the cosign signature, after the build timestamp and number."""


class BuildSpec(meta.KubeModel):
    tags: list[str] | None = None
    """Tags to export; ``tags[0]`` is the image's tag."""
    builder: BuildBuilderSpec = Field(default_factory=BuildBuilderSpec)
    """Builder image."""
    service_account_name: str | None = None
    """Service account whose secrets the build uses."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """Resolved source."""
    cache: BuildCacheConfig | None = None
    """Cache of this build."""
    run_image: RunImage | None = None
    """Run image to use."""
    last_build: LastBuild | None = None
    """The previous build, for rebase and for reading its cache."""
    env: list[dict[str, Any]] | None = None
    """Build environment."""
    resources: dict[str, Any] | None = None
    """Build step resources."""
    services: list[Service] | None = None
    """Services to bind; when set, ``cnbBindings`` are ignored."""
    cnb_bindings: list[CNBBinding] | None = None
    """CNB bindings (deprecated), used only without ``services``."""
    notary: NotaryConfig | None = None
    """Notary signing of the built image."""
    cosign: CosignConfig | None = None
    """Cosign signature settings."""
    project_descriptor_path: str | None = None
    """Path of ``project.toml``."""
    default_process: str | None = None
    """Default process type."""
    tolerations: list[dict[str, Any]] | None = None
    """Pod tolerations."""
    node_selector: dict[str, str] | None = None
    """Pod node selector."""
    affinity: dict[str, Any] | None = None
    """Pod affinity."""
    runtime_class_name: str | None = None
    """Pod runtime class."""
    scheduler_name: str | None = None
    """Pod scheduler."""
    priority_class_name: str | None = None
    """Pod priority class."""
    active_deadline_seconds: int | None = None
    """Build timeout."""
    creation_time: str | None = None
    """Image creation time source."""

    def volume_cache(self) -> bool:
        return (
            self.cache is not None
            and self.cache.volume is not None
            and self.cache.volume.persistent_volume_claim_name != ""
        )

    def registry_cache(self) -> bool:
        return self.cache is not None and self.cache.registry is not None and self.cache.registry.tag != ""

    def notary_v1(self) -> NotaryV1Config | None:
        """The notary v1 configuration, if any."""
        return self.notary.v1 if self.notary is not None else None

    def registry_cache_tag(self) -> str:
        """``CACHE_TAG``: the registry tag if a registry object is present, else empty."""
        if self.cache is not None and self.cache.registry is not None:
            return self.cache.registry.tag
        return ""


class BuildpackInfo(meta.KubeModel):
    id: str = ""
    """Buildpack id."""
    version: str = ""
    """Buildpack version."""
    homepage: str | None = None
    """Buildpack homepage."""


class BuildStack(meta.KubeModel):
    run_image: str = ""
    """Run image digest reference."""
    id: str = ""
    """Stack id."""


class BuildStatus(meta.Status):
    build_metadata: list[BuildpackInfo] | None = None
    """Buildpacks that took part."""
    stack: BuildStack | None = None
    """Stack the image was built on."""
    lifecycle_version: str | None = None
    """Lifecycle version used."""
    latest_image: str | None = None
    """Digest reference of the built image."""
    latest_cache_image: str | None = None
    """Digest reference of the registry cache image after the build, or empty."""
    latest_attestation_image: str | None = None
    """SLSA attestation image."""
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

    def tag(self) -> str:
        return (self.spec.tags or [""])[0]

    def succeeded(self) -> bool:
        return self.status.is_true("Succeeded")

    def failed(self) -> bool:
        return self.status.is_false("Succeeded")

    def running(self) -> bool:
        """No Succeeded condition, or an Unknown one."""
        return not self.succeeded() and not self.failed()

    def canceled(self) -> bool:
        """Failed because it was canceled (reason ``BuildCanceled``)."""
        succeeded = self.status.condition("Succeeded")
        return self.failed() and succeeded is not None and succeeded.reason == CANCELED_REASON

    def cancel_requested(self) -> bool:
        """Whether the Build carries ``kiln.dev/cancel: "true"``."""
        return self.annotations.get(CANCEL_ANNOTATION) == "true"

    def may_run(self) -> bool:
        """Running, and its cancellation not asked for: a Build that may get a pod."""
        return self.running() and not self.cancel_requested()

    def image_name(self) -> str:
        """The Image the Build belongs to (its ``image.kpack.io/image`` label), or ""."""
        return self.labels.get(IMAGE_LABEL, "")

    def made_by_image(self) -> bool:
        """Whether an Image made the Build: its controller owner is an Image (kpack enqueues an
        Image only for such Builds); a Build created directly has none."""
        return any(
            ref.controller and ref.kind == "Image" and ref.api_version.startswith("kpack.io/")
            for ref in self.metadata.owner_references or ()
        )

    def build_number(self) -> int | None:
        """The build-number label, or None when missing or unparsable."""
        raw = self.labels.get(BUILD_NUMBER_LABEL)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    def reason(self) -> str:
        return self.annotations.get(REASON_ANNOTATION, "")

    def storm(self) -> bool:
        """Whether the Build is a storm build: every reason it was made for is a builder's change
        (BUILDPACK, STACK, LIFECYCLE), none a user's (COMMIT, CONFIG, TRIGGER). A Build without
        reasons (created directly) is a user's."""
        reasons = {reason.strip() for reason in self.reason().split(",") if reason.strip()}
        return bool(reasons) and reasons <= STORM_REASONS

    def pod_name(self) -> str:
        return meta.child_name(self.name, "-build-pod")
