"""Small builders of the objects an Image reconcile observes, with kpack-like defaults.

Defaults: Image ``some-namespace/image-name`` (generation 1) building ``git`` ``main`` of
``https://github.com/some/repo`` with Builder ``some-builder``; the resolver has resolved ``main``
to ``NEW_COMMIT``; builds were built from ``OLD_COMMIT``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts import builders, builds, images, source_resolvers

NOW = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)
NOW_TEXT = "2024-03-05T14:07:09Z"
EARLIER_TEXT = "2024-01-01T00:00:00Z"
NAMESPACE = "some-namespace"
REPO_URL = "https://github.com/some/repo"
OLD_COMMIT = "a" * 40
NEW_COMMIT = "b" * 40
RUN_IMAGE = "gcr.io/run@sha256:" + "1" * 64
NEW_RUN_IMAGE = "gcr.io/run@sha256:" + "2" * 64
BUILDER_IMAGE = "gcr.io/builder@sha256:" + "3" * 64
STACK_ID = "io.buildpacks.stacks.jammy"
LIFECYCLE = "0.17.0"
BUILDPACKS = [{"id": "io.buildpack", "version": "v1"}]


def image(
    spec: dict[str, Any] | None = None,
    *,
    status: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    generation: int = 1,
    name: str = "image-name",
) -> images.Image:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": "image-uid",
        "generation": generation,
    }
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": metadata,
            "spec": {
                "tag": "some/image",
                "builder": {"kind": "Builder", "name": "some-builder"},
                "source": {"git": {"url": REPO_URL, "revision": "main"}},
                **(spec or {}),
            },
            "status": status or {},
        }
    )


def builder(
    *,
    ready: bool = True,
    up_to_date: bool = True,
    run_image: str = RUN_IMAGE,
    buildpacks: list[dict[str, str]] | None = None,
    lifecycle: str = LIFECYCLE,
    ready_message: str = "",
    kind: str = "Builder",
) -> builders.Builder:
    ready_condition: dict[str, Any] = {"type": "Ready", "status": "True" if ready else "False"}
    if ready_message:
        ready_condition["message"] = ready_message
    return builders.Builder.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": kind,
            "metadata": {"name": "some-builder", "namespace": NAMESPACE, "generation": 1},
            "status": {
                "observedGeneration": 1,
                "conditions": [
                    ready_condition,
                    {"type": "UpToDate", "status": "True" if up_to_date else "False"},
                ],
                "latestImage": BUILDER_IMAGE,
                "builderMetadata": BUILDPACKS if buildpacks is None else buildpacks,
                "stack": {"runImage": run_image, "id": STACK_ID},
                "lifecycle": {"version": lifecycle},
            },
        }
    )


def resolver(
    *,
    ready: bool = True,
    resolved: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
    name: str = "image-name",
) -> source_resolvers.SourceResolver:
    metadata: dict[str, Any] = {"name": f"{name}-source", "namespace": NAMESPACE, "generation": 1}
    if labels is not None:
        metadata["labels"] = labels
    return source_resolvers.SourceResolver.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "SourceResolver",
            "metadata": metadata,
            "spec": spec
            or {"serviceAccount": "default", "source": {"git": {"url": REPO_URL, "revision": "main"}}},
            "status": {
                "observedGeneration": 1,
                "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown"}],
                "source": resolved or {"git": {"url": REPO_URL, "revision": NEW_COMMIT, "type": "Branch"}},
            },
        }
    )


def build(
    number: int,
    *,
    succeeded: str | None = "True",
    message: str = "",
    created: str | None = EARLIER_TEXT,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    image_name: str = "image-name",
) -> builds.Build:
    """Build ``n`` of the image; ``succeeded`` is the Succeeded status (None: no condition)."""
    metadata: dict[str, Any] = {
        "name": f"{image_name}-build-{number}",
        "namespace": NAMESPACE,
        "labels": {
            "image.kpack.io/image": image_name,
            "image.kpack.io/buildNumber": str(number),
            "image.kpack.io/imageGeneration": "1",
            **(labels or {}),
        },
        "annotations": {"image.kpack.io/reason": "CONFIG", **(annotations or {})},
    }
    if created is not None:
        metadata["creationTimestamp"] = created
    conditions = []
    if succeeded is not None:
        conditions = [{"type": "Succeeded", "status": succeeded, **({"message": message} if message else {})}]
    outputs = {
        "latestImage": f"index.docker.io/some/image@sha256:{'9' * 63}{number}",
        "latestCacheImage": "",
        "stack": {"runImage": RUN_IMAGE, "id": STACK_ID},
        "buildMetadata": BUILDPACKS,
        "lifecycleVersion": LIFECYCLE,
    }
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": metadata,
            "spec": {
                "tags": ["some/image"],
                "serviceAccountName": "default",
                "source": {"git": {"url": REPO_URL, "revision": OLD_COMMIT}},
                "cache": {},
                "resources": {},
                **(spec or {}),
            },
            "status": {
                "conditions": conditions,
                **(outputs if succeeded == "True" else {}),
                **(status or {}),
            },
        }
    )


def first_build_config_changes(revision: str = NEW_COMMIT) -> str:
    """The CONFIG changes JSON of a first build of the default image."""
    return (
        '[{"reason":"CONFIG","old":{"resources":{},"source":{}},'
        f'"new":{{"resources":{{}},"source":{{"git":{{"url":"{REPO_URL}","revision":"{revision}"}}}}}}}}]'
    )
