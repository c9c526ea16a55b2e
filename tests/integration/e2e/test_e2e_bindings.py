"""Bindings and notary end to end: the build-runner reads what the bindings need from the cluster
(the namespace's service accounts, provisioned services) and the pod mounts them; a binding to a
service account's secret, or to a service that is not there, fails the Build before any pod.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from contracts import builds as build_models

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

NOTARY = {"v1": {"url": "https://notary.example.com", "secretRef": {"name": "notary-keys"}}}


def image_with(run: Run, *, build: dict[str, Any], **spec: Any) -> dict[str, Any]:
    image = run.image("registry-cache")
    image["spec"]["build"] = build
    image["spec"].update(spec)
    return image


def service_account(run: Run, *, secrets: list[str]) -> None:
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": run.namespace},
        "secrets": [{"name": name} for name in secrets],
    }
    run.sb.emulator.create(account, namespace=run.namespace)


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    every = pod["spec"]["initContainers"] + pod["spec"]["containers"]
    return next(c for c in every if c["name"] == name)


def binding_mounts(pod: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [m for m in container(pod, name)["volumeMounts"] if m["name"].startswith("binding-")]


def failure(build: build_models.Build) -> tuple[str, str | None, str | None]:
    condition = build.status.condition("Succeeded")
    assert condition is not None
    return condition.status, condition.reason, condition.message


async def test_a_secret_service_and_a_provisioned_one_are_mounted_and_notary_signs(run: Run) -> None:
    service_account(run, secrets=["registry-credentials"])
    # The emulator serves only the kinds Kiln uses; any object with status.binding is a provisioned
    # service (kpack reads it as a duck type), so a SourceResolver stands in for one here.
    provisioned = {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "SourceResolver",
        "metadata": {"name": "orders-db", "namespace": run.namespace},
        "spec": {},
        "status": {"binding": {"name": "orders-db-credentials"}},
    }
    await run.sb.apply(provisioned)
    services = [
        {"apiVersion": "v1", "kind": "Secret", "name": "database"},
        {"apiVersion": "kpack.io/v1alpha2", "kind": "SourceResolver", "name": "orders-db"},
    ]
    await run.sb.apply(image_with(run, build={"services": services}, notary=NOTARY))

    [build] = await run.wait_finished(1)

    assert build.succeeded(), build.status.condition("Succeeded")
    assert build.spec.notary_v1() is not None
    pod = run.sb.pod(build)
    assert pod is not None
    assert pod["spec"]["volumes"][-3:] == [
        {"name": "notary-dir", "secret": {"secretName": "notary-keys"}},
        {"name": "binding-database", "secret": {"secretName": "database"}},
        {"name": "binding-orders-db", "secret": {"secretName": "orders-db-credentials"}},
    ]
    mounts = [
        {"name": "binding-database", "mountPath": "/platform/bindings/database", "readOnly": True},
        {"name": "binding-orders-db", "mountPath": "/platform/bindings/orders-db", "readOnly": True},
    ]
    assert binding_mounts(pod, "detect") == binding_mounts(pod, "build") == mounts
    assert binding_mounts(pod, "analyze") == binding_mounts(pod, "export") == []
    assert container(pod, "completion")["args"][0] == "-notary-v1-url=https://notary.example.com"


async def test_cnb_bindings_mount_their_metadata_and_secret(run: Run) -> None:
    cnb = [{"name": "apm", "metadataRef": {"name": "apm-metadata"}, "secretRef": {"name": "apm-secret"}}]
    await run.sb.apply(image_with(run, build={"cnbBindings": cnb}))

    [build] = await run.wait_finished(1)

    assert build.succeeded(), build.status.condition("Succeeded")
    pod = run.sb.pod(build)
    assert pod is not None
    assert pod["spec"]["volumes"][-2:] == [
        {"name": "binding-metadata-apm", "configMap": {"name": "apm-metadata"}},
        {"name": "binding-secret-apm", "secret": {"secretName": "apm-secret"}},
    ]
    assert binding_mounts(pod, "build") == [
        {"name": "binding-metadata-apm", "mountPath": "/platform/bindings/apm/metadata", "readOnly": True},
        {"name": "binding-secret-apm", "mountPath": "/platform/bindings/apm/secret", "readOnly": True},
    ]


@pytest.mark.parametrize(
    ("build_settings", "message"),
    [
        pytest.param(
            {
                "cnbBindings": [
                    {
                        "name": "leak",
                        "metadataRef": {"name": "m"},
                        "secretRef": {"name": "registry-credentials"},
                    }
                ]
            },
            'build rejected: binding "leak" uses forbidden secret "registry-credentials"',
            id="a binding to a service account's secret fails the build",
        ),
        pytest.param(
            {"services": [{"apiVersion": "mysql.example.com/v1", "kind": "MySQL", "name": "db"}]},
            'mysqls.mysql.example.com "db" not found',
            id="a provisioned service that is not there fails the build",
        ),
    ],
)
async def test_a_refused_binding_fails_the_build_without_a_pod(
    run: Run, build_settings: dict[str, Any], message: str
) -> None:
    service_account(run, secrets=["registry-credentials"])
    await run.sb.apply(image_with(run, build=build_settings))

    [build] = await run.wait_finished(1)

    assert failure(build) == ("False", "PodGenerationFailed", message)
    assert run.sb.pod(build) is None
