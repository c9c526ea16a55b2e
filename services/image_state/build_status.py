"""The status of a running Build, read from its pod (kpack [HEAD] build reconciler, pure part).

* A finished Build (``Succeeded`` True or False) is never changed.
* ``Succeeded``: pod ``Succeeded`` → True ``Completed``; pod ``Failed`` with reason
  ``DeadlineExceeded`` after ``completion`` finished → True ``Completed``; pod ``Failed`` →
  False ``Failed`` (``Error: <pod message><first failed init step's message>`` when a step left
  one); pod ``Pending`` with a waiting init step → Unknown with its reason and message; else
  Unknown.
* When the metadata is ready, the ``completion`` container's termination message (the contract
  in :mod:`contracts.completion`) fills ``buildMetadata``, ``latestImage``, ``latestCacheImage``,
  ``stack`` and ``lifecycleVersion``.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contracts import builds, completion, meta
from services import errors

COMPLETION = builds.COMPLETION_STEP
SUCCEEDED = "Succeeded"


class CompletionMessageError(errors.PermanentError, completion.CompletionMessageError):
    """A finished pod whose completion container left no readable termination message: no retry
    brings one, so the event is dead-lettered with this reason."""


class PodModel(BaseModel):
    """A tolerant reading of the part of a Pod the build status needs."""

    model_config = ConfigDict(frozen=True, extra="allow", alias_generator=to_camel, validate_by_name=True)


class Terminated(PodModel):
    exit_code: int = 0
    """Exit code of the container."""
    message: str = ""
    """Termination message."""
    started_at: str = ""
    """RFC 3339 time the container started."""
    finished_at: str = ""
    """RFC 3339 time it ended."""


class ContainerStatus(PodModel):
    name: str = ""
    """Container name."""
    state: dict[str, Any] = Field(default_factory=dict)
    """``waiting``, ``running`` or ``terminated``, kept as the kubelet wrote it."""

    def terminated(self) -> Terminated | None:
        raw = self.state.get("terminated")
        return None if raw is None else Terminated.model_validate(raw)

    def waiting(self) -> dict[str, Any] | None:
        raw: dict[str, Any] | None = self.state.get("waiting")
        return raw


class PodStatus(PodModel):
    phase: str = ""
    """Pod phase."""
    reason: str = ""
    """Pod reason, e.g. ``DeadlineExceeded``."""
    message: str = ""
    """Pod message."""
    start_time: str = ""
    """RFC 3339 time the kubelet started the pod."""
    init_container_statuses: list[ContainerStatus] = Field(default_factory=list)
    """Statuses of the init containers (the steps)."""
    container_statuses: list[ContainerStatus] = Field(default_factory=list)
    """Statuses of the containers (completion)."""

    def steps(self) -> list[ContainerStatus]:
        every = [*self.init_container_statuses, *self.container_statuses]
        return [status for status in every if status.name in builds.BUILD_STEPS]


def pod_status(pod: dict[str, Any]) -> PodStatus:
    """``pod.status`` read once, at the edge; a malformed one is an invalid message."""
    try:
        return PodStatus.model_validate(pod.get("status") or {})
    except pydantic.ValidationError as e:
        raise errors.InvalidMessageError(f"unreadable pod status: {e}") from e


def build_status_from_pod(
    build: builds.Build, pod: dict[str, Any], *, now: datetime | None = None
) -> builds.BuildStatus:
    """The Build status ``pod`` implies; a finished Build's status is returned unchanged.

    ``now`` stamps ``lastTransitionTime`` when the ``Succeeded`` status changes.
    """
    if build.succeeded() or build.failed():
        return build.status
    status = pod_status(pod)
    completed = steps_completed(status)
    changes: dict[str, Any] = {}
    if metadata_ready(build, status):
        changes = _metadata_changes(status)
    condition = succeeded_condition(status, steps_completed=completed)
    changes.update(
        observed_generation=build.generation,
        pod_name=(pod.get("metadata") or {}).get("name") or build.pod_name(),
        step_states=step_states(status),
        steps_completed=completed,
        conditions=[meta.stamped(condition, previous=build.status.condition(SUCCEEDED), now=now)],
    )
    return build.status.with_(**changes)


def _metadata_changes(status: PodStatus) -> dict[str, Any]:
    message = _completion_message(status)
    try:
        metadata = completion.decode_completion_message(message)
    except completion.CompletionMessageError as e:
        raise CompletionMessageError(str(e)) from e
    return {
        "build_metadata": list(metadata.buildpack_metadata),
        "latest_image": metadata.latest_image,
        "latest_cache_image": metadata.latest_cache_image,
        "stack": builds.BuildStack(run_image=metadata.stack_run_image, id=metadata.stack_id),
        "lifecycle_version": metadata.lifecycle_version,
    }


def _completion_message(status: PodStatus) -> str:
    for container in status.container_statuses:
        terminated = container.terminated()
        if container.name == COMPLETION and terminated is not None and terminated.message:
            return terminated.message
    raise CompletionMessageError("completion container has no termination message")


def metadata_ready(build: builds.Build, status: PodStatus) -> bool:
    """Not yet succeeded, and the pod succeeded or hit its deadline after ``completion`` exited 0."""
    if build.succeeded():
        return False
    if status.phase == "Succeeded":
        return True
    return status.phase == "Failed" and status.reason == "DeadlineExceeded" and _completion_done(status)


def _completion_done(status: PodStatus) -> bool:
    return COMPLETION in steps_completed(status)


def steps_completed(status: PodStatus) -> list[str]:
    """Build steps, in pod order, that terminated with exit code 0."""
    done = []
    for container in status.steps():
        terminated = container.terminated()
        if terminated is not None and terminated.exit_code == 0:
            done.append(container.name)
    return done


def step_states(status: PodStatus) -> list[dict[str, Any]]:
    """The build steps' container states, empty messages filled in."""
    return [_filled_state(container) for container in status.steps()]


