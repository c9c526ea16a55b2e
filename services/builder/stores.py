"""ClusterStores, Buildpacks and ClusterBuildpacks read from their buildpackage images (spec §2.2;
kpack ``pkg/cnb/remote_store_reader.go``).

A buildpackage image lists its buildpacks in the required label ``io.buildpacks.buildpack.layers``
(``{id: {version: {api, layerDiffID, order?, stacks?, homepage?}}}``) and describes itself in the
optional label ``io.buildpacks.buildpackage.metadata``. :func:`read_buildpackage` turns one image
into one :class:`~contracts.buildpacks.BuildpackStatus` per (id, version), each with its layer's
compressed digest and size found through the config's ``rootfs.diff_ids``;
:func:`store_buildpacks` merges the images of a store into its ``status.buildpacks``.

Both labels are read into kpack's Go types (:data:`BUILDPACK_LAYER_METADATA`,
:data:`BUILDPACKAGE_METADATA`) as Go's ``json.Unmarshal`` reads them, with Go's messages
(:func:`services.builder.labels.json_label`).

Pure: no I/O. Every failure is a :class:`~services.builder.problems.BuilderProblem` with kpack's
message.
"""

from __future__ import annotations

from typing import Any

from contracts import buildpacks, golang, oci
from services.builder import labels
from services.builder.problems import BuilderProblem

LAYERS_LABEL = "io.buildpacks.buildpack.layers"
BUILDPACKAGE_LABEL = "io.buildpacks.buildpackage.metadata"

_BUILDPACK_REF = golang.Struct(
    "v1alpha1.BuildpackRef",
    (
        golang.Field("id", golang.STRING, embedded="BuildpackInfo"),
        golang.Field("version", golang.STRING, embedded="BuildpackInfo"),
        golang.Field("optional", golang.BOOL),
    ),
)
_ORDER_ENTRY = golang.Struct("v1alpha1.OrderEntry", (golang.Field("group", golang.Slice(_BUILDPACK_REF)),))
_BUILDPACK_STACK = golang.Struct(
    "v1alpha1.BuildpackStack", (golang.Field("id", golang.STRING), golang.Field("mixins", golang.STRINGS))
)
_LAYER_INFO = golang.Struct(
    "cnb.BuildpackLayerInfo",
    (
        golang.Field("api", golang.STRING),
        golang.Field("layerDiffID", golang.STRING),
        golang.Field("order", golang.Slice(_ORDER_ENTRY, "v1alpha1.Order")),
        golang.Field("stacks", golang.Slice(_BUILDPACK_STACK)),
        golang.Field("homepage", golang.STRING),
    ),
)
BUILDPACK_LAYER_METADATA = golang.StringMap(golang.StringMap(_LAYER_INFO), "cnb.BuildpackLayerMetadata")
"""kpack's type of the ``io.buildpacks.buildpack.layers`` label."""
BUILDPACKAGE_METADATA = golang.Struct(
    "cnb.BuildpackageMetadata",
    (
        golang.Field("id", golang.STRING),
        golang.Field("version", golang.STRING),
        golang.Field("homepage", golang.STRING),
    ),
)
"""kpack's type of the ``io.buildpacks.buildpackage.metadata`` label."""


def read_buildpackage(source_image: str, image: oci.RemoteImage) -> list[buildpacks.BuildpackStatus]:
    """Every buildpack in the buildpackage ``image``, fetched by the string ``source_image`` (kept
    as ``storeImage.image``), sorted by ``id@version``; raise :class:`BuilderProblem` with kpack's
    message when a label is missing or malformed or a layer is not in the image."""
    package = buildpacks.BuildpackageInfo()
    if BUILDPACKAGE_LABEL in image.labels:
        found = labels.json_label(image, key=BUILDPACKAGE_LABEL, go_type=BUILDPACKAGE_METADATA)
        package = buildpacks.BuildpackageInfo(**golang.omitempty(**found))
    layers = labels.json_label(image, key=LAYERS_LABEL, go_type=BUILDPACK_LAYER_METADATA) or {}
    entries = [
        (bp_id, version, info)
        for bp_id, versions in layers.items()
        for version, info in (versions or {}).items()
    ]
    statuses = [
        _status(bp_id, version, info, package=package, source_image=source_image, image=image)
        for bp_id, version, info in sorted(entries, key=lambda entry: f"{entry[0]}@{entry[1]}")
    ]
    return store_buildpacks([statuses])


