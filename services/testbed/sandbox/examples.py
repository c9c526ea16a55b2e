"""The sandbox's example resources, as users would write them: the builder half (a ClusterStore,
a ClusterStack, a ClusterLifecycle and a ClusterBuilder whose image Kiln makes) and Images."""

from __future__ import annotations

import base64
from typing import Any

EXAMPLES = ("registry-cache", "volume-cache", "stack-update")
"""``stack-update`` is ``registry-cache`` whose stack's run image is then patched."""
STACK_ID = "io.buildpacks.stacks.jammy"
LIFECYCLE_VERSION = "0.20.5"
BUILDPACKS = [{"id": "paketo-buildpacks/go", "version": "4.13.0"}]
HOMEPAGE = "https://github.com/paketo-buildpacks/go"
GIT_URL = "https://github.com/kiln-project/sample-go-app"
BRANCH = "main"


KPACK = "kpack.io/v1alpha2"


def cluster_store(*, name: str, sources: list[str]) -> dict[str, Any]:
    """A ClusterStore of buildpackage images."""
    return {
        "apiVersion": KPACK,
        "kind": "ClusterStore",
        "metadata": {"name": name},
        "spec": {"sources": [{"image": image} for image in sources]},
    }


def cluster_stack(*, name: str, build_image: str, run_image: str, stack_id: str = STACK_ID) -> dict[str, Any]:
    """A ClusterStack of a build image and a run image."""
    return {
        "apiVersion": KPACK,
        "kind": "ClusterStack",
        "metadata": {"name": name},
        "spec": {"id": stack_id, "buildImage": {"image": build_image}, "runImage": {"image": run_image}},
    }


def cluster_lifecycle(*, name: str, image: str) -> dict[str, Any]:
    """A ClusterLifecycle of a lifecycle image."""
    return {
        "apiVersion": KPACK,
        "kind": "ClusterLifecycle",
        "metadata": {"name": name},
        "spec": {"image": image},
    }


def made_cluster_builder(
    *, name: str, tag: str, stack: str, store: str, lifecycle: str, order: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ClusterBuilder whose image Kiln's builder service makes from a stack, store and lifecycle."""
    return {
        "apiVersion": KPACK,
        "kind": "ClusterBuilder",
        "metadata": {"name": name},
        "spec": {
            "tag": tag,
            "stack": {"kind": "ClusterStack", "name": stack},
            "store": {"kind": "ClusterStore", "name": store},
            "lifecycle": {"kind": "ClusterLifecycle", "name": lifecycle},
            "serviceAccountRef": {"name": "default", "namespace": "default"},
            "order": order,
        },
    }


def cluster_builder(*, name: str, builder_image: str, run_image: str) -> dict[str, Any]:
    """A ready ClusterBuilder whose status names a builder image made elsewhere (a sandbox without
    the builder service: kpack's builder controllers, or a builder pushed by hand)."""
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "ClusterBuilder",
        "metadata": {"name": name},
        "spec": {
            "tag": builder_image.split("@")[0],
            "serviceAccountRef": {"name": "default", "namespace": "default"},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "UpToDate", "status": "True"}],
            "latestImage": builder_image,
            "builderMetadata": BUILDPACKS,
            "stack": {"id": STACK_ID, "runImage": run_image},
            "lifecycle": {"version": LIFECYCLE_VERSION},
            "os": "linux",
        },
    }


def image(example: str, *, name: str, namespace: str, registry: str, builder: str) -> dict[str, Any]:
    """The example Image: a registry cache (``registry-cache``) or a 1G volume cache."""
    if example not in EXAMPLES:
        raise ValueError(f"unknown example {example!r}: expected one of {', '.join(EXAMPLES)}")
    tag = f"{registry}/sandbox/{name}"
    cache: dict[str, Any] = (
        {"volume": {"size": "1G"}} if example == "volume-cache" else {"registry": {"tag": f"{tag}-cache"}}
    )
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "tag": tag,
            "builder": {"kind": "ClusterBuilder", "name": builder},
            "serviceAccountName": "default",
            "source": {"git": {"url": GIT_URL, "revision": BRANCH}},
            "cache": cache,
        },
    }


def secret(namespace: str, name: str, kind: str, data: dict[str, str], **annotations: str) -> dict[str, Any]:
    """A Secret of ``kind`` (``kubernetes.io/basic-auth``…) holding ``data``, base64-encoded as the
    API server keeps it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "type": kind,
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def commit(number: int) -> str:
    """The n-th simulated commit SHA pushed to the example's branch."""
    return f"{number:x}".rjust(40, "0")
