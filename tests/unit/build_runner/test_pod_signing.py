"""Signing in the completion step: cosign keys and notary (kpack [HEAD] build_pod_test.go; spec §5.4, §5.5, §5.7).

The service account's secrets are kpack's test fixture: build secrets at positions 0-8 (3 and 8
skipped), then cosign keys at 9-12 and two secrets that are not cosign keys.
"""

from __future__ import annotations

from typing import Any

import build_runner_cases as cases
import pytest
from build_runner_cases import render, step

from contracts import builds
from services.build_runner import secrets

BASIC, JSON, CFG, SSH = secrets.BASIC_AUTH, secrets.DOCKER_CONFIG_JSON, secrets.DOCKER_CFG, secrets.SSH_AUTH
REPOSITORY, MEDIA_TYPES = "kpack.io/cosign.repository", "kpack.io/cosign.docker-media-types"
BUILD_SECRETS = cases.KPACK_SECRETS
COSIGN_KEYS = cases.KPACK_COSIGN_KEYS
SECRETS = [*BUILD_SECRETS, *COSIGN_KEYS]

DOCKER_ARGS = [
    "-basic-docker=docker-secret-1=acr.io",
    "-dockerconfig=docker-secret-2",
    "-dockercfg=docker-secret-3",
    "-dockerconfig=secret.with.dots",
]
BUILD_ARGS = [
    "-basic-git=git-secret-1=https://github.com",
    "-ssh-git=git-secret-2=https://bitbucket.com",
    *DOCKER_ARGS,
]
"""What a git-source build hands over: no blob secret (only a blob source with ``auth: secret`` gets them)."""
BUILD_TIME_AND_NUMBER = [
    f"-cosign-annotations=buildTimestamp={cases.BUILD_TIMESTAMP}",
    "-cosign-annotations=buildNumber=12",
]
COSIGN_ARGS = cases.KPACK_COSIGN_ARGS
COSIGN_NAMES = [
    "cosign-secret-1",
    "cosign-secret-no-password-1",
    "cosign-secret-no-password-2",
    "cosign-secret.with.dots",
]
COSIGN_VOLUMES = [
    {"name": f"secret-volume-{9 + i}", "secret": {"secretName": n}} for i, n in enumerate(COSIGN_NAMES)
]
COSIGN_MOUNTS = [
    {"name": f"secret-volume-{9 + i}", "mountPath": f"/var/build-secrets/cosign/{n}"}
    for i, n in enumerate(COSIGN_NAMES)
]
BUILD_POSITIONS = {
    "git-secret-1": 0,
    "git-secret-2": 1,
    "docker-secret-1": 2,
    "docker-secret-2": 4,
    "docker-secret-3": 5,
    "secret.with.dots": 6,
}
DOCKER = ("docker-secret-1", "docker-secret-2", "docker-secret-3", "secret.with.dots")
HOME = {"name": "home-dir", "mountPath": "/builder/home"}
REPORT = {"name": "report-dir", "mountPath": "/var/report"}
NOTARY = {"name": "notary-dir", "mountPath": "/var/notary/v1", "readOnly": True}
NOTARY_SECRET = {"name": "notary-dir", "secret": {"secretName": "some-notary-secret"}}


def secret_volumes(*names: str) -> list[dict[str, Any]]:
    return [{"name": f"secret-volume-{BUILD_POSITIONS[n]}", "secret": {"secretName": n}} for n in names]


def secret_mounts(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": f"secret-volume-{BUILD_POSITIONS[n]}", "mountPath": f"/var/build-secrets/{n}"} for n in names
    ]


def test_build_secrets_are_numbered_by_their_position_among_the_service_accounts_secrets() -> None:
    pod = render(cases.BUILDS["a build without cache"], secrets=SECRETS, image_pull_secrets=["image-pull-1"])
    pull_volume = {"name": "pull-secret-volume-0", "secret": {"secretName": "image-pull-1"}}
    assert pod["spec"]["volumes"][:11] == [*secret_volumes(*BUILD_POSITIONS), *COSIGN_VOLUMES, pull_volume]
    assert step(pod, "prepare")["args"] == [*BUILD_ARGS, "-imagepull=image-pull-1"]
    assert step(pod, "prepare")["volumeMounts"][:6] == secret_mounts(*BUILD_POSITIONS)


