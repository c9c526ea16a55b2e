"""Every pod the suite renders is a valid Kubernetes 1.30 Pod (kubernetes-validate, strict)."""

from __future__ import annotations

import build_runner_cases as cases
import kubernetes_validate
import pytest

from services.build_runner import pods, secrets

SECRETS = [
    secrets.BuildSecret(name="docker", type=secrets.DOCKER_CONFIG_JSON),
    secrets.BuildSecret(name="git", type=secrets.SSH_AUTH, annotations={"kpack.io/git": "git@github.com"}),
    secrets.BuildSecret(
        name="cosign", annotations={"kpack.io/cosign.repository": "reg.io/sigs"}, data_keys=["cosign.key"]
    ),
    secrets.BuildSecret(name="docker-and-cosign", type=secrets.DOCKER_CONFIG_JSON, data_keys=["cosign.key"]),
]


@pytest.mark.parametrize("case", list(cases.BUILDS), ids=lambda case: f"{case} renders a valid pod")
@pytest.mark.parametrize(
    "with_secrets", [False, True], ids=lambda given: "with secrets" if given else "without secrets"
)
def test_every_rendered_pod_is_valid(case: str, with_secrets: bool) -> None:
    pod = pods.render_pod(
        cases.BUILDS[case],
        config=cases.make_config(),
        now=cases.NOW,
        secrets=SECRETS if with_secrets else (),
        image_pull_secrets=["pull"] if with_secrets else (),
    )
    kubernetes_validate.validate(pod, "1.30", strict=True)


@pytest.mark.parametrize(
    "case", list(cases.BUILDS), ids=lambda case: f"{case} mounts only volumes it declares"
)
def test_every_mount_names_a_declared_volume_once_per_path(case: str) -> None:
    """What the API server checks beyond the schema: known volume names, unique names and paths."""
    pod = pods.render_pod(
        cases.BUILDS[case],
        config=cases.make_config(),
        now=cases.NOW,
        secrets=SECRETS,
        image_pull_secrets=["pull"],
    )
    volumes = [volume["name"] for volume in pod["spec"]["volumes"]]
    assert len(volumes) == len(set(volumes))
    for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        paths = [mount["mountPath"] for mount in container["volumeMounts"]]
        assert len(paths) == len(set(paths)), container["name"]
        assert {mount["name"] for mount in container["volumeMounts"]} <= set(volumes), container["name"]
