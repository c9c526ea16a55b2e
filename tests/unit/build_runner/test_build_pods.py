"""The build pod of a Build, step by step (kpack build_pod_test.go, [HEAD]; spec §5, §10 items 17-42)."""

from __future__ import annotations

from typing import Any

import build_runner_cases as cases
import pytest
from build_runner_cases import render, step

from contracts import builds
from services import errors
from services.build_runner import pods, secrets, steps

LAYERS = {"name": "layers-dir", "mountPath": "/layers"}
HOME = {"name": "home-dir", "mountPath": "/builder/home"}
WORKSPACE = {"name": "workspace-dir", "mountPath": "/workspace"}
PLATFORM = {"name": "platform-dir", "mountPath": "/platform"}
REPORT = {"name": "report-dir", "mountPath": "/var/report"}
CACHE = {"name": "cache-dir", "mountPath": "/cache"}
NOTARY = {"name": "notary-dir", "mountPath": "/var/notary/v1", "readOnly": True}
HOME_ENV = {"name": "HOME", "value": "/builder/home"}
API_09 = {"name": "CNB_PLATFORM_API", "value": "0.9"}
BINDINGS_ENV = {"name": "SERVICE_BINDING_ROOT", "value": "/platform/bindings"}
EMPTY_DIRS: list[dict[str, Any]] = [
    {"name": name, "emptyDir": {}}
    for name in (
        "layers-dir",
        "home-dir",
        "workspace-dir",
        "platform-dir",
        "report-dir",
        "network-wait-launcher-dir",
    )
]
TAIL_VOLUMES = [
    {"name": "registry-source-pull-secrets-dir", "emptyDir": {}},
    {"name": "notary-dir", "emptyDir": {}},
]
EXPORT_HEAD = [
    "-layers=/layers",
    "-app=/workspace",
    "-group=/layers/group.toml",
    "-analyzed=/layers/analyzed.toml",
    "-project-metadata=/layers/project-metadata.toml",
]
ANALYZE_HEAD = ["-layers=/layers", "-analyzed=/layers/analyzed.toml", "-run-image=builderregistry.io/run"]
ANALYZE_TAIL = [
    "-tag=someimage/name:tag2",
    "-tag=someimage/name:tag3",
    f"-previous-image={cases.PREVIOUS_IMAGE}",
]


def test_a_volume_cache_pod_has_the_claim_as_cache_dir_volume() -> None:  # item 17
    pod = render(cases.BUILDS["a volume cache build"])
    cache_volume = {"name": "cache-dir", "persistentVolumeClaim": {"claimName": "some-cache-name"}}
    assert pod["spec"]["volumes"] == [cache_volume, *EMPTY_DIRS, *TAIL_VOLUMES]


@pytest.mark.parametrize(
    ("case", "volumes"),
    [
        ("a registry cache first build", 8),  # item 24
        ("a registry cache build with a pinned digest", 8),  # item 29
        ("a build without cache", 8),  # item 35
        ("a build with an empty cache object", 8),
        ("a volume cache build with an empty claim name", 8),  # item 36
        ("a registry cache with an empty tag only", 8),
        ("a volume cache build", 9),
        ("a build with both caches", 9),
    ],
    ids=lambda value: str(value),
)
def test_only_a_volume_cache_adds_a_pod_volume(case: str, volumes: int) -> None:
    pod = render(cases.BUILDS[case])
    assert len(pod["spec"]["volumes"]) == volumes
    assert ("cache-dir" in [volume["name"] for volume in pod["spec"]["volumes"]]) is (volumes == 9)


def test_init_containers_run_prepare_analyze_detect_restore_build_export_then_completion() -> None:
    pod = render(cases.BUILDS["a volume cache build"])
    assert [c["name"] for c in pod["spec"]["initContainers"]] == [
        "prepare",
        "analyze",
        "detect",
        "restore",
        "build",
        "export",
    ]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["completion"]
    commands = {
        c["name"]: c.get("command") for c in pod["spec"]["initContainers"] + pod["spec"]["containers"]
    }
    assert commands == {  # kpack build_pod.go PrepareCommand … CompletionCommand
        "prepare": ["/cnb/process/build-init"],
        "analyze": ["/cnb/lifecycle/analyzer"],
        "detect": ["/cnb/lifecycle/detector"],
        "restore": ["/cnb/lifecycle/restorer"],
        "build": ["/cnb/lifecycle/builder"],
        "export": ["/cnb/lifecycle/exporter"],
        "completion": ["/cnb/process/completion"],
    }


