"""Build and rebase pods as kpack's ``build_pod.go`` writes them, end to end.

Real broker, real registry, the Kubernetes emulator, every Kiln service but the builder service
and the simulated kubelet: the build-runner renders the pods the emulator stores, the
image-reconciler writes the changes JSON the API server keeps. The builder is made elsewhere, and
the tests write its status as a builder controller would (a buildpack without a version, a run
image named by hand), which Kiln's own builder service never writes.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes_asyncio import client

from contracts import events
from services.runtime import running
from services.testbed.registry import builders as registry_builders
from services.testbed.sandbox import examples, harness
from tests.integration.e2e.conftest import BUILDER, REGISTRY, Run

pytestmark = pytest.mark.integration


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    """A sandbox whose ClusterBuilder ``default`` was made elsewhere (no builder service runs)."""
    suffix = uuid.uuid4().hex[:10]
    services = tuple(name for name in running.ALL if name != "builder")
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.05, services=services) as sb:
        await sb.add_builder(name=BUILDER)
        yield Run(sb=sb, namespace=f"e2e-{suffix}", name=f"app-{suffix}")


RESOURCES = {"limits": {"cpu": "2", "memory": "256M"}, "requests": {"cpu": "1", "memory": "128M"}}
EMPTY_DOCKER_CONFIG = base64.b64encode(b'{"auths":{}}').decode()


def create(run: Run, kind: str, name: str, **fields: Any) -> None:
    metadata = {"name": name, "namespace": run.namespace, **fields.pop("metadata", {})}
    run.sb.emulator.create(
        {"apiVersion": "v1", "kind": kind, "metadata": metadata, **fields}, namespace=run.namespace
    )


def step(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod["spec"]["initContainers"] + pod["spec"]["containers"] if c["name"] == name)


def service_account_with_secrets(run: Run) -> None:
    """A blob secret, a docker config, and image pull secrets of the account and of the builder."""
    create(
        run, "Secret", "blob-login", metadata={"annotations": {"kpack.io/blob": "https://blobs.example.com"}}
    )
    for name in ("registry-login", "account-pull", "builder-pull"):
        create(
            run,
            "Secret",
            name,
            type="kubernetes.io/dockerconfigjson",
            data={".dockerconfigjson": EMPTY_DOCKER_CONFIG},
        )
    create(
        run,
        "ServiceAccount",
        "builder",
        secrets=[{"name": "blob-login"}, {"name": "registry-login"}],
        imagePullSecrets=[{"name": "account-pull"}],
    )


def hand_written_build(run: Run, name: str, *, blob_auth: str) -> dict[str, Any]:
    """A Build written by hand, as a kpack user may: a blob source, the builder's pull secret, resources."""
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {"name": name, "namespace": run.namespace, "labels": {"image.kpack.io/buildNumber": "7"}},
        "spec": {
            "tags": [run.tag],
            "builder": {"image": run.sb.builder_image, "imagePullSecrets": [{"name": "builder-pull"}]},
            "serviceAccountName": "builder",
            "source": {"blob": {"url": "https://blobs.example.com/app.tgz", "auth": blob_auth}},
            "resources": RESOURCES,
        },
    }


