"""Small builders of what the builder half observes: registry images (labels, env, layers and their
diff ids) and the kpack objects (stores, stacks, lifecycles, buildpacks, builders).

Images are real in shape: the manifest bytes are a schema 2 manifest whose digest is the image
digest, the config is parsed JSON with ``config.Labels``, ``config.Env`` and ``rootfs.diff_ids``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts import builders, buildpacks, oci, stacks

NOW = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)
NOW_TEXT = "2024-03-05T14:07:09Z"
EARLIER_TEXT = "2024-01-01T00:00:00Z"
NAMESPACE = "some-namespace"


def sha(char: str) -> str:
    """``sha256:`` and 64 times ``char`` (a hex digit)."""
    return "sha256:" + char * 64


def image(
    *,
    repository: str = "registry.io/some/image",
    labels: dict[str, str] | None = None,
    env: Sequence[str] = (),
    layers: Sequence[tuple[str, str, int]] = (),
    diff_ids: Sequence[str] | None = None,
    os: str = "linux",
) -> oci.RemoteImage:
    """An image of ``layers`` (``(compressed digest, diff id, compressed size)``, bottom first);
    ``diff_ids`` overrides the config's list (to make it disagree with the manifest)."""
    config: dict[str, Any] = {
        "architecture": "amd64",
        "os": os,
        "config": {"Labels": dict(labels or {}), "Env": list(env)},
        "rootfs": {
            "type": "layers",
            "diff_ids": list(diff_ids if diff_ids is not None else [layer[1] for layer in layers]),
        },
    }
    config_bytes = json.dumps(config).encode()
    config_descriptor = oci.Descriptor(
        media_type=oci.DOCKER_CONFIG, digest=oci.sha256_digest(config_bytes), size=len(config_bytes)
    )
    descriptors = [oci.Descriptor(media_type=oci.DOCKER_LAYER_GZIP, digest=d, size=s) for d, _, s in layers]
    manifest = oci.manifest_bytes(
        media_type=oci.DOCKER_MANIFEST, config=config_descriptor, layers=descriptors
    )
    return oci.RemoteImage(
        repository=repository,
        digest=oci.sha256_digest(manifest),
        media_type=oci.DOCKER_MANIFEST,
        manifest=manifest,
        config=config,
        config_descriptor=config_descriptor,
        layers=descriptors,
    )


def status(bp_id: str, version: str = "", **fields: Any) -> buildpacks.BuildpackStatus:
    """A store entry (``status.buildpacks[i]``) from its wire fields."""
    return buildpacks.BuildpackStatus.model_validate(
        {"id": bp_id, **({"version": version} if version else {}), **fields}
    )


def meta(bp_id: str, version: str, *children: tuple[str, str], **fields: Any) -> buildpacks.BuildpackStatus:
    """A meta-buildpack whose one group lists ``children`` (``(id, version)``)."""
    group = [{"id": child_id, **({"version": v} if v else {})} for child_id, v in children]
    return status(bp_id, version, order=[{"group": group}], **fields)


def _object_status(entries: Sequence[buildpacks.BuildpackStatus], generation: int) -> dict[str, Any]:
    wire: dict[str, Any] = {"buildpacks": [entry.dump() for entry in entries]}
    if generation:
        wire["observedGeneration"] = generation
    return wire


def cluster_store(
    name: str = "some-store",
    entries: Sequence[buildpacks.BuildpackStatus] = (),
    *,
    generation: int = 0,
    service_account_ref: dict[str, str] | None = None,
) -> buildpacks.ClusterStore:
    spec: dict[str, Any] = {"sources": [{"image": "registry.io/store"}]}
    if service_account_ref is not None:
        spec["serviceAccountRef"] = service_account_ref
    return buildpacks.ClusterStore.model_validate(
        {
            "kind": "ClusterStore",
            "metadata": {"name": name},
            "spec": spec,
            "status": _object_status(entries, generation),
        }
    )


def buildpack(
    name: str,
    entries: Sequence[buildpacks.BuildpackStatus] = (),
    *,
    namespace: str = NAMESPACE,
    service_account_name: str = "",
) -> buildpacks.Buildpack:
    spec: dict[str, Any] = {"image": "registry.io/bp"}
    if service_account_name:
        spec["serviceAccountName"] = service_account_name
    return buildpacks.Buildpack.model_validate(
        {
            "kind": "Buildpack",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
            "status": _object_status(entries, 0),
        }
    )


def cluster_buildpack(
    name: str,
    entries: Sequence[buildpacks.BuildpackStatus] = (),
    *,
    service_account_ref: dict[str, str] | None = None,
) -> buildpacks.ClusterBuildpack:
    spec: dict[str, Any] = {"image": "registry.io/cbp"}
    if service_account_ref is not None:
        spec["serviceAccountRef"] = service_account_ref
    return buildpacks.ClusterBuildpack.model_validate(
        {
            "kind": "ClusterBuildpack",
            "metadata": {"name": name},
            "spec": spec,
            "status": _object_status(entries, 0),
        }
    )


def _conditions(ready: bool | None) -> list[dict[str, str]]:
    if ready is None:
        return []
    return [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": EARLIER_TEXT}]


def cluster_stack(
    name: str = "some-stack",
    *,
    ready: bool | None = True,
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> stacks.ClusterStack:
    return stacks.ClusterStack.model_validate(
        {
            "kind": "ClusterStack",
            "metadata": {"name": name, "generation": generation},
            "spec": {
                "id": "org.some.stack",
                "buildImage": {"image": "gcr.io/image/build"},
                "runImage": {"image": "gcr.io/image/run"},
            },
            "status": {**(status or {}), "conditions": _conditions(ready)},
        }
    )


def cluster_lifecycle(
    name: str = "default-lifecycle",
    *,
    ready: bool | None = True,
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> stacks.ClusterLifecycle:
    return stacks.ClusterLifecycle.model_validate(
        {
            "kind": "ClusterLifecycle",
            "metadata": {"name": name, "generation": generation},
            "spec": {"image": "gcr.io/image/lifecycle"},
            "status": {**(status or {}), "conditions": _conditions(ready)},
        }
    )


def builder(
    *,
    kind: str = builders.BUILDER,
    name: str = "custom-builder",
    namespace: str = NAMESPACE,
    order: Sequence[Sequence[dict[str, Any]]] = (),
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> builders.Builder:
    """A Builder (``namespace``) or ClusterBuilder (no namespace) with one group per ``order`` item."""
    metadata: dict[str, Any] = {"name": name, "generation": generation}
    if kind == builders.BUILDER:
        metadata["namespace"] = namespace
    return builders.Builder.model_validate(
        {
            "kind": kind,
            "metadata": metadata,
            "spec": {
                "tag": "example.com/custom-builder",
                "stack": {"kind": "ClusterStack", "name": "some-stack"},
                "store": {"kind": "ClusterStore", "name": "some-store"},
                "order": [{"group": list(group)} for group in order],
                **(spec or {}),
            },
            "status": status or {},
        }
    )
