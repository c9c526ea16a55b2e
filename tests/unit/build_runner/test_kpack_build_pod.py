"""kpack's own build pod tests, reproduced on kpack's fixture (build_pod_test.go at HEAD).

The Build, the builder config, the service account's secrets and image pull secrets are those of
kpack's ``testBuildPod``; each test names the ``it(...)`` case whose expectation it asserts. Where
kpack asserts a subset, these assert the whole list, computed from kpack's ``build_pod.go``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import build_runner_cases as cases
import kubernetes_validate
import pytest

from contracts import builder_images, builds
from services.build_runner import pods, secrets, steps

BUILDER_IMAGE = "builderregistry.io/builder:latest@sha256:42lkajdsf9q87234"
PREVIOUS_IMAGE = "someimage/name@sha256:previous"
TAGS = ["someimage/name", "someimage/name:tag2", "someimage/name:tag3"]
RESOURCES = {"limits": {"cpu": "2", "memory": "256M"}, "requests": {"cpu": "1", "memory": "128M"}}
IMAGES = steps.PodImages(
    build_init="build/init:image", completion="completion/image:image", rebase="rebase/image"
)
BASIC, JSON, CFG, SSH = secrets.BASIC_AUTH, secrets.DOCKER_CONFIG_JSON, secrets.DOCKER_CFG, secrets.SSH_AUTH
KPACK_SECRETS = cases.KPACK_SECRETS
COSIGN_VALID_SECRETS = cases.KPACK_COSIGN_KEYS[:4]
ACCOUNT_PULL_SECRETS = ["image-pull-1", "image-pull-2"]
CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}
DOCKER_ARGS = [
    "-basic-docker=docker-secret-1=acr.io",
    "-dockerconfig=docker-secret-2",
    "-dockercfg=docker-secret-3",
    "-dockerconfig=secret.with.dots",
]
IMAGE_PULL_ARGS = ["-imagepull=image-pull-1", "-imagepull=image-pull-2", "-imagepull=builder-pull-secret"]
BUILD_TIME_AND_NUMBER = [
    "-cosign-annotations=buildTimestamp=19440606.133000",
    "-cosign-annotations=buildNumber=12",
]
DOCKER_POSITIONS = {"docker-secret-1": 2, "docker-secret-2": 4, "docker-secret-3": 5, "secret.with.dots": 6}
GIT_POSITIONS = {"git-secret-1": 0, "git-secret-2": 1}
PULL_NAMES = ["image-pull-1", "image-pull-2", "builder-pull-secret"]


def secret_volume(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "secret": {"secretName": secret}}


def mount(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "mountPath": path}


def secret_volumes(positions: dict[str, int]) -> list[dict[str, Any]]:
    return [secret_volume(f"secret-volume-{i}", name) for name, i in positions.items()]


def secret_mounts(positions: dict[str, int]) -> list[dict[str, Any]]:
    return [mount(f"secret-volume-{i}", f"/var/build-secrets/{name}") for name, i in positions.items()]


PULL_VOLUMES = [secret_volume(f"pull-secret-volume-{i}", name) for i, name in enumerate(PULL_NAMES)]
PULL_MOUNTS = [
    mount(f"pull-secret-volume-{i}", f"/var/build-secrets/{name}") for i, name in enumerate(PULL_NAMES)
]
REPORT_MOUNT = mount("report-dir", "/var/report")
NOTARY_MOUNT = {"name": "notary-dir", "mountPath": "/var/notary/v1", "readOnly": True}


def kpack_build(
    *, annotations: dict[str, str] | None = None, drop: tuple[str, ...] = (), **spec: Any
) -> builds.Build:
    """kpack's ``it.Before`` Build, with ``spec`` keys replaced and ``drop`` keys removed."""
    document = cases.build_document()
    document["metadata"]["labels"] = {"some/label": "to-pass-through", "image.kpack.io/buildNumber": "12"}
    document["metadata"]["annotations"] = {"some/annotation": "to-pass-through", **(annotations or {})}
    document["spec"] = {
        "tags": list(TAGS),
        "builder": {"image": BUILDER_IMAGE, "imagePullSecrets": [{"name": "builder-pull-secret"}]},
        "serviceAccountName": "someserviceaccount",
        "source": {
            "git": {"url": "giturl.com/git.git", "revision": "gitrev1234", "initializeSubmodules": True}
        },
        "cache": {"volume": {"persistentVolumeClaimName": "some-cache-name"}},
        "runImage": {"image": "builderregistry.io/run"},
        # kpack's fixture hands the bindings in directly; Kiln resolves Secret services to them.
        "services": [
            {"apiVersion": "v1", "kind": "Secret", "name": "database"},
            {"apiVersion": "v1", "kind": "Secret", "name": "apm"},
        ],
        "env": [
            {"name": "keyA", "value": "valueA"},
            {"name": "keyB", "value": "valueB"},
            {"name": "keyC", "valueFrom": {"secretKeyRef": {"name": "my-secret", "key": "keyC"}}},
        ],
        "resources": RESOURCES,
        "lastBuild": {"image": PREVIOUS_IMAGE, "stackId": "com.builder.stack.io"},
        "tolerations": [{"key": "some-key"}],
        "nodeSelector": {"foo": "bar"},
        "affinity": {},
        "creationTime": "now",
    }
    document["spec"].update(spec)
    for key in drop:
        del document["spec"][key]
    return builds.Build.model_validate(document)