# Items 18-36: exact args and mounts of analyze, restore and export for each cache case.
CACHE_MATRIX = [
    pytest.param(
        "a volume cache build",
        ANALYZE_HEAD + ANALYZE_TAIL + ["someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-dir=/cache",
            "-analyzed=/layers/analyzed.toml",
        ],
        [*EXPORT_HEAD, "-cache-dir=/cache", "-report=/var/report/report.toml", *cases.TAGS],
        True,
        id="a volume cache reads and writes /cache in restore and export but not in analyze",
    ),
    pytest.param(
        "a volume cache build with a default process",
        ANALYZE_HEAD + ANALYZE_TAIL + ["someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-dir=/cache",
            "-analyzed=/layers/analyzed.toml",
        ],
        [
            *EXPORT_HEAD,
            "-cache-dir=/cache",
            "-process-type=sys-info",
            "-report=/var/report/report.toml",
            *cases.TAGS,
        ],
        True,
        id="a default process goes between the cache dir and the report",
    ),
    pytest.param(
        "a registry cache first build",
        [*ANALYZE_HEAD, "-cache-image=test-cache-image", *ANALYZE_TAIL, "someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-image=test-cache-image",
            "-analyzed=/layers/analyzed.toml",
        ],
        [*EXPORT_HEAD, "-cache-image=test-cache-image", "-report=/var/report/report.toml", *cases.TAGS],
        False,
        id="a first registry cache build reads and writes the cache tag",
    ),
    pytest.param(
        "a registry cache build with a pinned digest",
        [*ANALYZE_HEAD, "-cache-image=test-cache-image@sha", *ANALYZE_TAIL, "someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-image=test-cache-image@sha",
            "-analyzed=/layers/analyzed.toml",
        ],
        [*EXPORT_HEAD, "-cache-image=test-cache-image", "-report=/var/report/report.toml", *cases.TAGS],
        False,
        id="a pinned cache digest is read but the export always writes the tag",
    ),
    pytest.param(
        "a registry cache with an empty tag beside a volume",
        ANALYZE_HEAD + ANALYZE_TAIL + ["someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-dir=/cache",
            "-analyzed=/layers/analyzed.toml",
        ],
        [*EXPORT_HEAD, "-cache-dir=/cache", "-report=/var/report/report.toml", *cases.TAGS],
        True,
        id="an empty registry tag beside a volume leaves the volume behaviour",
    ),
    pytest.param(
        "a build with both caches",
        ANALYZE_HEAD + ANALYZE_TAIL + ["someimage/name"],
        [
            "-group=/layers/group.toml",
            "-layers=/layers",
            "-cache-dir=/cache",
            "-analyzed=/layers/analyzed.toml",
        ],
        [*EXPORT_HEAD, "-cache-dir=/cache", "-report=/var/report/report.toml", *cases.TAGS],
        True,
        id="a volume wins over a registry cache",
    ),
    *(
        pytest.param(
            case,
            ANALYZE_HEAD + ANALYZE_TAIL + ["someimage/name"],
            ["-group=/layers/group.toml", "-layers=/layers", "-analyzed=/layers/analyzed.toml"],
            [*EXPORT_HEAD, "-report=/var/report/report.toml", *cases.TAGS],
            False,
            id=f"{case} has no cache arguments and no cache mounts",
        )
        for case in (
            "a build without cache",
            "a build with an empty cache object",
            "a volume cache build with an empty claim name",
            "a registry cache with an empty tag only",
        )
    ),
]


