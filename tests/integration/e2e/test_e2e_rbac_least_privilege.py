"""Least privilege, checked against what the services do: every Kiln service runs here as it runs in
a cluster (its own process, its own API client, so its own ``User-Agent``: ``kiln/0.1.0 (bridge)``),
a run takes the hot paths (a builder made and changed, Images built with registry and volume
caches, a git push, a manual trigger, a canceled Build, history cleanup, resyncs, admission), and
the emulator counts each service's requests by verb, API group and resource.

Each request must be allowed by the rules ``deploy/rbac.yaml`` binds to the ServiceAccount of that
service's Deployment (``deploy/services.yaml``, ``deploy/admission.yaml``): a missing rule fails
naming the service, the request and the rule to add. And every permission a role grants must be
used in the run, or be listed in :data:`NOT_TAKEN` with the path this run does not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from contracts import builds as build_models
from services.admission import settings as admission_settings
from services.broker import settings as broker_settings
from services.kube import client as kube_client
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.emulator import answers
from services.testbed.git import serving
from services.testbed.kubelet import failures
from services.testbed.sandbox import examples, harness
from services.triggers import settings as triggers_settings

pytestmark = pytest.mark.integration

DEPLOY = pathlib.Path(__file__).resolve().parents[3] / "deploy"
REGISTRY = "127.0.0.1:5000"
WAIT_SECONDS = 45.0
GIT_USER, GIT_PASSWORD = "kiln-bot", "git-password-for-rbac"
ACCOUNT = "builder-sa"
IMAGES = ("registry-app", "volume-app")

Permission = tuple[str, str, str]
"""``(verb, group, resource)``; ``resource`` is ``<plural>`` or ``<plural>/<subresource>``."""

NOT_TAKEN: dict[tuple[str, Permission], str] = {
    # Reads served by the watch caches: the API server is asked only when a cache cannot show the
    # version an event names within 2 s (KILN_CACHE_WAIT_SECONDS), or with KILN_WATCH_CACHES=false.
    ("image-reconciler", ("get", "kpack.io", "images")): "a cache that lags",
    ("build-runner", ("get", "kpack.io", "builds")): "a cache that lags",
    ("image-state", ("get", "kpack.io", "builds")): "a cache that lags",
    ("image-reconciler", ("get", "kpack.io", "sourceresolvers")): "a cache that lags",
    # Paths this run does not take.
    ("image-reconciler", ("update", "kpack.io", "sourceresolvers")): "an Image's source edited",
    ("image-reconciler", ("patch", "kpack.io", "images/status")): "an Image that fits no schema",
    ("image-reconciler", ("delete", "", "persistentvolumeclaims")): "an Image dropping its volume cache",
    ("image-reconciler", ("get", "kpack.io", "builders")): "an Image built by a namespaced Builder",
    ("build-runner", ("get", "kpack.io", "builders")): "a Build naming its builder by ref",
    ("build-runner", ("get", "kpack.io", "clusterbuilders")): "a Build naming its builder by ref",
    ("build-runner", ("list", "", "serviceaccounts")): "a Build with service bindings",
    ("build-runner", ("get", "", "pods")): "a Build announced again after its pod was made",
    # The least-privilege run serves no admin endpoint, so no status page.
    ("image-reconciler", ("list", "", "pods")): "the status page's watch of running build pods",
    ("image-reconciler", ("watch", "", "pods")): "the status page's watch of running build pods",
    ("builder", ("get", "kpack.io", "buildpacks")): "a builder ordering a namespaced Buildpack",
    ("builder", ("get", "kpack.io", "clusterbuildpacks")): "a builder ordering a ClusterBuildpack",
    ("builder", ("update", "kpack.io", "buildpacks/status")): "a namespaced Buildpack",
    ("builder", ("update", "kpack.io", "clusterbuildpacks/status")): "a ClusterBuildpack",
    # Kubernetes Events: a notice given again (a redelivery, the same decision once more) reads its
    # Event and patches its series; this run makes each decision once.
    ("image-reconciler", ("get", "events.k8s.io", "events")): "an Event repeated",
    ("image-reconciler", ("patch", "events.k8s.io", "events")): "an Event repeated",
    ("image-state", ("get", "events.k8s.io", "events")): "an Event repeated",
    ("image-state", ("patch", "events.k8s.io", "events")): "an Event repeated",
    ("build-runner", ("get", "events.k8s.io", "events")): "an Event repeated",
    ("build-runner", ("patch", "events.k8s.io", "events")): "an Event repeated",
    ("build-runner", ("create", "events.k8s.io", "events")): "a Build failing before its pod",
}
"""Permissions granted for paths this run does not take: (service, permission) → the path."""


# The roles, as deployed ---------------------------------------------------------------------------


def _documents() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        with path.open() as stream:
            found += [d for d in yaml.safe_load_all(stream) if isinstance(d, dict)]
    return found


def rules_by_service() -> dict[str, list[dict[str, Any]]]:
    """Each service (``kiln run <service>`` of a Deployment) → the rules bound to its ServiceAccount."""
    documents = _documents()
    roles = {(d["kind"], d["metadata"]["name"]): d.get("rules", []) for d in documents if "Role" in d["kind"]}
    bound: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for binding in (d for d in documents if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        ref = binding["roleRef"]
        for subject in binding.get("subjects", []):
            if subject["kind"] == "ServiceAccount":
                account = (subject["namespace"], subject["name"])
                bound.setdefault(account, []).extend(roles[ref["kind"], ref["name"]])
    services = {}
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        service = pod["containers"][0]["command"][2]
        account = (deployment["metadata"]["namespace"], pod.get("serviceAccountName", "default"))
        services[service] = bound.get(account, [])
    return services


def _allows(rule: dict[str, Any], permission: Permission) -> bool:
    verb, group, resource = permission

    def has(values: Iterable[str], value: str) -> bool:
        return "*" in values or value in values

    return (
        has(rule.get("apiGroups", []), group)
        and has(rule.get("resources", []), resource)
        and has(rule.get("verbs", []), verb)
    )


def granted(rules: list[dict[str, Any]]) -> set[Permission]:
    """Every (verb, group, resource) the rules name one by one (no wildcards are expected)."""
    return {
        (verb, group, resource)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def missing_rules(used: dict[str, set[Permission]], rules: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [
        f"{service}: {verb} {resource} in {group or 'the core group'!r} is not allowed; add "
        f'{{apiGroups: ["{group}"], resources: ["{resource}"], verbs: ["{verb}"]}} to its role'
        for service, permissions in sorted(used.items())
        for verb, group, resource in sorted(permissions)
        if not any(_allows(rule, (verb, group, resource)) for rule in rules.get(service, []))
    ]


def unused_grants(used: dict[str, set[Permission]], rules: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [
        f"{service}: grants {verb} {resource} in {group or 'the core group'!r}, which no request used"
        for service, service_rules in sorted(rules.items())
        for verb, group, resource in sorted(granted(service_rules) - used.get(service, set()))
        if (service, (verb, group, resource)) not in NOT_TAKEN
    ]


def test_the_rbac_model_finds_a_missing_and_an_unused_rule() -> None:
    rules = {"bridge": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "delete"]}]}
    used = {"bridge": {("list", "", "pods"), ("watch", "", "pods"), ("get", "", "secrets")}}

    assert missing_rules(used, rules) == [
        "bridge: get secrets in 'the core group' is not allowed; add "
        '{apiGroups: [""], resources: ["secrets"], verbs: ["get"]} to its role'
    ]
    assert unused_grants(used, rules) == [
        "bridge: grants delete pods in 'the core group', which no request used"
    ]


def test_every_service_has_its_own_service_account_and_role() -> None:
    documents = _documents()
    accounts = {
        d["spec"]["template"]["spec"]["containers"][0]["command"][2]: d["spec"]["template"]["spec"][
            "serviceAccountName"
        ]
        for d in documents
        if d["kind"] == "Deployment"
    }

    assert sorted(accounts) == sorted(running.SERVICE_NAMES)
    assert len(set(accounts.values())) == len(accounts), accounts
    assert all(rules_by_service()[service] for service in accounts if service != "triggers")


# The run ------------------------------------------------------------------------------------------


def namespaced_builder(sb: harness.Sandbox, namespace: str) -> dict[str, Any]:
    """A Builder in ``namespace`` made from the sandbox's ClusterStore, ClusterStack and ClusterLifecycle."""
    assert sb.kit is not None
    [*_, cluster_builder] = sb.kit.resources(builder="default")
    spec = {k: v for k, v in cluster_builder["spec"].items() if k != "serviceAccountRef"}
    spec["tag"] = f"{sb.kit.builder_tag}-{namespace}"
    spec["serviceAccountName"] = ACCOUNT
    return {
        **cluster_builder,
        "kind": "Builder",
        "metadata": {"name": "team", "namespace": namespace},
        "spec": spec,
    }


