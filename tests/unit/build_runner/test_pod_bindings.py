"""Service and CNB bindings in the build pod (kpack [HEAD] build_pod.go, buildpod/generator.go; spec §5.4, §5.5)."""

from __future__ import annotations

from typing import Any

import build_runner_cases as cases
import pytest
from build_runner_cases import render, step

from contracts import builds, meta
from services import errors
from services.build_runner import bindings, pods

LAYERS = {"name": "layers-dir", "mountPath": "/layers"}
PLATFORM = {"name": "platform-dir", "mountPath": "/platform"}
WORKSPACE = {"name": "workspace-dir", "mountPath": "/workspace"}
NOTARY_DIR = {"name": "notary-dir", "emptyDir": {}}
PROVISIONED = {"apiVersion": "mysql.example.com/v1", "kind": "MySQL", "name": "db"}
DB_KEY = ("mysql.example.com/v1", "MySQL", "db")


def secret_volume(volume: str, secret: str) -> dict[str, Any]:
    return {"name": volume, "secret": {"secretName": secret}}


def read_only(volume: str, path: str) -> dict[str, Any]:
    return {"name": volume, "mountPath": path, "readOnly": True}


SERVICE_VOLUMES = [secret_volume("binding-database", "database"), secret_volume("binding-apm", "apm")]
SERVICE_MOUNTS = [
    read_only("binding-database", "/platform/bindings/database"),
    read_only("binding-apm", "/platform/bindings/apm"),
]
CNB_VOLUMES = [
    {"name": "binding-metadata-some-v1alpha1-binding", "configMap": {"name": "some-configmap"}},
    secret_volume("binding-secret-some-v1alpha1-binding", "some-secret"),
    {"name": "binding-metadata-metadata-only", "configMap": {"name": "other-configmap"}},
]
CNB_MOUNTS = [
    read_only("binding-metadata-some-v1alpha1-binding", "/platform/bindings/some-v1alpha1-binding/metadata"),
    read_only("binding-secret-some-v1alpha1-binding", "/platform/bindings/some-v1alpha1-binding/secret"),
    read_only("binding-metadata-metadata-only", "/platform/bindings/metadata-only/metadata"),
]


@pytest.mark.parametrize(
    ("build", "lookups", "volumes", "mounts"),
    [
        pytest.param(
            cases.BUILDS["a build with Secret services"],
            None,
            SERVICE_VOLUMES,
            SERVICE_MOUNTS,
            id="a Secret service is bound as that Secret at /platform/bindings/<name>",
        ),
        pytest.param(
            cases.BUILDS["a build with CNB bindings"],
            None,
            CNB_VOLUMES,
            CNB_MOUNTS,
            id="a CNB binding mounts its metadata ConfigMap and, when it has one, its Secret",
        ),
        pytest.param(
            cases.make_build(services=cases.SERVICES, cnbBindings=cases.CNB_BINDINGS),
            None,
            SERVICE_VOLUMES,
            SERVICE_MOUNTS,
            id="services win over CNB bindings",
        ),
        pytest.param(
            cases.make_build(services=[{"kind": "Secret", "name": "database"}]),
            None,
            SERVICE_VOLUMES[:1],
            SERVICE_MOUNTS[:1],
            id="a Secret is recognised by its kind alone",
        ),
        pytest.param(
            cases.make_build(services=[PROVISIONED]),
            bindings.Lookups(provisioned={DB_KEY: "db-credentials"}),
            [secret_volume("binding-db", "db-credentials")],
            [read_only("binding-db", "/platform/bindings/db")],
            id="a provisioned service is bound as the Secret its status names",
        ),
        pytest.param(
            cases.make_build(services=[PROVISIONED, cases.SERVICES[1]]),
            bindings.Lookups(provisioned={DB_KEY: None}),
            SERVICE_VOLUMES[1:],
            SERVICE_MOUNTS[1:],
            id="a provisioned service with no binding yet mounts nothing",
        ),
        pytest.param(
            cases.make_build(services=[], cnbBindings=[]),
            None,
            [],
            [],
            id="empty lists bind nothing",
        ),
    ],
)
def test_bindings_come_last_in_the_pod_and_are_mounted_in_detect_and_build(
    build: builds.Build,
    lookups: bindings.Lookups | None,
    volumes: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
) -> None:
    pod = render(build, lookups=lookups)
    names = [volume["name"] for volume in pod["spec"]["volumes"]]
    assert pod["spec"]["volumes"][names.index("notary-dir") :] == [NOTARY_DIR, *volumes]
    assert step(pod, "detect")["volumeMounts"] == [LAYERS, PLATFORM, WORKSPACE, *mounts]
    assert step(pod, "build")["volumeMounts"] == [LAYERS, PLATFORM, WORKSPACE, *mounts]
    for name in ("prepare", "analyze", "restore", "export", "completion"):
        assert not [m for m in step(pod, name)["volumeMounts"] if m["name"].startswith("binding-")], name


