"""Admission of the builder half: kpack's defaults and validation for ClusterStore, ClusterStack,
ClusterLifecycle, Buildpack, ClusterBuildpack, Builder and ClusterBuilder, word for word
(``pkg/apis/build/v1alpha2/*_validation.go``).

Defaults (kpack ``SetDefaults``): a Buildpack's ``serviceAccountName`` → ``default``; a Builder's
effective service account (``serviceAccountName``, else the deprecated ``serviceAccount``) →
``serviceAccountName: default``, ``stack.kind`` → ``ClusterStack``, ``store.kind`` →
``ClusterStore`` (even without a store name), ``lifecycle.name`` → ``default-lifecycle`` and
``lifecycle.kind`` → ``ClusterLifecycle``; a ClusterBuilder gets **only** the two lifecycle
defaults. The stores, stacks and lifecycles have none.

Validation (strings in :mod:`contracts.fielderrors`' knative form):

* a ``serviceAccountRef`` (ClusterStore, ClusterStack, ClusterLifecycle, ClusterBuildpack: when
  set; ClusterBuilder: always) without a name, then without a namespace, is the only error
  reported;
* ClusterStore: ``sources`` required (reported alone), each source a reference, printed as Go
  prints the struct: ``invalid value: {bad ref}: spec.sources[3]``;
* ClusterStack: ``id`` and both images (required, a reference); ClusterLifecycle: ``image``
  required, never parsed; Buildpack / ClusterBuildpack: ``image`` required, a reference;
* Builder and ClusterBuilder share :func:`validate_builder_spec` (``tag``, ``stack``, ``store``,
  ``order``); a Builder's paths start ``spec.`` and it needs a service account, a
  ClusterBuilder's paths do **not** start ``spec.`` (kpack's quirk) except its
  ``spec.serviceAccountRef``.

References are parsed as go-containerregistry's weak validation does (:mod:`contracts.references`);
a builder ``tag`` may not carry a digest. No kind here has immutable fields, so an update is
checked as a create. :data:`RULES` holds, per kind, the model to read, the defaults and the rules;
:func:`admit` runs them over a wire document. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from contracts import builders, buildpacks, meta, references, stacks
from contracts import fielderrors as fe
from contracts import spec_rules as rules

KINDS = (
    buildpacks.CLUSTER_STORE,
    stacks.CLUSTER_STACK,
    stacks.CLUSTER_LIFECYCLE,
    buildpacks.BUILDPACK,
    buildpacks.CLUSTER_BUILDPACK,
    builders.BUILDER,
    builders.CLUSTER_BUILDER,
)
"""The builder half's kinds, admitted at ``kpack.io/v1alpha2`` only (as kpack's webhook)."""
STORE_KINDS = (buildpacks.CLUSTER_STORE,)
GROUP_ENTRY_KINDS = (buildpacks.BUILDPACK, buildpacks.CLUSTER_BUILDPACK)
IMAGE_NOT_SUPPORTED = "image reference currently not supported"
"""kpack's "field" of the refusal of a group entry naming an image (it is a path, not details)."""


# Defaulting -------------------------------------------------------------------------------------


def default_cluster_store(store: buildpacks.ClusterStore) -> buildpacks.ClusterStore:
    """kpack sets nothing."""
    return store


def default_cluster_stack(stack: stacks.ClusterStack) -> stacks.ClusterStack:
    """kpack sets nothing."""
    return stack


def default_cluster_lifecycle(lifecycle: stacks.ClusterLifecycle) -> stacks.ClusterLifecycle:
    """kpack sets nothing."""
    return lifecycle


def default_buildpack(buildpack: buildpacks.Buildpack) -> buildpacks.Buildpack:
    """``serviceAccountName`` → ``default``."""
    if buildpack.spec.service_account_name:
        return buildpack
    spec = buildpack.spec.with_(service_account_name=buildpacks.DEFAULT_SERVICE_ACCOUNT)
    return buildpack.with_(spec=spec)


def default_cluster_buildpack(buildpack: buildpacks.ClusterBuildpack) -> buildpacks.ClusterBuildpack:
    """kpack sets nothing."""
    return buildpack


def default_builder(builder: builders.Builder) -> builders.Builder:
    """The service account, ``stack.kind``, ``store.kind`` and the lifecycle."""
    spec = builder.spec
    changes: dict[str, object] = {}
    if not spec.effective_service_account():
        changes["service_account_name"] = buildpacks.DEFAULT_SERVICE_ACCOUNT
    if not spec.stack.kind:
        changes["stack"] = spec.stack.with_(kind=stacks.CLUSTER_STACK)
    if not spec.store.kind:
        changes["store"] = spec.store.with_(kind=buildpacks.CLUSTER_STORE)
    return _with_default_lifecycle(builder, changes)