@pytest.mark.parametrize(
    ("build", "args", "volumes"),
    [
        pytest.param(
            cases.BUILDS["a build without cache"],
            [*BUILD_ARGS, *BUILD_TIME_AND_NUMBER, *COSIGN_ARGS],
            [{"name": "notary-dir", "emptyDir": {}}],
            id="cosign keys are mounted under /var/build-secrets/cosign with their repositories and media types",
        ),
        pytest.param(
            cases.BUILDS["a build signing with notary and cosign annotations"],
            [
                "-notary-v1-url=some-notary-url",
                *BUILD_ARGS,
                *BUILD_TIME_AND_NUMBER,
                "-cosign-annotations=customAnnotationKey=customAnnotationValue",
                *COSIGN_ARGS,
            ],
            [NOTARY_SECRET],
            id="notary signing comes first and the Build's cosign annotations follow the build number",
        ),
    ],
)
def test_completion_signs_with_the_cosign_keys_and_notary(
    build: builds.Build, args: list[str], volumes: list[dict[str, Any]]
) -> None:
    pod = render(build, secrets=SECRETS)
    completion = step(pod, "completion")
    assert completion["args"] == args
    assert completion["volumeMounts"] == [
        *secret_mounts(*BUILD_POSITIONS),
        *COSIGN_MOUNTS,
        HOME,
        REPORT,
        NOTARY,
    ]
    assert pod["spec"]["volumes"][-1:] == volumes


@pytest.mark.parametrize(
    ("build", "notary_args", "notary_volume"),
    [
        pytest.param(
            cases.BUILDS["a STACK rebuild on the same stack"],
            [],
            {"name": "notary-dir", "emptyDir": {}},
            id="a rebase pod's completion signs with the cosign keys",
        ),
        pytest.param(
            cases.BUILDS["a STACK rebuild signing with notary"],
            ["-notary-v1-url=some-notary-url"],
            NOTARY_SECRET,
            id="and with notary, mounting report and notary before the secrets",
        ),
    ],
)
def test_a_rebase_pod_signs_with_docker_secrets_cosign_keys_and_notary(
    build: builds.Build, notary_args: list[str], notary_volume: dict[str, Any]
) -> None:
    pod = render(build, secrets=SECRETS, image_pull_secrets=["image-pull-1"])
    pull_volume = {"name": "pull-secret-volume-0", "secret": {"secretName": "image-pull-1"}}
    assert pod["spec"]["volumes"] == [
        *secret_volumes(*DOCKER),
        *COSIGN_VOLUMES,
        pull_volume,
        {"name": "report-dir", "emptyDir": {}},
        notary_volume,
    ]
    completion = step(pod, "completion")
    assert completion["args"] == [*notary_args, *DOCKER_ARGS, *BUILD_TIME_AND_NUMBER, *COSIGN_ARGS]
    assert completion["volumeMounts"] == [REPORT, NOTARY, *secret_mounts(*DOCKER), *COSIGN_MOUNTS]
    assert step(pod, "rebase")["volumeMounts"][:4] == secret_mounts(*DOCKER)


def test_a_docker_secret_holding_a_cosign_key_has_one_volume_and_two_mounts() -> None:
    both = secrets.BuildSecret(
        name="both", type=JSON, annotations={REPOSITORY: "reg.io/sigs"}, data_keys=["cosign.key"]
    )
    pod = render(cases.BUILDS["a build without cache"], secrets=[both])
    assert pod["spec"]["volumes"][0] == {"name": "secret-volume-0", "secret": {"secretName": "both"}}
    assert pod["spec"]["volumes"][1]["name"] == "layers-dir"
    completion = step(pod, "completion")
    assert completion["args"] == [
        "-dockerconfig=both",
        *BUILD_TIME_AND_NUMBER,
        "-cosign-repositories=both=reg.io/sigs",
    ]
    assert completion["volumeMounts"][:2] == [
        {"name": "secret-volume-0", "mountPath": "/var/build-secrets/both"},
        {"name": "secret-volume-0", "mountPath": "/var/build-secrets/cosign/both"},
    ]