async def announced(run: Run, builds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create ``builds`` and let their pods be made only in a later second than their creation (so
    a pod stamped with the time of rendering would show it), then announce them on the broker
    (``build.scheduled``) as well: each Build as the API server stored it. The bridge announces a
    Build created directly at once, so the API server refuses pods (503) until that later second,
    and the build-runner's retries make them after."""
    run.sb.emulator.add_fault(verb="create", resource="pods", namespace=run.namespace, status=503)
    stored = [await run.sb.apply(build) for build in builds]
    latest = max(datetime.fromisoformat(build["metadata"]["creationTimestamp"]) for build in stored)
    await asyncio.sleep(max(0.0, (latest + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()) + 0.05)
    run.sb.emulator.clear_faults()
    announcements = [
        events.new(
            events.BuildScheduled(
                namespace=run.namespace, image=b["metadata"]["name"], build=b["metadata"]["name"]
            ),
            source="/e2e/test",
            time=datetime.now(UTC),
            discriminator=b["metadata"]["name"],
        )
        for b in stored
    ]
    await run.sb.wiring.publisher.publish_many(announcements)
    return stored


async def scheduled_pods(
    run: Run, builds: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Create and announce ``builds`` (:func:`announced`) and wait for their pods: each Build as
    the API server stored it, with the pod the build-runner created for it."""
    stored = await announced(run, builds)
    names = [f"{b['metadata']['name']}-build-pod" for b in stored]
    await run.sb.wait_for(
        lambda: all(run.sb.emulator.get("pods", n, run.namespace) for n in names), what="the pods"
    )
    return [
        (b, run.sb.emulator.get("pods", n, run.namespace) or {}) for b, n in zip(stored, names, strict=True)
    ]


def cosign_timestamp(build: dict[str, Any]) -> str:
    created = datetime.fromisoformat(build["metadata"]["creationTimestamp"])
    return f"-cosign-annotations=buildTimestamp={created:%Y%m%d.%H%M%S}"


def env_value(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


def prepare_facts(build: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    """What kpack's BuildPod decides for prepare, the pod's pull secrets and completion's timestamp."""
    prepare = step(pod, "prepare")
    return {
        "command": prepare.get("command"),
        "resources": prepare.get("resources"),
        "args": prepare["args"],
        "BLOB_AUTH": env_value(prepare, "BLOB_AUTH"),
        "secret mounts": [
            m for m in prepare["volumeMounts"] if m["mountPath"].startswith("/var/build-secrets/")
        ],
        "secret volumes": [v["name"] for v in pod["spec"]["volumes"] if "secret-volume" in v["name"]],
        "imagePullSecrets": pod["spec"].get("imagePullSecrets"),
        "build timestamp": step(pod, "completion")["args"][-2] == cosign_timestamp(build),
    }


PULL_MOUNTS = [
    {"name": "pull-secret-volume-0", "mountPath": "/var/build-secrets/account-pull"},
    {"name": "pull-secret-volume-1", "mountPath": "/var/build-secrets/builder-pull"},
]


async def test_a_hand_written_builds_pod_has_kpacks_prepare_pull_secrets_blob_auth_and_build_timestamp(
    run: Run,
) -> None:
    service_account_with_secrets(run)

    helper, with_secret = await scheduled_pods(
        run,
        [
            hand_written_build(run, "with-helper", blob_auth="helper"),
            hand_written_build(run, "with-secret", blob_auth="secret"),
        ],
    )

    pulls = ["-imagepull=account-pull", "-imagepull=builder-pull"]
    assert prepare_facts(*helper) == {
        "command": ["/cnb/process/build-init"],
        "resources": RESOURCES,
        "args": ["-dockerconfig=registry-login", *pulls],
        "BLOB_AUTH": "true",
        "secret mounts": [
            {"name": "secret-volume-1", "mountPath": "/var/build-secrets/registry-login"},
            *PULL_MOUNTS,
        ],
        "secret volumes": ["secret-volume-1", "pull-secret-volume-0", "pull-secret-volume-1"],
        "imagePullSecrets": [{"name": "builder-pull"}],
        "build timestamp": True,
    }
    assert prepare_facts(*with_secret) == {
        "command": ["/cnb/process/build-init"],
        "resources": RESOURCES,
        "args": ["-blob=blob-login=https://blobs.example.com", "-dockerconfig=registry-login", *pulls],
        "BLOB_AUTH": "true",
        "secret mounts": [
            {"name": "secret-volume-0", "mountPath": "/var/build-secrets/blob-login"},
            {"name": "secret-volume-1", "mountPath": "/var/build-secrets/registry-login"},
            *PULL_MOUNTS,
        ],
        "secret volumes": [
            "secret-volume-0",
            "secret-volume-1",
            "pull-secret-volume-0",
            "pull-secret-volume-1",
        ],
        "imagePullSecrets": [{"name": "builder-pull"}],
        "build timestamp": True,
    }


async def update_builder_status(run: Run, change: Any) -> None:
    """Write the ClusterBuilder's status as a builder controller other than Kiln's would (the builder
    service leaves a status alone until the builder's spec or inputs change)."""
    custom = client.CustomObjectsApi(run.sb.wiring.api)
    builder = await custom.get_cluster_custom_object("kpack.io", "v1alpha2", "clusterbuilders", "default")
    change(builder["status"])
    await custom.replace_cluster_custom_object_status(
        "kpack.io", "v1alpha2", "clusterbuilders", "default", builder
    )


VERSIONLESS = [{"id": "example/versionless"}, {"id": "paketo-buildpacks/go", "version": "4.1.0"}]
WITHOUT_IT = [{"id": "paketo-buildpacks/go", "version": "4.1.0"}]


async def switch_builder(run: Run, buildpacks: list[dict[str, str]]) -> None:
    """What kpack's builder controller does for new buildpacks: a new builder image, in its status."""
    repository = run.sb.builder_image.split("@")[0]
    run_image = f"{run.sb.registry_host}/sandbox/run"
    digest = await registry_builders.push_builder_image(
        run.sb.wiring.registry,
        repository,
        stack_id=examples.STACK_ID,
        run_image=run_image,
        platform_apis=["0.7", "0.8", "0.9"],
        buildpacks=buildpacks,
        lifecycle_version=examples.LIFECYCLE_VERSION,
    )
    await update_builder_status(
        run, lambda status: status.update(latestImage=f"{repository}@{digest}", builderMetadata=buildpacks)
    )


async def test_changes_json_is_kpacks_and_a_rebase_pod_is_kpacks_rebase_pod(run: Run) -> None:
    await switch_builder(run, VERSIONLESS)
    create(run, "Secret", "db", data={"password": "cA=="})
    image = run.image("registry-cache")
    image["spec"]["build"] = {
        "services": [{"name": "db", "kind": "Secret", "apiVersion": "v1"}],
        "resources": RESOURCES,
        "buildTimeout": 30,
    }
    await run.sb.apply(image)
    [first] = await run.wait_finished(1)
    assert first.succeeded(), first.status.condition("Succeeded")
    await switch_builder(run, WITHOUT_IT)
    _, second = await run.wait_finished(2)
    new_run_image = f"{run.sb.registry_host}/sandbox/run@sha256:{'1' * 64}"
    await update_builder_status(run, lambda status: status["stack"].update(runImage=new_run_image))
    *_, third = await run.wait_created(3)
    await run.sb.wait_for(lambda: run.sb.pod(third) is not None, seconds=10, what="the rebase pod")

    first_changes = first.annotations["image.kpack.io/buildChanges"]
    pod = run.sb.pod(third) or {}
    spec = pod["spec"]
    completion = step(pod, "completion")
    assert {
        "services in the first changes": first_changes.split('"services":')[1].split("]")[0] + "]",
        "first changes handed to build-init": env_value(
            step(run.sb.pod(first) or {}, "prepare"), "BUILD_CHANGES"
        )
        == first_changes,
        "second reason": second.reason(),
        "second changes": second.annotations["image.kpack.io/buildChanges"],
        "build pod timeout": (run.sb.pod(second) or {})["spec"].get("activeDeadlineSeconds"),
        "third steps": [c["name"] for c in spec["initContainers"]],
        "rebase security context": spec["securityContext"],
        "rebase pod timeout": spec.get("activeDeadlineSeconds"),
        "rebase pod pull secrets": spec.get("imagePullSecrets"),
        "rebase resources": step(pod, "rebase").get("resources"),
        "completion resources": completion.get("resources"),
        "completion env": [e["name"] for e in completion["env"]],
    } == {
        "services in the first changes": '[{"kind":"Secret","name":"db","apiVersion":"v1"}]',
        "first changes handed to build-init": True,
        "second reason": "BUILDPACK",
        "second changes": '[{"reason":"BUILDPACK","old":[{"id":"example/versionless"}],"new":null}]',
        "build pod timeout": second.spec.active_deadline_seconds,
        "third steps": ["rebase"],
        "rebase security context": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "rebase pod timeout": None,
        "rebase pod pull secrets": None,
        "rebase resources": RESOURCES,
        "completion resources": RESOURCES,
        "completion env": ["CACHE_TAG", "TERMINATION_MESSAGE_PATH"],
    }
    assert second.spec.active_deadline_seconds is not None