@pytest.mark.parametrize(("case", "analyze", "restore", "export", "mounts_cache"), CACHE_MATRIX)
def test_cache_arguments_and_mounts_of_analyze_restore_and_export(
    case: str, analyze: list[str], restore: list[str], export: list[str], mounts_cache: bool
) -> None:
    pod = render(cases.BUILDS[case])
    cache = [CACHE] if mounts_cache else []
    assert step(pod, "analyze")["args"] == analyze
    assert step(pod, "analyze")["volumeMounts"] == [LAYERS, WORKSPACE, HOME]
    assert step(pod, "restore")["args"] == restore
    assert step(pod, "restore")["volumeMounts"] == [LAYERS, HOME, *cache]
    assert step(pod, "export")["args"] == export
    assert step(pod, "export")["volumeMounts"] == [LAYERS, WORKSPACE, HOME, REPORT, *cache]


@pytest.mark.parametrize(
    ("case", "cache_tag"),
    [
        ("a registry cache first build", "test-cache-image"),  # item 28
        ("a registry cache build with a pinned digest", "test-cache-image"),  # item 33
        ("a volume cache build", ""),
        ("a build without cache", ""),
        ("a registry cache with an empty tag only", ""),
        ("a STACK rebuild with a registry cache", "test-cache-image"),
    ],
    ids=lambda value: str(value),
)
def test_completion_reports_the_registry_cache_tag(case: str, cache_tag: str) -> None:
    """A rebase pod's completion has no HOME (kpack "creates a pod just to rebase")."""
    completion = step(render(cases.BUILDS[case]), "completion")
    assert completion["env"] == [
        *([] if "STACK" in case else [HOME_ENV]),
        {"name": "CACHE_TAG", "value": cache_tag},
        {"name": "TERMINATION_MESSAGE_PATH", "value": "/tmp/termination-log"},
    ]


def test_restore_env_has_home_and_the_highest_platform_api() -> None:  # item 18
    pod = render(cases.BUILDS["a volume cache build"])
    assert step(pod, "restore")["env"] == [HOME_ENV, API_09]
    assert step(pod, "analyze")["env"] == [HOME_ENV, API_09, BINDINGS_ENV]
    assert step(pod, "detect")["env"] == [API_09]
    assert step(pod, "build")["env"] == [API_09, BINDINGS_ENV]
    assert step(pod, "export")["env"] == [
        HOME_ENV,
        API_09,
        {"name": "CNB_RUN_IMAGE", "value": cases.RUN_IMAGE},
    ]


@pytest.mark.parametrize(
    ("case", "tail"),
    [
        (
            "a build without a last build",
            ["-tag=someimage/name:tag2", "-tag=someimage/name:tag3", "someimage/name"],
        ),
        (
            "a build with an empty last build",
            ["-tag=someimage/name:tag2", "-tag=someimage/name:tag3", "someimage/name"],
        ),
    ],
    ids=["without a last build analyze has no previous image", "an empty last build has no previous image"],
)
def test_analyze_without_a_previous_image(case: str, tail: list[str]) -> None:  # item 22
    assert step(render(cases.BUILDS[case]), "analyze")["args"] == ANALYZE_HEAD + tail


def test_detect_and_build_args_and_mounts() -> None:
    pod = render(cases.BUILDS["a volume cache build"])
    assert step(pod, "detect")["args"] == [
        "-app=/workspace",
        "-group=/layers/group.toml",
        "-plan=/layers/plan.toml",
    ]
    assert step(pod, "detect")["volumeMounts"] == [LAYERS, PLATFORM, WORKSPACE]
    assert step(pod, "build")["args"] == [
        "-layers=/layers",
        "-app=/workspace",
        "-group=/layers/group.toml",
        "-plan=/layers/plan.toml",
    ]
    assert step(pod, "build")["volumeMounts"] == [LAYERS, PLATFORM, WORKSPACE]


def test_lifecycle_steps_run_the_resolved_builder_image() -> None:
    pod = render(cases.BUILDS["a volume cache build"])
    for name in ("analyze", "detect", "restore", "build", "export"):
        assert step(pod, name)["image"] == cases.BUILDER_IMAGE
        assert step(pod, name)["imagePullPolicy"] == "IfNotPresent"
        assert "resources" not in step(pod, name)
    assert step(pod, "prepare")["image"] == steps.PodImages().build_init
    assert step(pod, "completion")["image"] == steps.PodImages().completion


