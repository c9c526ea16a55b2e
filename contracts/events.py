"""The events Kiln's services exchange: CloudEvents 1.0 envelopes around pydantic payloads.

An event says *what changed and which key to look at*; Kubernetes stays the source of truth, so a
duplicate, late or replayed event is harmless.

* **Types** are reverse-DNS-free dotted names with a ``kiln.`` prefix: ``kiln.image.changed``,
  ``kiln.builder.changed``, ``kiln.builder.input.changed``, ``kiln.builder.outdated``,
  ``kiln.source.changed``, ``kiln.build.scheduled``, ``kiln.build.finished``,
  ``kiln.build.cancel.requested``, ``kiln.cache.digest.updated``. :data:`TYPES` maps each type to
  its payload model. The type is also the AMQP routing key on the events exchange.
* **Subject** is the ordering key: the image key ``namespace/name`` for every event about an
  image (events about one image are handled in order, one at a time), the builder key
  (``Builder/namespace/name`` or ``ClusterBuilder/name``) for ``kiln.builder.changed`` and
  ``kiln.builder.outdated``, ``Kind/name`` (``Buildpack/namespace/name``) for
  ``kiln.builder.input.changed``, and ``Build/namespace/name`` for an event about a Build of no
  Image (a Build of an Image is keyed by its Image). Each
  payload computes it as :attr:`Payload.key`; the envelope refuses a subject that differs.
* **Id** is stable and deterministic: :func:`event_id` derives a UUIDv5 from type, subject and
  a discriminator the publisher chooses so that the same fact gives the same id (e.g. the
  object's ``resourceVersion``; the build name plus its outcome). Consumers dedupe on it.
* **Wire form**: payloads are camelCase JSON (``buildNumber``, ``latestCacheImage``); on AMQP
  the body is the payload and the other attributes travel as ``ce-*`` headers (the CloudEvents
  binary content mode); :func:`parse` turns a body plus attributes back into a typed event.

The JSON Schema of every event (structured form: attributes plus ``data``) is committed as
``contracts/schemas/events.json``; regenerate it after changing a model with::

    python -m contracts.events > contracts/schemas/events.json

Pure: no I/O, no asyncio.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, cast

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts import builds, json_bounds, meta, references, sources

SCHEMA_ID = "https://kiln.dev/schemas/events.json"

ID_NAMESPACE = uuid.UUID("6f1d1c9e-5a0b-5b2e-9c53-6b696c6e0001")
"""The UUIDv5 namespace of event ids; changing it changes every id."""

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
]
Namespace = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
]
DigestRef = Annotated[str, StringConstraints(pattern=rf"^(|[^@\s]+@{references.DIGEST_PATTERN})$")]
Commit = Annotated[str, StringConstraints(pattern=sources.COMMIT_PATTERN)]
"""A full commit id: 40 lowercase hex digits, or 64 for a repository in the SHA-256 object format."""
MAX_EVENT_BYTES = 64 * 1024
"""Largest event body accepted: Kiln's events are a few hundred bytes."""
MAX_DELIVERY_LENGTH = 256
"""Longest delivery id a ``source.changed`` carries (git hosts send a UUID)."""
MAX_REFERENCE_LENGTH = 1024
"""Longest image reference an event carries."""


class InvalidEventError(ValueError):
    """A body or attribute set that is not a valid Kiln event; the message names the field."""


class Payload(meta.WireModel):
    """Base of every event payload: frozen, strict about unknown keys, camelCase on the wire."""

    event_type: ClassVar[str]
    """The CloudEvents ``type`` of this payload."""

    @property
    def key(self) -> str:
        """The ordering key, used as the CloudEvents subject and the shard hash."""
        raise NotImplementedError


class _AboutImage(Payload):
    """A payload about one Image, keyed ``namespace/image``."""

    namespace: Namespace
    """Namespace of the Image (and of the Build, where there is one)."""
    image: Name
    """Name of the Image."""

    @property
    def key(self) -> str:
        """The image key ``namespace/image``."""
        return f"{self.namespace}/{self.image}"


class ImageChanged(Payload):
    """An Image was created, changed or resynced: reconcile it."""

    event_type: ClassVar[str] = "kiln.image.changed"

    namespace: Namespace
    """Namespace of the Image."""
    name: Name
    """Name of the Image."""
    generation: int | None = Field(default=None, ge=0)
    """``metadata.generation`` seen by the publisher, a hint only (the reconcile reads the Image)."""
    resource_version: str | None = None
    """``metadata.resourceVersion`` seen by the publisher: the reconcile decides with that Image
    or a newer one."""
    builder_version: str | None = None
    """The ``resourceVersion`` of the Image's builder that a builder change's fan-out saw: the
    reconcile decides with that builder or a newer one, never with one read before."""
    build: Name | None = None
    """The Build whose recorded outcome this tells (image-state), with ``build_version``."""
    build_version: str | None = None
    """The ``resourceVersion`` of ``build`` as its outcome was written: the reconcile decides with
    that Build or a newer one, never from a cache that has not seen it yet."""

    @property
    def key(self) -> str:
        """The image key ``namespace/name``."""
        return f"{self.namespace}/{self.name}"