def test_a_repeated_secret_name_counts_once() -> None:
    pod = render(
        cases.BUILDS["a build without cache"], secrets=[COSIGN_KEYS[1], COSIGN_KEYS[1], COSIGN_KEYS[2]]
    )
    assert [volume["name"] for volume in pod["spec"]["volumes"][:2]] == ["secret-volume-0", "secret-volume-1"]


@pytest.mark.parametrize(
    ("cosign", "args"),
    [
        ({"annotations": [{"name": "a", "value": "1"}, {"name": "b", "value": ""}]}, ["a=1", "b="]),
        ({"annotations": []}, []),
        ({}, []),
        (None, []),
    ],
    ids=[
        "each annotation of spec.cosign follows the build number, in order",
        "an empty annotation list adds nothing",
        "a cosign object without annotations adds nothing",
        "no cosign object adds nothing",
    ],
)
def test_the_builds_cosign_annotations(cosign: dict[str, Any] | None, args: list[str]) -> None:
    completion = step(render(cases.make_build(cosign=cosign)), "completion")
    assert completion["args"] == [*BUILD_TIME_AND_NUMBER, *(f"-cosign-annotations={a}" for a in args)]


@pytest.mark.parametrize(
    ("notary", "args", "volume"),
    [
        (cases.NOTARY, ["-notary-v1-url=some-notary-url"], NOTARY_SECRET),
        (
            {"v1": {"secretRef": {"name": "keys"}}},
            ["-notary-v1-url="],
            {"name": "notary-dir", "secret": {"secretName": "keys"}},
        ),
        ({}, [], {"name": "notary-dir", "emptyDir": {}}),
        (None, [], {"name": "notary-dir", "emptyDir": {}}),
    ],
    ids=[
        "notary v1 mounts its secret and passes its url",
        "a notary v1 without url still signs, with an empty url as kpack does",
        "a notary object without v1 does not sign",
        "no notary object does not sign",
    ],
)
def test_notary_v1(notary: dict[str, Any] | None, args: list[str], volume: dict[str, Any]) -> None:
    pod = render(cases.make_build(notary=notary))
    assert step(pod, "completion")["args"] == [*args, *BUILD_TIME_AND_NUMBER]
    assert next(v for v in pod["spec"]["volumes"] if v["name"] == "notary-dir") == volume


@pytest.mark.parametrize(
    ("secret", "cosign", "args"),
    [
        (COSIGN_KEYS[0], True, COSIGN_ARGS[:2]),
        (COSIGN_KEYS[1], True, COSIGN_ARGS[2:3]),
        (COSIGN_KEYS[2], True, COSIGN_ARGS[3:4]),
        (
            secrets.BuildSecret(
                name="k", annotations={REPOSITORY: "", MEDIA_TYPES: ""}, data_keys=["cosign.key"]
            ),
            True,
            [],
        ),
        (COSIGN_KEYS[4], False, []),
        (COSIGN_KEYS[5], False, ["-cosign-repositories=invalid-empty-cosign-secret=reg.io/x"]),
    ],
    ids=[
        "a key with a repository and media types",
        "a key with a repository only",
        "a key with media types only",
        "empty annotations add no arguments",
        "a password without a key is not a cosign key",
        "an empty cosign.key is not a cosign key, whatever its annotations say",
    ],
)
def test_cosign_keys(secret: secrets.BuildSecret, cosign: bool, args: list[str]) -> None:
    assert secret.cosign() is cosign
    assert secrets.cosign_args(secret) == args
    assert secrets.cosign_setup([secret]).args == (args if cosign else [])


def test_notary_and_cosign_round_trip_as_given() -> None:
    spec = {
        "notary": {"v1": {"url": "https://notary.io", "secretRef": {"name": "keys"}}},
        "cosign": {"annotations": [{"name": "a", "value": "b"}]},
    }
    build = builds.Build.model_validate({"spec": spec})
    notary = build.spec.notary_v1()
    assert notary is not None
    assert (notary.url, notary.secret_ref.name) == ("https://notary.io", "keys")
    assert build.dump() == {"spec": spec}
    assert builds.Build.model_validate({"spec": {"notary": {}}}).spec.notary_v1() is None