def test_prepare_gets_the_source_the_tag_and_the_builder_but_no_cache() -> None:
    prepare = step(render(cases.BUILDS["a volume cache build"]), "prepare")
    assert prepare["args"] == []
    assert prepare["workingDir"] == "/workspace"
    assert prepare["env"] == [
        {"name": "GIT_URL", "value": "giturl.com/git.git"},
        {"name": "GIT_REVISION", "value": "gitrev1234"},
        {"name": "GIT_INITIALIZE_SUBMODULES", "value": "false"},
        {"name": "SOURCE_SUB_PATH", "value": ""},
        {"name": "PROJECT_DESCRIPTOR_PATH", "value": ""},
        {"name": "IMAGE_TAG", "value": "someimage/name"},
        {"name": "RUN_IMAGE", "value": "builderregistry.io/run"},
        {"name": "BUILDER_IMAGE", "value": "builderregistry.io/builder:tag"},
        {"name": "BUILDER_NAME", "value": "builder-name"},
        {"name": "BUILDER_KIND", "value": "ClusterBuilder"},
        {"name": "DNS_PROBE_HOSTNAME", "value": "index.docker.io"},
        {"name": "BUILD_CHANGES", "value": '[{"reason":"CONFIG"}]'},
        {"name": "INSECURE_SSH_TRUST_UNKNOWN_HOSTS", "value": "true"},
    ]
    assert prepare["volumeMounts"] == [
        {
            "name": "registry-source-pull-secrets-dir",
            "mountPath": "/registrySourcePullSecrets",
            "readOnly": True,
        },
        PLATFORM,
        WORKSPACE,
        HOME,
        {"name": "layers-dir", "mountPath": "/projectMetadata"},
    ]


def test_a_blob_source_with_a_sub_path_narrows_the_lifecycle_workspace() -> None:
    pod = render(cases.BUILDS["a blob source build with a sub path"], insecure_ssh_trust_unknown_hosts=False)
    prepare = step(pod, "prepare")
    assert prepare["env"][:4] == [
        {"name": "BLOB_URL", "value": "https://blob.io/a.tgz"},
        {"name": "BLOB_STRIP_COMPONENTS", "value": "1"},
        {"name": "BLOB_AUTH", "value": "true"},
        {"name": "SOURCE_SUB_PATH", "value": "app"},
    ]
    assert prepare["env"][-1] == {"name": "INSECURE_SSH_TRUST_UNKNOWN_HOSTS", "value": "false"}
    assert WORKSPACE in prepare["volumeMounts"]
    sub_path_workspace = {**WORKSPACE, "subPath": "app"}
    for name in ("analyze", "detect", "build", "export"):
        assert sub_path_workspace in step(pod, name)["volumeMounts"]


def test_a_registry_source_mounts_its_first_pull_secret() -> None:
    pod = render(cases.BUILDS["a registry source build with pull secrets"])
    assert step(pod, "prepare")["env"][0] == {"name": "REGISTRY_IMAGE", "value": "reg.io/src@sha256:abc"}
    assert pod["spec"]["volumes"][-2] == {
        "name": "registry-source-pull-secrets-dir",
        "secret": {"secretName": "src-pull"},
    }


def test_a_build_without_source_has_no_source_env() -> None:
    prepare = step(render(cases.make_build(source={})), "prepare")
    assert prepare["env"][0] == {"name": "SOURCE_SUB_PATH", "value": ""}


