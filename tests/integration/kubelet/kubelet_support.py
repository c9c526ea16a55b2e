"""Builds and their pods as the build runner makes them (the real pod renderer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts import builder_images, builds
from services import registry
from services.build_runner import pods
from services.kube import resources
from services.testbed.registry import builders as registry_builders

STACK_ID = "io.buildpacks.stacks.jammy"
RUN_IMAGE = "registry.example/run@sha256:" + "2" * 64
LIFECYCLE = "0.17.2"
BUILDPACKS = [{"id": "paketo-buildpacks/go", "version": "4.1.0", "homepage": "https://paketo.io"}]


async def push_builder(client: registry.RegistryClient, ref: str) -> str:
    """Push a builder image; its digest reference."""
    await registry_builders.push_builder_image(
        client,
        ref,
        stack_id=STACK_ID,
        run_image=RUN_IMAGE,
        platform_apis=["0.8", "0.9"],
        buildpacks=BUILDPACKS,
        lifecycle_version=LIFECYCLE,
    )
    return await client.digest_ref(ref)


def build(
    name: str,
    namespace: str,
    *,
    tag: str,
    builder_image: str,
    cache: dict[str, Any] | None = None,
    last_build: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> builds.Build:
    spec: dict[str, Any] = {
        "tags": [tag, f"{tag}:b1"],
        "builder": {"image": builder_image},
        "serviceAccountName": "default",
        "source": {"git": {"url": "https://github.com/example/app", "revision": "abc123"}},
    }
    if cache is not None:
        spec["cache"] = cache
    if last_build is not None:
        spec["lastBuild"] = last_build
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": spec,
        }
    )


async def create_build_and_pod(
    kube: resources.Kube, build_: builds.Build, *, builder_image: str
) -> tuple[builds.Build, dict[str, Any]]:
    """Create the Build, then its pod rendered by the build runner's pod generator."""
    created = await kube.builds.create(build_)
    config = builder_images.BuilderImageConfig(
        image=builder_image,
        stack_id=STACK_ID,
        run_image=RUN_IMAGE,
        platform_apis=["0.8", "0.9"],
        lifecycle_version=LIFECYCLE,
    )
    pod = pods.render_pod(created, config=config, now=datetime.now(UTC))
    return created, await kube.pods.create(pod)


def states(pod: dict[str, Any], key: str) -> list[tuple[str, str, int | None]]:
    """(container, state, exit code) for ``initContainerStatuses`` or ``containerStatuses``."""
    found = []
    for status in (pod.get("status") or {}).get(key) or []:
        (state, detail), *_ = status["state"].items()
        found.append((status["name"], state, detail.get("exitCode")))
    return found