def store_buildpacks(found: list[list[buildpacks.BuildpackStatus]]) -> list[buildpacks.BuildpackStatus]:
    """The buildpacks of all of a store's images as its status lists them: sorted by ``id@version``,
    then by ``storeImage.image``; duplicates are kept."""
    merged = [status for image in found for status in image]
    return sorted(merged, key=lambda status: (str(status), status.store_image.image))


def _status(
    bp_id: str,
    version: str,
    info: dict[str, Any],
    *,
    package: buildpacks.BuildpackageInfo,
    source_image: str,
    image: oci.RemoteImage,
) -> buildpacks.BuildpackStatus:
    name = f"{bp_id}@{version}"
    layer = _layer(info["layerDiffID"], name=name, image=image)
    return buildpacks.BuildpackStatus(
        id=bp_id,
        buildpackage=package,
        store_image=buildpacks.ImageSource(**golang.omitempty(image=source_image)),
        **golang.omitempty(
            version=version,
            diff_id=info["layerDiffID"],
            digest=layer.digest,
            size=layer.size,
            api=info["api"],
            homepage=info["homepage"],
            order=[_order_entry(entry) for entry in info["order"] or []] or None,
            stacks=[_stack(stack) for stack in info["stacks"] or []] or None,
        ),
    )


def _order_entry(entry: dict[str, Any]) -> buildpacks.OrderEntry:
    group = [
        buildpacks.BuildpackRef(
            id=ref["id"], **golang.omitempty(version=ref["version"], optional=ref["optional"])
        )
        for ref in entry["group"] or []
    ]
    return buildpacks.OrderEntry(**golang.omitempty(group=group))


def _stack(stack: dict[str, Any]) -> buildpacks.BuildpackStack:
    return buildpacks.BuildpackStack(id=stack["id"], **golang.omitempty(mixins=stack["mixins"]))


# Layers -----------------------------------------------------------------------------------------


def _layer(diff_id: str, *, name: str, image: oci.RemoteImage) -> oci.Descriptor:
    """The manifest layer whose config ``rootfs.diff_ids`` entry is ``diff_id`` (go-containerregistry's
    ``LayerByDiffID``), with the size of the first layer of that digest."""
    problem = _hash_problem(diff_id)
    if problem:
        raise BuilderProblem(f"unable to parse layer diffId for {name}: {problem}")
    if len(image.layers) != len(image.diff_ids):
        mismatch = f"mismatched fs layers ({len(image.layers)}) and diff ids ({len(image.diff_ids)})"
        raise BuilderProblem(f"unable to get layer {name}: {mismatch}")
    if diff_id not in image.diff_ids:
        raise BuilderProblem(f"unable to get layer {name}: unknown diffID {diff_id}")
    digest = image.layers[image.diff_ids.index(diff_id)].digest
    return next(layer for layer in image.layers if layer.digest == digest)


def _hash_problem(text: str) -> str:
    """go-containerregistry's ``v1.NewHash`` error for ``text``, or ``""`` when it parses."""
    parts = text.split(":")
    if len(parts) != 2:
        return f"cannot parse hash: {golang.quote(text)}"
    rest = parts[1].lstrip("0123456789abcdef")
    if rest:
        return f"found non-hex character in hash: {chr(rest.encode()[0])}"
    if parts[0] != "sha256":
        return f"unsupported hash: {golang.quote(parts[0])}"
    if len(parts[1]) != 64:
        return f"wrong number of hex digits for {parts[0]}: {parts[1]}"
    return ""
