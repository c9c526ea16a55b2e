"""kpack ``SourceResolver``: resolves an Image's source (branch → commit).

Kiln adds one field to kpack's status, ``status.pushes`` (:class:`PushHistory`): the recent
commits of the branch and the delivery ids of the pushes already applied, so that a late or
redelivered webhook is recognised and never moves the branch back. It sits in the status because
the resolution it guards is written there, in the same write (an annotation would need a second
write through the main resource, and could disagree with the status it describes).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from contracts import meta, sources

KIND = "SourceResolver"
HISTORY = 64
"""How many recent commits and delivery ids :class:`PushHistory` keeps, each."""


LEGACY_SERVICE_ACCOUNT_KEY = "serviceAccountName"
"""The key Kiln wrote the service account under before it used kpack's ``serviceAccount``."""


class SourceResolverSpec(meta.KubeModel):
    service_account: str | None = None
    """Service account with the source credentials (kpack's ``serviceAccount``)."""
    source: sources.SourceConfig = Field(default_factory=sources.SourceConfig)
    """The unresolved source."""

    @model_validator(mode="before")
    @classmethod
    def _legacy_service_account(cls, data: Any) -> Any:
        """A resolver Kiln wrote with ``serviceAccountName`` reads as kpack's ``serviceAccount``.

        The old key stays among the unknown keys, so the spec differs from the one Kiln wants and
        the next reconcile rewrites the resolver with kpack's key alone."""
        if not isinstance(data, dict) or LEGACY_SERVICE_ACCOUNT_KEY not in data:
            return data
        if "serviceAccount" in data or "service_account" in data:
            return data
        return {**data, "serviceAccount": data[LEGACY_SERVICE_ACCOUNT_KEY]}


class PushHistory(meta.KubeModel):
    """What the recent pushes to the resolved branch or tag said (Kiln's, not kpack's)."""

    commits: list[str] = Field(default_factory=list)
    """Commits the branch has been at or moved on from (a push's ``before``), oldest first; at
    most :data:`HISTORY`."""
    deliveries: list[str] = Field(default_factory=list)
    """Delivery ids of the pushes already handled, oldest first; at most :data:`HISTORY`."""


class SourceResolverStatus(meta.Status):
    source: sources.ResolvedSource = Field(default_factory=sources.ResolvedSource)
    """The resolved source."""
    pushes: PushHistory | None = None
    """The recent pushes to a git branch or tag, once one arrived (Kiln's, not kpack's)."""


class SourceResolver(meta.KubeObject):
    spec: SourceResolverSpec = Field(default_factory=SourceResolverSpec)
    """Desired state."""
    status: SourceResolverStatus = Field(default_factory=SourceResolverStatus)
    """Observed state."""

    def ready(self) -> bool:
        return self.status.is_true("Ready") and self.generation == (self.status.observed_generation or 0)
