"""A ClusterLifecycle resolved from its image (spec §2.4; kpack ``pkg/cnb/remote_lifecycle_reader.go``).

Two labels are required, read in this order:

* ``io.buildpacks.builder.metadata``: ``{"lifecycle": {"version"}, "api": {"buildpack", "platform"}}``
  (kpack's ``LifecycleDescriptor``) — the version and the deprecated single APIs;
* ``io.buildpacks.lifecycle.apis``: ``{"buildpack": {"deprecated": [...], "supported": [...]},
  "platform": {...}}`` (kpack's ``LifecycleAPIs``) — copied list by list, an empty list as ``null``.

A missing label is ``could not find label <key>``; text that is not JSON, or JSON that does not fit
kpack's type, gives Go's ``json.Unmarshal`` message (:func:`services.builder.stores.json_label`).
No API is checked here (that happens when a builder is made).

Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from contracts import oci, stacks
from services.builder import stores

BUILDER_METADATA_LABEL = "io.buildpacks.builder.metadata"
LIFECYCLE_APIS_LABEL = "io.buildpacks.lifecycle.apis"

_API_SET = stores.GoType("cnb.APISet", "slice", stores.STRING)
_API_VERSIONS = stores.GoType(
    "cnb.APIVersions",
    "struct",
    fields=(stores.GoField("deprecated", _API_SET), stores.GoField("supported", _API_SET)),
)
LIFECYCLE_APIS = stores.GoType(
    "cnb.LifecycleAPIs",
    "struct",
    fields=(stores.GoField("buildpack", _API_VERSIONS), stores.GoField("platform", _API_VERSIONS)),
)
"""kpack's type of the ``io.buildpacks.lifecycle.apis`` label."""
LIFECYCLE_DESCRIPTOR = stores.GoType(
    "cnb.LifecycleDescriptor",
    "struct",
    fields=(
        stores.GoField(
            "lifecycle",
            stores.GoType("cnb.LifecycleInfo", "struct", fields=(stores.GoField("version", stores.STRING),)),
        ),
        stores.GoField(
            "api",
            stores.GoType(
                "cnb.LifecycleAPI",
                "struct",
                fields=(
                    stores.GoField("buildpack", stores.STRING),
                    stores.GoField("platform", stores.STRING),
                ),
            ),
        ),
        stores.GoField("apis", LIFECYCLE_APIS),
    ),
)
"""kpack's type of the ``io.buildpacks.builder.metadata`` label as the lifecycle reader reads it."""


def resolve_lifecycle(spec_image: str, image: oci.RemoteImage) -> stacks.ResolvedLifecycle:
    """The resolved part of a ClusterLifecycle's status for ``spec.image`` fetched as ``image``:
    ``image: {latestImage, image}``, ``version``, ``api`` and ``apis``; raise
    :class:`~services.builder.problems.BuilderProblem` with kpack's message."""
    descriptor = stores.json_label(image, key=BUILDER_METADATA_LABEL, go_type=LIFECYCLE_DESCRIPTOR)
    apis = stores.json_label(image, key=LIFECYCLE_APIS_LABEL, go_type=LIFECYCLE_APIS)
    return stacks.ResolvedLifecycle(
        image=stacks.StackStatusImage(**_given(latest_image=image.identifier, image=spec_image)),
        api=stacks.LifecycleApi(**_given(**descriptor["api"])),
        apis=stacks.LifecycleApis(
            buildpack=_api_versions(apis["buildpack"]), platform=_api_versions(apis["platform"])
        ),
        **_given(version=descriptor["lifecycle"]["version"]),
    )


def _api_versions(decoded: dict[str, Any]) -> stacks.ApiVersions:
    """kpack's ``toBuildAPISet``: an empty list becomes nil (``null``)."""
    return stacks.ApiVersions(
        deprecated=decoded["deprecated"] or None, supported=decoded["supported"] or None
    )


def _given(**fields: Any) -> dict[str, Any]:
    """The fields with a value: kpack leaves the others out (``omitempty``)."""
    return {key: value for key, value in fields.items() if value}