def test_env_resources_scheduling_and_creation_time_reach_the_pod() -> None:
    pod = render(cases.BUILDS["a build with env, resources and scheduling"])
    spec = pod["spec"]
    env = step(pod, "prepare")["env"]
    assert env[3:6] == [
        {"name": "PLATFORM_ENV_BP_JVM", "value": "17"},
        {"name": "PLATFORM_ENV_FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "SOURCE_SUB_PATH", "value": ""},
    ]
    assert {"name": "PROJECT_DESCRIPTOR_PATH", "value": "project.toml"} in env
    assert step(pod, "export")["env"] == [
        HOME_ENV,
        API_09,
        {"name": "SOURCE_DATE_EPOCH", "value": str(int(cases.NOW.timestamp()))},
        {"name": "CNB_RUN_IMAGE", "value": cases.RUN_IMAGE},
    ]
    resources = {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1"}}
    for name in ("prepare", "analyze", "detect", "restore", "build", "export", "completion"):
        assert step(pod, name)["resources"] == resources
    assert {key: spec[key] for key in spec if key not in ("initContainers", "containers", "volumes")} == {
        "restartPolicy": "Never",
        "serviceAccountName": "someserviceaccount",
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "fsGroup": 3000,
            "runAsUser": 2000,
            "runAsGroup": 3000,
        },
        "imagePullSecrets": [{"name": "builder-pull"}],
        "nodeSelector": {"disk": "fast"},
        "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {}},
        "runtimeClassName": "gvisor",
        "schedulerName": "custom",
        "priorityClassName": "kpack-build-high-priority",
        "activeDeadlineSeconds": 600,
    }


@pytest.mark.parametrize(
    ("creation_time", "expected"),
    [
        ("1700000000", [{"name": "SOURCE_DATE_EPOCH", "value": "1700000000"}]),
        ("+17", [{"name": "SOURCE_DATE_EPOCH", "value": "17"}]),
        ("0017", [{"name": "SOURCE_DATE_EPOCH", "value": "17"}]),
        ("-1", [{"name": "SOURCE_DATE_EPOCH", "value": "-1"}]),
        ("9223372036854775807", [{"name": "SOURCE_DATE_EPOCH", "value": "9223372036854775807"}]),
        ("", []),
        (None, []),
    ],
    ids=[
        "a unix timestamp is passed as is",
        "a plus sign is read and dropped (strconv.ParseInt)",
        "leading zeros are read and dropped",
        "a negative timestamp is a timestamp",
        "the largest int64 is a timestamp",
        "an empty creation time sets no epoch",
        "no creation time sets no epoch",
    ],
)
def test_source_date_epoch(creation_time: str | None, expected: list[dict[str, str]]) -> None:
    """kpack build_pod.go ``parseTime``: "" is none, "now" the time of rendering, else an int64."""
    export = step(render(cases.make_build(creationTime=creation_time)), "export")
    assert export["env"][2:-1] == expected


@pytest.mark.parametrize(
    ("creation_time", "problem"),
    [
        ("yesterday", 'parsing "yesterday": invalid syntax'),
        (" 1", 'parsing " 1": invalid syntax'),
        ("1.5", 'parsing "1.5": invalid syntax'),
        ("+", 'parsing "+": invalid syntax'),
        ("9223372036854775808", 'parsing "9223372036854775808": value out of range'),
    ],
    ids=[
        "a word fails the pod with kpack's message",
        "a leading space is invalid syntax",
        "a fraction is invalid syntax",
        "a sign alone is invalid syntax",
        "past int64 is out of range",
    ],
)
def test_an_unparsable_creation_time_fails_the_pod(creation_time: str, problem: str) -> None:
    with pytest.raises(pods.PodGenerationError) as raised:
        render(cases.make_build(creationTime=creation_time))
    assert str(raised.value) == (
        f"parsing creation time {creation_time}: parsing unix timestamp: strconv.ParseInt: {problem}"
    )


def test_a_rebase_pod_does_not_read_the_creation_time() -> None:
    """kpack returns the rebase pod before ``parseTime``."""
    build = cases.make_build(creationTime="yesterday", annotations={"image.kpack.io/reason": "STACK"})
    assert [c["name"] for c in render(build)["spec"]["initContainers"]] == ["rebase"]


def test_pod_metadata_carries_build_labels_annotations_and_the_owner() -> None:
    pod = render(cases.BUILDS["a volume cache build"])
    assert pod["apiVersion"] == "v1"
    assert pod["kind"] == "Pod"
    assert pod["metadata"] == {
        "name": "build-name-build-pod",
        "namespace": "some-namespace",
        "labels": {
            "image.kpack.io/buildNumber": "12",
            "image.kpack.io/image": "image-name",
            "some/label": "to-pass-through",
            "kpack.io/build": "build-name",
        },
        "annotations": {
            "image.kpack.io/buildChanges": '[{"reason":"CONFIG"}]',
            "image.kpack.io/builderName": "builder-name",
            "image.kpack.io/builderKind": "ClusterBuilder",
            "some/annotation": "to-pass-through",
            "sidecar.istio.io/inject": "false",
        },
        "ownerReferences": [
            {
                "apiVersion": "kpack.io/v1alpha2",
                "kind": "Build",
                "name": "build-name",
                "uid": "build-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def test_a_long_build_name_gives_a_63_character_pod_name_and_no_namespace_when_none() -> None:
    document = cases.build_document()
    document["metadata"] = {"name": "x" * 60}
    document["spec"].pop("serviceAccountName")
    pod = render(builds.Build.model_validate(document))
    assert len(pod["metadata"]["name"]) == 63
    assert pod["metadata"]["name"].endswith("-build-pod")
    assert "namespace" not in pod["metadata"]
    assert pod["spec"]["serviceAccountName"] == "default"


def test_completion_gets_cosign_annotations_with_the_build_time_and_number() -> None:
    completion = step(render(cases.BUILDS["a volume cache build"]), "completion")
    assert completion["args"] == [
        f"-cosign-annotations=buildTimestamp={cases.BUILD_TIMESTAMP}",
        "-cosign-annotations=buildNumber=12",
    ]
    assert completion["volumeMounts"] == [HOME, REPORT, NOTARY]
    assert completion["terminationMessagePath"] == "/tmp/termination-log"
    assert completion["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_every_container_runs_restricted() -> None:
    pod = render(cases.BUILDS["a volume cache build"])
    for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "seccompProfile": {"type": "RuntimeDefault"},
            "capabilities": {"drop": ["ALL"]},
        }


def test_the_run_image_of_the_build_wins_over_the_builder_run_image() -> None:
    pod = render(cases.make_build(runImage={"image": "other.io/run@sha256:x"}))
    assert "-run-image=other.io/run@sha256:x" in step(pod, "analyze")["args"]
    assert {"name": "RUN_IMAGE", "value": "other.io/run@sha256:x"} in step(pod, "prepare")["env"]


def test_rendered_pods_are_fresh_objects() -> None:
    first = render(cases.BUILDS["a volume cache build"])
    step(first, "analyze")["volumeMounts"][0]["name"] = "changed"
    second = render(cases.BUILDS["a volume cache build"])
    assert step(second, "analyze")["volumeMounts"][0] == LAYERS


# Item 37 and spec 5.7: rebase pods.
def test_a_stack_only_rebuild_on_the_same_stack_is_a_rebase_pod() -> None:
    pod = render(cases.BUILDS["a STACK rebuild on the same stack"])
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["rebase"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["completion"]
    rebase = pod["spec"]["initContainers"][0]
    assert rebase["command"] == ["/cnb/process/rebase"]
    assert rebase["args"] == [
        "--run-image",
        "builderregistry.io/run",
        "--last-built-image",
        cases.PREVIOUS_IMAGE,
        "--report",
        "/var/report/report.toml",
        *cases.TAGS,
    ]
    assert rebase["env"] == [{"name": "BUILD_CHANGES", "value": '[{"reason":"CONFIG"}]'}]
    assert rebase["workingDir"] == "/workspace"
    assert rebase["volumeMounts"] == [REPORT]
    assert pod["spec"]["volumes"] == [
        {"name": "report-dir", "emptyDir": {}},
        {"name": "notary-dir", "emptyDir": {}},
    ]
    assert step(pod, "completion")["volumeMounts"] == [REPORT, NOTARY]


@pytest.mark.parametrize(
    ("reason", "stack_id", "last_build"),
    [
        ("STACK,LIFECYCLE", cases.STACK_ID, True),
        ("STACK", "another.stack", True),
        ("STACK", cases.STACK_ID, False),
        ("CONFIG", cases.STACK_ID, True),
    ],
    ids=[
        "combined reasons make a full build",
        "a changed stack id makes a full build",
        "no last build makes a full build",
        "a CONFIG reason makes a full build",
    ],
)
def test_when_a_rebuild_is_not_a_rebase(reason: str, stack_id: str, last_build: bool) -> None:
    build = cases.make_build(
        annotations={"image.kpack.io/reason": reason}, drop=() if last_build else ("lastBuild",)
    )
    pod = render(build, config=cases.make_config(stackId=stack_id))
    assert next(c["name"] for c in pod["spec"]["initContainers"]) == "prepare"


def test_a_rebase_ignores_an_unparsable_tag() -> None:
    build = cases.make_build(tags=["Not A Tag"], annotations={"image.kpack.io/reason": "STACK"})
    assert render(build)["spec"]["initContainers"][0]["args"][-1] == "Not A Tag"


# Items 38, 39-42 and spec 5.1: refused pods.
@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"platformApis": ["0.2", "0.999"]}, "unsupported builder platform API versions: 0.2,0.999"),
        ({"platformApis": []}, "unsupported builder platform API versions: "),
        ({"platformApis": ["0.6", "0.10"]}, "unsupported builder platform API versions: 0.6,0.10"),
        ({"platformApis": ["0.7", "bogus"]}, "unexpected platform version bogus: Invalid Semantic Version"),
        ({"os": "windows"}, "windows builds are not supported"),
        ({"os": "windows", "platformApis": ["0.2"]}, "windows builds are not supported"),
    ],
    ids=[
        "platform APIs 0.2 and 0.999 are unsupported",
        "no platform API is unsupported",
        "0.6 and 0.10 are unsupported",
        "an unparsable platform version is refused",
        "a windows builder is refused",
        "a windows builder is refused before its platform APIs are read",
    ],
)
def test_refused_pods(config: dict[str, Any], message: str) -> None:
    with pytest.raises(pods.PodGenerationError) as raised:
        render(cases.BUILDS["a volume cache build"], config=cases.make_config(**config))
    assert str(raised.value) == message
    assert isinstance(raised.value, errors.PermanentError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "case",
    [
        "a volume cache build",
        "a registry cache build with a pinned digest",
        "a STACK rebuild on the same stack",
    ],
)
def test_windows_builders_are_refused_whatever_the_cache(case: str) -> None:  # items 39-42 at [HEAD]
    with pytest.raises(pods.PodGenerationError, match=r"^windows builds are not supported$"):
        render(cases.BUILDS[case], config=cases.make_config(os="windows"))


def test_an_unparsable_tag_is_refused() -> None:
    with pytest.raises(pods.PodGenerationError, match=r"^could not parse reference: Not A Tag$"):
        render(cases.make_build(tags=["Not A Tag"]))


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["0.7"], "0.7"),
        (["0.7", "0.8"], "0.8"),
        (["0.9", "0.7"], "0.9"),
        (["0.3", "0.8.0", "0.12"], "0.8"),
        (["v0.9"], "0.9"),
        (["0.9-alpha", "0.7"], "0.7"),
    ],
    ids=[
        "0.7 alone is 0.7",
        "the highest of 0.7 and 0.8 is 0.8",
        "order does not matter",
        "0.8.0 counts as 0.8",
        "a leading v is allowed",
        "a prerelease is not the release",
    ],
)
def test_the_platform_api_is_the_highest_supported_one(offered: list[str], chosen: str) -> None:
    pod = render(cases.BUILDS["a volume cache build"], config=cases.make_config(platformApis=offered))
    assert {"name": "CNB_PLATFORM_API", "value": chosen} in step(pod, "detect")["env"]


