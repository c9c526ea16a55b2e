"""The sandbox's example resources: a ClusterBuilder and Images, as users would write them."""

from __future__ import annotations

from typing import Any

EXAMPLES = ("registry-cache", "volume-cache")
STACK_ID = "io.buildpacks.stacks.jammy"
LIFECYCLE_VERSION = "0.20.5"
BUILDPACKS = [{"id": "paketo-buildpacks/go", "version": "4.13.0"}]
GIT_URL = "https://github.com/kiln-project/sample-go-app"
BRANCH = "main"


def cluster_builder(*, name: str, builder_image: str, run_image: str) -> dict[str, Any]:
    """A ready ClusterBuilder whose status names the builder image pushed to the sandbox registry."""
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
        {"registry": {"tag": f"{tag}-cache"}} if example == "registry-cache" else {"volume": {"size": "1G"}}
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


def commit(number: int) -> str:
    """The n-th simulated commit SHA pushed to the example's branch."""
    return f"{number:x}".rjust(40, "0")
