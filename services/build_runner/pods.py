"""The build pod of a Build (kpack [HEAD] ``Build.BuildPod``), as a Kubernetes Pod manifest.

``render_pod`` decides, in order:

1. the bindings (:mod:`services.build_runner.bindings`): a forbidden or missing one is a
   :class:`PodGenerationError`, rebase or not, as kpack resolves them before anything else;
2. a ``windows`` builder image → :class:`PodGenerationError` ``windows builds are not supported``;
3. the platform API: the highest of 0.9, 0.8, 0.7 the builder supports, else
   ``unsupported builder platform API versions: <list>``;
4. a rebase pod when the only reason is ``STACK`` and the stack is unchanged;
5. otherwise the full build pod: ``prepare, analyze, detect, restore, build, export`` and
   ``completion``, with the cache of :mod:`services.build_runner.cache_args`.

Volumes in kpack's order: build secrets, cosign keys, image pull secrets, the cache, the empty
directories, the registry source's pull secret, ``notary-dir`` (the notary Secret when the Build
signs with notary, else empty) and the bindings.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts import builder_images, builds, references
from services import errors
from services.build_runner import bindings, cache_args, steps
from services.build_runner import secrets as build_secrets

SUPPORTED_PLATFORM_APIS = ("0.9", "0.8", "0.7")
"""Platform APIs the pod generator can drive, the preferred first."""
ISTIO_INJECT_ANNOTATION = "sidecar.istio.io/inject"
STACK_REASON = "STACK"

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_EMPTY_DIRS = (
    "layers-dir",
    "home-dir",
    "workspace-dir",
    "platform-dir",
    "report-dir",
    "network-wait-launcher-dir",
)
_SCHEDULING = {
    "node_selector": "nodeSelector",
    "tolerations": "tolerations",
    "affinity": "affinity",
    "runtime_class_name": "runtimeClassName",
    "scheduler_name": "schedulerName",
    "priority_class_name": "priorityClassName",
    "active_deadline_seconds": "activeDeadlineSeconds",
}


class PodGenerationError(errors.PermanentError, ValueError):
    """The Build cannot have a pod: it fails with this message."""


def render_pod(
    build: builds.Build,
    *,
    config: builder_images.BuilderImageConfig,
    now: datetime,
    secrets: Sequence[build_secrets.BuildSecret] = (),
    image_pull_secrets: Sequence[str] = (),
    images: steps.PodImages | None = None,
    insecure_ssh_trust_unknown_hosts: bool = True,
    lookups: bindings.Lookups | None = None,
) -> dict[str, Any]:
    """The Pod (apiVersion v1) that runs ``build``; raise :class:`PodGenerationError` if none can.

    ``lookups`` holds what the bindings need from the cluster; without it only Secret services
    and CNB bindings can be resolved.
    """
    try:
        resolved = bindings.resolve(build, lookups=lookups or bindings.Lookups())
    except bindings.BindingError as e:
        raise PodGenerationError(str(e)) from e
    if config.os == "windows":
        raise PodGenerationError("windows builds are not supported")
    api = platform_api(config)
    rebase = rebasable(build, config=config)
    inputs = steps.StepInputs(
        build=build,
        builder_image=config.image,
        platform_api=api,
        run_image=run_image(build, config=config),
        dns_probe_host="" if rebase else _dns_probe_host(build),
        now=now,
        images=images or steps.PodImages(),
        secrets=build_secrets.secret_setup(secrets),
        pulls=build_secrets.image_pull_setup(image_pull_secrets, taken=[s.name for s in secrets]),
        cosign=build_secrets.cosign_setup(secrets),
        bindings=bindings.binding_setup(resolved),
        insecure_ssh_trust_unknown_hosts=insecure_ssh_trust_unknown_hosts,
    )
    pod = _rebase_pod(inputs, config=config, secrets=secrets) if rebase else _build_pod(inputs, config=config)
    return copy.deepcopy(pod)


def platform_api(config: builder_images.BuilderImageConfig) -> str:
    """The highest supported platform API the builder offers (kpack compares as semver)."""
    offered = [_semver(version) for version in config.platform_apis]
    for supported in SUPPORTED_PLATFORM_APIS:
        if _semver(supported) in offered:
            return supported
    joined = ",".join(config.platform_apis)
    raise PodGenerationError(f"unsupported builder platform API versions: {joined}")


def _semver(version: str) -> tuple[int, int, int, str]:
    match = _SEMVER.match(version)
    if match is None:
        raise PodGenerationError(f"unexpected platform version {version}: Invalid Semantic Version")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre or ""


def run_image(build: builds.Build, *, config: builder_images.BuilderImageConfig) -> str:
    """``spec.runImage.image`` when set, else the builder's run image."""
    if build.spec.run_image is not None and build.spec.run_image.image:
        return build.spec.run_image.image
    return config.run_image


