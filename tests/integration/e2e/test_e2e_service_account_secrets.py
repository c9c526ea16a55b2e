"""The build pod gets the Build's service account secrets and image pull secrets, as kpack's does.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


def create(
    run: Run, kind: str, name: str, *, annotations: dict[str, str] | None = None, **fields: Any
) -> None:
    metadata = {"name": name, "namespace": run.namespace, "annotations": annotations or {}}
    obj = {"apiVersion": "v1", "kind": kind, "metadata": metadata, **fields}
    run.sb.emulator.create(obj, namespace=run.namespace)


def step(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod["spec"]["initContainers"] + pod["spec"]["containers"] if c["name"] == name)


async def test_the_service_account_s_docker_and_git_secrets_and_pull_secrets_reach_the_pod(run: Run) -> None:
    create(
        run,
        "Secret",
        "registry-login",
        type="kubernetes.io/basic-auth",
        metadata={
            "name": "registry-login",
            "namespace": run.namespace,
            "annotations": {"kpack.io/docker": "registry.example.com"},
        },
        data={"username": "dXNlcg==", "password": "cGFzcw=="},
    )
    create(
        run,
        "Secret",
        "git-key",
        type="kubernetes.io/ssh-auth",
        metadata={
            "name": "git-key",
            "namespace": run.namespace,
            "annotations": {"kpack.io/git": "git@github.com"},
        },
        data={"ssh-privatekey": "a2V5"},
    )
    create(run, "Secret", "unrelated", data={"token": "dG9rZW4="})
    create(
        run,
        "ServiceAccount",
        "builder",
        secrets=[{"name": "registry-login"}, {"name": "unrelated"}, {"name": "missing"}, {"name": "git-key"}],
        imagePullSecrets=[{"name": "pull-secret"}],
    )
    image = run.image("registry-cache")
    image["spec"]["serviceAccountName"] = "builder"
    await run.sb.apply(image)

    [build] = await run.wait_finished(1)

    assert build.succeeded(), build.status.condition("Succeeded")
    pod = run.sb.pod(build)
    assert pod is not None
    prepare = step(pod, "prepare")
    assert prepare["args"] == [
        "-basic-docker=registry-login=registry.example.com",
        "-ssh-git=git-key=git@github.com",
        "-imagepull=pull-secret",
    ]
    assert {m["mountPath"] for m in prepare["volumeMounts"]} >= {
        "/var/build-secrets/registry-login",
        "/var/build-secrets/git-key",
    }
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["secret-volume-0"]["secret"] == {"secretName": "registry-login"}
    assert volumes["secret-volume-2"]["secret"] == {"secretName": "git-key"}, (
        "numbered by position, gaps kept"
    )
    assert pod["spec"]["serviceAccountName"] == "builder"