def default_cluster_builder(builder: builders.Builder) -> builders.Builder:
    """Only the lifecycle: a ClusterBuilder's ``stack.kind`` and ``store.kind`` are left as they are."""
    return _with_default_lifecycle(builder, {})


def _with_default_lifecycle(builder: builders.Builder, changes: dict[str, object]) -> builders.Builder:
    lifecycle = builder.spec.lifecycle
    if not lifecycle.name:
        lifecycle = lifecycle.with_(name=stacks.DEFAULT_LIFECYCLE)
    if not lifecycle.kind:
        lifecycle = lifecycle.with_(kind=stacks.CLUSTER_LIFECYCLE)
    if lifecycle is not builder.spec.lifecycle:
        changes["lifecycle"] = lifecycle
    return builder.with_(spec=builder.spec.with_(**changes)) if changes else builder


# Stores, stacks, lifecycles, buildpacks -----------------------------------------------------------


def validate_cluster_store(store: buildpacks.ClusterStore) -> fe.FieldError | None:
    spec = store.spec
    errors = _validate_service_account_ref(spec.service_account_ref) or _validate_sources(spec.sources)
    return fe.via_field(errors, "spec")


def _validate_sources(sources: list[buildpacks.ImageSource] | None) -> fe.FieldError | None:
    """Required (reported alone); each source that is no reference printed as Go prints the struct."""
    if not sources:
        return fe.missing_field("sources")
    return fe.also(
        *(
            fe.invalid_array_value(f"{{{source.image}}}", "sources", i)
            for i, source in enumerate(sources)
            if not references.is_valid(source.image)
        )
    )


def validate_cluster_stack(stack: stacks.ClusterStack) -> fe.FieldError | None:
    spec = stack.spec
    errors = _validate_service_account_ref(spec.service_account_ref) or fe.also(
        rules.not_empty(spec.id, "id"),
        fe.via_field(rules.validate_image_ref(spec.build_image.image, "image"), "buildImage"),
        fe.via_field(rules.validate_image_ref(spec.run_image.image, "image"), "runImage"),
    )
    return fe.via_field(errors, "spec")


def validate_cluster_lifecycle(lifecycle: stacks.ClusterLifecycle) -> fe.FieldError | None:
    """The image is required but, unlike every other image here, not parsed."""
    spec = lifecycle.spec
    errors = _validate_service_account_ref(spec.service_account_ref) or rules.not_empty(spec.image, "image")
    return fe.via_field(errors, "spec")


def validate_buildpack(buildpack: buildpacks.Buildpack) -> fe.FieldError | None:
    return fe.via_field(rules.validate_image_ref(buildpack.spec.image, "image"), "spec")


def validate_cluster_buildpack(buildpack: buildpacks.ClusterBuildpack) -> fe.FieldError | None:
    spec = buildpack.spec
    errors = _validate_service_account_ref(spec.service_account_ref) or rules.validate_image_ref(
        spec.image, "image"
    )
    return fe.via_field(errors, "spec")


def _validate_service_account_ref(ref: buildpacks.ServiceAccountRef | None) -> fe.FieldError | None:
    """A set reference names its account: the first missing part alone (paths under ``spec``)."""
    if ref is None:
        return None
    if not ref.name:
        return fe.missing_field("serviceAccountRef.name")
    if not ref.namespace:
        return fe.missing_field("serviceAccountRef.namespace")
    return None


# Builders -----------------------------------------------------------------------------------------


def validate_builder(builder: builders.Builder) -> fe.FieldError | None:
    """``BuilderSpec`` rules under ``spec.``, and an effective service account."""
    spec = builder.spec
    return fe.via_field(
        fe.also(
            validate_builder_spec(spec),
            rules.not_empty(spec.effective_service_account(), "serviceAccountName"),
        ),
        "spec",
    )


def validate_cluster_builder(builder: builders.Builder) -> fe.FieldError | None:
    """``spec.serviceAccountRef`` names its account (reported alone), then the ``BuilderSpec``
    rules with paths **without** ``spec.``, as kpack prints them."""
    account = _validate_service_account_ref(
        builder.spec.service_account_ref or buildpacks.ServiceAccountRef()
    )
    if account:
        return account.via_field("spec")
    return validate_builder_spec(builder.spec)


def validate_builder_spec(spec: builders.BuilderSpec) -> fe.FieldError | None:
    """kpack ``BuilderSpec.Validate``, paths relative to the spec: tag, stack, store, order."""
    return fe.also(
        _validate_tag(spec.tag),
        fe.via_field(_validate_stack(spec.stack), "stack"),
        fe.via_field(_validate_store(spec.store), "store"),
        fe.also(
            *(fe.via_field(_validate_group(entry), f"order[{i}]") for i, entry in enumerate(spec.order or []))
        ),
    )


