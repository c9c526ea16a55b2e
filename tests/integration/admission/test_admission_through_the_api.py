"""Image writes through the emulator's API, admitted by ``kiln run admission`` as a cluster would:
``kubectl apply`` of an invalid update shows kpack's message, a created Image is stored defaulted."""

from __future__ import annotations

import asyncio
import pathlib
import uuid

import pytest
import yaml
from admission_support import an_image
from kubernetes_asyncio import client

from contracts import admission, images
from services.kube import resources
from services.testbed.emulator import Emulator

pytestmark = pytest.mark.integration


async def kubectl(kubeconfig: pathlib.Path, *args: str) -> tuple[int, str]:
    """kubectl as a user runs it; asynchronously, since the webhook answers on this test's loop."""
    process = await asyncio.create_subprocess_exec(
        "kubectl",
        f"--kubeconfig={kubeconfig}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_kubectl_apply_of_an_invalid_update_shows_kpacks_message(
    admitting: Emulator, tmp_path: pathlib.Path
) -> None:
    kubeconfig = admitting.write_kubeconfig(tmp_path / "config")
    name, namespace = f"app-{uuid.uuid4().hex[:6]}", f"ns-{uuid.uuid4().hex[:6]}"
    manifest = tmp_path / "image.yaml"
    manifest.write_text(yaml.safe_dump(an_image(name, namespace)))
    code, output = await kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))
    assert code == 0, output

    manifest.write_text(yaml.safe_dump(an_image(name, namespace, tag="registry.example/team/other")))
    code, output = await kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))

    assert code == 1
    assert (
        'admission webhook "validation.webhook.kiln.kpack.io" denied the request: validation failed: '
        "Immutable field changed: spec.tag\ngot: registry.example/team/other, want: registry.example/team/app"
    ) in output
    stored = admitting.get("images", name, namespace)
    assert stored is not None
    assert stored["spec"]["tag"] == "registry.example/team/app"


async def test_a_created_image_is_stored_with_kpacks_defaults(
    admitting: Emulator, kube: resources.Kube
) -> None:
    name, namespace = f"app-{uuid.uuid4().hex[:6]}", f"ns-{uuid.uuid4().hex[:6]}"
    body = an_image(name, namespace)
    created = await client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
        "kpack.io", "v1alpha2", namespace, "images", body
    )

    expected = admission.default_image(images.Image.model_validate(body)).spec.dump()
    assert {k: created["spec"].get(k) for k in expected} == expected
    assert created["spec"]["serviceAccountName"] == "default"
    assert created["spec"]["imageTaggingStrategy"] == "BuildNumber"
    assert created["spec"]["successBuildHistoryLimit"] == 10
    assert "cache" not in created["spec"], "no default StorageClass in this cluster"


async def test_a_refused_create_is_a_400_naming_the_field(admitting: Emulator, kube: resources.Kube) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    body = an_image("app", namespace, cache={"volume": {"size": "2G"}})
    with pytest.raises(client.ApiException) as refused:
        await client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
            "kpack.io", "v1alpha2", namespace, "images", body
        )
    assert refused.value.status == 400
    assert "spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName" in str(
        refused.value.body
    )
    assert admitting.get("images", "app", namespace) is None


async def test_without_a_webhook_set_nothing_is_admitted(emulator: Emulator, kube: resources.Kube) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    created = await client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
        "kpack.io", "v1alpha2", namespace, "images", an_image("app", namespace)
    )
    assert "serviceAccountName" not in created["spec"]


async def test_kubectl_apply_of_an_invalid_cluster_builder_shows_kpacks_message(
    admitting: Emulator, tmp_path: pathlib.Path
) -> None:
    kubeconfig = admitting.write_kubeconfig(tmp_path / "config")
    name = f"builder-{uuid.uuid4().hex[:6]}"
    manifest = tmp_path / "builder.yaml"
    builder = {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "ClusterBuilder",
        "metadata": {"name": name},
        "spec": {
            "tag": "registry.example/builders/default",
            "stack": {"name": "base"},
            "serviceAccountRef": {"name": "default", "namespace": "kiln"},
        },
    }
    manifest.write_text(yaml.safe_dump(builder))

    code, output = await kubectl(kubeconfig, "apply", "--validate=false", "-f", str(manifest))

    assert code == 1
    assert "denied the request: validation failed: invalid value: : stack.kind" in output
    assert admitting.get("clusterbuilders", name) is None


async def test_a_created_builder_is_stored_with_kpacks_defaults(
    admitting: Emulator, kube: resources.Kube
) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Builder",
        "metadata": {"name": "team", "namespace": namespace},
        "spec": {"tag": "registry.example/builders/team", "stack": {"name": "base"}},
    }
    created = await client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
        "kpack.io", "v1alpha2", namespace, "builders", body
    )

    assert created["spec"]["serviceAccountName"] == "default"
    assert created["spec"]["stack"] == {"kind": "ClusterStack", "name": "base"}
    assert created["spec"]["lifecycle"] == {"kind": "ClusterLifecycle", "name": "default-lifecycle"}
