"""A ClusterLifecycle resolved from its image (spec §2.4; kpack ``pkg/cnb/remote_lifecycle_reader.go``).

Two labels are required, read in this order:

* ``io.buildpacks.builder.metadata``: ``{"lifecycle": {"version"}, "api": {"buildpack", "platform"}}``
  (kpack's ``LifecycleDescriptor``) — the version and the deprecated single APIs;
* ``io.buildpacks.lifecycle.apis``: ``{"buildpack": {"deprecated": [...], "supported": [...]},
  "platform": {...}}`` (kpack's ``LifecycleAPIs``) — copied list by list, an empty list as ``null``.

A missing label is ``could not find label <key>``; text that is not JSON, or JSON that does not fit
kpack's type, gives Go's ``json.Unmarshal`` message (:func:`services.builder.labels.json_label`).
No API is checked here (that happens when a builder is made).

Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from contracts import golang, oci, stacks
from services.builder import labels

BUILDER_METADATA_LABEL = "io.buildpacks.builder.metadata"
LIFECYCLE_APIS_LABEL = "io.buildpacks.lifecycle.apis"

_API_SET = golang.Slice(golang.STRING, "cnb.APISet")
_API_VERSIONS = golang.Struct(
    "cnb.APIVersions", (golang.Field("deprecated", _API_SET), golang.Field("supported", _API_SET))
)
LIFECYCLE_APIS = golang.Struct(
    "cnb.LifecycleAPIs", (golang.Field("buildpack", _API_VERSIONS), golang.Field("platform", _API_VERSIONS))
)
"""kpack's type of the ``io.buildpacks.lifecycle.apis`` label."""
LIFECYCLE_DESCRIPTOR = golang.Struct(
    "cnb.LifecycleDescriptor",
    (
        golang.Field(
            "lifecycle", golang.Struct("cnb.LifecycleInfo", (golang.Field("version", golang.STRING),))
        ),
        golang.Field(
            "api",
            golang.Struct(
                "cnb.LifecycleAPI",
                (golang.Field("buildpack", golang.STRING), golang.Field("platform", golang.STRING)),
            ),
        ),
        golang.Field("apis", LIFECYCLE_APIS),
    ),
)
"""kpack's type of the ``io.buildpacks.builder.metadata`` label as the lifecycle reader reads it."""


def resolve_lifecycle(spec_image: str, image: oci.RemoteImage) -> stacks.ResolvedLifecycle:
    """The resolved part of a ClusterLifecycle's status for ``spec.image`` fetched as ``image``:
    ``image: {latestImage, image}``, ``version``, ``api`` and ``apis``; raise
    :class:`~services.builder.problems.BuilderProblem` with kpack's message."""
    descriptor = labels.json_label(image, key=BUILDER_METADATA_LABEL, go_type=LIFECYCLE_DESCRIPTOR)
    apis = labels.json_label(image, key=LIFECYCLE_APIS_LABEL, go_type=LIFECYCLE_APIS)
    return stacks.ResolvedLifecycle(
        image=stacks.StackStatusImage(**golang.omitempty(latest_image=image.identifier, image=spec_image)),
        api=stacks.LifecycleApi(**golang.omitempty(**descriptor["api"])),
        apis=stacks.LifecycleApis(
            buildpack=_api_versions(apis["buildpack"]), platform=_api_versions(apis["platform"])
        ),
        **golang.omitempty(version=descriptor["lifecycle"]["version"]),
    )


def _api_versions(decoded: dict[str, Any]) -> stacks.ApiVersions:
    """kpack's ``toBuildAPISet``: an empty list becomes nil (``null``)."""
    return stacks.ApiVersions(
        deprecated=decoded["deprecated"] or None, supported=decoded["supported"] or None
    )
