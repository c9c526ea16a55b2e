"""The containers of a build pod: init steps in [HEAD] order, then ``completion``; and ``rebase``.

=========  ==========================  ==========================================================
step       command                     reads / writes
=========  ==========================  ==========================================================
prepare    /cnb/process/build-init     fetches the source, credentials, platform env
analyze    /cnb/lifecycle/analyzer     previous image, run image, cache (registry only)
detect     /cnb/lifecycle/detector     buildpack group and plan (sees the bindings)
restore    /cnb/lifecycle/restorer     layers from the cache
build      /cnb/lifecycle/builder      runs the buildpacks (sees the bindings)
export     /cnb/lifecycle/exporter     the image to every tag, the cache, the report
completion /cnb/process/completion     build metadata into its termination message; signs
                                       with notary and the cosign keys
rebase     /cnb/process/rebase         new run image under the last built image
=========  ==========================  ==========================================================
"""

from __future__ import annotations

import dataclasses
from typing import Any

from contracts import builds, sources
from services.build_runner import bindings, cache_args
from services.build_runner import secrets as build_secrets

BUILD_STEPS = builds.BUILD_STEPS
TERMINATION_MESSAGE_PATH = "/tmp/termination-log"
PREPARE_COMMAND = "/cnb/process/build-init"
REPORT = "/var/report/report.toml"

LAYERS = {"name": "layers-dir", "mountPath": "/layers"}
HOME = {"name": "home-dir", "mountPath": "/builder/home"}
PLATFORM = {"name": "platform-dir", "mountPath": "/platform"}
REPORT_DIR = {"name": "report-dir", "mountPath": "/var/report"}
PROJECT_METADATA = {"name": "layers-dir", "mountPath": "/projectMetadata"}
NOTARY = {"name": "notary-dir", "mountPath": "/var/notary/v1", "readOnly": True}
REGISTRY_SOURCE_PULL_SECRETS = {
    "name": "registry-source-pull-secrets-dir",
    "mountPath": "/registrySourcePullSecrets",
    "readOnly": True,
}
HOME_ENV = {"name": "HOME", "value": "/builder/home"}
BINDING_ROOT_ENV = {"name": "SERVICE_BINDING_ROOT", "value": bindings.BINDING_ROOT}


@dataclasses.dataclass(frozen=True)
class PodImages:
    """The images of kpack's own steps (controller configuration)."""

    build_init: str = "ghcr.io/buildpacks-community/kpack/build-init:latest"
    completion: str = "ghcr.io/buildpacks-community/kpack/completion:latest"
    rebase: str = "ghcr.io/buildpacks-community/kpack/rebase:latest"


@dataclasses.dataclass(frozen=True)
class StepInputs:
    """Everything the steps are made of, decided once by the pod generator."""

    build: builds.Build
    builder_image: str
    platform_api: str
    run_image: str
    dns_probe_host: str
    build_timestamp: str
    """The Build's ``creationTimestamp`` as ``YYYYMMDD.HHMMSS`` (cosign's ``buildTimestamp``)."""
    source_date_epoch: str | None = None
    """``SOURCE_DATE_EPOCH`` of export, from ``spec.creationTime``; None for none."""
    images: PodImages = dataclasses.field(default_factory=PodImages)
    secrets: build_secrets.SecretSetup = dataclasses.field(default_factory=build_secrets.SecretSetup)
    pulls: build_secrets.SecretSetup = dataclasses.field(default_factory=build_secrets.SecretSetup)
    cosign: build_secrets.SecretSetup = dataclasses.field(default_factory=build_secrets.SecretSetup)
    bindings: build_secrets.SecretSetup = dataclasses.field(default_factory=build_secrets.SecretSetup)
    insecure_ssh_trust_unknown_hosts: bool = True

    def env(self, name: str, value: str) -> dict[str, str]:
        return {"name": name, "value": value}

    def platform_api_env(self) -> dict[str, str]:
        return self.env("CNB_PLATFORM_API", self.platform_api)

    def workspace(self) -> dict[str, Any]:
        """``workspace-dir`` at ``/workspace``, narrowed to the source's ``subPath``."""
        mount: dict[str, Any] = {"name": "workspace-dir", "mountPath": "/workspace"}
        if self.build.spec.source.sub_path:
            mount["subPath"] = self.build.spec.source.sub_path
        return mount


def container_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
    }


def build_steps(inputs: StepInputs) -> list[dict[str, Any]]:
    """The init containers of a build pod, in [HEAD] order (analyze before detect)."""
    return [prepare(inputs), analyze(inputs), detect(inputs), restore(inputs), build(inputs), export(inputs)]


def _lifecycle(
    inputs: StepInputs, name: str, *, args: list[str], mounts: list[dict[str, Any]], env: list[dict[str, str]]
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": inputs.builder_image,
        "command": [f"/cnb/lifecycle/{_LIFECYCLE_BINARIES[name]}"],
        "args": args,
        "env": env,
        "volumeMounts": mounts,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": container_security_context(),
    }
    return with_resources(container, inputs.build)


