"""The builder image planned as kpack's ``pkg/cnb/create_builder.go`` and ``builder_builder.go``
make it: every byte decided here, nothing read or written.

* :func:`resolved_tag` — where the image goes: ``spec.tag``, or for an untagged (or ``:latest``)
  one the same repository tagged ``builder-<namespace>-<name>`` / ``clusterbuilder-<name>``;
* :func:`relocated_run_image_plan` — the stack's run image copied unchanged beside it, to
  ``<tag>-run-image`` (same manifest bytes, so the same digest); the builder names it as
  :func:`relocated_run_image` ``<tag>-run-image@sha256:…``;
* :func:`plan_builder_image` — the build image with kpack's layers on top (bottom first: the
  build image's own, the default directories, the lifecycle image's last layer, one per buildpack
  by compressed size descending then ``id@version`` descending, ``/cnb/stack.toml``,
  ``/cnb/order.toml``; the added ones de-duplicated by diffID, first kept), ``WorkingDir``
  ``/layers``, one zero history entry per added layer, and kpack's ``io.buildpacks.*`` labels in
  Go's JSON.

A builder is checked before it is planned (:mod:`services.builder.compatibility`, in kpack's
order): ``check_platform`` on the images, then the buildpacks are resolved, then
``check_platform_apis`` and ``check_buildpacks`` over :func:`buildpacks_in_layer_order`.
Equal inputs give byte-identical config and manifest, so the same digest and no push.

Pure: no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import builders, buildpacks, builds, golang, oci, references, stacks
from services.builder import layers, problems, tars

DESCRIPTION = "Custom Builder built with kpack"
CREATED_BY_NAME = "kpack Builder"
"""kpack's ``createdBy.name`` (spec §3.5); the version is the caller's."""
ORDER_LABEL = "io.buildpacks.buildpack.order"
LAYERS_LABEL = "io.buildpacks.buildpack.layers"
METADATA_LABEL = "io.buildpacks.builder.metadata"
LIFECYCLE_VERSION_LABEL = "io.buildpacks.lifecycle.version"
LIFECYCLE_APIS_LABEL = "io.buildpacks.lifecycle.apis"
WORKING_DIR = layers.LAYERS_DIR
EMPTY_HISTORY = {"created": "0001-01-01T00:00:00Z"}
"""go-containerregistry's ``mutate.Append`` history entry for a layer: Go's zero ``v1.History``."""


def resolved_tag(*, kind: str, namespace: str, name: str, tag: str) -> str:
    """Where a Builder's image is pushed, fully qualified (kpack's ``resolveBuilderRef``)."""
    try:
        ref = references.parse(tag)
    except references.InvalidReferenceError as e:
        raise problems.BuilderProblem(str(e)) from e
    if ref.identifier != references.DEFAULT_TAG:
        return str(ref)
    if kind == builders.CLUSTER_BUILDER:
        return f"{ref.name}:clusterbuilder-{name}"
    return f"{ref.name}:builder-{namespace}-{name}"


def relocated_run_image_tag(tag: str) -> str:
    return f"{tag}-run-image"


def relocated_run_image(tag: str, *, run: oci.RemoteImage) -> str:
    """The run image as the builder names it: ``<tag>-run-image@<run image digest>``."""
    return f"{relocated_run_image_tag(tag)}@{run.digest}"


def relocated_run_image_plan(run: oci.RemoteImage) -> oci.ImagePlan:
    """The run image unchanged: its own manifest bytes, every blob mounted from its repository."""
    blobs: list[oci.NewBlob | oci.ExistingBlob] = [
        oci.ExistingBlob(descriptor=descriptor, repository=run.repository)
        for descriptor in [run.config_descriptor, *run.layers]
    ]
    return oci.ImagePlan(manifest=run.manifest, media_type=run.media_type, blobs=_unique(blobs))


def buildpacks_in_layer_order(
    all_buildpacks: Sequence[buildpacks.BuildpackStatus],
) -> list[buildpacks.BuildpackStatus]:
    """One buildpack per id, version and homepage (the last one given wins, as in kpack's map),
    by compressed size descending, then ``id@version`` descending (then homepage descending,
    where kpack's order is left to chance)."""
    unique = {(bp.id, bp.version, bp.homepage): bp for bp in all_buildpacks}
    return sorted(
        unique.values(), key=lambda bp: (bp.size, f"{bp.id}@{bp.version}", bp.homepage), reverse=True
    )


def buildpack_blob(buildpack: buildpacks.BuildpackStatus) -> oci.ExistingBlob:
    """A buildpack's layer, mounted from the repository of the image it was found in; always the
    Docker gzip media type (kpack's lazy mountable layer)."""
    image = buildpack.store_image.image
    try:
        repository = references.parse(image).name
    except references.InvalidReferenceError as e:
        raise problems.BuilderProblem(f"unable to parse {image}: {e}") from e
    descriptor = oci.Descriptor(
        media_type=oci.DOCKER_LAYER_GZIP, digest=buildpack.digest, size=buildpack.size
    )
    return oci.ExistingBlob(descriptor=descriptor, repository=repository)


def lifecycle_layer(lifecycle_image: oci.RemoteImage) -> tuple[oci.ExistingBlob, str]:
    """The lifecycle image's last layer and its diffID."""
    if not lifecycle_image.layers:
        raise problems.BuilderProblem("failed to find lifecycle layer: failed to find lifecycle image layers")
    index = len(lifecycle_image.layers) - 1
    diff_ids = lifecycle_image.diff_ids
    if len(diff_ids) <= index:
        raise problems.BuilderProblem(
            f"failed to find lifecycle layer: {index + 1} layers but {len(diff_ids)} diff_ids in the config"
        )
    blob = oci.ExistingBlob(descriptor=lifecycle_image.layers[index], repository=lifecycle_image.repository)
    return blob, diff_ids[index]


class BuilderImage(BaseModel):
    """A planned builder image and what the Builder's status says of it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    plan: oci.ImagePlan
    """Manifest and blobs to write to the resolved tag."""
    config: bytes
    """The config blob's bytes (also in :attr:`plan`)."""
    labels: dict[str, str]
    """Every label of the config."""
    builder_metadata: list[builds.BuildpackInfo]
    """``status.builderMetadata``: the buildpacks in layer order."""
    os: str
    """``status.os``: the build image's operating system."""
    order: list[buildpacks.OrderEntry]
    """``status.order``: the resolved order."""

    def identifier(self, tag: str) -> str:
        """``status.latestImage``: ``<tag>@<manifest digest>``."""
        return f"{tag}@{self.plan.digest}"


@dataclass(frozen=True)
class _Layer:
    blob: oci.NewBlob | oci.ExistingBlob
    diff_id: str


def plan_builder_image(
    *,
    build_image: oci.RemoteImage,
    lifecycle_image: oci.RemoteImage,
    run_image: str,
    uid: int,
    gid: int,
    resolved_buildpacks: Sequence[buildpacks.BuildpackStatus],
    order: Sequence[buildpacks.OrderEntry],
    lifecycle: stacks.ResolvedLifecycle,
    additional_labels: Mapping[str, str] | None,
    created_by_version: str,
    created_by_name: str = CREATED_BY_NAME,
) -> BuilderImage:
    """The builder image on top of ``build_image`` (see the module docstring); ``run_image`` is
    the relocated run image identifier, ``resolved_buildpacks`` every buildpack fetched
    (meta-buildpacks and their children; their order matters only between entries of equal id,
    version and homepage, where the last wins), ``order`` the resolved groups."""
    ordered = buildpacks_in_layer_order(resolved_buildpacks)
    added = _deduplicated(
        [
            _new(layers.default_dirs_layer(uid=uid, gid=gid)),
            _Layer(*lifecycle_layer(lifecycle_image)),
            *(_Layer(buildpack_blob(bp), bp.diff_id) for bp in ordered),
            _new(layers.stack_layer(run_image)),
            _new(layers.order_layer(order)),
        ]
    )
    labels = builder_labels(
        inherited=build_image.labels,
        lifecycle=lifecycle,
        additional_labels=additional_labels,
        order=order,
        ordered_buildpacks=ordered,
        run_image=run_image,
        created_by_name=created_by_name,
        created_by_version=created_by_version,
    )
    config = _config(build_image, diff_ids=[layer.diff_id for layer in added], labels=labels)
    config_blob = oci.NewBlob(descriptor=_config_descriptor(build_image.media_type, config), content=config)
    base: list[oci.NewBlob | oci.ExistingBlob] = [
        oci.ExistingBlob(descriptor=descriptor, repository=build_image.repository)
        for descriptor in build_image.layers
    ]
    manifest = oci.manifest_bytes(
        media_type=build_image.media_type,
        config=config_blob.descriptor,
        layers=[blob.descriptor for blob in base] + [layer.blob.descriptor for layer in added],
    )
    return BuilderImage(
        plan=oci.ImagePlan(
            manifest=manifest,
            media_type=build_image.media_type,
            blobs=_unique([config_blob, *base, *(layer.blob for layer in added)]),
        ),
        config=config,
        labels=labels,
        builder_metadata=[_status_metadata(bp) for bp in ordered],
        os=build_image.os,
        order=list(order),
    )


def _new(layer: tars.GzipLayer) -> _Layer:
    return _Layer(oci.NewBlob(descriptor=layer.descriptor, content=layer.blob), layer.diff_id)


def _deduplicated(added: list[_Layer]) -> list[_Layer]:
    """kpack's ``deduplicateLayers``: the first layer of each diffID."""
    seen: set[str] = set()
    kept = []
    for layer in added:
        if layer.diff_id not in seen:
            seen.add(layer.diff_id)
            kept.append(layer)
    return kept


def _unique(blobs: list[oci.NewBlob | oci.ExistingBlob]) -> list[oci.NewBlob | oci.ExistingBlob]:
    """Each blob once (by digest, first kept): a layer twice in a manifest is written once."""
    by_digest: dict[str, oci.NewBlob | oci.ExistingBlob] = {}
    for blob in blobs:
        by_digest.setdefault(blob.descriptor.digest, blob)
    return list(by_digest.values())


def _config_descriptor(manifest_media_type: str, config: bytes) -> oci.Descriptor:
    media_type = oci.OCI_CONFIG if manifest_media_type == oci.OCI_MANIFEST else oci.DOCKER_CONFIG
    return oci.Descriptor(media_type=media_type, digest=oci.sha256_digest(config), size=len(config))


def _config(build_image: oci.RemoteImage, *, diff_ids: list[str], labels: dict[str, str]) -> bytes:
    """The build image's config with kpack's changes; every other key kept as read, in order."""
    config = copy.deepcopy(build_image.config)
    container = dict(config.get("config") or {})
    container["WorkingDir"] = WORKING_DIR
    container["Labels"] = labels
    config["config"] = container
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*build_image.diff_ids, *diff_ids]
    config["rootfs"] = rootfs
    config["history"] = [*(config.get("history") or []), *(dict(EMPTY_HISTORY) for _ in diff_ids)]
    return golang.dumps(config).encode()


def _status_metadata(buildpack: buildpacks.BuildpackStatus) -> builds.BuildpackInfo:
    homepage = {"homepage": buildpack.homepage} if buildpack.homepage else {}
    return builds.BuildpackInfo.model_validate({"id": buildpack.id, "version": buildpack.version, **homepage})


# Labels -----------------------------------------------------------------------------------------


def builder_labels(
    *,
    inherited: Mapping[str, str],
    lifecycle: stacks.ResolvedLifecycle,
    additional_labels: Mapping[str, str] | None,
    order: Sequence[buildpacks.OrderEntry],
    ordered_buildpacks: Sequence[buildpacks.BuildpackStatus],
    run_image: str,
    created_by_name: str,
    created_by_version: str,
) -> dict[str, str]:
    """The config's labels, written in kpack's order (later writes win): the build image's, the
    lifecycle version, ``spec.additionalLabels``, then the four JSON labels; keys sorted, as Go
    marshals a map."""
    labels = {**inherited, LIFECYCLE_VERSION_LABEL: lifecycle.version, **(additional_labels or {})}
    labels[ORDER_LABEL] = golang.dumps(order_json(order))
    labels[LAYERS_LABEL] = golang.dumps(_layers_json(ordered_buildpacks))
    labels[LIFECYCLE_APIS_LABEL] = golang.dumps(_apis_json(lifecycle.apis))
    labels[METADATA_LABEL] = golang.dumps(
        {
            "description": DESCRIPTION,
            "stack": {"runImage": {"image": run_image, "mirrors": None}},
            "lifecycle": _lifecycle_json(lifecycle),
            "createdBy": {"name": created_by_name, "version": created_by_version},
            "buildpacks": [_descriptive_info_json(bp) for bp in ordered_buildpacks],
        }
    )
    return dict(sorted(labels.items()))


def order_json(order: Sequence[buildpacks.OrderEntry]) -> list[dict[str, Any]] | None:
    """``[]OrderEntry`` as Go marshals it: ``null`` when empty, an empty group left out."""
    if not order:
        return None
    return [{"group": [ref.wire() for ref in entry.group]} if entry.group else {} for entry in order]


def _layers_json(ordered: Sequence[buildpacks.BuildpackStatus]) -> dict[str, dict[str, Any]]:
    """``BuildpackLayerMetadata``: id → version → layer info (a later buildpack of the same id and
    version overwrites an earlier one)."""
    by_id: dict[str, dict[str, Any]] = {}
    for bp in ordered:
        info: dict[str, Any] = {"api": bp.api, "layerDiffID": bp.diff_id}
        if bp.order:
            info["order"] = order_json(bp.order)
        if bp.stacks:
            info["stacks"] = [_stack_json(stack) for stack in bp.stacks]
        if bp.homepage:
            info["homepage"] = bp.homepage
        by_id.setdefault(bp.id, {})[bp.version] = info
    return {bp_id: dict(sorted(versions.items())) for bp_id, versions in sorted(by_id.items())}


def _stack_json(stack: buildpacks.BuildpackStack) -> dict[str, Any]:
    return {"id": stack.id, "mixins": stack.mixins} if stack.mixins else {"id": stack.id}


def _descriptive_info_json(bp: buildpacks.BuildpackStatus) -> dict[str, str]:
    """``DescriptiveBuildpackInfo``: ``version`` and ``homepage`` omitted when empty."""
    out = {"id": bp.id, "version": bp.version, "homepage": bp.homepage}
    return {key: value for key, value in out.items() if key == "id" or value}


def _lifecycle_json(lifecycle: stacks.ResolvedLifecycle) -> dict[str, Any]:
    """``LifecycleMetadata``: version, the deprecated single APIs (each omitted when empty), APIs."""
    api = lifecycle.api or stacks.LifecycleApi()
    single = {
        key: value for key, value in (("buildpack", api.buildpack), ("platform", api.platform)) if value
    }
    return {"version": lifecycle.version, "api": single, "apis": _apis_json(lifecycle.apis)}


def _apis_json(apis: stacks.LifecycleApis | None) -> dict[str, Any]:
    """``LifecycleAPIs``; an empty list of versions is ``null`` (kpack's ``toCNBAPISet``)."""
    apis = apis or stacks.LifecycleApis()
    return {
        kind: {"deprecated": versions.deprecated or None, "supported": versions.supported or None}
        for kind, versions in (("buildpack", apis.buildpack), ("platform", apis.platform))
    }