# Secrets of the service account.
SECRETS = [
    secrets.BuildSecret(
        name="docker-basic", type=secrets.BASIC_AUTH, annotations={"kpack.io/docker": "reg.io"}
    ),
    secrets.BuildSecret(name="docker-json", type=secrets.DOCKER_CONFIG_JSON),
    secrets.BuildSecret(name="docker-cfg", type=secrets.DOCKER_CFG),
    secrets.BuildSecret(
        name="git-basic", type=secrets.BASIC_AUTH, annotations={"kpack.io/git": "https://github.com"}
    ),
    secrets.BuildSecret(
        name="git-ssh", type=secrets.SSH_AUTH, annotations={"kpack.io/git": "git@github.com"}
    ),
    secrets.BuildSecret(name="blob", annotations={"kpack.io/blob": "https://blob.io"}),
    secrets.BuildSecret(name="unrelated"),
    secrets.BuildSecret(name="docker-json", type=secrets.DOCKER_CONFIG_JSON),
    secrets.BuildSecret(name="git-but-opaque", annotations={"kpack.io/git": "https://github.com"}),
]
SECRET_ARGS = [
    "-basic-docker=docker-basic=reg.io",
    "-dockerconfig=docker-json",
    "-dockercfg=docker-cfg",
    "-basic-git=git-basic=https://github.com",
    "-ssh-git=git-ssh=git@github.com",
]
"""A git-source build's: the blob secret is left out (kpack ``buildSecrets(false)``)."""
SECRET_NAMES = ["docker-basic", "docker-json", "docker-cfg", "git-basic", "git-ssh"]