def with_resources(container: dict[str, Any], build: builds.Build) -> dict[str, Any]:
    """``container`` with the Build's ``resources``, as kpack gives every step and ``completion``."""
    if build.spec.resources is not None:
        container["resources"] = build.spec.resources
    return container


_LIFECYCLE_BINARIES = {
    "analyze": "analyzer",
    "detect": "detector",
    "restore": "restorer",
    "build": "builder",
    "export": "exporter",
}


def source_env(source: sources.SourceConfig) -> list[dict[str, str]]:
    """``GIT_*``, ``BLOB_*`` or ``REGISTRY_IMAGE`` for build-init."""
    if source.git is not None:
        return [
            {"name": "GIT_URL", "value": source.git.url},
            {"name": "GIT_REVISION", "value": source.git.revision},
            {"name": "GIT_INITIALIZE_SUBMODULES", "value": _bool(source.git.initialize_submodules)},
        ]
    if source.blob is not None:
        return [
            {"name": "BLOB_URL", "value": source.blob.url},
            {"name": "BLOB_STRIP_COMPONENTS", "value": str(source.blob.strip_components or 0)},
            {"name": "BLOB_AUTH", "value": _bool(bool(source.blob.auth))},
        ]
    if source.registry is not None:
        return [{"name": "REGISTRY_IMAGE", "value": source.registry.image}]
    return []


