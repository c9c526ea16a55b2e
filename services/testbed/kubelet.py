"""A simulated kubelet for tests and the sandbox — a simulation, not a container runtime.

It watches build pods (label ``kpack.io/build``) and moves each through Pending → Running →
Succeeded (or Failed at a chosen step), writing per-step container states through the pods'
``status`` subresource. A successful build really writes to the registry: a small app image to
the build's tag and, when the completion container's ``CACHE_TAG`` is set, a cache image whose
content is new for every build, so each build yields a new, real digest. The completion
container's termination message is what kpack's completion container writes (base64 gzip JSON
with ``latestImage``, ``latestCacheImage``, stack and buildpacks), read back by image-state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts import builds
from services import errors
from services.build_runner import build_status
from services.registry import client as registry_client
from services.runtime import cluster as kube_cluster
from services.runtime import watching

logger = logging.getLogger(__name__)
FailAt = Callable[[dict[str, Any]], str | None]
"""Given a pod, the step at which it fails, or None to succeed."""


def _never(pod: dict[str, Any]) -> str | None:
    return None


@dataclass
class Kubelet:
    """Drives build pods found in the cluster; ``run()`` until cancelled."""

    cluster: kube_cluster.KubeCluster
    registry: registry_client.RegistryClient
    step_seconds: float = 0.05
    fail_at: FailAt = _never
    started: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        try:
            await watching.watch_forever(
                self.cluster.core.list_pod_for_all_namespaces,
                label_selector=builds.BUILD_LABEL,
                handle=self._on_pod,
                serialize=self.cluster.api.sanitize_for_serialization,
            )
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        uid = pod["metadata"].get("uid", "")
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if kind != "ADDED" or uid in self.started or phase not in ("", "Pending"):
            return
        self.started.add(uid)
        task = asyncio.create_task(self._drive(pod))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(self, pod: dict[str, Any]) -> None:
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        try:
            await asyncio.sleep(self.step_seconds)
            await self._write_status(pod, phase="Running", init=[], completion=None)
            failing = self.fail_at(pod)
            steps = [c["name"] for c in pod["spec"].get("initContainers", [])]
            done: list[dict[str, Any]] = []
            for step in steps:
                await asyncio.sleep(self.step_seconds)
                if step == failing:
                    done.append(_terminated(step, exit_code=1, message=f"step {step} failed (simulated)"))
                    await self._write_status(pod, phase="Failed", init=done, completion=None)
                    return
                done.append(_terminated(step, exit_code=0))
            message = await self._complete(pod)
            completion = _terminated("completion", exit_code=0, message=message)
            await self._write_status(pod, phase="Succeeded", init=done, completion=completion)
        except errors.KilnError:
            logger.exception("simulated kubelet could not drive %s", name)

    async def _complete(self, pod: dict[str, Any]) -> str:
        """Push the app image (and the cache image), then the completion container's message."""
        env = _env(pod)
        tag = env.get("IMAGE_TAG") or _rebase_tag(pod)
        build = pod["metadata"]["labels"].get(builds.BUILD_LABEL, "")
        content = json.dumps({"build": build, "pod": pod["metadata"].get("uid"), "at": _now()}).encode()
        await self.registry.push_image(tag, config=_config("app", content), layers=[content])
        cache_tag = _completion_env(pod).get("CACHE_TAG", "")
        latest_cache = ""
        if cache_tag:
            cache_content = b"cache of " + content
            await self.registry.push_image(
                cache_tag, config=_config("cache", cache_content), layers=[cache_content]
            )
            try:
                latest_cache = await self.registry.digest_ref(cache_tag)
            except errors.KilnError:
                latest_cache = ""
        if "BUILDER_IMAGE" not in env:  # a rebase pod: no lifecycle, same buildpacks
            rebased = build_status.CompletionMetadata(
                latest_image=await self.registry.digest_ref(tag), latest_cache_image=latest_cache
            )
            return build_status.encode_completion_message(rebased)
        builder = await self.registry.fetch_config(env["BUILDER_IMAGE"])
        metadata = build_status.CompletionMetadata(
            buildpack_metadata=[
                builds.BuildpackInfo(id=bp.id, version=bp.version, homepage=bp.homepage or None)
                for bp in builder.buildpacks
            ],
            latest_image=await self.registry.digest_ref(tag),
            latest_cache_image=latest_cache,
            stack_id=builder.stack_id,
            stack_run_image=env.get("RUN_IMAGE", ""),
            lifecycle_version=builder.lifecycle_version,
        )
        return build_status.encode_completion_message(metadata)

    async def _write_status(
        self,
        pod: dict[str, Any],
        *,
        phase: str,
        init: list[dict[str, Any]],
        completion: dict[str, Any] | None,
    ) -> None:
        md = pod["metadata"]
        current = await self.cluster.get_pod(md["namespace"], md["name"])
        if current is None:
            return
        current["status"] = {
            "phase": phase,
            "initContainerStatuses": init,
            "containerStatuses": [completion] if completion else [],
        }
        await self.cluster.replace_pod_status(current)


def _terminated(name: str, *, exit_code: int, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}
    if message:
        state["message"] = message
    return {
        "name": name,
        "state": {"terminated": state},
        "ready": False,
        "restartCount": 0,
        "image": "",
        "imageID": "",
    }


def _rebase_tag(pod: dict[str, Any]) -> str:
    """A rebase pod's first tag: the first positional argument after the flags of ``rebase``."""
    rebase: dict[str, Any] = next(
        (c for c in pod["spec"].get("initContainers", []) if c["name"] == "rebase"), {}
    )
    args: list[str] = rebase.get("args", [])
    index = 0
    while index < len(args):
        if args[index].startswith("-"):
            index += 1 if "=" in args[index] else 2
            continue
        return args[index]
    return ""


def _env(pod: dict[str, Any]) -> dict[str, str]:
    prepare: dict[str, Any] = next(
        (c for c in pod["spec"].get("initContainers", []) if c["name"] == "prepare"), {}
    )
    return {e["name"]: e.get("value", "") for e in prepare.get("env", [])}


def _completion_env(pod: dict[str, Any]) -> dict[str, str]:
    completion: dict[str, Any] = next(
        (c for c in pod["spec"].get("containers", []) if c["name"] == "completion"), {}
    )
    return {e["name"]: e.get("value", "") for e in completion.get("env", [])}


def _config(kind: str, content: bytes) -> dict[str, Any]:
    diff_id = "sha256:" + hashlib.sha256(content).hexdigest()
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"dev.kiln.simulated": kind}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()
