"""Is a build required? kpack's change detectors (spec §4.3), in kpack's order.

TRIGGER, COMMIT, CONFIG, BUILDPACK, STACK, LIFECYCLE: each detected change appends one
:class:`Change`. The ``changes`` string is the compact JSON kpack writes into the
``image.kpack.io/buildChanges`` annotation, byte for byte (Go's ``encoding/json`` escaping of
``<``, ``>`` and ``&`` included). The priority of a build is the highest priority among its changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import builders, builds, images, meta, quantities, references, source_resolvers, sources
from services import errors

TRIGGER = "TRIGGER"
COMMIT = "COMMIT"
CONFIG = "CONFIG"
BUILDPACK = "BUILDPACK"
STACK = "STACK"
LIFECYCLE = "LIFECYCLE"

HIGH_PRIORITY = 1000
LOW_PRIORITY = 1
PRIORITY_CLASS_NAMES = {HIGH_PRIORITY: "kpack-build-high-priority", LOW_PRIORITY: "kpack-build-low-priority"}

BuildRequired = Literal["True", "False", "Unknown"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ReconcileError(errors.PermanentError, ValueError):
    """The reconcile cannot decide (kpack returns the error and requeues).

    Permanent for a message: the same observed state gives the same error; the next event about
    the image (a new build, a builder change) reconciles it again.
    """


class Change(BaseModel):
    """One detected change: what kpack writes as ``{"reason", "old", "new"}``."""

    model_config = ConfigDict(frozen=True)

    reason: str
    """One of TRIGGER, COMMIT, CONFIG, BUILDPACK, STACK, LIFECYCLE."""
    old: Any
    """The previous value (JSON-ready)."""
    new: Any
    """The new value (JSON-ready)."""
    priority: int
    """HIGH_PRIORITY or LOW_PRIORITY."""


class Requirement(BaseModel):
    """The answer to "is a build required?"."""

    model_config = ConfigDict(frozen=True)

    status: BuildRequired
    """``True`` build, ``False`` nothing changed, ``Unknown`` builder or resolver not ready."""
    changes: tuple[Change, ...] = ()
    """The detected changes, in kpack's order."""

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.changes]

    @property
    def reasons_string(self) -> str:
        """Reasons joined with ``,`` (the ``image.kpack.io/reason`` annotation)."""
        return ",".join(self.reasons)

    @property
    def changes_json(self) -> str:
        """The ``image.kpack.io/buildChanges`` annotation, or "" without changes."""
        if not self.changes:
            return ""
        return go_json([{"reason": c.reason, "old": c.old, "new": c.new} for c in self.changes])

    @property
    def priority(self) -> int:
        """Highest priority among the changes; 0 without changes."""
        return max((c.priority for c in self.changes), default=0)

    @property
    def priority_class_name(self) -> str:
        return PRIORITY_CLASS_NAMES.get(self.priority, "")


def requirement(
    image: images.Image,
    *,
    latest_build: builds.Build | None,
    source_resolver: source_resolvers.SourceResolver,
    builder: builders.Builder,
    now: datetime,
) -> Requirement:
    """kpack ``isBuildRequired``; raises :class:`ReconcileError` when STACK cannot be decided."""
    if not source_resolver.ready() or not builder.ready():
        return Requirement(status="Unknown")
    detected = [
        trigger_change(latest_build, now=now),
        commit_change(latest_build, source_resolver=source_resolver),
        config_change(image, latest_build=latest_build, source_resolver=source_resolver),
        buildpack_change(latest_build, builder=builder),
        stack_change(latest_build, builder=builder),
        lifecycle_change(latest_build, builder=builder),
    ]
    found = tuple(c for c in detected if c is not None)
    return Requirement(status="True" if found else "False", changes=found)


def trigger_change(latest_build: builds.Build | None, *, now: datetime) -> Change | None:
    """A manual trigger: the newest build carries ``image.kpack.io/additionalBuildNeeded``."""
    if latest_build is None or builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION not in latest_build.annotations:
        return None
    message = f"A new build was manually triggered on {rfc1123z(now)}"
    return Change(reason=TRIGGER, old="", new=message, priority=HIGH_PRIORITY)


def commit_change(
    latest_build: builds.Build | None, *, source_resolver: source_resolvers.SourceResolver
) -> Change | None:
    """A new git revision resolved since the newest build."""
    resolved = source_resolver.status.source.git
    if latest_build is None or latest_build.spec.source.git is None or resolved is None:
        return None
    old, new = latest_build.spec.source.git.revision, resolved.revision
    return None if old == new else Change(reason=COMMIT, old=old, new=new, priority=HIGH_PRIORITY)