def rebasable(build: builds.Build, *, config: builder_images.BuilderImageConfig) -> bool:
    """A STACK-only rebuild on the same stack is a rebase (combined reasons are full builds)."""
    last = build.spec.last_build
    return last is not None and build.reason() == STACK_REASON and last.stack_id == config.stack_id


def _dns_probe_host(build: builds.Build) -> str:
    try:
        return references.parse(build.tag()).registry
    except references.InvalidReferenceError as e:
        raise PodGenerationError(str(e)) from e


def _build_pod(inputs: steps.StepInputs, *, config: builder_images.BuilderImageConfig) -> dict[str, Any]:
    build = inputs.build
    volumes = [
        *build_secrets.volumes(inputs.secrets, inputs.cosign),
        *inputs.pulls.volumes,
        *cache_args.cache_volume(build),
        *({"name": name, "emptyDir": {}} for name in _EMPTY_DIRS),
        _registry_source_pull_secrets_volume(build),
        notary_volume(build),
        *inputs.bindings.volumes,
    ]
    spec = {
        "initContainers": steps.build_steps(inputs),
        "containers": [steps.completion(inputs, setup=inputs.secrets)],
        "volumes": volumes,
    }
    return _pod(build, config=config, spec=spec)


def _rebase_pod(
    inputs: steps.StepInputs,
    *,
    config: builder_images.BuilderImageConfig,
    secrets: Sequence[build_secrets.BuildSecret],
) -> dict[str, Any]:
    build = inputs.build
    docker = build_secrets.secret_setup(secrets, kinds=build_secrets.DOCKER_ONLY)
    last_image = (build.spec.last_build or builds.LastBuild()).image
    volumes = [
        *build_secrets.volumes(docker, inputs.cosign),
        *inputs.pulls.volumes,
        {"name": "report-dir", "emptyDir": {}},
        notary_volume(build),
    ]
    spec = {
        "initContainers": [steps.rebase(inputs, setup=docker, last_built_image=last_image)],
        "containers": [steps.completion(inputs, setup=docker, rebase=True)],
        "volumes": volumes,
    }
    return _pod(build, config=config, spec=spec)


def notary_volume(build: builds.Build) -> dict[str, Any]:
    """``notary-dir``: the notary v1 Secret when the Build signs with notary, else empty."""
    notary = build.spec.notary_v1()
    if notary is not None:
        return {"name": "notary-dir", "secret": {"secretName": notary.secret_ref.name}}
    return {"name": "notary-dir", "emptyDir": {}}


def _registry_source_pull_secrets_volume(build: builds.Build) -> dict[str, Any]:
    registry = build.spec.source.registry
    pulls = (registry.image_pull_secrets or []) if registry is not None else []
    if pulls:
        return {"name": "registry-source-pull-secrets-dir", "secret": {"secretName": pulls[0].name}}
    return {"name": "registry-source-pull-secrets-dir", "emptyDir": {}}


def _pod(
    build: builds.Build, *, config: builder_images.BuilderImageConfig, spec: dict[str, Any]
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": build.spec.service_account_name or "default",
        "securityContext": pod_security_context(config),
        **spec,
    }
    pull_secrets = build.spec.builder.image_pull_secrets or []
    if pull_secrets:
        pod_spec["imagePullSecrets"] = [secret.dump() for secret in pull_secrets]
    for field, key in _SCHEDULING.items():
        value = getattr(build.spec, field)
        if value is not None:
            pod_spec[key] = value
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata(build), "spec": pod_spec}


def pod_metadata(build: builds.Build) -> dict[str, Any]:
    """Name, namespace, labels, annotations and the controller reference to the Build."""
    metadata: dict[str, Any] = {"name": build.pod_name()}
    if build.namespace:
        metadata["namespace"] = build.namespace
    metadata["labels"] = {**build.labels, builds.BUILD_LABEL: build.name}
    metadata["annotations"] = {**build.annotations, ISTIO_INJECT_ANNOTATION: "false"}
    metadata["ownerReferences"] = [build.controller_reference(kind=builds.KIND).dump()]
    return metadata


def pod_security_context(config: builder_images.BuilderImageConfig) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "fsGroup": config.gid,
        "runAsUser": config.uid,
        "runAsGroup": config.gid,
    }