class StormImageChanged(ImageChanged):
    """An Image's builder changed (the image-reconciler's fan-out of ``builder.changed``): as
    ``image.changed``, on a lane of its own with a small prefetch, so that thousands of them never
    queue in front of users' pushes."""

    event_type: ClassVar[str] = "kiln.image.changed.storm"


class _AboutBuilder(Payload):
    """A payload about one Builder or ClusterBuilder, keyed ``Builder/namespace/name`` or
    ``ClusterBuilder/name``."""

    kind: Literal["Builder", "ClusterBuilder"]
    """Kind of the builder."""
    namespace: Literal[""] | Namespace
    """Namespace of a Builder; ``""`` for a ClusterBuilder."""
    name: Name
    """Name of the builder."""

    @pydantic.model_validator(mode="after")
    def _namespace_matches_kind(self) -> _AboutBuilder:
        if (self.kind == "ClusterBuilder") != (self.namespace == ""):
            raise ValueError("namespace must be '' for a ClusterBuilder and set for a Builder")
        return self

    @property
    def key(self) -> str:
        """``Builder/namespace/name`` or ``ClusterBuilder/name``: builder events are keyed by builder."""
        if self.kind == "ClusterBuilder":
            return f"ClusterBuilder/{self.name}"
        return f"Builder/{self.namespace}/{self.name}"


class BuilderChanged(_AboutBuilder):
    """A Builder or ClusterBuilder changed (buildpacks, stack, lifecycle): its Images may rebuild."""

    event_type: ClassVar[str] = "kiln.builder.changed"

    resource_version: str | None = None
    """``metadata.resourceVersion`` seen by the publisher, a hint only."""


INPUT_KINDS = ("ClusterStore", "ClusterStack", "ClusterLifecycle", "Buildpack", "ClusterBuildpack")
"""The builder half's kinds a builder image is made from."""


class BuilderInputChanged(Payload):
    """A ClusterStore, ClusterStack, ClusterLifecycle, Buildpack or ClusterBuildpack was created or
    changed, or an image it names was pushed, or it is due for re-resolution: resolve it again from
    the registry."""

    event_type: ClassVar[str] = "kiln.builder.input.changed"

    kind: Literal["ClusterStore", "ClusterStack", "ClusterLifecycle", "Buildpack", "ClusterBuildpack"]
    """Kind of the object."""
    namespace: Literal[""] | Namespace = ""
    """Namespace of a Buildpack; ``""`` for the cluster-scoped kinds."""
    name: Name
    """Name of the object."""
    resource_version: str | None = None
    """``metadata.resourceVersion`` seen by the publisher, a hint only."""
    pushed: str = Field(default="", max_length=MAX_REFERENCE_LENGTH)
    """``repository@sha256:…`` whose push announced the change (registry notification), or ``""``."""

    @pydantic.model_validator(mode="after")
    def _namespace_matches_kind(self) -> BuilderInputChanged:
        if (self.kind == "Buildpack") != (self.namespace != ""):
            raise ValueError("namespace must be set for a Buildpack and '' for the cluster-scoped kinds")
        return self

    @property
    def key(self) -> str:
        """``Kind/name``, or ``Buildpack/namespace/name``."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


class BuilderOutdated(_AboutBuilder):
    """An input of a Builder or ClusterBuilder (its stack, lifecycle, store or a buildpack) has a new
    resolution: make its image again."""

    event_type: ClassVar[str] = "kiln.builder.outdated"

    cause: str = Field(default="", max_length=600)
    """The input that moved (``ClusterStack/base``), for the log."""


class SourceChanged(_AboutImage):
    """The git source of an Image has a new revision (pushed by a webhook); ``before`` and
    ``delivery`` tell a late or redelivered push from a new one."""

    event_type: ClassVar[str] = "kiln.source.changed"

    url: str = Field(min_length=1)
    """The git repository URL as the Image spells it."""
    revision: Commit
    """The commit the branch or tag now points at."""
    before: Commit | None = None
    """The commit the branch or tag pointed at before the push (GitHub's and GitLab's ``before``);
    None when the host named none: a new ref, a generic push, an annotated tag."""
    delivery: str = Field(default="", max_length=MAX_DELIVERY_LENGTH)
    """The git host's delivery id, the same when it delivers the push again; ``""`` if it sent none."""