def config_change(
    image: images.Image,
    *,
    latest_build: builds.Build | None,
    source_resolver: source_resolvers.SourceResolver,
) -> Change | None:
    """env, resources, services, cnbBindings or source (git revision excluded) differ."""
    spec = image.spec.build or images.ImageBuild()
    new = _Config(
        env=spec.env,
        resources=spec.resources,
        services=spec.services,
        cnb_bindings=spec.cnb_bindings,
        source=source_resolver.status.source.source_config(),
    )
    old = _Config(source=sources.SourceConfig())
    if latest_build is not None:
        last = latest_build.spec
        old = _Config(
            env=last.env,
            resources=last.resources,
            services=_wire(last.services),
            cnb_bindings=_wire(last.cnb_bindings),
            source=last.source,
        )
    if old.comparable() == new.comparable():
        return None
    return Change(reason=CONFIG, old=old.document(), new=new.document(), priority=HIGH_PRIORITY)


def _wire(entries: Sequence[meta.KubeModel] | None) -> list[dict[str, Any]] | None:
    """A Build's typed services or bindings as the Image holds them: their wire documents."""
    return None if entries is None else [entry.dump() for entry in entries]


def buildpack_change(latest_build: builds.Build | None, *, builder: builders.Builder) -> Change | None:
    """A buildpack of the last successful build is no longer in the builder at that version."""
    if latest_build is None or not latest_build.succeeded():
        return None
    available = {(bp.id, bp.version) for bp in builder.buildpack_metadata()}
    missing = [bp for bp in latest_build.status.build_metadata or [] if (bp.id, bp.version) not in available]
    if not missing:
        return None
    old = [buildpack_document(bp) for bp in sorted(missing, key=lambda bp: bp.id)]
    return Change(reason=BUILDPACK, old=old, new=None, priority=LOW_PRIORITY)


def stack_change(latest_build: builds.Build | None, *, builder: builders.Builder) -> Change | None:
    """The builder's run image differs (by digest or tag) from the last successful build's."""
    if latest_build is None or not latest_build.succeeded():
        return None
    stack = latest_build.status.stack or builds.BuildStack()
    try:
        old = references.parse(stack.run_image).identifier
        new = references.parse(builder.run_image()).identifier
    except references.InvalidReferenceError as e:
        raise ReconcileError(
            "error determining if an image build is needed: "
            f"error determining if build is required for reason '{STACK}': {e}"
        ) from e
    return None if old == new else Change(reason=STACK, old=old, new=new, priority=LOW_PRIORITY)


def lifecycle_change(latest_build: builds.Build | None, *, builder: builders.Builder) -> Change | None:
    """The builder's lifecycle version differs from the last successful build's."""
    if latest_build is None or not latest_build.succeeded():
        return None
    old, new = latest_build.status.lifecycle_version or "", builder.lifecycle_version()
    return None if old == new else Change(reason=LIFECYCLE, old=old, new=new, priority=LOW_PRIORITY)


class _Config(BaseModel):
    """kpack ``buildchange.Config``: what a CONFIG change compares."""

    model_config = ConfigDict(frozen=True)

    env: list[dict[str, Any]] | None = None
    resources: dict[str, Any] | None = None
    services: list[dict[str, Any]] | None = None
    cnb_bindings: list[dict[str, Any]] | None = None
    source: sources.SourceConfig

    def comparable(self) -> Any:
        """Semantic form: Go zero values dropped, quantities as numbers, git revision blanked."""
        source = self.source
        if source.git is not None:
            source = source.with_(git=source.git.with_(revision=""))
        return semantic(
            {
                "env": self.env,
                "resources": resource_numbers(self.resources or {}),
                "services": self.services,
                "cnbBindings": self.cnb_bindings,
                "source": source.dump(),
            }
        )

    def document(self) -> dict[str, Any]:
        """The config as Go serialises it in the changes JSON (field order and omitempty)."""
        doc: dict[str, Any] = {}
        if self.env:
            doc["env"] = [_env_var(e) for e in self.env]
        doc["resources"] = _resources_document(self.resources or {})
        if self.services:
            doc["services"] = [_go_struct(s, _OBJECT_REFERENCE) for s in self.services]
        if self.cnb_bindings:
            doc["cnbBindings"] = [_cnb_binding(b) for b in self.cnb_bindings]
        doc["source"] = source_document(self.source)
        return doc


def source_document(source: sources.SourceConfig) -> dict[str, Any]:
    """A SourceConfig as Go's ``encoding/json`` writes it (url/revision/image never omitted)."""
    doc: dict[str, Any] = {}
    if source.git is not None:
        git: dict[str, Any] = {"url": source.git.url, "revision": source.git.revision}
        if source.git.initialize_submodules:
            git["initializeSubmodules"] = True
        doc["git"] = git
    if source.blob is not None:
        blob: dict[str, Any] = {"url": source.blob.url}
        if source.blob.auth:
            blob["auth"] = source.blob.auth
        if source.blob.strip_components:
            blob["stripComponents"] = source.blob.strip_components
        doc["blob"] = blob
    if source.registry is not None:
        registry: dict[str, Any] = {"image": source.registry.image}
        if source.registry.image_pull_secrets:
            registry["imagePullSecrets"] = [
                _local_reference(s.dump()) for s in source.registry.image_pull_secrets
            ]
        doc["registry"] = registry
    if source.sub_path:
        doc["subPath"] = source.sub_path
    return doc


