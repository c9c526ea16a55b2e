"""kpack ``Builder`` and ``ClusterBuilder``: the spec the builder service makes an image from, and
the status the Image reconciler reads (duck builder).

The spec names a ClusterStack, a ClusterLifecycle, optionally a ClusterStore, and an order of
buildpack groups (each entry an id, or a Buildpack / ClusterBuildpack by kind and name); the
builder service writes ``status``: the image it pushed to ``spec.tag``, its buildpacks, stack and
lifecycle (``builder_types.go``).
"""

from __future__ import annotations

from pydantic import Field

from contracts import buildpacks, builds, meta, stacks

BUILDER = "Builder"
CLUSTER_BUILDER = "ClusterBuilder"
KINDS = (BUILDER, CLUSTER_BUILDER)
UP_TO_DATE = "UpToDate"
NO_LATEST_IMAGE_REASON = "NoLatestImage"
NO_LATEST_IMAGE_MESSAGE = "Builder has no latestImage"
RECONCILE_FAILED_REASON = "ReconcileFailed"


class Lifecycle(stacks.ResolvedLifecycle):
    """The lifecycle in the builder: the ClusterLifecycle's status without its image."""


class BuilderBuildpackRef(buildpacks.BuildpackRef):
    """A group entry: an id (and version), or a Buildpack / ClusterBuildpack by kind and name."""

    kind: str = ""
    """``Buildpack`` or ``ClusterBuildpack`` (with ``name``)."""
    name: str = ""
    """Name of the Buildpack or ClusterBuildpack."""
    namespace: str = ""
    """Unused by kpack (a Buildpack is looked up in the Builder's namespace)."""
    image: str = ""
    """Refused by kpack's admission: images in builders are not supported."""


class BuilderOrderEntry(meta.KubeModel):
    group: list[BuilderBuildpackRef] = Field(default_factory=list)
    """Buildpacks tried together, in order."""


class BuilderSpec(meta.KubeModel):
    """``BuilderSpec`` with the Builder's and the ClusterBuilder's own fields."""

    tag: str = ""
    """Where the builder image is pushed."""
    stack: meta.ObjectReference = Field(default_factory=meta.ObjectReference)
    """The ClusterStack (``kind: ClusterStack``)."""
    lifecycle: meta.ObjectReference = Field(default_factory=meta.ObjectReference)
    """The ClusterLifecycle (``default-lifecycle`` when unnamed)."""
    store: meta.ObjectReference = Field(default_factory=meta.ObjectReference)
    """The ClusterStore, if any."""
    order: list[BuilderOrderEntry] | None = None
    """Buildpack groups, tried in order at detection."""
    additional_labels: dict[str, str] | None = None
    """Labels written on the builder image."""
    service_account_name: str = ""
    """Builder: service account in its namespace whose secrets push the image."""
    service_account: str = ""
    """Builder: the deprecated spelling of ``serviceAccountName``."""
    service_account_ref: buildpacks.ServiceAccountRef | None = None
    """ClusterBuilder: the service account whose secrets push the image."""
    image_pull_secrets: list[meta.LocalObjectReference] | None = None
    """Secrets build pods pull the builder image with (passed on to Builds)."""

    def effective_service_account(self) -> str:
        """A Builder's account: ``serviceAccountName``, else the deprecated ``serviceAccount``."""
        return self.service_account_name or self.service_account

    def lifecycle_name(self) -> str:
        return self.lifecycle.name or stacks.DEFAULT_LIFECYCLE


class SignaturePath(meta.KubeModel):
    signing_secret: str = ""
    """``k8s://<namespace>/<name>`` of the cosign secret."""
    target_digest: str = ""
    """Where the signature was pushed."""


class BuilderStack(meta.KubeModel):
    run_image: str = ""
    """Run image digest reference."""
    id: str = ""
    """Stack id."""


class BuilderStatus(meta.Status):
    latest_image: str | None = None
    """Digest reference of the built builder image."""
    builder_metadata: list[builds.BuildpackInfo] | None = None
    """Buildpacks in the builder."""
    order: list[buildpacks.OrderEntry] | None = None
    """The spec's order with resolved ids and versions."""
    stack: BuilderStack | None = None
    """Stack of the builder."""
    lifecycle: Lifecycle | None = None
    """Lifecycle of the builder."""
    observed_stack_generation: int | None = None
    """The ClusterStack's ``status.observedGeneration`` the image was made from."""
    observed_store_generation: int | None = None
    """The ClusterStore's ``status.observedGeneration`` the image was made from."""
    os: str | None = None
    """Operating system of the builder image."""
    signature_paths: list[SignaturePath] | None = None
    """Cosign signatures of the builder image."""


class Builder(meta.KubeObject):
    """A Builder (namespaced) or ClusterBuilder (cluster-scoped); ``kind`` tells which."""

    spec: BuilderSpec = Field(default_factory=BuilderSpec)
    """What the builder image is made of."""
    status: BuilderStatus = Field(default_factory=BuilderStatus)
    """Observed state."""

    def ready(self) -> bool:
        """Ready True and the status is for the current generation."""
        return self.status.is_true("Ready") and self.generation == (self.status.observed_generation or 0)

    def up_to_date(self) -> bool:
        return self.status.is_true("UpToDate") and self.generation == (self.status.observed_generation or 0)

    def ready_message(self) -> str:
        found = self.status.condition("Ready")
        return (found.message or "") if found else ""

    def build_builder_spec(self) -> builds.BuildBuilderSpec:
        """What a Build built with this builder names (kpack's duck builder ``BuildBuilderSpec``):
        its latest image and, for Builders and ClusterBuilders alike, its ``spec.imagePullSecrets``."""
        spec = builds.BuildBuilderSpec(image=self.status.latest_image or "")
        names = [ref.name for ref in self.spec.image_pull_secrets or [] if ref.name]
        if not names:  # omitempty: no key at all
            return spec
        return spec.with_(image_pull_secrets=[meta.LocalObjectReference(name=name) for name in names])

    def buildpack_metadata(self) -> list[builds.BuildpackInfo]:
        return list(self.status.builder_metadata or [])

    def run_image(self) -> str:
        return self.status.stack.run_image if self.status.stack else ""

    def lifecycle_version(self) -> str:
        return self.status.lifecycle.version if self.status.lifecycle else ""

    def key(self) -> str:
        """``Builder/namespace/name`` or ``ClusterBuilder/name``."""
        if self.kind == CLUSTER_BUILDER:
            return f"{CLUSTER_BUILDER}/{self.name}"
        return f"{BUILDER}/{self.namespace}/{self.name}"