def _filled_state(container: ContainerStatus) -> dict[str, Any]:
    state = copy.deepcopy(container.state)
    terminated = state.get("terminated")
    if terminated is not None and not terminated.get("message"):
        outcome = "successfully" if terminated.get("exitCode", 0) == 0 else "with error"
        terminated["message"] = f"Container {container.name} terminated {outcome}"
    waiting = state.get("waiting")
    if waiting is not None and not waiting.get("message"):
        waiting["message"] = f"Container {container.name} waiting"
    return state


def succeeded_condition(status: PodStatus, *, steps_completed: list[str]) -> meta.Condition:
    """The Build's ``Succeeded`` condition for a pod in ``status``."""
    if status.phase == "Succeeded" or (
        status.phase == "Failed" and status.reason == "DeadlineExceeded" and COMPLETION in steps_completed
    ):
        return _condition("True", reason="Completed")
    if status.phase == "Failed":
        for container in status.init_container_statuses:
            terminated = container.terminated()
            if terminated is not None and terminated.exit_code != 0 and terminated.message:
                return _condition(
                    "False", reason="Failed", message=f"Error: {status.message}{terminated.message}"
                )
        return _condition("False", reason="Failed", message=status.message)
    if status.phase == "Pending":
        for container in status.init_container_statuses:
            waiting = container.waiting()
            if waiting is not None:
                return _condition(
                    "Unknown", reason=waiting.get("reason", ""), message=waiting.get("message", "")
                )
    return _condition("Unknown")


def _condition(value: meta.ConditionStatus, *, reason: str = "", message: str = "") -> meta.Condition:
    given: dict[str, Any] = {"type": SUCCEEDED, "status": value}
    if reason:
        given["reason"] = reason
    if message:
        given["message"] = message
    return meta.Condition.model_validate(given)
