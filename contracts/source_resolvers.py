"""kpack ``SourceResolver``: resolves an Image's source (branch → commit)."""

from __future__ import annotations

from pydantic import Field

from contracts import meta, sources

KIND = "SourceResolver"


class SourceResolverSpec(meta.KubeModel):
    service_account_name: str | None = None
    """Service account with the source credentials."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """The unresolved source."""


class SourceResolverStatus(meta.Status):
    source: sources.ResolvedSource = Field(default_factory=sources.ResolvedSource)
    """The resolved source."""


class SourceResolver(meta.KubeObject):
    spec: SourceResolverSpec = Field(default_factory=SourceResolverSpec)
    """Desired state."""
    status: SourceResolverStatus = Field(default_factory=SourceResolverStatus)
    """Observed state."""

    def ready(self) -> bool:
        return self.status.is_true("Ready") and self.generation == (self.status.observed_generation or 0)
