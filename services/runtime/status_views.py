"""What the live status page shows, as data: rows made from Images, Builds and running build pods
(as the watch caches hold them), the storm backlog, and recent failures. Pure: the page's effects
(:mod:`services.runtime.status_page`) read the caches and the broker, and send what this returns.

The view is one JSON document with camelCase keys, the same for ``/status.json`` and each
server-sent event of ``/status/events``::

    {"generatedAt", "synced", "imagesTotal",
     "images":   [{namespace, name, ready, latestImage, build: {name, number, reason, outcome, step} | null}],
     "running":  [{namespace, image, build, number, reason, step, started}],
     "failures": [{namespace, image, build, number, reason, step, message, finished}],
     "backlog":  {"known", "total", "lanes": {lane: messages}}}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from contracts import builds, images

Outcome = Literal["SUCCEEDED", "FAILURE", "CANCELED", "BUILDING"]

MAX_IMAGES = 1000
"""Image rows shown at most (by namespace and name); ``imagesTotal`` says how many there are."""
MAX_FAILURES = 20
"""Failed Builds shown at most, newest first."""
RUNNING_PODS = "status.phase!=Succeeded,status.phase!=Failed"
"""The field selector of the build pods the page watches: only running ones, so the watch holds as
many pods as builds run (a pod that ends leaves the watch as a deletion)."""

_CONTAINER_NAME = re.compile(r"^Container (\S+) ")


def enabled(asked: bool | None, *, cached: Iterable[str]) -> bool:
    """Whether a process serves the page: as ``KILN_STATUS_PAGE`` says, else (unset) when it
    already keeps the watch caches the page reads, of Images and Builds (the image-reconciler,
    ``kiln run all``, the sandbox)."""
    return {"Image", "Build"} <= set(cached) if asked is None else asked


def outcome(build: builds.Build) -> Outcome:
    if build.canceled():
        return "CANCELED"
    if build.succeeded():
        return "SUCCEEDED"
    if build.failed():
        return "FAILURE"
    return "BUILDING"


def pod_step(pod: Mapping[str, Any]) -> str:
    """The step a running build pod is at: the step container running, else the first one waiting
    for a reason other than its turn (an image pull failing), else ``pending``."""
    status = pod.get("status") or {}
    steps = [
        container
        for container in [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        if isinstance(container, dict) and container.get("name") in builds.BUILD_STEPS
    ]
    for container in steps:
        if "running" in (container.get("state") or {}):
            return str(container["name"])
    for container in steps:
        waiting = (container.get("state") or {}).get("waiting")
        if isinstance(waiting, dict) and waiting.get("reason") not in (None, "", "PodInitializing"):
            return f"{container['name']} ({waiting['reason']})"
    return "pending"


def build_step(build: builds.Build, pod: Mapping[str, Any] | None, *, watched: bool = True) -> str:
    """Where a Build is: its pod's step while it runs (``waiting for a pod`` before it has one;
    ``running`` when the pods are not ``watched``); the step that failed when it failed; "" when it
    succeeded."""
    if build.running():
        if pod is not None:
            return pod_step(pod)
        if not build.status.pod_name:
            return "waiting for a pod"
        return "pod starting" if watched else "running"
    if build.failed():
        return failed_step(build)
    return ""


def failed_step(build: builds.Build) -> str:
    """The first step whose container exited non-zero, named by its message (``Container build
    terminated with error``), else by its place in the pod; "" when none did (a canceled Build, a
    pod that never started)."""
    states = build.status.step_states or []
    names = step_names(len(states))
    for index, state in enumerate(states):
        terminated = state.get("terminated") if isinstance(state, dict) else None
        if isinstance(terminated, dict) and terminated.get("exitCode", 0) != 0:
            named = _CONTAINER_NAME.match(str(terminated.get("message") or ""))
            if named:
                return named.group(1)
            return names[index] if names else f"step {index + 1}"
    return ""


def step_names(count: int) -> tuple[str, ...]:
    """The steps of a pod with ``count`` step containers, in the order ``stepStates`` lists them:
    a rebase pod's two, or a build pod's seven; () for another count."""
    rebase = ("rebase", builds.COMPLETION_STEP)
    build = tuple(step for step in builds.BUILD_STEPS if step != "rebase")
    return {len(rebase): rebase, len(build): build}.get(count, ())


def build_cell(build: builds.Build, pod: Mapping[str, Any] | None, *, watched: bool = True) -> dict[str, Any]:
    """An Image's latest build, as its row shows it."""
    return {
        "name": build.name,
        "number": build.build_number(),
        "reason": build.reason(),
        "outcome": outcome(build),
        "step": build_step(build, pod, watched=watched),
    }