KPACK_CONFIG = builder_images.BuilderImageConfig(
    image=BUILDER_IMAGE,
    stack_id="com.builder.stack.io",
    run_image="builderregistry.io/run",
    platform_apis=["0.7", "0.8", "0.9"],
    uid=2000,
    gid=3000,
)
STACK = {"image.kpack.io/reason": "STACK", "image.kpack.io/buildChanges": "some-stack-change"}


def pod_of(
    build: builds.Build,
    *,
    with_secrets: list[secrets.BuildSecret] | None = None,
    pulls: list[str] | None = None,
    now: datetime = cases.NOW,
) -> dict[str, Any]:
    pod = pods.render_pod(
        build,
        config=KPACK_CONFIG,
        now=now,
        secrets=KPACK_SECRETS if with_secrets is None else with_secrets,
        image_pull_secrets=ACCOUNT_PULL_SECRETS if pulls is None else pulls,
        images=IMAGES,
    )
    kubernetes_validate.validate(pod, "1.30", strict=True)
    return pod


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return cases.step(pod, name)


def test_configures_prepare_with_docker_and_git_credentials_and_image_pull_secrets() -> None:
    """kpack "configures prepare with docker and git credentials and image pull secrets", and
    "configures prepare with the build configuration": the whole prepare container."""
    prepare = container(pod_of(kpack_build()), "prepare")
    assert prepare == {
        "name": "prepare",
        "image": "build/init:image",
        "command": ["/cnb/process/build-init"],
        "args": [
            "-basic-git=git-secret-1=https://github.com",
            "-ssh-git=git-secret-2=https://bitbucket.com",
            *DOCKER_ARGS,
            *IMAGE_PULL_ARGS,
        ],
        "resources": RESOURCES,
        "securityContext": CONTAINER_SECURITY,
        "env": [
            {"name": "GIT_URL", "value": "giturl.com/git.git"},
            {"name": "GIT_REVISION", "value": "gitrev1234"},
            {"name": "GIT_INITIALIZE_SUBMODULES", "value": "true"},
            {"name": "PLATFORM_ENV_keyA", "value": "valueA"},
            {"name": "PLATFORM_ENV_keyB", "value": "valueB"},
            {
                "name": "PLATFORM_ENV_keyC",
                "valueFrom": {"secretKeyRef": {"name": "my-secret", "key": "keyC"}},
            },
            {"name": "SOURCE_SUB_PATH", "value": ""},
            {"name": "PROJECT_DESCRIPTOR_PATH", "value": ""},
            {"name": "IMAGE_TAG", "value": "someimage/name"},
            {"name": "RUN_IMAGE", "value": "builderregistry.io/run"},
            {"name": "BUILDER_IMAGE", "value": BUILDER_IMAGE},
            {"name": "BUILDER_NAME", "value": ""},
            {"name": "BUILDER_KIND", "value": ""},
            {"name": "DNS_PROBE_HOSTNAME", "value": "index.docker.io"},
            {"name": "BUILD_CHANGES", "value": ""},
            {"name": "INSECURE_SSH_TRUST_UNKNOWN_HOSTS", "value": "true"},
        ],
        "imagePullPolicy": "IfNotPresent",
        "workingDir": "/workspace",
        "volumeMounts": [
            *secret_mounts({**GIT_POSITIONS, **DOCKER_POSITIONS}),
            *PULL_MOUNTS,
            {
                "name": "registry-source-pull-secrets-dir",
                "mountPath": "/registrySourcePullSecrets",
                "readOnly": True,
            },
            mount("platform-dir", "/platform"),
            mount("workspace-dir", "/workspace"),
            mount("home-dir", "/builder/home"),
            mount("layers-dir", "/projectMetadata"),
        ],
    }