class SourceImagePushed(_AboutImage):
    """The tag an Image's registry source names (``spec.source.registry.image``) was pushed, or a
    poll found it at another digest: resolve it again."""

    event_type: ClassVar[str] = "kiln.source.image.pushed"

    reference: str = Field(min_length=1, max_length=MAX_REFERENCE_LENGTH)
    """The source image as the Image spells it (a tag)."""
    pushed: str = Field(default="", max_length=MAX_REFERENCE_LENGTH)
    """``host/repository@sha256:…`` the registry or the poll named, for the log; ``""`` if none."""


class _AboutBuild(Payload):
    """A payload about one Build, keyed as its Image (``namespace/image``) when it has one, so that
    everything about an Image's builds is handled in order, else ``Build/namespace/build``."""

    namespace: Namespace
    """Namespace of the Build."""
    image: Literal[""] | Name = ""
    """The Image the Build belongs to (its ``image.kpack.io/image`` label); ``""`` for a Build of no
    Image (one created directly)."""
    build: Name
    """Name of the Build."""

    @property
    def key(self) -> str:
        """The image key ``namespace/image``, or ``Build/namespace/build`` for a Build of no Image."""
        if self.image:
            return f"{self.namespace}/{self.image}"
        return f"Build/{self.namespace}/{self.build}"


class BuildScheduled(_AboutBuild):
    """A Build may need its pod: the image-reconciler created it, the bridge saw one created
    directly, or its pod was deleted while it ran. The build-runner creates the pod of a running
    Build that has none (and of no Build whose cancellation was asked for)."""

    event_type: ClassVar[str] = "kiln.build.scheduled"

    resource_version: str | None = None
    """The Build's ``resourceVersion`` as its publisher saw it (the image-reconciler: as created):
    the build-runner decides with that Build or a newer one."""


class StormBuildScheduled(BuildScheduled):
    """A storm Build may need its pod (:meth:`contracts.builds.Build.storm`: made only for a
    builder's change): as ``build.scheduled``, on a lane of its own, so that users' builds are
    admitted ahead of it."""

    event_type: ClassVar[str] = "kiln.build.scheduled.storm"


def build_scheduled(build: builds.Build) -> BuildScheduled | StormBuildScheduled:
    """The scheduling event of ``build``, on the storm lane for a storm build."""
    model = StormBuildScheduled if build.storm() else BuildScheduled
    return model(
        namespace=build.namespace,
        image=build.image_name(),
        build=build.name,
        resource_version=build.resource_version,
    )


class BuildFinished(_AboutBuild):
    """The pod of a Build terminated."""

    event_type: ClassVar[str] = "kiln.build.finished"

    outcome: Literal["Succeeded", "Failed"]
    """How the build pod ended."""
    pod: Name
    """Name of the build pod."""
    pod_status: dict[str, Any] | None = None
    """The finished pod's ``status`` as the kubelet wrote it, kept to what the Build's outcome
    is made of (``phase``, ``reason``, ``message``, each container's ``name`` and ``state``): a
    terminated pod never changes, so image-state records the outcome without reading the pod.
    None (an older publisher): image-state reads the pod."""


class BuildCancelRequested(_AboutBuild):
    """A running Build carries ``kiln.dev/cancel: "true"``: image-state ends it ``BuildCanceled`` and
    deletes its pod (keyed as :class:`BuildFinished`, so the two are handled in order)."""

    event_type: ClassVar[str] = "kiln.build.cancel.requested"


class CacheDigestUpdated(_AboutImage):
    """The registry cache tag written by a build was resolved to a digest."""

    event_type: ClassVar[str] = "kiln.cache.digest.updated"

    build: Name
    """Name of the Build that wrote the cache."""
    build_number: int = Field(ge=1)
    """The Build's ``image.kpack.io/buildNumber``."""
    cache_tag: str = Field(min_length=1)
    """The registry cache tag (``spec.cache.registry.tag``)."""
    latest_cache_image: DigestRef
    """``repository@sha256:…`` the tag pointed at after the build, or ``""`` if it is missing."""


TYPES: Mapping[str, type[Payload]] = {
    model.event_type: model
    for model in (
        ImageChanged,
        StormImageChanged,
        BuilderChanged,
        BuilderInputChanged,
        BuilderOutdated,
        SourceChanged,
        SourceImagePushed,
        BuildScheduled,
        StormBuildScheduled,
        BuildFinished,
        BuildCancelRequested,
        CacheDigestUpdated,
    )
}
"""Every event type and its payload model."""

PayloadT = TypeVar("PayloadT", bound=Payload)