def test_a_rebase_pod_mounts_no_bindings() -> None:
    pod = render(cases.BUILDS["a STACK rebuild signing with notary"])
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["rebase"]
    assert not [v for v in pod["spec"]["volumes"] if v["name"].startswith("binding-")]


FORBIDDEN = bindings.Lookups(forbidden_secrets=frozenset({"registry-credentials", "apm"}))


@pytest.mark.parametrize(
    ("build", "lookups", "message"),
    [
        pytest.param(
            cases.BUILDS["a build with Secret services"],
            FORBIDDEN,
            'build rejected: service "apm" uses forbidden secret "apm"',
            id="a service may not bind a secret a service account lists",
        ),
        pytest.param(
            cases.make_build(services=[PROVISIONED]),
            bindings.Lookups(
                forbidden_secrets=frozenset({"registry-credentials"}),
                provisioned={DB_KEY: "registry-credentials"},
            ),
            'build rejected: service "db" uses forbidden secret "registry-credentials"',
            id="nor may a provisioned service's binding",
        ),
        pytest.param(
            cases.make_build(
                cnbBindings=[{"name": "b", "metadataRef": {"name": "m"}, "secretRef": {"name": "apm"}}]
            ),
            FORBIDDEN,
            'build rejected: binding "b" uses forbidden secret "apm"',
            id="nor may a CNB binding",
        ),
        pytest.param(
            cases.make_build(services=cases.SERVICES, annotations={"image.kpack.io/reason": "STACK"}),
            FORBIDDEN,
            'build rejected: service "apm" uses forbidden secret "apm"',
            id="a rebase is refused too: bindings are resolved before the pod is chosen",
        ),
        pytest.param(
            cases.make_build(services=[PROVISIONED]),
            None,
            'mysqls.mysql.example.com "db" not found',
            id="a provisioned service that is not in the cluster is not found",
        ),
        pytest.param(
            cases.make_build(services=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cm"}]),
            None,
            'service "cm": v1 ConfigMap is not a provisioned service '
            "(bind a Secret, or a kind with an API group and a status.binding)",
            id="a core object other than a Secret cannot be bound",
        ),
        pytest.param(
            cases.make_build(services=[{"apiVersion": "example.com/v1", "name": "x"}]),
            None,
            'service "x": example.com/v1  is not a provisioned service '
            "(bind a Secret, or a kind with an API group and a status.binding)",
            id="a service without a kind cannot be bound",
        ),
        pytest.param(
            cases.make_build(cnbBindings=[{"name": "b", "secretRef": {"name": "s"}}]),
            None,
            'binding "b" has no metadataRef',
            id="a CNB binding needs its metadata ConfigMap",
        ),
        pytest.param(
            cases.make_build(services=cases.SERVICES),
            None,
            "windows builds are not supported",
            id="allowed bindings leave the other refusals in place",
        ),
    ],
)
def test_refused_bindings_fail_the_build(
    build: builds.Build, lookups: bindings.Lookups | None, message: str
) -> None:
    config = cases.make_config(os="windows" if message.startswith("windows") else "linux")
    with pytest.raises(pods.PodGenerationError) as raised:
        pods.render_pod(build, config=config, now=cases.NOW, lookups=lookups)
    assert str(raised.value) == message
    assert isinstance(raised.value, errors.PermanentError)


# What the build runner reads from the cluster, as pure functions.


@pytest.mark.parametrize(
    ("kind", "plural"),
    [("MySQL", "mysqls"), ("Redis", "redises"), ("Policy", "policies"), ("Endpoints", "endpoints")],
    ids=[
        "a kind is lowercased and gets an s",
        "a kind ending in s gets es",
        "a kind ending in y gets ies",
        "endpoints stay endpoints",
    ],
)
def test_the_resource_of_a_provisioned_service_is_guessed_from_its_kind(kind: str, plural: str) -> None:
    assert bindings.resource_plural(kind) == plural


@pytest.mark.parametrize(
    ("spec", "requested", "to_read"),
    [
        ({}, False, []),
        ({"services": []}, False, []),
        ({"cnbBindings": cases.CNB_BINDINGS}, True, []),
        ({"services": cases.SERVICES}, True, []),
        (
            {
                "services": [
                    PROVISIONED,
                    cases.SERVICES[0],
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm"},
                    {"apiVersion": "example.com/v1", "name": "no-kind"},
                ]
            },
            True,
            [PROVISIONED],
        ),
    ],
    ids=[
        "a build without bindings reads nothing",
        "nor does one with an empty service list",
        "CNB bindings need the service accounts but no services",
        "Secret services are not read",
        "only provisioned services with a group and a kind are read",
    ],
)
def test_what_a_build_needs_from_the_cluster(
    spec: dict[str, Any], requested: bool, to_read: list[dict[str, str]]
) -> None:
    build = cases.make_build(**spec)
    assert bindings.requested(build) is requested
    assert [service.dump() for service in bindings.provisioned_services(build)] == to_read
    assert [bindings.key(service) for service in bindings.provisioned_services(build)] == [
        (s["apiVersion"], s["kind"], s["name"]) for s in to_read
    ]


def test_forbidden_secrets_are_every_service_accounts_secrets() -> None:
    accounts = [
        {"metadata": {"name": "default"}},
        {"metadata": {"name": "builder"}, "secrets": [{"name": "git"}, {"name": "registry"}, {}]},
        {"metadata": {"name": "other"}, "secrets": [{"name": "git"}], "imagePullSecrets": [{"name": "pull"}]},
    ]
    assert bindings.forbidden_secrets(accounts) == frozenset({"git", "registry"})


@pytest.mark.parametrize(
    ("provisioned_service", "secret"),
    [
        ({"status": {"binding": {"name": "db-credentials"}}}, "db-credentials"),
        ({"status": {"binding": {"name": ""}}}, None),
        ({"status": {}}, None),
        ({}, None),
    ],
    ids=[
        "status.binding.name is the secret",
        "an empty name is no binding",
        "no binding in the status",
        "no status at all",
    ],
)
def test_the_secret_of_a_provisioned_service(provisioned_service: dict[str, Any], secret: str | None) -> None:
    assert bindings.binding_secret(provisioned_service) == secret


def test_typed_bindings_round_trip_with_unknown_keys() -> None:
    spec = {
        "services": [{"apiVersion": "v1", "kind": "Secret", "name": "db", "namespace": "ignored"}],
        "cnbBindings": [{"name": "b", "metadataRef": {"name": "m"}, "extra": True}],
    }
    build = builds.Build.model_validate({"spec": spec})
    assert build.spec.services == [
        builds.Service(api_version="v1", kind="Secret", name="db", namespace="ignored")
    ]
    assert build.spec.cnb_bindings is not None
    assert build.spec.cnb_bindings[0].metadata_ref == meta.LocalObjectReference(name="m")
    assert build.dump() == {"spec": spec}