def seed_account(sb: harness.Sandbox, namespace: str, *, git_host: str, name: str = ACCOUNT) -> None:
    """A service account carrying registry credentials and a ``kpack.io/git`` basic-auth secret."""
    docker_config = json.dumps({"auths": {REGISTRY: {"username": "robot", "password": "registry-password"}}})
    sb.emulator.create(
        examples.secret(
            namespace,
            "registry-creds",
            "kubernetes.io/dockerconfigjson",
            {".dockerconfigjson": docker_config},
        )
    )
    sb.emulator.create(
        examples.secret(
            namespace,
            "git-creds",
            "kubernetes.io/basic-auth",
            {"username": GIT_USER, "password": GIT_PASSWORD},
            **{"kpack.io/git": git_host},
        )
    )
    sb.emulator.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
            "secrets": [{"name": "registry-creds"}, {"name": "git-creds"}],
            "imagePullSecrets": [{"name": "registry-creds"}],
        }
    )
    if namespace != "default":
        return
    sb.emulator.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "standard",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kiln.dev/emulated",
            "allowVolumeExpansion": True,
        }
    )


@contextlib.asynccontextmanager
async def each_service_alone(sb: harness.Sandbox) -> AsyncIterator[dict[str, running.Wiring]]:
    """Every service in a ``running`` of its own (as one ``kiln run <service>`` each), on the
    sandbox's broker prefix and emulator; the triggers' webhook URL given to the sandbox and the
    admission webhook to the emulator."""
    settings = running.RunSettings(
        admin_port=None,
        resync_seconds=2.0,
        full_resync_every=1,
        builder_resync_seconds=4.0,
        git_listing=True,
        git_polling=True,
        git_poll_seconds=1.0,
        builds_max_running=20,
        registry_keychain_seconds=1.0,
    )
    broker = broker_settings.BrokerSettings().model_copy(update={"prefix": sb.prefix})
    kube = kube_settings.KubeSettings(kubeconfig=sb.kubeconfig, in_cluster=False)
    hooks = triggers_settings.TriggersSettings(
        host="127.0.0.1",
        port=0,
        github_secret=SecretStr(harness.WEBHOOK_SECRET),
        generic_token=SecretStr(harness.WEBHOOK_SECRET),
        registry_token=SecretStr(harness.WEBHOOK_SECRET),
    )
    admission = admission_settings.AdmissionSettings(
        host="127.0.0.1", port=0, insecure=True, storage_class_seconds=0
    )
    async with contextlib.AsyncExitStack() as stack:
        wirings = {}
        for name in running.SERVICE_NAMES:
            wirings[name] = await stack.enter_async_context(
                running.running(
                    [name], settings=settings, broker=broker, kube=kube, triggers=hooks, admission=admission
                )
            )
        sb.wiring.webhooks_url = wirings["triggers"].webhooks_url
        sb.emulator.call_admission(wirings["admission"].admission_url)
        sb.services = running.ALL  # the builder service runs here: add_builder makes the builder with it
        try:
            yield wirings
        finally:
            sb.emulator.call_admission(None)