class Event(BaseModel, Generic[PayloadT]):
    """A CloudEvents 1.0 event: the context attributes and the typed payload in ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    specversion: Literal["1.0"] = "1.0"
    """CloudEvents version."""
    id: str = Field(min_length=1)
    """Stable id of the fact; the same fact published twice has the same id (see ``event_id``)."""
    source: str = Field(min_length=1)
    """URI-reference of the publisher, e.g. ``/kiln/bridge``."""
    type: str = Field(min_length=1)
    """Event type, one of ``TYPES``."""
    subject: str = Field(min_length=1)
    """The ordering key: ``namespace/image``, or the builder's or builder input's key."""
    time: AwareDatetime
    """When the change was observed (RFC 3339, with a time zone)."""
    datacontenttype: Literal["application/json"] = "application/json"
    """Media type of ``data``."""
    data: PayloadT
    """The payload."""

    @pydantic.model_validator(mode="after")
    def _attributes_match_data(self) -> Event[PayloadT]:
        if self.type != self.data.event_type:
            raise ValueError(f"type {self.type!r} does not match a {type(self.data).__name__} payload")
        if self.subject != self.data.key:
            raise ValueError(f"subject {self.subject!r} does not match the payload's key {self.data.key!r}")
        return self

    def attributes(self) -> dict[str, str]:
        """The context attributes as strings (``time`` in RFC 3339), without ``data``."""
        return {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": self.datacontenttype,
        }

    def body(self) -> bytes:
        """The payload as the JSON bytes of the binary content mode."""
        return self.data.model_dump_json().encode()


def event_id(event_type: str, *, subject: str, discriminator: str) -> str:
    """A deterministic id: the same type, subject and discriminator always give the same id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{event_type}\n{subject}\n{discriminator}"))


def new(data: PayloadT, *, source: str, time: datetime, discriminator: str) -> Event[PayloadT]:
    """The event for ``data``: type and subject from the payload, id from :func:`event_id`."""
    envelope: type[Event[PayloadT]] = _event_class(type(data))
    return envelope(
        id=event_id(data.event_type, subject=data.key, discriminator=discriminator),
        source=source,
        type=data.event_type,
        subject=data.key,
        time=time,
        data=data,
    )


def parse(body: bytes | str, *, attributes: Mapping[str, object]) -> Event[Payload]:
    """The typed event of a binary-mode message; :class:`InvalidEventError` names the bad field.

    The attributes must be strings (as the binary content mode carries them), and the body JSON
    within :data:`MAX_EVENT_BYTES` and :data:`contracts.json_bounds.MAX_DEPTH` levels."""
    for name, value in attributes.items():
        if not isinstance(value, str):
            raise InvalidEventError(
                f"{name}: {value!r} is a {type(value).__name__}; event attributes are strings"
            )
    event_type = attributes.get("type")
    if not isinstance(event_type, str) or event_type not in TYPES:
        raise InvalidEventError(f"type: unknown event type {event_type!r}; expected one of {sorted(TYPES)}")
    try:
        data = json_bounds.loads(body, max_bytes=MAX_EVENT_BYTES)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidEventError(f"data: not JSON: {e}") from e
    except json_bounds.BoundsError as e:
        raise InvalidEventError(f"data: {e}") from e
    try:
        event: Event[Payload] = _event_class(TYPES[event_type]).model_validate({**attributes, "data": data})
        return event
    except pydantic.ValidationError as e:
        raise InvalidEventError(f"invalid {event_type} event: {_describe(e)}") from e


def _event_class(model: type[Payload]) -> Any:
    """``Event[model]``: one class per payload model (pydantic caches it), so equal events compare equal."""
    return Event[model]  # type: ignore[valid-type]


def _describe(error: pydantic.ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"]) or "event"
        parts.append(f"{where}: {detail['msg']}")
    return "; ".join(parts)


def _envelope(event_type: str, model: type[Payload]) -> type[Event[Payload]]:
    """``Event[model]`` whose ``type`` is the literal ``event_type`` (a precise schema per type)."""
    literal: Any = Literal[event_type]  # a type made at run time, one per event type
    envelope = pydantic.create_model(
        f"{model.__name__}Event",
        __base__=Event[model],  # type: ignore[valid-type]
        __doc__=f"A ``{event_type}`` event: {model.__doc__}",
        type=(literal, Field(description="Event type.")),
    )
    return cast(type[Event[Payload]], envelope)


_ENVELOPES: Mapping[str, type[Event[Payload]]] = {
    event_type: _envelope(event_type, model) for event_type, model in TYPES.items()
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of every event in the structured form, one branch per type."""
    union: Any = Annotated[Union[tuple(_ENVELOPES.values())], Field(discriminator="type")]  # noqa: UP007
    schema = pydantic.TypeAdapter[Any](union).json_schema(ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Kiln events",
        "description": "CloudEvents 1.0 events exchanged by Kiln's services (structured form).",
        **schema,
    }


def main() -> None:
    """``python -m contracts.events``: print the schema (as committed in ``contracts/schemas/``)."""
    print(json.dumps(json_schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