@pytest.mark.parametrize(
    ("auth", "blob_arg", "blob_auth"),
    [
        pytest.param(
            "secret", True, "true", id='kpack "configures prepare with blob credentials when using secret"'
        ),
        pytest.param(
            "helper", False, "true", id='kpack "configures prepare with blob credentials when using helper"'
        ),
        pytest.param(None, False, "false", id="kpack Blob.BuildEnvVars: no auth is BLOB_AUTH false"),
    ],
)
def test_blob_credentials(auth: str | None, blob_arg: bool, blob_auth: str) -> None:
    blob: dict[str, Any] = {"url": "blobstore.com/source", **({"auth": auth} if auth else {})}
    pod = pod_of(kpack_build(source={"blob": blob}))
    prepare = container(pod, "prepare")
    blob_mount = mount("secret-volume-7", "/var/build-secrets/blob-secret")
    assert ("-blob=blob-secret=blobstore.com" in prepare["args"]) is blob_arg
    assert (blob_mount in prepare["volumeMounts"]) is blob_arg
    assert (secret_volume("secret-volume-7", "blob-secret") in pod["spec"]["volumes"]) is blob_arg
    assert ("-blob=blob-secret=blobstore.com" in container(pod, "completion")["args"]) is blob_arg
    assert prepare["env"][:3] == [
        {"name": "BLOB_URL", "value": "blobstore.com/source"},
        {"name": "BLOB_STRIP_COMPONENTS", "value": "0"},
        {"name": "BLOB_AUTH", "value": blob_auth},
    ]


def test_configures_the_init_containers_and_completion_with_resources() -> None:
    """kpack "configures the init containers with resources" and "… the completion container with resources"."""
    pod = pod_of(kpack_build())
    for every in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        assert every["resources"] == RESOURCES, every["name"]


def test_attach_volumes_for_secrets_and_image_pull_secrets() -> None:
    """kpack "attach volumes for secrets" and "attach image pull secrets to pod": the secret
    volumes in kpack's order, then the pull secrets; the pod pulls with the builder's only."""
    pod = pod_of(kpack_build())
    assert pod["spec"]["volumes"][:9] == [
        *secret_volumes({**GIT_POSITIONS, **DOCKER_POSITIONS}),
        *PULL_VOLUMES,
    ]
    assert pod["spec"]["volumes"][9] == {
        "name": "cache-dir",
        "persistentVolumeClaim": {"claimName": "some-cache-name"},
    }
    assert "random-secret-1" not in str(pod["spec"]["volumes"])
    assert pod["spec"]["imagePullSecrets"] == [{"name": "builder-pull-secret"}]


def test_deduplicates_builder_image_pull_secrets_from_service_account_image_pull_secrets() -> None:
    """kpack "deduplicates builder imagepullSecrets from service account image pull secrets"."""
    build = kpack_build(builder={"image": BUILDER_IMAGE, "imagePullSecrets": [{"name": "duplicated-secret"}]})
    pod = pod_of(build, pulls=["duplicated-secret"])
    names = [volume["name"] for volume in pod["spec"]["volumes"]]
    assert len(names) == len(set(names))
    assert [a for a in container(pod, "prepare")["args"] if a.startswith("-imagepull=")] == [
        "-imagepull=duplicated-secret"
    ]


