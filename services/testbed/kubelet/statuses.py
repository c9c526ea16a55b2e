"""Container states and pod statuses as a kubelet writes them (pure; times are parameters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import meta

POD_INITIALIZING = "PodInitializing"


def timestamp(moment: datetime) -> str:
    return meta.rfc3339(moment)


def waiting(reason: str = POD_INITIALIZING) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def running(started: datetime) -> dict[str, Any]:
    return {"running": {"startedAt": timestamp(started)}}


def terminated(*, exit_code: int, started: datetime, finished: datetime, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {
        "exitCode": exit_code,
        "reason": "Completed" if exit_code == 0 else "Error",
        "startedAt": timestamp(started),
        "finishedAt": timestamp(finished),
    }
    if message:
        state["message"] = message
    return {"terminated": state}


def container_status(spec: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The status of container ``spec`` in ``state`` (one of the functions above)."""
    return {
        "name": spec.get("name", ""),
        "image": spec.get("image", ""),
        "imageID": "",
        "ready": "running" in state,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


def pod_status(
    phase: str,
    *,
    started: datetime,
    init: list[dict[str, Any]],
    containers: list[dict[str, Any]],
    message: str = "",
) -> dict[str, Any]:
    """``pod.status`` with ``phase`` and the given container statuses."""
    status: dict[str, Any] = {
        "phase": phase,
        "startTime": timestamp(started),
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "initContainerStatuses": init,
        "containerStatuses": containers,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True" if phase != "Pending" else "False"},
        ],
    }
    if message:
        status["message"] = message
    return status
