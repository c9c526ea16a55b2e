"""The build pod of a Build (kpack [HEAD] ``Build.BuildPod``), as a Kubernetes Pod manifest.

``render_pod`` decides, in order:

1. the bindings (:mod:`services.build_runner.bindings`): a forbidden or missing one is a
   :class:`PodGenerationError`, rebase or not, as kpack resolves them before anything else;
2. a ``windows`` builder image → :class:`PodGenerationError` ``windows builds are not supported``;
3. the platform API: the highest of 0.9, 0.8, 0.7 the builder supports, else
   ``unsupported builder platform API versions: <list>``;
4. a rebase pod (kpack ``rebasePod``) when the only reason is ``STACK`` and the stack is
   unchanged: its docker secrets, cosign keys and image pull secrets, ``rebase`` and
   ``completion``, and neither the builder's user, group and fsGroup, nor the build timeout,
   nor the builder's image pull secrets;
5. otherwise the full build pod: ``prepare, analyze, detect, restore, build, export`` and
   ``completion``, with the cache of :mod:`services.build_runner.cache_args`; a
   ``spec.creationTime`` that is neither empty, ``now`` nor an int64 fails it with kpack's
   ``strconv.ParseInt`` message.

Every step has the Build's ``resources``. The cosign ``buildTimestamp`` is the Build's
``creationTimestamp``; the time of rendering matters only for ``spec.creationTime: now``.

Volumes in kpack's order: build secrets, cosign keys, image pull secrets, the cache, the empty
directories, the registry source's pull secret, ``notary-dir`` (the notary Secret when the Build
signs with notary, else empty) and the bindings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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
_REBASE_SCHEDULING = {
    "node_selector": "nodeSelector",
    "tolerations": "tolerations",
    "affinity": "affinity",
    "runtime_class_name": "runtimeClassName",
    "scheduler_name": "schedulerName",
    "priority_class_name": "priorityClassName",
}
_SCHEDULING = {**_REBASE_SCHEDULING, "active_deadline_seconds": "activeDeadlineSeconds"}
"""The build pod also gets the build timeout; kpack's rebase pod does not."""
_POINTERS = ("affinity", "runtimeClassName", "activeDeadlineSeconds")
BLOB_AUTH_SECRET = "secret"
GIT_AND_DOCKER: tuple[build_secrets.Kind, ...] = ("git", "docker")
_INT64 = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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

    ``secrets`` and ``image_pull_secrets`` are the service account's; the builder's image pull
    secrets come from the Build. ``now`` is read only for ``spec.creationTime: now`` (kpack takes
    the time of rendering there too); everything else, the cosign build timestamp included, comes
    from the Build, so the same Build renders the same pod at any time. ``lookups`` holds what the
    bindings need from the cluster; without it only Secret services and CNB bindings can be
    resolved.
    """
    try:
        resolved = bindings.resolve(build, lookups=lookups or bindings.Lookups())
    except bindings.BindingError as e:
        raise PodGenerationError(str(e)) from e
    if config.os == "windows":
        raise PodGenerationError("windows builds are not supported")
    api = platform_api(config)
    rebase = rebasable(build, config=config)
    kinds = build_secrets.DOCKER_ONLY if rebase else secret_kinds(build)
    setup = build_secrets.secret_setup(secrets, kinds=kinds)
    pulls = build_secrets.image_pull_names(
        image_pull_secrets,
        builder=[ref.name for ref in build.spec.builder.image_pull_secrets or []],
        taken=[secret.name for secret in secrets],
    )
    inputs = steps.StepInputs(
        build=build,
        builder_image=config.image,
        platform_api=api,
        run_image=run_image(build, config=config),
        dns_probe_host="" if rebase else _dns_probe_host(build),
        build_timestamp=build_timestamp(build),
        source_date_epoch=None if rebase else source_date_epoch(build, now=now),
        images=images or steps.PodImages(),
        secrets=setup,
        pulls=build_secrets.image_pull_setup(pulls, mounted=setup.secret_names()),
        cosign=build_secrets.cosign_setup(secrets),
        bindings=bindings.binding_setup(resolved),
        insecure_ssh_trust_unknown_hosts=insecure_ssh_trust_unknown_hosts,
    )
    pod = _rebase_pod(inputs) if rebase else _build_pod(inputs, config=config)
    return copy.deepcopy(pod)


def secret_kinds(build: builds.Build) -> tuple[build_secrets.Kind, ...]:
    """The secrets a build pod hands over: git and docker ones, and blob ones only for a blob
    source with ``auth: secret``."""
    blob = build.spec.source.blob
    if blob is not None and blob.auth == BLOB_AUTH_SECRET:
        return build_secrets.ALL_KINDS
    return GIT_AND_DOCKER


def build_timestamp(build: builds.Build) -> str:
    """The Build's ``creationTimestamp`` in UTC as ``YYYYMMDD.HHMMSS``; ``00010101.000000`` without
    one (Go's zero time, as kpack writes for a Build that has none)."""
    text = build.metadata.creation_timestamp
    if not text:
        return "00010101.000000"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise PodGenerationError(
            f"metadata.creationTimestamp: {text!r} is not an RFC 3339 time such as 2024-05-06T07:08:09Z"
        ) from e
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{utc.year:04d}{utc.month:02d}{utc.day:02d}.{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"


def source_date_epoch(build: builds.Build, *, now: datetime) -> str | None:
    """``SOURCE_DATE_EPOCH`` from ``spec.creationTime`` (kpack ``parseTime``): none when empty,
    ``now`` at the time of rendering, else a unix timestamp as Go's ``strconv.ParseInt`` reads it;
    anything else fails the pod with kpack's message."""
    creation = build.spec.creation_time or ""
    if not creation:
        return None
    if creation == "now":
        return str(int(now.timestamp()))
    problem = None
    if _INT64.fullmatch(creation) is None:
        problem = "invalid syntax"
    elif not _INT64_MIN <= int(creation) <= _INT64_MAX:
        problem = "value out of range"
    if problem is not None:
        raise PodGenerationError(
            f"parsing creation time {creation}: parsing unix timestamp: "
            f"strconv.ParseInt: parsing {json.dumps(creation, ensure_ascii=False)}: {problem}"
        )
    return str(int(creation))


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


def _rebase_pod(inputs: steps.StepInputs) -> dict[str, Any]:
    """kpack's ``rebasePod``: docker secrets, cosign keys and pull secrets, ``rebase`` then
    ``completion``; the pod security context without user, group or fsGroup, and neither the
    build timeout nor the builder's image pull secrets."""
    build = inputs.build
    last_image = (build.spec.last_build or builds.LastBuild()).image
    volumes = [
        *build_secrets.volumes(inputs.secrets, inputs.cosign),
        *inputs.pulls.volumes,
        {"name": "report-dir", "emptyDir": {}},
        notary_volume(build),
    ]
    spec = {
        "restartPolicy": "Never",
        "serviceAccountName": _service_account(build),
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [steps.rebase(inputs, setup=inputs.secrets, last_built_image=last_image)],
        "containers": [steps.completion(inputs, setup=inputs.secrets, rebase=True)],
        "volumes": volumes,
        **_scheduling(build, fields=_REBASE_SCHEDULING),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata(build), "spec": spec}


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
        "serviceAccountName": _service_account(build),
        "securityContext": pod_security_context(config),
        **spec,
    }
    pull_secrets = build.spec.builder.image_pull_secrets or []
    if pull_secrets:
        pod_spec["imagePullSecrets"] = [secret.dump() for secret in pull_secrets]
    pod_spec.update(_scheduling(build, fields=_SCHEDULING))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata(build), "spec": pod_spec}


def _service_account(build: builds.Build) -> str:
    return build.spec.service_account_name or "default"


def _scheduling(build: builds.Build, *, fields: Mapping[str, str]) -> dict[str, Any]:
    """The Build's scheduling fields that are set, under their pod spec names; empty ones are
    left out where Go's ``omitempty`` leaves them out (not the pointers ``affinity``,
    ``runtimeClassName`` and ``activeDeadlineSeconds``)."""
    chosen = {key: getattr(build.spec, field) for field, key in fields.items()}
    return {
        key: value
        for key, value in chosen.items()
        if value is not None and (key in _POINTERS or value not in ("", [], {}))
    }


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