def test_creates_a_pod_just_to_rebase() -> None:
    """kpack "creates a pod just to rebase": the whole pod."""
    build = kpack_build(annotations=STACK)
    pod = pod_of(build)
    assert pod["metadata"] == {
        "name": "build-name-build-pod",
        "namespace": "some-namespace",
        "labels": {
            "some/label": "to-pass-through",
            "image.kpack.io/buildNumber": "12",
            "kpack.io/build": "build-name",
        },
        "annotations": {
            "some/annotation": "to-pass-through",
            **STACK,
            "sidecar.istio.io/inject": "false",
        },
        "ownerReferences": [build.controller_reference(kind=builds.KIND).dump()],
    }
    docker = secret_mounts(DOCKER_POSITIONS)
    assert pod["spec"] == {
        "restartPolicy": "Never",
        "serviceAccountName": "someserviceaccount",
        "nodeSelector": {"foo": "bar"},
        "tolerations": [{"key": "some-key"}],
        "affinity": {},
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [
            *secret_volumes(DOCKER_POSITIONS),
            *PULL_VOLUMES,
            {"name": "report-dir", "emptyDir": {}},
            {"name": "notary-dir", "emptyDir": {}},
        ],
        "initContainers": [
            {
                "name": "rebase",
                "image": "rebase/image",
                "resources": RESOURCES,
                "command": ["/cnb/process/rebase"],
                "args": [
                    "--run-image",
                    "builderregistry.io/run",
                    "--last-built-image",
                    PREVIOUS_IMAGE,
                    "--report",
                    "/var/report/report.toml",
                    *DOCKER_ARGS,
                    *IMAGE_PULL_ARGS,
                    *TAGS,
                ],
                "env": [{"name": "BUILD_CHANGES", "value": "some-stack-change"}],
                "imagePullPolicy": "IfNotPresent",
                "workingDir": "/workspace",
                "volumeMounts": [*docker, *PULL_MOUNTS, REPORT_MOUNT],
                "securityContext": CONTAINER_SECURITY,
            }
        ],
        "containers": [
            {
                "name": "completion",
                "command": ["/cnb/process/completion"],
                "image": "completion/image:image",
                "resources": RESOURCES,
                "env": [
                    {"name": "CACHE_TAG", "value": ""},
                    {"name": "TERMINATION_MESSAGE_PATH", "value": "/tmp/termination-log"},
                ],
                "args": [*DOCKER_ARGS, *BUILD_TIME_AND_NUMBER],
                "imagePullPolicy": "IfNotPresent",
                "volumeMounts": [REPORT_MOUNT, NOTARY_MOUNT, *docker],
                "terminationMessagePath": "/tmp/termination-log",
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "securityContext": CONTAINER_SECURITY,
            }
        ],
    }


def test_a_rebase_pod_has_the_priority_class_but_not_the_build_timeout() -> None:
    """kpack ``rebasePod`` sets ``PriorityClassName`` and never ``ActiveDeadlineSeconds``; ``BuildPod`` both."""
    scheduling = {"priorityClassName": "kpack-build-low-priority", "activeDeadlineSeconds": 600}
    rebase = pod_of(kpack_build(annotations=STACK, **scheduling))["spec"]
    full = pod_of(kpack_build(**scheduling))["spec"]
    assert (rebase["priorityClassName"], "activeDeadlineSeconds" in rebase) == (
        "kpack-build-low-priority",
        False,
    )
    assert (full["priorityClassName"], full["activeDeadlineSeconds"]) == ("kpack-build-low-priority", 600)
    assert full["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "fsGroup": 3000,
        "runAsUser": 2000,
        "runAsGroup": 3000,
    }


COSIGN_ARGS = cases.KPACK_COSIGN_ARGS
COSIGN_MOUNTS = [
    mount("secret-volume-9", "/var/build-secrets/cosign/cosign-secret-1"),
    mount("secret-volume-10", "/var/build-secrets/cosign/cosign-secret-no-password-1"),
    mount("secret-volume-11", "/var/build-secrets/cosign/cosign-secret-no-password-2"),
    mount("secret-volume-12", "/var/build-secrets/cosign/cosign-secret.with.dots"),
]
CUSTOM = {"annotations": [{"name": "customAnnotationKey", "value": "customAnnotationValue"}]}


@pytest.mark.parametrize(
    ("annotations", "cosign", "secret_args"),
    [
        pytest.param(
            STACK,
            None,
            DOCKER_ARGS,
            id='kpack "creating a rebase pod" / "sets up the completion image to use cosign secrets"',
        ),
        pytest.param(
            STACK,
            CUSTOM,
            DOCKER_ARGS,
            id='kpack "creating a rebase pod" / "handles custom cosign annotations"',
        ),
        pytest.param(
            {},
            None,
            [
                "-basic-git=git-secret-1=https://github.com",
                "-ssh-git=git-secret-2=https://bitbucket.com",
                *DOCKER_ARGS,
            ],
            id='kpack "cosign secrets are present on the build" / "sets up the completion image to use cosign secrets"',
        ),
    ],
)
def test_sets_up_the_completion_image_to_use_cosign_secrets(
    annotations: dict[str, str], cosign: dict[str, Any] | None, secret_args: list[str]
) -> None:
    build = kpack_build(annotations=annotations, **({"cosign": cosign} if cosign else {}))
    completion = container(pod_of(build, with_secrets=[*KPACK_SECRETS, *COSIGN_VALID_SECRETS]), "completion")
    custom = ["-cosign-annotations=customAnnotationKey=customAnnotationValue"] if cosign else []
    assert completion["args"] == [*secret_args, *BUILD_TIME_AND_NUMBER, *custom, *COSIGN_ARGS]
    assert all(m in completion["volumeMounts"] for m in COSIGN_MOUNTS)