def _validate_tag(tag: str) -> fe.FieldError | None:
    """kpack ``validate.Tag``: required, and a tag reference (weak parsing, no digest)."""
    if not tag:
        return fe.missing_field("tag")
    try:
        references.parse_tag(tag)
    except references.InvalidReferenceError:
        return fe.invalid_value(tag, "tag")
    return None


def _validate_stack(stack: meta.ObjectReference) -> fe.FieldError | None:
    """A name (reported alone), then kind ``ClusterStack`` (an invalid kind has no details)."""
    if not stack.name:
        return fe.missing_field("name")
    return None if stack.kind == stacks.CLUSTER_STACK else fe.invalid_value(stack.kind, "kind")


def _validate_store(store: meta.ObjectReference) -> fe.FieldError | None:
    """No name and no kind is no store; ``{kind: ClusterStore}`` alone is no store either."""
    if not store.name and not store.kind:
        return None
    return _validate_object_ref(store.name, store.kind, kinds=STORE_KINDS)


def _validate_group(entry: builders.BuilderOrderEntry) -> fe.FieldError | None:
    return fe.also(
        *(fe.via_field(_validate_group_entry(ref), f"group[{j}]") for j, ref in enumerate(entry.group))
    )


def _validate_group_entry(ref: builders.BuilderBuildpackRef) -> fe.FieldError | None:
    """An object reference is checked when named or kinded; an image is refused; an entry with
    neither id, image, name nor kind names nothing. An id beside kind and name is valid."""
    named = bool(ref.name or ref.kind)
    reference = _validate_object_ref(ref.name, ref.kind, kinds=GROUP_ENTRY_KINDS) if named else None
    if ref.image:
        return fe.also(reference, fe.disallowed_fields(IMAGE_NOT_SUPPORTED))
    if ref.id or named:
        return reference
    return fe.missing_one_of("image", "id", "name + kind")


def _validate_object_ref(name: str, kind: str, *, kinds: tuple[str, ...]) -> fe.FieldError | None:
    """A kind among ``kinds`` is valid even without a name (kpack returns before reporting it);
    otherwise the invalid kind, and the missing name if it is missing."""
    if kind in kinds:
        return None
    return fe.also(
        None if name else fe.missing_field("name"),
        fe.invalid_value(kind, "kind", f"must be one of {', '.join(kinds)}"),
    )


# Dispatch -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rules:
    """What admission does with one kind: read it as ``model``, ``default`` it, ``validate`` it."""

    model: type[meta.KubeObject]
    default: Callable[[Any], meta.KubeObject]
    validate: Callable[[Any], fe.FieldError | None]


RULES: Mapping[str, Rules] = {
    buildpacks.CLUSTER_STORE: Rules(buildpacks.ClusterStore, default_cluster_store, validate_cluster_store),
    stacks.CLUSTER_STACK: Rules(stacks.ClusterStack, default_cluster_stack, validate_cluster_stack),
    stacks.CLUSTER_LIFECYCLE: Rules(
        stacks.ClusterLifecycle, default_cluster_lifecycle, validate_cluster_lifecycle
    ),
    buildpacks.BUILDPACK: Rules(buildpacks.Buildpack, default_buildpack, validate_buildpack),
    buildpacks.CLUSTER_BUILDPACK: Rules(
        buildpacks.ClusterBuildpack, default_cluster_buildpack, validate_cluster_buildpack
    ),
    builders.BUILDER: Rules(builders.Builder, default_builder, validate_builder),
    builders.CLUSTER_BUILDER: Rules(builders.Builder, default_cluster_builder, validate_cluster_builder),
}


@dataclasses.dataclass(frozen=True)
class Admitted:
    """A document as admission reads it, its defaulted form, and kpack's verdict on the latter."""

    received: meta.KubeObject
    defaulted: meta.KubeObject
    error: fe.FieldError | None


def admit(doc: Mapping[str, Any]) -> Admitted:
    """Read ``doc`` (a ``kpack.io/v1alpha2`` object of one of :data:`KINDS`) as its model, default
    it and validate the defaulted object. Raises ``KeyError`` for another kind and
    ``pydantic.ValidationError`` for a document the model cannot read."""
    kind_rules = RULES[str(doc.get("kind"))]
    received = kind_rules.model.model_validate(doc)
    defaulted = kind_rules.default(received)
    return Admitted(received=received, defaulted=defaulted, error=kind_rules.validate(defaulted))