def requests_by_service(tally: answers.Tally) -> dict[str, set[Permission]]:
    return {
        name: {(r.verb, r.group, r.resource) for r in tally.requested(agent=kube_client.user_agent(name))}
        for name in running.SERVICE_NAMES
    }


async def built(sb: harness.Sandbox, namespace: str, *, number: int = 1, reason: str = "") -> None:
    """Wait until both Images have a finished Build numbered ``number`` or later (the history keeps
    one: older ones are deleted), for ``reason`` when given."""

    def done() -> bool:
        finished = [b for b in sb.builds(namespace) if not b.running()]
        return all(
            any(
                b.labels.get(build_models.IMAGE_LABEL) == image
                and (b.build_number() or 0) >= number
                and reason in ("", b.reason())
                for b in finished
            )
            for image in IMAGES
        )

    await sb.wait_for(done, seconds=WAIT_SECONDS, what=f"build {number} {reason} of {', '.join(IMAGES)}")


def _image(sb: harness.Sandbox, example: str, *, name: str, namespace: str, git_url: str) -> dict[str, Any]:
    image = examples.image(example, name=name, namespace=namespace, registry=REGISTRY, builder="default")
    image["spec"]["serviceAccountName"] = ACCOUNT
    image["spec"]["source"] = {"git": {"url": git_url, "revision": "main"}}
    image["spec"]["successBuildHistoryLimit"] = 1
    return image