@pytest.mark.parametrize("stack", [False, True], ids=["a build pod", "a rebase pod"])
def test_the_cosign_build_timestamp_is_the_builds_creation_whenever_it_is_rendered(stack: bool) -> None:
    """kpack ``cosignArgs``: ``CreationTimestamp.Format("20060102.150405")``, so two renderings at
    different times give the same pod (``creationTime: now`` aside, which kpack reads at rendering)."""
    build = kpack_build(annotations=STACK if stack else {}, drop=("creationTime",))
    first = pod_of(build, now=datetime(2020, 1, 1, tzinfo=UTC))
    second = pod_of(build, now=datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert first == second
    assert container(first, "completion")["args"][-2:] == BUILD_TIME_AND_NUMBER


def test_only_source_date_epoch_follows_the_time_of_rendering_for_creation_time_now() -> None:
    """kpack "configures export step": ``creationTime: now`` sets ``SOURCE_DATE_EPOCH`` to the time of rendering."""
    early, late = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    first, second = pod_of(kpack_build(), now=early), pod_of(kpack_build(), now=late)
    assert container(first, "export")["env"][2] == {
        "name": "SOURCE_DATE_EPOCH",
        "value": str(int(early.timestamp())),
    }
    container(second, "export")["env"][2]["value"] = str(int(early.timestamp()))
    assert first == second


@pytest.mark.parametrize(
    ("created", "timestamp"),
    [
        ("2024-05-06T07:08:09Z", "20240506.070809"),
        ("2024-05-06T09:08:09+02:00", "20240506.070809"),
        ("2024-05-06T07:08:09", "20240506.070809"),
        (None, "00010101.000000"),
    ],
    ids=[
        "a UTC creation time",
        "an offset is converted to UTC",
        "a time without zone is UTC",
        "no creationTimestamp formats Go's zero time, as kpack does",
    ],
)
def test_the_build_timestamp(created: str | None, timestamp: str) -> None:
    document = kpack_build().dump()
    document["metadata"]["creationTimestamp"] = created
    build = builds.Build.model_validate(document)
    assert pods.build_timestamp(build) == timestamp


def test_an_unparsable_creation_timestamp_is_refused_naming_the_field() -> None:
    document = kpack_build().dump()
    document["metadata"]["creationTimestamp"] = "yesterday"
    with pytest.raises(pods.PodGenerationError) as raised:
        pod_of(builds.Build.model_validate(document))
    assert str(raised.value) == (
        "metadata.creationTimestamp: 'yesterday' is not an RFC 3339 time such as 2024-05-06T07:08:09Z"
    )


# kpack setupSecretVolumesAndArgs: the filter decides whether a secret takes part, then the first
# case of the switch that fits gives its argument, whichever filter let it in.
SECRET_SWITCH = [
    pytest.param(
        secrets.BuildSecret(name="s", type=SSH, annotations={"kpack.io/docker": "reg.io"}),
        secrets.DOCKER_ONLY,
        "-ssh-git=s=",
        id="a docker-annotated ssh secret in a rebase pod gives -ssh-git with an empty url",
    ),
    pytest.param(
        secrets.BuildSecret(name="s", annotations={"kpack.io/docker": "reg.io", "kpack.io/blob": "b.io"}),
        ("git", "docker"),
        "-blob=s=b.io",
        id="a docker-annotated opaque secret with a blob annotation gives -blob without blob secrets wanted",
    ),
    pytest.param(
        secrets.BuildSecret(name="s", type=JSON, annotations={"kpack.io/git": "https://github.com"}),
        ("git", "docker"),
        "-dockerconfig=s",
        id="a docker config type wins over a git annotation",
    ),
    pytest.param(
        secrets.BuildSecret(name="s", type=BASIC, annotations={"kpack.io/docker": "", "kpack.io/git": ""}),
        secrets.ALL_KINDS,
        None,
        id="empty annotations count as absent",
    ),
    pytest.param(
        secrets.BuildSecret(name="s", type=SSH, annotations={"kpack.io/git": ""}),
        secrets.ALL_KINDS,
        None,
        id="an ssh secret with an empty git annotation is not a git secret",
    ),
    pytest.param(
        KPACK_SECRETS[8], secrets.ALL_KINDS, None, id='kpack\'s "secret-to-ignore": a docker-annotated token'
    ),
    pytest.param(
        KPACK_SECRETS[7],
        ("git", "docker"),
        None,
        id="a blob secret is left out unless blob secrets are wanted",
    ),
    pytest.param(
        KPACK_SECRETS[7],
        secrets.ALL_KINDS,
        "-blob=blob-secret=blobstore.com",
        id="and handed over when they are",
    ),
]


@pytest.mark.parametrize(("secret", "kinds", "arg"), SECRET_SWITCH)
def test_which_argument_a_secret_gives(
    secret: secrets.BuildSecret, kinds: tuple[secrets.Kind, ...], arg: str | None
) -> None:
    assert secrets.secret_arg(secret, kinds=kinds) == arg


@pytest.mark.parametrize(
    ("account", "builder", "taken", "names"),
    [
        pytest.param(["a", "b"], ["c"], [], ["a", "b", "c"], id="the account's first, then the builder's"),
        pytest.param(["a", "a"], [], [], ["a"], id="a repeated account pull secret counts once"),
        pytest.param(["d"], ["d"], [], ["d"], id="a builder pull secret the account has counts once"),
        pytest.param(
            ["s"], [], ["s"], [], id="an account pull secret that is one of its secrets is left out"
        ),
        pytest.param(
            [], ["s"], ["s"], ["s"], id="a builder pull secret is kept even when it is an account secret"
        ),
    ],
)
def test_image_pull_secrets_are_merged_as_kpack_merges_them(
    account: list[str], builder: list[str], taken: list[str], names: list[str]
) -> None:
    """kpack ``fetchBuildSecrets`` (account pull secrets not among its secrets) then ``deduplicate``."""
    assert secrets.image_pull_names(account, builder=builder, taken=taken) == names


def test_a_builder_pull_secret_the_pod_mounts_as_a_build_secret_is_not_mounted_twice() -> None:
    """Kiln's one departure: kpack would mount the Secret twice at ``/var/build-secrets/<name>``,
    which the API server refuses; the argument and the numbering stay kpack's."""
    build = kpack_build(builder={"image": BUILDER_IMAGE, "imagePullSecrets": [{"name": "docker-secret-2"}]})
    pod = pod_of(build)
    prepare = container(pod, "prepare")
    assert prepare["args"][-3:] == [
        "-imagepull=image-pull-1",
        "-imagepull=image-pull-2",
        "-imagepull=docker-secret-2",
    ]
    paths = [m["mountPath"] for m in prepare["volumeMounts"]]
    assert paths.count("/var/build-secrets/docker-secret-2") == 1
    assert [v["name"] for v in pod["spec"]["volumes"] if v["name"].startswith("pull-")] == [
        "pull-secret-volume-0",
        "pull-secret-volume-1",
    ]
    rebase = container(pod_of(kpack_build(annotations=STACK, builder=build.spec.builder.dump())), "rebase")
    assert [m["mountPath"] for m in rebase["volumeMounts"]].count("/var/build-secrets/docker-secret-2") == 1


@pytest.mark.parametrize("stack", [False, True], ids=["a build pod", "a rebase pod"])
def test_empty_scheduling_fields_are_left_out_as_go_omits_them(stack: bool) -> None:
    """``nodeSelector``, ``tolerations``, ``schedulerName`` and ``priorityClassName`` are
    ``omitempty`` values in the Pod; ``affinity`` and ``runtimeClassName`` are pointers, kept when set."""
    build = kpack_build(
        annotations=STACK if stack else {},
        nodeSelector={},
        tolerations=[],
        schedulerName="",
        priorityClassName="",
        affinity={},
        runtimeClassName="",
    )
    spec = pod_of(build)["spec"]
    assert [
        key for key in ("nodeSelector", "tolerations", "schedulerName", "priorityClassName") if key in spec
    ] == []
    assert (spec["affinity"], spec["runtimeClassName"]) == ({}, "")