# Go's encoding of the Kubernetes types in the changes JSON: (json name, omitempty) in field order.
_OBJECT_REFERENCE = (
    ("kind", True),
    ("namespace", True),
    ("name", True),
    ("uid", True),
    ("apiVersion", True),
    ("resourceVersion", True),
    ("fieldPath", True),
)
_KEY_SELECTOR = (("name", True), ("key", False))
_FIELD_SELECTOR = (("apiVersion", True), ("fieldPath", False))
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")


def _go_struct(doc: Any, fields: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    """``doc`` as Go writes the struct: its fields in declaration order, unknown keys dropped,
    an ``omitempty`` field left out when empty, any other written even when missing ("")."""
    given = doc if isinstance(doc, Mapping) else {}
    written: dict[str, Any] = {}
    for name, omitempty in fields:
        value = given.get(name)
        if not omitempty:
            written[name] = "" if value is None else value
        elif value not in (None, ""):
            written[name] = value
    return written


def _local_reference(doc: Any) -> dict[str, Any]:
    """``LocalObjectReference``: ``{"name"}``, the name omitted when empty."""
    return _go_struct(doc, (("name", True),))


def _cnb_binding(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``CNBBinding``: name (omitempty), then the metadataRef and secretRef pointers when set."""
    written = _go_struct(doc, (("name", True),))
    for ref in ("metadataRef", "secretRef"):
        if doc.get(ref) is not None:
            written[ref] = _local_reference(doc[ref])
    return written


def buildpack_document(buildpack: builds.BuildpackInfo) -> dict[str, str]:
    """``BuildpackInfo``: ``id``, and ``version`` only when there is one (``omitempty``)."""
    return {"id": buildpack.id, **({"version": buildpack.version} if buildpack.version else {})}


def _env_var(env: Mapping[str, Any]) -> dict[str, Any]:
    """``EnvVar``: name, value (omitempty), then the valueFrom pointer in Go's field order."""
    doc: dict[str, Any] = {"name": env.get("name") or ""}
    if env.get("value"):
        doc["value"] = env["value"]
    source = env.get("valueFrom")
    if isinstance(source, Mapping):
        doc["valueFrom"] = {
            key: _env_source(key, source[key]) for key in _ENV_SOURCES if source.get(key) is not None
        }
    return doc


def _env_source(key: str, selector: Any) -> dict[str, Any]:
    if key == "fieldRef":
        return _go_struct(selector, _FIELD_SELECTOR)
    if key == "resourceFieldRef":
        written = _go_struct(selector, (("containerName", True), ("resource", False)))
        written["divisor"] = _quantity_text(
            selector.get("divisor") if isinstance(selector, Mapping) else None
        )
        return written
    written = _go_struct(selector, _KEY_SELECTOR)
    if isinstance(selector, Mapping) and selector.get("optional") is not None:
        written["optional"] = selector["optional"]
    return written


def _quantity_text(value: Any) -> str:
    """A quantity as Go writes it (``Quantity.String()``: ``1024Mi`` is ``1Gi``); none is ``0``."""
    if value is None or value == "":
        return "0"
    try:
        return quantities.canonical(value)
    except quantities.InvalidQuantityError:
        return str(value)


def _resources_document(resources: Mapping[str, Any]) -> dict[str, Any]:
    """``ResourceRequirements``: limits and requests by name with canonical quantities, then claims."""
    doc: dict[str, Any] = {}
    for key in ("limits", "requests"):
        if resources.get(key):
            doc[key] = {name: _quantity_text(value) for name, value in sorted(resources[key].items())}
    if resources.get("claims"):
        doc["claims"] = [
            _go_struct(claim, (("name", False), ("request", True))) for claim in resources["claims"]
        ]
    return doc


def resource_numbers(resources: Mapping[str, Any]) -> dict[str, Any]:
    """Resource lists with quantities as exact numbers, so ``1Gi`` equals ``1024Mi``."""
    numbers: dict[str, Any] = dict(resources)
    for key in ("limits", "requests"):
        if isinstance(resources.get(key), Mapping):
            numbers[key] = {name: quantity(value) for name, value in resources[key].items()}
    return numbers


def quantity(value: Any) -> Decimal | str:
    """A quantity's exact value; an unparsable one compares as its text."""
    try:
        return quantities.parse(value)
    except quantities.InvalidQuantityError:
        return str(value)


def semantic(value: Any) -> Any:
    """``equality.Semantic`` comparison form: Go zero values (None, "", 0, False, empty) dropped."""
    if isinstance(value, Mapping):
        kept = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _is_zero(v)}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [semantic(v) for v in value]
    return value


def _is_zero(value: Any) -> bool:
    return value is None or (not isinstance(value, Decimal) and value in ("", 0, False, [], {}))


def go_json(value: Any) -> str:
    """Compact JSON as Go's ``json.Marshal`` writes it (HTML characters escaped, UTF-8 kept)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def rfc1123z(moment: datetime) -> str:
    """Go's ``time.RFC1123Z`` (``Mon, 02 Jan 2006 15:04:05 -0700``); a naive time counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{day}, {moment:%d} {month} {moment:%Y %H:%M:%S %z}"
