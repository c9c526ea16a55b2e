"""The deployment manifests and compose.yaml: they parse, built-in objects match Kubernetes 1.30's
schemas, the CRDs are kpack's, every workload runs a Kiln service, and the pieces that must agree
(queue names, secret names, the kustomization) do."""

from __future__ import annotations

import copy
import pathlib
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from contracts import crds
from services.admission import settings as admission_settings
from services.broker import settings as broker_settings
from services.broker import topology
from services.runtime import admin, running
from services.triggers import settings as triggers_settings

REPO = pathlib.Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
KUBERNETES_VERSION = "1.30"
COMPOSE_IMAGE = "kiln-compose/python-git:3.11-slim"
"""The image compose.yaml builds from deploy/compose/Dockerfile and runs Kiln in."""
SERVICES = set(running.SERVICE_NAMES)
ADMIN = admin.application(admin.Health(), admin.Metrics())
"""The admin endpoint the probes reach (port 8081, ``KILN_ADMIN_PORT``)."""
BUILT_IN_KINDS = {
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "ConfigMap",
    "Secret",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
}
BOTH = ("v1alpha1", "v1alpha2")
KPACK_KINDS = {
    # kind: (plural, scope, served versions, short names), as kpack's config/*.yaml
    "Image": ("images", "Namespaced", BOTH, ("cnbimage", "cnbimages", "img", "imgs")),
    "Build": ("builds", "Namespaced", BOTH, ("cnbbuild", "cnbbuilds", "bld", "blds")),
    "Builder": ("builders", "Namespaced", BOTH, ("bldr", "bldrs")),
    "ClusterBuilder": ("clusterbuilders", "Cluster", BOTH, ("clstbldr", "clstbldrs")),
    "SourceResolver": ("sourceresolvers", "Namespaced", BOTH, ()),
    "ClusterStore": ("clusterstores", "Cluster", BOTH, ()),
    "ClusterStack": ("clusterstacks", "Cluster", BOTH, ()),
    "ClusterLifecycle": ("clusterlifecycles", "Cluster", ("v1alpha2",), ()),
    "Buildpack": ("buildpacks", "Namespaced", ("v1alpha2",), ("bp", "bps")),
    "ClusterBuildpack": ("clusterbuildpacks", "Cluster", ("v1alpha2",), ("clstbp", "clstbps")),
}
ADMITTED_KINDS = set(KPACK_KINDS) - {"SourceResolver"}
"""The kinds kpack's webhook defaults and validates (cmd/webhook/main.go)."""

Manifest = dict[str, Any]


def _manifest_files() -> list[pathlib.Path]:
    return sorted(path for path in DEPLOY.rglob("*.yaml") if path.name != "kustomization.yaml")


def _documents(path: pathlib.Path) -> list[Manifest]:
    with path.open() as stream:
        return [document for document in yaml.safe_load_all(stream) if document is not None]


def _all_objects() -> list[Manifest]:
    return [document for path in _manifest_files() for document in _documents(path)]


def _objects(kind: str) -> list[Manifest]:
    return [document for document in _all_objects() if document["kind"] == kind]


def _only(kind: str, name: str) -> Manifest:
    (found,) = [document for document in _objects(kind) if document["metadata"]["name"] == name]
    return found


def _object_id(document: Manifest) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


def _config_data() -> dict[str, str]:
    data: dict[str, str] = _only("ConfigMap", "kiln-settings")["data"]
    return data


def _compose() -> Manifest:
    with (REPO / "compose.yaml").open() as stream:
        loaded: Manifest = yaml.safe_load(stream)
    return loaded


@pytest.mark.parametrize(
    "path", [*_manifest_files(), DEPLOY / "kustomization.yaml", REPO / "compose.yaml"], ids=str
)
def test_every_file_parses_as_yaml_mappings(path: pathlib.Path) -> None:
    documents = _documents(path)

    assert documents
    assert all(isinstance(document, dict) for document in documents)


def test_the_manifests_hold_every_kind_the_deployment_needs() -> None:
    kinds = {document["kind"] for document in _all_objects()}

    assert kinds >= {
        "Namespace",
        "ConfigMap",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "RabbitmqCluster",
        "TriggerAuthentication",
        "ScaledObject",
        "Issuer",
        "Certificate",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    }