def image_row(
    image: images.Image,
    latest: builds.Build | None,
    pod: Mapping[str, Any] | None = None,
    *,
    watched: bool = True,
) -> dict[str, Any]:
    ready = image.status.condition("Ready")
    return {
        "namespace": image.namespace,
        "name": image.name,
        "ready": ready.status if ready is not None else "Unknown",
        "latestImage": image.status.latest_image or "",
        "build": build_cell(latest, pod, watched=watched) if latest is not None else None,
    }


def running_row(
    build: builds.Build, pod: Mapping[str, Any] | None, *, watched: bool = True
) -> dict[str, Any]:
    return {
        "namespace": build.namespace,
        "image": build.image_name(),
        "build": build.name,
        "number": build.build_number(),
        "reason": build.reason(),
        "step": build_step(build, pod, watched=watched),
        "started": build.metadata.creation_timestamp or "",
    }


def failure_row(build: builds.Build) -> dict[str, Any]:
    succeeded = build.status.condition("Succeeded")
    return {
        "namespace": build.namespace,
        "image": build.image_name(),
        "build": build.name,
        "number": build.build_number(),
        "reason": build.reason(),
        "step": failed_step(build),
        "message": (succeeded.message or succeeded.reason or "") if succeeded is not None else "",
        "finished": (succeeded.last_transition_time or "") if succeeded is not None else "",
    }


def backlog_cell(lanes: Mapping[str, int] | None) -> dict[str, Any]:
    """The storm lanes' waiting messages; ``known`` is False until the broker answered."""
    counted = dict(sorted((lanes or {}).items()))
    return {"known": lanes is not None, "total": sum(counted.values()), "lanes": counted}


def status_view(
    found_images: Iterable[images.Image],
    *,
    latest: Mapping[tuple[str, str], builds.Build],
    failed: Iterable[builds.Build],
    pods: Iterable[Mapping[str, Any]] | None,
    backlog: Mapping[str, int] | None,
    synced: bool,
    now: datetime,
) -> dict[str, Any]:
    """The whole page. ``latest``: each Image's newest Build by ``(namespace, Image name)``;
    ``failed``: Builds that failed (any of them; the newest :data:`MAX_FAILURES` are shown);
    ``pods``: the running build pods (labelled ``kpack.io/build`` with their Build's name), None
    when the process may not watch pods."""
    watched = pods is not None
    by_build = {_pod_key(pod): pod for pod in pods or ()}
    ordered = sorted(found_images, key=lambda image: (image.namespace, image.name))
    rows = []
    for image in ordered[:MAX_IMAGES]:
        build = latest.get((image.namespace, image.name))
        pod = by_build.get(_key(build)) if build is not None else None
        rows.append(image_row(image, build, pod, watched=watched))
    running = [b for b in latest.values() if b.running()]
    return {
        "generatedAt": now.isoformat().replace("+00:00", "Z"),
        "synced": synced,
        "imagesTotal": len(ordered),
        "images": rows,
        "running": [
            running_row(b, by_build.get(_key(b)), watched=watched)
            for b in sorted(running, key=lambda b: (b.metadata.creation_timestamp or "", b.namespace, b.name))
        ],
        "failures": recent_failures(failed),
        "backlog": backlog_cell(backlog),
    }


def recent_failures(failed: Iterable[builds.Build], *, limit: int = MAX_FAILURES) -> list[dict[str, Any]]:
    """Failed Builds (canceled ones too), newest first."""
    rows = [failure_row(b) for b in failed if b.failed()]
    rows.sort(key=lambda row: (row["finished"], row["namespace"], row["build"]), reverse=True)
    return rows[:limit]


def latest_builds(
    found_images: Sequence[images.Image], found_builds: Iterable[builds.Build]
) -> dict[tuple[str, str], builds.Build]:
    """Each Image's latest Build: the one its status names, by ``(namespace, Image name)``."""
    wanted = {(i.namespace, i.status.latest_build_ref or ""): (i.namespace, i.name) for i in found_images}
    return {wanted[(b.namespace, b.name)]: b for b in found_builds if (b.namespace, b.name) in wanted}


def _key(build: builds.Build) -> tuple[str, str]:
    return build.namespace, build.name


def _pod_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    metadata = pod.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(
        (metadata.get("labels") or {}).get(builds.BUILD_LABEL, "")
    )