def platform_env(env: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each build env var as ``PLATFORM_ENV_<name>`` (value or valueFrom kept)."""
    return [{**var, "name": f"PLATFORM_ENV_{var.get('name', '')}"} for var in env or []]


def _bool(value: bool | None) -> str:
    return "true" if value else "false"


def prepare(inputs: StepInputs) -> dict[str, Any]:
    build_ = inputs.build
    spec = build_.spec
    notes = build_.annotations
    env = [
        *source_env(spec.source),
        *platform_env(spec.env),
        inputs.env("SOURCE_SUB_PATH", spec.source.sub_path or ""),
        inputs.env("PROJECT_DESCRIPTOR_PATH", spec.project_descriptor_path or ""),
        inputs.env("IMAGE_TAG", build_.tag()),
        inputs.env("RUN_IMAGE", inputs.run_image),
        inputs.env("BUILDER_IMAGE", spec.builder.image),
        inputs.env("BUILDER_NAME", notes.get(builds.BUILDER_NAME_ANNOTATION, "")),
        inputs.env("BUILDER_KIND", notes.get(builds.BUILDER_KIND_ANNOTATION, "")),
        inputs.env("DNS_PROBE_HOSTNAME", inputs.dns_probe_host),
        inputs.env("BUILD_CHANGES", notes.get(builds.CHANGES_ANNOTATION, "")),
        inputs.env("INSECURE_SSH_TRUST_UNKNOWN_HOSTS", _bool(inputs.insecure_ssh_trust_unknown_hosts)),
    ]
    mounts = [
        *inputs.secrets.mounts,
        *inputs.pulls.mounts,
        REGISTRY_SOURCE_PULL_SECRETS,
        PLATFORM,
        {"name": "workspace-dir", "mountPath": "/workspace"},
        HOME,
        PROJECT_METADATA,
    ]
    container = {
        "name": "prepare",
        "image": inputs.images.build_init,
        "command": [PREPARE_COMMAND],
        "args": [*inputs.secrets.args, *inputs.pulls.args],
        "env": env,
        "imagePullPolicy": "IfNotPresent",
        "workingDir": "/workspace",
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
    }
    return with_resources(container, build_)


def analyze(inputs: StepInputs) -> dict[str, Any]:
    build_ = inputs.build
    tags = build_.spec.tags or []
    last = build_.spec.last_build
    previous = [f"-previous-image={last.image}"] if last is not None and last.image else []
    args = [
        "-layers=/layers",
        "-analyzed=/layers/analyzed.toml",
        f"-run-image={inputs.run_image}",
        *cache_args.cache_args_for_step("analyze", build_),
        *(f"-tag={tag}" for tag in tags[1:]),
        *previous,
        build_.tag(),
    ]
    mounts = [LAYERS, inputs.workspace(), HOME]
    env = [HOME_ENV, inputs.platform_api_env(), BINDING_ROOT_ENV]
    return _lifecycle(inputs, "analyze", args=args, mounts=mounts, env=env)


def detect(inputs: StepInputs) -> dict[str, Any]:
    args = ["-app=/workspace", "-group=/layers/group.toml", "-plan=/layers/plan.toml"]
    mounts = [LAYERS, PLATFORM, inputs.workspace(), *inputs.bindings.mounts]
    return _lifecycle(inputs, "detect", args=args, mounts=mounts, env=[inputs.platform_api_env()])


def restore(inputs: StepInputs) -> dict[str, Any]:
    build_ = inputs.build
    args = [
        "-group=/layers/group.toml",
        "-layers=/layers",
        *cache_args.cache_args_for_step("restore", build_),
        "-analyzed=/layers/analyzed.toml",
    ]
    mounts = [LAYERS, HOME, *cache_args.cache_mounts_for_step("restore", build_)]
    return _lifecycle(inputs, "restore", args=args, mounts=mounts, env=[HOME_ENV, inputs.platform_api_env()])


def build(inputs: StepInputs) -> dict[str, Any]:
    args = ["-layers=/layers", "-app=/workspace", "-group=/layers/group.toml", "-plan=/layers/plan.toml"]
    mounts = [LAYERS, PLATFORM, inputs.workspace(), *inputs.bindings.mounts]
    env = [inputs.platform_api_env(), BINDING_ROOT_ENV]
    return _lifecycle(inputs, "build", args=args, mounts=mounts, env=env)


def export(inputs: StepInputs) -> dict[str, Any]:
    build_ = inputs.build
    process = build_.spec.default_process
    args = [
        "-layers=/layers",
        "-app=/workspace",
        "-group=/layers/group.toml",
        "-analyzed=/layers/analyzed.toml",
        "-project-metadata=/layers/project-metadata.toml",
        *cache_args.cache_args_for_step("export", build_),
        *([f"-process-type={process}"] if process else []),
        f"-report={REPORT}",
        *(build_.spec.tags or []),
    ]
    mounts = [
        LAYERS,
        inputs.workspace(),
        HOME,
        REPORT_DIR,
        *cache_args.cache_mounts_for_step("export", build_),
    ]
    epoch = (
        []
        if inputs.source_date_epoch is None
        else [inputs.env("SOURCE_DATE_EPOCH", inputs.source_date_epoch)]
    )
    env = [HOME_ENV, inputs.platform_api_env(), *epoch, inputs.env("CNB_RUN_IMAGE", inputs.run_image)]
    return _lifecycle(inputs, "export", args=args, mounts=mounts, env=env)


def completion(
    inputs: StepInputs, *, setup: build_secrets.SecretSetup, rebase: bool = False
) -> dict[str, Any]:
    """The ``completion`` container: build metadata, including the cache digest, as its message.

    It signs too: with notary (``-notary-v1-url=``, keys in ``notary-dir``) and with the cosign
    keys of the service account. A rebase pod's completion has no ``HOME`` and no ``home-dir``,
    and mounts the report and notary directories before the secrets, as kpack's does.
    """
    build_ = inputs.build
    notary = build_.spec.notary_v1()
    args = [
        *([f"-notary-v1-url={notary.url}"] if notary is not None else []),
        *setup.args,
        *cosign_annotation_args(inputs),
        *inputs.cosign.args,
    ]
    secrets = [*setup.mounts, *inputs.cosign.mounts]
    mounts = [REPORT_DIR, NOTARY, *secrets] if rebase else [*secrets, HOME, REPORT_DIR, NOTARY]
    container: dict[str, Any] = {
        "name": "completion",
        "image": inputs.images.completion,
        "command": ["/cnb/process/completion"],
        "args": args,
        "env": [
            *([] if rebase else [HOME_ENV]),
            cache_args.cache_tag_env(build_),
            inputs.env("TERMINATION_MESSAGE_PATH", TERMINATION_MESSAGE_PATH),
        ],
        "volumeMounts": mounts,
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": TERMINATION_MESSAGE_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security_context(),
    }
    return with_resources(container, build_)


def cosign_annotation_args(inputs: StepInputs) -> list[str]:
    """``-cosign-annotations=``: build timestamp (the Build's creation) and number, then the
    Build's own annotations."""
    build_ = inputs.build
    annotations = [
        ("buildTimestamp", inputs.build_timestamp),
        ("buildNumber", build_.labels.get(builds.BUILD_NUMBER_LABEL, "")),
        *((a.name, a.value) for a in (build_.spec.cosign or builds.CosignConfig()).annotations or []),
    ]
    return [f"-cosign-annotations={name}={value}" for name, value in annotations]


def rebase(inputs: StepInputs, *, setup: build_secrets.SecretSetup, last_built_image: str) -> dict[str, Any]:
    """The ``rebase`` init container of a STACK-only rebuild."""
    build_ = inputs.build
    args = [
        "--run-image",
        inputs.run_image,
        "--last-built-image",
        last_built_image,
        "--report",
        REPORT,
        *setup.args,
        *inputs.pulls.args,
        *(build_.spec.tags or []),
    ]
    container = {
        "name": "rebase",
        "image": inputs.images.rebase,
        "command": ["/cnb/process/rebase"],
        "args": args,
        "env": [inputs.env("BUILD_CHANGES", build_.annotations.get(builds.CHANGES_ANNOTATION, ""))],
        "imagePullPolicy": "IfNotPresent",
        "workingDir": "/workspace",
        "volumeMounts": [*setup.mounts, *inputs.pulls.mounts, REPORT_DIR],
        "securityContext": container_security_context(),
    }
    return with_resources(container, build_)