@pytest.mark.parametrize(
    "document",
    [document for document in _all_objects() if document["kind"] in BUILT_IN_KINDS],
    ids=_object_id,
)
def test_built_in_objects_match_the_kubernetes_schema_strictly(document: Manifest) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(_only("Deployment", "kiln-bridge"))
    deployment["spec"]["template"]["spec"]["containers"][0]["comand"] = ["kiln"]

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kind", sorted(KPACK_KINDS))
def test_each_kpack_kind_has_a_crd_with_kpacks_group_names_and_scope(kind: str) -> None:
    plural, scope, _, short_names = KPACK_KINDS[kind]
    crd = _only("CustomResourceDefinition", f"{plural}.kpack.io")

    assert crd["spec"]["group"] == "kpack.io"
    assert crd["spec"]["scope"] == scope
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["singular"]) == (kind, plural, kind.lower())
    assert names["listKind"] == f"{kind}List"
    assert "kpack" in names["categories"]
    assert tuple(names.get("shortNames", ())) == short_names


def test_every_kpack_kind_has_a_crd() -> None:
    assert {crd["spec"]["names"]["kind"] for crd in _objects("CustomResourceDefinition")} == set(KPACK_KINDS)


@pytest.mark.parametrize("kind", sorted(KPACK_KINDS))
def test_each_crd_stores_v1alpha2_serves_kpacks_versions_and_has_a_status_subresource(kind: str) -> None:
    crd = _only("CustomResourceDefinition", f"{KPACK_KINDS[kind][0]}.kpack.io")
    versions = {version["name"]: version for version in crd["spec"]["versions"]}

    assert sorted(versions) == sorted(KPACK_KINDS[kind][2])
    assert versions["v1alpha2"]["storage"] is True
    assert [name for name, version in versions.items() if version["storage"]] == ["v1alpha2"]
    assert all(version["served"] for version in versions.values())
    assert all(version["subresources"] == {"status": {}} for version in versions.values())
    for version in versions.values():
        properties = version["schema"]["openAPIV3Schema"]["properties"]
        assert properties["spec"]["x-kubernetes-preserve-unknown-fields"] is True
        assert properties["status"]["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("definition", crds.DEFINITIONS, ids=lambda d: d.file_name)
def test_each_committed_crd_is_the_one_generated_from_the_contracts(definition: crds.Definition) -> None:
    committed = (DEPLOY / "crds" / definition.file_name).read_text()

    assert committed == definition.render(), f"regenerate: {crds.REGENERATE}"


def test_the_crds_directory_holds_exactly_the_generated_crds() -> None:
    assert sorted(path.name for path in (DEPLOY / "crds").iterdir()) == sorted(crds.rendered())


@pytest.mark.parametrize(
    ("plural", "columns"),
    [
        ("images", ["LatestImage", "Ready"]),
        ("builds", ["Image", "Succeeded"]),
        ("builders", ["LatestImage", "Ready"]),
        ("clusterbuilders", ["LatestImage", "Ready"]),
        ("sourceresolvers", ["Ready"]),
        ("clusterstores", ["Ready"]),
        ("clusterstacks", ["Ready"]),
        ("clusterlifecycles", ["Ready"]),
        ("buildpacks", ["Ready"]),
        ("clusterbuildpacks", ["Ready"]),
    ],
)
def test_kubectl_get_shows_kpacks_columns_first(plural: str, columns: list[str]) -> None:
    crd = _only("CustomResourceDefinition", f"{plural}.kpack.io")

    for version in crd["spec"]["versions"]:
        shown = [column["name"] for column in version["additionalPrinterColumns"]]
        assert shown[: len(columns)] == columns


def test_the_image_schema_types_tag_and_cache_but_leaves_required_fields_to_admission() -> None:
    """kpack's messages for a missing tag or a bad cache come from admission; the schema types them."""
    crd = _only("CustomResourceDefinition", "images.kpack.io")
    (v1alpha2,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1alpha2"]
    spec_properties = v1alpha2["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]

    assert spec_properties["tag"]["type"] == "string"
    assert spec_properties["cache"]["type"] == "object"
    assert "required" not in v1alpha2["schema"]["openAPIV3Schema"]["properties"]["spec"]


@pytest.mark.parametrize("deployment", _objects("Deployment"), ids=_object_id)
def test_every_deployment_runs_one_kiln_service_hardened_and_probed(deployment: Manifest) -> None:
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert container["command"][:2] == ["kiln", "run"]
    assert container["command"][2] in SERVICES
    assert len(container["command"]) == 3
    assert pod["serviceAccountName"] == f"kiln-{container['command'][2]}", "each service its own role"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    served = {route.resource.canonical for route in ADMIN.router.routes() if route.resource is not None}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"]["path"] == path
        assert path in served
        port = container[probe]["httpGet"]["port"]
        assert {"name": port, "containerPort": running.RunSettings.model_fields["admin_port"].default} in [
            {"name": p["name"], "containerPort": p["containerPort"]} for p in container["ports"]
        ]


def test_each_service_has_exactly_one_deployment_with_the_planned_replicas() -> None:
    replicas = {
        deployment["spec"]["template"]["spec"]["containers"][0]["command"][2]: deployment["spec"]["replicas"]
        for deployment in _objects("Deployment")
    }

    assert len(_objects("Deployment")) == len(SERVICES)
    assert replicas == {
        "bridge": 1,
        "triggers": 2,
        "admission": 2,
        "image-reconciler": 3,
        "build-runner": 2,
        "image-state": 2,
        "builder": 2,
        "sources": 1,
    }


def test_the_broker_secret_the_services_read_is_the_one_the_operator_creates() -> None:
    (cluster,) = _objects("RabbitmqCluster")
    expected = f"{cluster['metadata']['name']}-default-user"
    referenced = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for deployment in _objects("Deployment")
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        if "secretKeyRef" in env.get("valueFrom", {}) and not env["valueFrom"]["secretKeyRef"].get("optional")
    }
    referenced |= {
        target["name"]
        for authentication in _objects("TriggerAuthentication")
        for target in authentication["spec"]["secretTargetRef"]
    }

    assert referenced == {expected}
    assert "rabbitmq_consistent_hash_exchange" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    assert cluster["spec"]["replicas"] == 3


def test_the_triggers_read_each_webhook_secret_from_an_optional_key_of_the_kiln_triggers_secret() -> None:
    deployment = _only("Deployment", "kiln-triggers")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    optional = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in env
        if item.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")
    }
    credentials: tuple[triggers_settings.Credential, ...] = (
        "github_secret",
        "gitlab_token",
        "generic_token",
        "registry_token",
    )

    assert sorted(optional) == sorted(triggers_settings.TriggersSettings.env_var(c) for c in credentials)
    assert {(ref["name"], ref["key"]) for ref in optional.values()} == {
        ("kiln-triggers", "github-secret"),
        ("kiln-triggers", "gitlab-token"),
        ("kiln-triggers", "generic-token"),
        ("kiln-triggers", "registry-token"),
    }
    readers = {
        other["metadata"]["name"]
        for other in _objects("Deployment")
        for item in other["spec"]["template"]["spec"]["containers"][0]["env"]
        if item.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "kiln-triggers"
    }
    assert readers == {"kiln-triggers"}


def test_the_registry_readers_mount_kilns_optional_registry_credentials_where_the_setting_points() -> None:
    setting = "KILN_REGISTRY_DOCKER_CONFIG"
    assert running.RunSettings.model_config["env_prefix"] + "REGISTRY_DOCKER_CONFIG" == setting
    readers = set()
    for deployment in _objects("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {item["name"]: item.get("value") for item in container["env"]}
        if setting not in env:
            continue
        readers.add(container["command"][2])
        path = pathlib.PurePosixPath(env[setting])
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
        assert mount.get("readOnly") is True
        assert "subPath" not in mount, "a subPath mount would not follow updates of the Secret"
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == "kiln-registry"
        assert volume["secret"]["optional"] is True
        assert volume["secret"]["items"] == [{"key": ".dockerconfigjson", "path": path.name}]

    assert readers == {"build-runner", "image-state", "builder"}


def test_the_registry_readers_may_read_the_service_accounts_and_secrets_that_hold_credentials() -> None:
    for service in ("build-runner", "image-state", "builder", "image-reconciler", "sources"):
        rules = _only("ClusterRole", f"kiln-{service}")["rules"]
        for resource in ("secrets", "serviceaccounts"):
            assert any(
                "" in rule["apiGroups"] and resource in rule["resources"] and "get" in rule["verbs"]
                for rule in rules
            ), (service, resource)


def test_every_deployment_gets_the_broker_url_setting() -> None:
    for deployment in _objects("Deployment"):
        env = {item["name"]: item for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KILN_BROKER_URL"]["value"].startswith("amqp://")


def test_the_triggers_service_exposes_the_webhook_port_of_the_triggers_pods() -> None:
    service = _only("Service", "kiln-triggers")
    (port,) = service["spec"]["ports"]
    pods = _only("Deployment", "kiln-triggers")["spec"]["template"]

    assert port["port"] == 8080
    assert service["spec"]["selector"].items() <= pods["metadata"]["labels"].items()
    container_ports = {p["name"]: p["containerPort"] for p in pods["spec"]["containers"][0]["ports"]}
    assert container_ports[port["targetPort"]] == 8080


def test_the_reconciler_has_a_disruption_budget_selecting_its_pods() -> None:
    budget = _only("PodDisruptionBudget", "kiln-image-reconciler")
    pods = _only("Deployment", "kiln-image-reconciler")["spec"]["template"]

    assert budget["spec"]["selector"]["matchLabels"].items() <= pods["metadata"]["labels"].items()


def _broker_names() -> topology.Names:
    data = _config_data()
    settings = broker_settings.BrokerSettings(
        prefix=data["KILN_BROKER_PREFIX"], shards=int(data["KILN_BROKER_SHARDS"])
    )
    return topology.Names(settings)


def _service(name: str) -> topology.Service:
    (service,) = [service for service in topology.SERVICES if service.name == name]
    return service


def _trigger_pattern(scaled_object: Manifest) -> re.Pattern[str]:
    (trigger,) = scaled_object["spec"]["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "rabbitmq"
    assert metadata["mode"] == "QueueLength"
    if metadata.get("useRegex") == "true":
        assert metadata["protocol"] == "http"
        return re.compile(metadata["queueName"])
    return re.compile(re.escape(metadata["queueName"]) + "$")


@pytest.mark.parametrize("service_name", ["image-reconciler", "build-runner"])
def test_autoscaling_watches_exactly_the_work_queues_of_the_topology(service_name: str) -> None:
    names = _broker_names()
    service = _service(service_name)
    scaled_object = _only("ScaledObject", f"kiln-{service_name}")
    pattern = _trigger_pattern(scaled_object)
    every_queue = names.all_queues(topology.SERVICES)

    matched = {queue for queue in every_queue if pattern.match(queue)}

    assert matched == set(names.queues(service))
    assert scaled_object["spec"]["scaleTargetRef"]["name"] == f"kiln-{service_name}"
    assert _only("Deployment", f"kiln-{service_name}")


def test_the_reconciler_never_scales_past_its_shards() -> None:
    scaled_object = _only("ScaledObject", "kiln-image-reconciler")
    deployment = _only("Deployment", "kiln-image-reconciler")

    assert scaled_object["spec"]["maxReplicaCount"] == int(_config_data()["KILN_BROKER_SHARDS"])
    assert scaled_object["spec"]["minReplicaCount"] == deployment["spec"]["replicas"]


def test_the_kustomization_lists_every_manifest_file() -> None:
    with (DEPLOY / "kustomization.yaml").open() as stream:
        kustomization = yaml.safe_load(stream)
    listed = sorted(kustomization["resources"])

    assert listed == sorted(str(path.relative_to(DEPLOY)) for path in _manifest_files())


def test_compose_runs_each_service_and_the_sandbox_against_the_broker_and_registry() -> None:
    services = _compose()["services"]
    commands = {name: service.get("command") for name, service in services.items()}

    for name in (*running.ALL, "install", "sandbox"):  # not the admission webhook: no API server calls it
        assert services[name]["image"] == COMPOSE_IMAGE
        assert services[name]["build"] == {"context": "deploy/compose"}
        assert services[name]["pull_policy"] == "build"
    for name in running.ALL:
        assert commands[name] == ["kiln", "run", name]
    assert commands["sandbox"] == ["kiln", "sandbox", "--example", "registry-cache"]
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["registry"]["image"] == "registry:2"
    assert "5000:5000" in services["registry"]["ports"]
    assert "pip install" in " ".join(commands["install"])
    assert "-e ." in " ".join(commands["install"])


def test_the_compose_image_is_python_with_the_git_client_the_sources_and_image_reconciler_run() -> None:
    dockerfile = (DEPLOY / "compose" / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]

    assert instructions[0] == "FROM python:3.11-slim"
    installed = " ".join(instructions[1:])
    assert installed.startswith("RUN apt-get update")
    assert re.search(r"apt-get install --yes --no-install-recommends [^&]*\bgit\b", installed)
    assert "openssh-client" in installed


def test_compose_enables_the_consistent_hash_plugin() -> None:
    compose = _compose()
    (config,) = compose["services"]["rabbitmq"]["configs"]
    enabled = compose["configs"][config["source"]]["content"]

    assert config["target"] == "/etc/rabbitmq/enabled_plugins"
    assert "rabbitmq_consistent_hash_exchange" in enabled


# The admission webhook ------------------------------------------------------------------------


def _admission_env() -> dict[str, str]:
    container = _only("Deployment", "kiln-admission")["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value") for item in container["env"]}


def test_the_webhook_configurations_call_the_admission_service_on_kpacks_v1alpha2_kinds() -> None:
    service = _only("Service", "kiln-admission")
    (port,) = service["spec"]["ports"]
    for kind, path in (
        ("MutatingWebhookConfiguration", "/mutate"),
        ("ValidatingWebhookConfiguration", "/validate"),
    ):
        (configuration,) = _objects(kind)
        (webhook,) = configuration["webhooks"]
        assert webhook["clientConfig"]["service"] == {
            "name": service["metadata"]["name"],
            "namespace": service["metadata"]["namespace"],
            "path": path,
            "port": port["port"],
        }
        admitted = set()
        for rule in webhook["rules"]:
            assert rule["apiGroups"] == ["kpack.io"]
            assert rule["apiVersions"] == ["v1alpha2"]
            assert sorted(rule["operations"]) == ["CREATE", "UPDATE"]
            for resource in rule["resources"]:
                (kind,) = [kind for kind, (plural, *_) in KPACK_KINDS.items() if plural == resource]
                assert rule["scope"] == KPACK_KINDS[kind][1], resource
                admitted.add(kind)
        assert admitted == ADMITTED_KINDS, "as kpack's webhook; status subresources are not admitted"
        assert webhook["matchPolicy"] == "Exact", "as kpack's webhook: v1alpha1 requests are not admitted"
        assert webhook["failurePolicy"] == "Fail"
        assert webhook["sideEffects"] == "None"
        assert webhook["admissionReviewVersions"] == ["v1"]
        assert (
            configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
            == "kiln/kiln-admission"
        )
    assert _admission_env()["KILN_ADMISSION_PORT"] == "8443"
    container = _only("Deployment", "kiln-admission")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": port["targetPort"], "containerPort": 8443, "protocol": "TCP"} in container["ports"]
    assert (
        service["spec"]["selector"]
        == _only("Deployment", "kiln-admission")["spec"]["selector"]["matchLabels"]
    )


@pytest.mark.parametrize("plural", ["images", "builds"])
def test_image_and_build_crds_convert_through_the_admission_service(plural: str) -> None:
    crd = _only("CustomResourceDefinition", f"{plural}.kpack.io")
    service = _only("Service", "kiln-admission")

    assert crd["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "kiln/kiln-admission"
    conversion = crd["spec"]["conversion"]
    assert conversion["strategy"] == "Webhook"
    assert conversion["webhook"]["conversionReviewVersions"] == ["v1"]
    assert conversion["webhook"]["clientConfig"]["service"] == {
        "namespace": service["metadata"]["namespace"],
        "name": service["metadata"]["name"],
        "path": "/convert",
        "port": service["spec"]["ports"][0]["port"],
    }


@pytest.mark.parametrize(
    "plural",
    [
        "builders",
        "clusterbuilders",
        "sourceresolvers",
        "clusterstores",
        "clusterstacks",
        "clusterlifecycles",
        "buildpacks",
        "clusterbuildpacks",
    ],
)
def test_kinds_of_one_shape_convert_without_a_webhook(plural: str) -> None:
    assert _only("CustomResourceDefinition", f"{plural}.kpack.io")["spec"]["conversion"] == {
        "strategy": "None"
    }


def test_the_webhook_serves_the_certificate_cert_manager_issues_for_its_service() -> None:
    certificate = _only("Certificate", "kiln-admission")
    issuer = _only("Issuer", "kiln-admission")
    service = _only("Service", "kiln-admission")
    pod = _only("Deployment", "kiln-admission")["spec"]["template"]["spec"]
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]

    assert certificate["metadata"]["namespace"] == namespace
    assert f"{name}.{namespace}.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"] == {"kind": "Issuer", "name": issuer["metadata"]["name"]}
    assert issuer["spec"] == {"selfSigned": {}}
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == certificate["spec"]["secretName"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    env = _admission_env()
    prefix = admission_settings.ENV_PREFIX
    for setting, key in (("CERT_FILE", "tls.crt"), ("KEY_FILE", "tls.key")):
        assert setting.lower() in admission_settings.AdmissionSettings.model_fields
        assert env[prefix + setting] == f"{mount['mountPath']}/{key}"
        assert {"key": key, "path": key} in volume["secret"]["items"]
    assert prefix + "INSECURE" not in env


def test_the_admission_webhook_has_a_disruption_budget() -> None:
    budget = _only("PodDisruptionBudget", "kiln-admission")

    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"] == _only("Deployment", "kiln-admission")["spec"]["selector"]