def test_secrets_become_args_volumes_and_mounts_of_prepare_and_completion() -> None:
    pod = render(
        cases.BUILDS["a volume cache build"],
        secrets=SECRETS,
        image_pull_secrets=["pull", "docker-json", "pull"],
    )
    secret_volumes = [
        {"name": f"secret-volume-{i}", "secret": {"secretName": name}} for i, name in enumerate(SECRET_NAMES)
    ]
    secret_mounts = [
        {"name": f"secret-volume-{i}", "mountPath": f"/var/build-secrets/{name}"}
        for i, name in enumerate(SECRET_NAMES)
    ]
    pull_volume = {"name": "pull-secret-volume-0", "secret": {"secretName": "pull"}}
    pull_mount = {"name": "pull-secret-volume-0", "mountPath": "/var/build-secrets/pull"}
    assert pod["spec"]["volumes"][:7] == [*secret_volumes, pull_volume, pod["spec"]["volumes"][6]]
    assert pod["spec"]["volumes"][6]["name"] == "cache-dir"
    assert step(pod, "prepare")["args"] == [*SECRET_ARGS, "-imagepull=pull"]
    assert step(pod, "prepare")["volumeMounts"][:6] == [*secret_mounts, pull_mount]
    assert step(pod, "completion")["args"][:5] == SECRET_ARGS
    assert step(pod, "completion")["volumeMounts"][:5] == secret_mounts


