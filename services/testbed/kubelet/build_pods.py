"""Reading a build pod's spec as the simulated kubelet needs it (pure).

The steps are the init containers in order, then ``completion``; the tags are the positional
arguments of the step that writes the image (``export``, or ``rebase``); the cache arguments are
the ``-cache-image=`` / ``-cache-dir=`` flags each lifecycle step was started with.
"""

from __future__ import annotations

from typing import Any

from contracts import builds

PUSHING_STEPS = ("export", "rebase")
"""Steps that write the image (and, for export, the cache) to the registry."""
COMPLETION = "completion"
CACHE_FLAGS = ("-cache-image=", "-cache-dir=")


def is_build_pod(pod: dict[str, Any]) -> bool:
    return builds.BUILD_LABEL in ((pod.get("metadata") or {}).get("labels") or {})


def is_unstarted(pod: dict[str, Any]) -> bool:
    """A pod nobody has run yet: Pending (or no phase) and not being deleted."""
    metadata = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase", "")
    return not metadata.get("deletionTimestamp") and phase in ("", "Pending")


def build_name(pod: dict[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(builds.BUILD_LABEL, ""))


def init_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("spec") or {}).get("initContainers") or [])


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("spec") or {}).get("containers") or [])


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    """The init container or container called ``name``; empty when there is none."""
    return next((c for c in [*init_containers(pod), *containers(pod)] if c.get("name") == name), {})


def env(spec: dict[str, Any]) -> dict[str, str]:
    """A container's literal env values (``valueFrom`` entries read as empty)."""
    return {str(e.get("name")): str(e.get("value") or "") for e in spec.get("env") or []}


def cache_args(spec: dict[str, Any]) -> list[str]:
    """The cache flags a container was started with, in order."""
    return [str(a) for a in spec.get("args") or [] if str(a).startswith(CACHE_FLAGS)]


def positional_args(args: list[str]) -> list[str]:
    """Arguments that are not flags: ``-a=b`` stands alone, ``--flag value`` takes the next one."""
    positional: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg.startswith("--") and "=" not in arg:
            skip_next = True
        elif not arg.startswith("-"):
            positional.append(arg)
    return positional


def tags(pod: dict[str, Any]) -> list[str]:
    """The build's tags, first one first: the image step's positional arguments."""
    for step in PUSHING_STEPS:
        spec = container(pod, step)
        if spec:
            return positional_args([str(a) for a in spec.get("args") or []])
    return []


def cache_tag(pod: dict[str, Any]) -> str:
    """``CACHE_TAG`` of the completion container: the registry cache tag, or empty."""
    return env(container(pod, COMPLETION)).get("CACHE_TAG", "")


def builder_image(pod: dict[str, Any]) -> str:
    """The builder image: build-init's ``BUILDER_IMAGE``, else the lifecycle steps' image (a rebase
    pod names none: the last built image says which builder made it)."""
    named = env(container(pod, "prepare")).get("BUILDER_IMAGE", "")
    return named or str(container(pod, "analyze").get("image") or "")


def run_image(pod: dict[str, Any]) -> str:
    """The run image the pod was given (build-init's ``RUN_IMAGE``, export's ``CNB_RUN_IMAGE``, or
    the rebase step's ``--run-image``)."""
    return (
        env(container(pod, "prepare")).get("RUN_IMAGE", "")
        or env(container(pod, "export")).get("CNB_RUN_IMAGE", "")
        or flag(container(pod, "rebase"), "--run-image")
    )


def last_built_image(pod: dict[str, Any]) -> str:
    """The image a rebase pod rebases (its ``--last-built-image``), or empty."""
    return flag(container(pod, "rebase"), "--last-built-image")


def flag(spec: dict[str, Any], name: str) -> str:
    """The value after ``name`` in a container's arguments (``--flag value``), or empty."""
    args = [str(a) for a in spec.get("args") or []]
    return next((args[i + 1] for i, arg in enumerate(args[:-1]) if arg == name), "")