async def take_the_hot_paths(sb: harness.Sandbox, git: serving.GitServer) -> None:
    """Builder made and changed, Images built, pushed to, triggered, a Build canceled."""
    namespace = f"rbac-{uuid.uuid4().hex[:8]}"
    repository = await git.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
    first = await repository.commit({"main.go": "package main\n"})
    seed_account(sb, namespace, git_host=git.base_url)
    seed_account(sb, "default", git_host=git.base_url, name="default")  # the ClusterBuilder's
    await sb.add_builder()
    await sb.apply(namespaced_builder(sb, namespace))
    git_url = git.url(repository.name)

    await sb.apply(_image(sb, "registry-cache", name=IMAGES[0], namespace=namespace, git_url=git_url))
    volume = _image(sb, "volume-cache", name=IMAGES[1], namespace=namespace, git_url=git_url)
    await sb.apply(volume)
    await built(sb, namespace)

    volume["spec"]["cache"] = {"volume": {"size": "2G"}}  # the cache PVC grows
    await sb.wiring.kube.images.patch(IMAGES[1], {"spec": volume["spec"]}, namespace=namespace)
    second = await repository.commit({"main.go": "package main // 2\n"})
    await sb.github_push(
        second, before=first, delivery=str(uuid.uuid4()), url=git_url.removesuffix(".git"), branch="main"
    )
    await built(sb, namespace, number=2, reason="COMMIT")

    newest = max(sb.builds(namespace), key=lambda b: b.build_number() or 0)
    await sb.wiring.kube.builds.patch(
        newest.name,
        {"metadata": {"annotations": {build_models.ADDITIONAL_BUILD_NEEDED_ANNOTATION: "true"}}},
        namespace=namespace,
    )
    assert sb.kit is not None
    await sb.announce_push(await sb.kit.patch_run_image(), tag="latest")
    await built(sb, namespace, number=3, reason="STACK")

    held = f"held-{uuid.uuid4().hex[:6]}"
    await sb.apply(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": held,
                "namespace": namespace,
                "annotations": {failures.HOLD_AT_ANNOTATION: "build"},
            },
            "spec": {
                "tags": [f"{REGISTRY}/sandbox/{held}"],
                "builder": {"image": sb.builder_image},
                "serviceAccountName": ACCOUNT,
                "source": {"git": {"url": git_url, "revision": second}},
            },
        }
    )
    await sb.wait_for(
        lambda: sb.emulator.get("pods", f"{held}-build-pod", namespace) is not None,
        seconds=WAIT_SECONDS,
        what="the held Build's pod",
    )
    await sb.wiring.kube.builds.patch(
        held, {"metadata": {"annotations": {build_models.CANCEL_ANNOTATION: "true"}}}, namespace=namespace
    )
    await sb.wait_for(
        lambda: sb.emulator.get("pods", f"{held}-build-pod", namespace) is None,
        seconds=WAIT_SECONDS,
        what="the canceled Build's pod deleted",
    )
    await sb.wait_for(
        lambda: "status" in (sb.emulator.get("builders", "team", namespace) or {}),
        seconds=WAIT_SECONDS,
        what="the namespaced Builder's status",
    )


async def test_each_service_makes_only_the_requests_its_role_allows_and_uses_what_it_grants() -> None:
    async with (
        serving.running_git_server(users={GIT_USER: GIT_PASSWORD}) as git,
        harness.sandbox(registry_host=REGISTRY, step_seconds=0.02, services=()) as sb,
        each_service_alone(sb),
    ):
        await take_the_hot_paths(sb, git)
        await asyncio.sleep(6.0)  # resyncs of the bridge and the builder half, the sources' polls
        tally = sb.emulator.answers()
    used = requests_by_service(tally)
    rules = rules_by_service()
    missing, unused = missing_rules(used, rules), unused_grants(used, rules)

    assert not missing, "\n".join(missing)
    assert not unused, "\n".join(unused)
