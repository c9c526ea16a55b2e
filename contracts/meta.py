"""Shared pieces of every Kubernetes object: the base model, metadata, conditions, child names,
and the Kubernetes idioms written once: RFC 3339 timestamps (:func:`rfc3339`), condition stamping
(:func:`stamped`), owner references (:meth:`KubeObject.controller_reference`).

User objects are tolerant: unknown fields are kept and written back unchanged, so loading a
kpack YAML document and dumping it gives the same document (``dump`` drops only what was not
in the input).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_GROUP = "kpack.io"
V1ALPHA1 = "kpack.io/v1alpha1"
V1ALPHA2 = "kpack.io/v1alpha2"

ConditionStatus = Literal["True", "False", "Unknown"]


def rfc3339(moment: datetime) -> str:
    """``moment`` as Kubernetes writes times (``2026-12-01T20:15:00Z``, whole seconds, UTC); a
    naive time counts as UTC."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeModel(BaseModel):
    """Base of user-facing Kubernetes objects: camelCase on the wire, unknown keys preserved."""

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )

    always_serialized: ClassVar[tuple[str, ...]] = ()
    """Fields kpack serialises without ``omitempty``: dumped even when not given."""

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.update(self.always_serialized)

    def dump(self) -> dict[str, Any]:
        """The wire form: camelCase keys, only what was given or decided (no invented defaults)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def with_(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied; the changed fields count as set for :meth:`dump`."""
        return self.model_copy(update=changes)


class WireModel(BaseModel):
    """Base of inputs that are Kiln's own (events, builder configs): camelCase, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


class OwnerReference(KubeModel):
    api_version: str
    """API version of the owner, e.g. ``kpack.io/v1alpha2``."""
    kind: str
    """Kind of the owner."""
    name: str
    """Name of the owner."""
    uid: str = ""
    """UID of the owner; garbage collection follows it."""
    controller: bool | None = None
    """True on the one controlling owner."""
    block_owner_deletion: bool | None = None
    """Foreground deletion of the owner waits for this object."""


class ObjectMeta(KubeModel):
    name: str = ""
    """Object name, unique per kind and namespace."""
    generate_name: str | None = None
    """Prefix for a server-generated name."""
    namespace: str | None = None
    """Namespace; absent for cluster-scoped objects."""
    uid: str | None = None
    """Server-assigned unique id."""
    resource_version: str | None = None
    """Opaque version for optimistic concurrency."""
    generation: int | None = None
    """Incremented by the API server on each spec change."""
    creation_timestamp: str | None = None
    """RFC 3339 creation time."""
    deletion_timestamp: str | None = None
    """Set when deletion has been requested."""
    labels: dict[str, str] | None = None
    """Labels, used for selection."""
    annotations: dict[str, str] | None = None
    """Annotations, free-form metadata."""
    owner_references: list[OwnerReference] | None = None
    """Objects that own this one."""


class Condition(KubeModel):
    type: str
    """Condition type, e.g. ``Ready`` or ``Succeeded``."""
    status: ConditionStatus = "Unknown"
    """``True``, ``False`` or ``Unknown``."""
    reason: str | None = None
    """One-word CamelCase reason."""
    message: str | None = None
    """Human readable detail."""
    last_transition_time: str | None = None
    """When the status last changed."""


def stamped(condition: Condition, *, previous: Condition | None, now: datetime | None) -> Condition:
    """``condition`` with its ``lastTransitionTime``: the previous one while the status stays the
    same (knative's rule), else ``now`` (``None`` leaves the condition as it is)."""
    if previous is not None and previous.status == condition.status and previous.last_transition_time:
        return condition.with_(last_transition_time=previous.last_transition_time)
    if now is None:
        return condition
    return condition.with_(last_transition_time=rfc3339(now))


class Status(KubeModel):
    """Common status fields of kpack objects (knative duck ``Status``)."""

    observed_generation: int | None = None
    """The generation this status was computed for."""
    conditions: list[Condition] | None = None
    """Conditions, at most one per type."""

    def condition(self, kind: str) -> Condition | None:
        """The condition of type ``kind``, or None (a missing condition counts as Unknown)."""
        return next((c for c in self.conditions or [] if c.type == kind), None)

    def is_true(self, kind: str) -> bool:
        found = self.condition(kind)
        return found is not None and found.status == "True"

    def is_false(self, kind: str) -> bool:
        found = self.condition(kind)
        return found is not None and found.status == "False"


class ObjectReference(KubeModel):
    kind: str = ""
    """``Builder`` or ``ClusterBuilder`` for an Image's builder."""
    name: str = ""
    """Name of the referenced object."""
    namespace: str | None = None
    """Namespace of a namespaced referenced object."""


class LocalObjectReference(KubeModel):
    name: str = ""
    """Name of a secret in the same namespace."""


class KubeObject(KubeModel):
    """Any Kubernetes object: apiVersion, kind, metadata."""

    api_version: str = Field(default="", alias="apiVersion")
    """``group/version`` of the object."""
    kind: str = ""
    """Kind of the object."""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata, kept whole."""

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.metadata.labels or {})

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.metadata.annotations or {})

    @property
    def generation(self) -> int:
        return self.metadata.generation or 0

    @property
    def resource_version(self) -> str | None:
        return self.metadata.resource_version

    def controller_reference(self, *, kind: str = "") -> OwnerReference:
        """An owner reference that makes this object the controller of another (kmeta's
        ``NewControllerRef``), naming it as Kiln serves it (``kpack.io/v1alpha2``); ``kind`` is for
        an object that does not say its own (one built in code)."""
        return OwnerReference(
            api_version=V1ALPHA2,
            kind=self.kind or kind,
            name=self.name,
            uid=self.metadata.uid or "",
            controller=True,
            block_owner_deletion=True,
        )


def reference_names(references: object) -> list[str]:
    """``[{"name": …}, …]`` (a service account's ``secrets`` or ``imagePullSecrets``, as raw JSON)
    → the names, skipping entries without one."""
    if not isinstance(references, list):
        return []
    return [str(ref["name"]) for ref in references if isinstance(ref, dict) and ref.get("name")]


def child_name(parent: str, suffix: str) -> str:
    """knative ``kmeta.ChildName``: ``parent + suffix``, hashed down to 63 characters if longer."""
    if len(parent) + len(suffix) <= 63:
        return parent + suffix
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return parent[: 31 - len(suffix)] + digest + suffix
