"""Fixtures of the build pod tests (kpack's build_pod_test.go defaults, [HEAD])."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kubernetes_validate

from contracts import builder_images, builds
from services.build_runner import pods, secrets

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
CREATED = "1944-06-06T13:30:00Z"
"""kpack's fixture Build's ``creationTimestamp`` (``metav1.Date(1944, 6, 6, 13, 30, 0, 0, time.UTC)``)."""
BUILD_TIMESTAMP = "19440606.133000"
TAGS = ["someimage/name", "someimage/name:tag2", "someimage/name:tag3"]
PREVIOUS_IMAGE = "someimage/name@sha256:previous"
RUN_IMAGE = "builderregistry.io/run"
BUILDER_IMAGE = "builderregistry.io/builder@sha256:resolved"
STACK_ID = "com.builder.stack.io"
CLAIM = "some-cache-name"

VOLUME_CACHE: dict[str, Any] = {"volume": {"persistentVolumeClaimName": CLAIM}}
REGISTRY_CACHE: dict[str, Any] = {"registry": {"tag": "test-cache-image"}}
SERVICES: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Secret", "name": "database"},
    {"apiVersion": "v1", "kind": "Secret", "name": "apm"},
]
CNB_BINDINGS: list[dict[str, Any]] = [
    {
        "name": "some-v1alpha1-binding",
        "metadataRef": {"name": "some-configmap"},
        "secretRef": {"name": "some-secret"},
    },
    {"name": "metadata-only", "metadataRef": {"name": "other-configmap"}},
]
NOTARY: dict[str, Any] = {"v1": {"url": "some-notary-url", "secretRef": {"name": "some-notary-secret"}}}


def build_document() -> dict[str, Any]:
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {
            "name": "build-name",
            "namespace": "some-namespace",
            "uid": "build-uid",
            "creationTimestamp": CREATED,
            "labels": {
                "image.kpack.io/buildNumber": "12",
                "image.kpack.io/image": "image-name",
                "some/label": "to-pass-through",
            },
            "annotations": {
                "image.kpack.io/buildChanges": '[{"reason":"CONFIG"}]',
                "image.kpack.io/builderName": "builder-name",
                "image.kpack.io/builderKind": "ClusterBuilder",
                "some/annotation": "to-pass-through",
            },
        },
        "spec": {
            "tags": list(TAGS),
            "builder": {"image": "builderregistry.io/builder:tag"},
            "serviceAccountName": "someserviceaccount",
            "source": {"git": {"url": "giturl.com/git.git", "revision": "gitrev1234"}},
            "cache": VOLUME_CACHE,
            "lastBuild": {"image": PREVIOUS_IMAGE, "cache": {}, "stackId": STACK_ID},
        },
    }


def make_build(
    *, annotations: dict[str, str] | None = None, drop: tuple[str, ...] = (), **spec: Any
) -> builds.Build:
    """The fixture Build with ``spec`` keys replaced, ``drop`` keys removed, annotations added."""
    document = build_document()
    document["spec"].update(spec)
    for key in drop:
        del document["spec"][key]
    document["metadata"]["annotations"].update(annotations or {})
    return builds.Build.model_validate(document)


def make_config(**changes: Any) -> builder_images.BuilderImageConfig:
    given: dict[str, Any] = {
        "image": BUILDER_IMAGE,
        "stackId": STACK_ID,
        "runImage": RUN_IMAGE,
        "platformApis": ["0.7", "0.8", "0.9"],
        "uid": 2000,
        "gid": 3000,
        "os": "linux",
    }
    given.update(changes)
    return builder_images.BuilderImageConfig.model_validate(given)


def with_cache_digest(digest: str) -> dict[str, Any]:
    return {"image": PREVIOUS_IMAGE, "cache": {"image": digest}, "stackId": STACK_ID}


BUILDS: dict[str, builds.Build] = {
    "a volume cache build": make_build(),
    "a volume cache build with a default process": make_build(defaultProcess="sys-info"),
    "a volume cache build with an empty claim name": make_build(
        cache={"volume": {"persistentVolumeClaimName": ""}}
    ),
    "a build without cache": make_build(drop=("cache",)),
    "a build with an empty cache object": make_build(cache={}),
    "a registry cache first build": make_build(cache=REGISTRY_CACHE),
    "a registry cache build with a pinned digest": make_build(
        cache=REGISTRY_CACHE, lastBuild=with_cache_digest("test-cache-image@sha")
    ),
    "a registry cache with an empty tag beside a volume": make_build(
        cache={**VOLUME_CACHE, "registry": {"tag": ""}}
    ),
    "a registry cache with an empty tag only": make_build(cache={"registry": {"tag": ""}}),
    "a build with both caches": make_build(cache={**VOLUME_CACHE, **REGISTRY_CACHE}),
    "a build without a last build": make_build(drop=("lastBuild",)),
    "a build with an empty last build": make_build(lastBuild={}),
    "a STACK rebuild on the same stack": make_build(annotations={"image.kpack.io/reason": "STACK"}),
    "a STACK rebuild with a registry cache": make_build(
        cache=REGISTRY_CACHE, annotations={"image.kpack.io/reason": "STACK"}
    ),
    "a blob source build with a sub path": make_build(
        source={
            "blob": {"url": "https://blob.io/a.tgz", "auth": "secret", "stripComponents": 1},
            "subPath": "app",
        }
    ),
    "a registry source build with pull secrets": make_build(
        source={"registry": {"image": "reg.io/src@sha256:abc", "imagePullSecrets": [{"name": "src-pull"}]}}
    ),
    "a build with env, resources and scheduling": make_build(
        env=[
            {"name": "BP_JVM", "value": "17"},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        resources={"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1"}},
        nodeSelector={"disk": "fast"},
        tolerations=[{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        affinity={"nodeAffinity": {}},
        runtimeClassName="gvisor",
        schedulerName="custom",
        priorityClassName="kpack-build-high-priority",
        activeDeadlineSeconds=600,
        creationTime="now",
        projectDescriptorPath="project.toml",
        builder={"image": "builderregistry.io/builder:tag", "imagePullSecrets": [{"name": "builder-pull"}]},
    ),
    "a build with Secret services": make_build(services=SERVICES),
    "a build with CNB bindings": make_build(cnbBindings=CNB_BINDINGS),
    "a build signing with notary and cosign annotations": make_build(
        notary=NOTARY,
        cosign={"annotations": [{"name": "customAnnotationKey", "value": "customAnnotationValue"}]},
    ),
    "a STACK rebuild signing with notary": make_build(
        notary=NOTARY, services=SERVICES, annotations={"image.kpack.io/reason": "STACK"}
    ),
}


def render(build: builds.Build, **kwargs: Any) -> dict[str, Any]:
    """Render, and check that the pod is a valid Kubernetes 1.30 Pod (strict)."""
    config = kwargs.pop("config", None) or make_config()
    pod = pods.render_pod(build, config=config, now=NOW, **kwargs)
    kubernetes_validate.validate(pod, "1.30", strict=True)
    return pod


def step(pod: dict[str, Any], name: str) -> dict[str, Any]:
    """The init container or container ``name`` of ``pod``."""
    every = pod["spec"]["initContainers"] + pod["spec"]["containers"]
    return next(container for container in every if container["name"] == name)


KPACK_SECRETS = [
    secrets.BuildSecret(
        name="git-secret-1", type=secrets.BASIC_AUTH, annotations={"kpack.io/git": "https://github.com"}
    ),
    secrets.BuildSecret(
        name="git-secret-2", type=secrets.SSH_AUTH, annotations={"kpack.io/git": "https://bitbucket.com"}
    ),
    secrets.BuildSecret(
        name="docker-secret-1", type=secrets.BASIC_AUTH, annotations={"kpack.io/docker": "acr.io"}
    ),
    secrets.BuildSecret(name="random-secret-1", type=secrets.BASIC_AUTH),
    secrets.BuildSecret(name="docker-secret-2", type=secrets.DOCKER_CONFIG_JSON),
    secrets.BuildSecret(name="docker-secret-3", type=secrets.DOCKER_CFG),
    secrets.BuildSecret(name="secret.with.dots", type=secrets.DOCKER_CONFIG_JSON),
    secrets.BuildSecret(name="blob-secret", annotations={"kpack.io/blob": "blobstore.com"}),
    secrets.BuildSecret(
        name="secret-to-ignore", type="bootstrap.kubernetes.io/token", annotations={"kpack.io/docker": "x.io"}
    ),
]
"""kpack's ``secrets`` fixture: build secrets at positions 0-8 (3 and 8 skipped)."""
KPACK_COSIGN_KEYS = [
    secrets.BuildSecret(
        name="cosign-secret-1",
        annotations={
            "kpack.io/cosign.ignored": "test",
            "kpack.io/cosign.repository": "testRepository.com/fake-project-1",
            "kpack.io/cosign.docker-media-types": "1",
        },
        data_keys=["cosign.key", "cosign.password"],
    ),
    secrets.BuildSecret(
        name="cosign-secret-no-password-1",
        annotations={"kpack.io/cosign.repository": "testRepository.com/fake-project-2"},
        data_keys=["cosign.key"],
    ),
    secrets.BuildSecret(
        name="cosign-secret-no-password-2",
        annotations={"kpack.io/cosign.docker-media-types": "1"},
        data_keys=["cosign.key"],
    ),
    secrets.BuildSecret(
        name="cosign-secret.with.dots",
        annotations={"kpack.io/cosign.docker-media-types": "1"},
        data_keys=["cosign.key"],
    ),
    secrets.BuildSecret(name="invalid-cosign-secret", data_keys=["cosign.password"]),
    secrets.BuildSecret(
        name="invalid-empty-cosign-secret", annotations={"kpack.io/cosign.repository": "reg.io/x"}
    ),
]
"""kpack's ``cosignValidSecrets`` (the first four), then its ``cosignInvalidSecrets``."""
KPACK_COSIGN_ARGS = [
    "-cosign-repositories=cosign-secret-1=testRepository.com/fake-project-1",
    "-cosign-docker-media-types=cosign-secret-1=1",
    "-cosign-repositories=cosign-secret-no-password-1=testRepository.com/fake-project-2",
    "-cosign-docker-media-types=cosign-secret-no-password-2=1",
    "-cosign-docker-media-types=cosign-secret.with.dots=1",
]
"""The completion arguments kpack gives its valid cosign keys, in order."""