def test_a_rebase_pod_uses_only_docker_secrets_and_pull_secrets() -> None:
    pod = render(
        cases.BUILDS["a STACK rebuild on the same stack"], secrets=SECRETS, image_pull_secrets=["pull"]
    )
    rebase = pod["spec"]["initContainers"][0]
    assert rebase["args"][6:] == [
        "-basic-docker=docker-basic=reg.io",
        "-dockerconfig=docker-json",
        "-dockercfg=docker-cfg",
        "-imagepull=pull",
        *cases.TAGS,
    ]
    assert [volume["name"] for volume in pod["spec"]["volumes"]] == [
        "secret-volume-0",
        "secret-volume-1",
        "secret-volume-2",
        "pull-secret-volume-0",
        "report-dir",
        "notary-dir",
    ]
    assert [mount["name"] for mount in rebase["volumeMounts"]] == [
        "secret-volume-0",
        "secret-volume-1",
        "secret-volume-2",
        "pull-secret-volume-0",
        "report-dir",
    ]


@pytest.mark.parametrize(
    ("secret", "kinds", "arg"),
    [
        (SECRETS[3], secrets.DOCKER_ONLY, None),
        (SECRETS[5], secrets.DOCKER_ONLY, None),
        (SECRETS[0], ("git", "blob"), None),
        (SECRETS[8], secrets.ALL_KINDS, None),
        (secrets.BuildSecret(name="basic-no-note", type=secrets.BASIC_AUTH), secrets.ALL_KINDS, None),
    ],
    ids=[
        "a git secret is not a docker secret",
        "a blob secret is not a docker secret",
        "a docker secret is skipped when only git and blob are wanted",
        "an opaque secret with a git annotation is skipped",
        "basic auth without annotation is skipped",
    ],
)
def test_secrets_kpack_does_not_use(
    secret: secrets.BuildSecret, kinds: tuple[secrets.Kind, ...], arg: None
) -> None:
    assert secrets.secret_arg(secret, kinds=kinds) is arg


def test_build_secrets_read_camel_case_and_refuse_unknown_keys() -> None:
    secret = secrets.BuildSecret.model_validate({"name": "n", "type": "t", "annotations": {"a": "b"}})
    assert secret == secrets.BuildSecret(name="n", type="t", annotations={"a": "b"})
    with pytest.raises(ValueError, match="extra"):
        secrets.BuildSecret.model_validate({"name": "n", "data": {}})
