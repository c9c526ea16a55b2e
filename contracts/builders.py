"""kpack ``Builder`` and ``ClusterBuilder`` as the Image reconciler sees them (duck builder)."""

from __future__ import annotations

from pydantic import Field

from contracts import builds, meta

BUILDER = "Builder"
CLUSTER_BUILDER = "ClusterBuilder"
KINDS = (BUILDER, CLUSTER_BUILDER)


class Lifecycle(meta.KubeModel):
    version: str = ""
    """Lifecycle version in the builder."""


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
    stack: BuilderStack | None = None
    """Stack of the builder."""
    lifecycle: Lifecycle | None = None
    """Lifecycle of the builder."""
    os: str | None = None
    """Operating system of the builder image."""


class Builder(meta.KubeObject):
    """A Builder (namespaced) or ClusterBuilder (cluster-scoped); ``kind`` tells which."""

    spec: dict[str, object] | None = None
    """Builder spec (stack, store, order); not read by the Image reconciler."""
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
        names = meta.reference_names((self.spec or {}).get("imagePullSecrets"))
        if not names:  # omitempty: no key at all
            return spec
        return spec.with_(image_pull_secrets=[meta.LocalObjectReference(name=name) for name in names])

    def buildpack_metadata(self) -> list[builds.BuildpackInfo]:
        return list(self.status.builder_metadata or [])

    def run_image(self) -> str:
        return self.status.stack.run_image if self.status.stack else ""

    def lifecycle_version(self) -> str:
        return self.status.lifecycle.version if self.status.lifecycle else ""
