"""A Build created directly (kpack's ``docs/build.md``), with ``kubectl`` alone: no Image, no
label, no event published by the test. The bridge sees it, the build-runner gives it its pod,
image-state records its status from that pod (kpack spec §5, checklist items 41 to 46).

Real broker, real registry, the Kubernetes emulator, every Kiln service, the simulated kubelet, and
the real ``kubectl`` with the kubeconfig the sandbox prints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.kubelet import failures
from tests.integration.e2e.conftest import Run
from tests.integration.e2e.user_commands import KUBECTL, kubectl

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)"
    ),
]
STEPS = ["prepare", "analyze", "detect", "restore", "build", "export", "completion"]


def build_manifest(run: Run, name: str, *, annotations: dict[str, str] | None = None) -> str:
    """A Build as kpack's docs/build.md writes one: tags, builder image, a git source at a branch."""
    notes = "".join(f"\n    {key}: {value!r}" for key, value in (annotations or {}).items())
    return textwrap.dedent(
        f"""\
        apiVersion: kpack.io/v1alpha2
        kind: Build
        metadata:
          name: {name}
          namespace: {run.namespace}
          annotations: {{}}
        spec:
          tags:
          - {run.tag}
          builder:
            image: {run.sb.builder_image}
          source:
            git:
              url: https://github.com/kiln-project/sample-go-app
              revision: main
        """
    ).replace("annotations: {}", f"annotations:{notes}" if notes else "annotations: {}")


async def apply(run: Run, manifest: str, tmp_path: Path) -> None:
    path = tmp_path / "build.yaml"
    path.write_text(manifest)
    await kubectl(run, "apply", "--validate=false", "-f", str(path), cache=tmp_path / "cache")


def build(run: Run, name: str) -> build_models.Build:
    found = run.sb.emulator.get("builds", name, run.namespace)
    assert found is not None, f"no Build {name}"
    return build_models.Build.model_validate(found)


def pod(run: Run, name: str) -> dict[str, Any] | None:
    return run.sb.emulator.get("pods", f"{name}-build-pod", run.namespace)


async def held(run: Run, name: str, *, step: str) -> dict[str, Any]:
    """Wait until the Build's pod runs ``step`` and holds there; the pod."""

    def holding() -> bool:
        record = run.sb.kubelet.record(run.namespace, f"{name}-build-pod")
        return record is not None and any(s.name == step and s.exit_code is None for s in record.steps)

    await run.sb.wait_for(holding, what=f"{name} to hold at {step}")
    found = pod(run, name)
    assert found is not None
    return found


async def test_a_build_applied_with_kubectl_alone_runs_to_completion_with_its_status_from_its_pod(
    run: Run, tmp_path: Path
) -> None:
    await apply(run, build_manifest(run, "hand-made"), tmp_path)

    [finished] = await run.wait_finished(1, what="the Build applied with kubectl to finish")

    succeeded = finished.status.condition("Succeeded")
    assert succeeded is not None
    assert (succeeded.status, succeeded.reason) == ("True", "Completed")
    assert finished.status.pod_name == "hand-made-build-pod"
    assert finished.status.steps_completed == STEPS
    digest = await run.sb.wiring.registry.resolve_digest(run.tag)
    assert finished.status.latest_image == f"{run.tag}@{digest}"
    assert finished.image_name() == ""
    the_pod = pod(run, "hand-made")
    assert the_pod is not None
    assert the_pod["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "name": "hand-made",
            "uid": finished.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    listed = await kubectl(run, "get", "builds", "-n", run.namespace, cache=tmp_path / "cache")
    assert "hand-made" in listed

    await kubectl(run, "delete", "build", "hand-made", "-n", run.namespace, cache=tmp_path / "cache")

    await run.sb.wait_for(lambda: pod(run, "hand-made") is None, what="the deleted Build's pod to go")


async def test_a_build_applied_with_kubectl_shows_it_runs_in_its_pod_from_the_pods_creation(
    run: Run, tmp_path: Path
) -> None:  # item 41
    cache = tmp_path / "cache"
    run.sb.kubelet.config = dataclasses.replace(run.sb.kubelet.config, step_seconds=1.0)
    await apply(run, build_manifest(run, "watched"), tmp_path)

    def shown_running() -> bool:
        return any(b.name == "watched" and b.status.pod_name for b in run.builds())

    await run.sb.wait_for(shown_running, what="the Build to show its pod")
    record = run.sb.kubelet.record(run.namespace, "watched-build-pod")
    assert record is not None
    assert not record.done, "the pod still runs"
    running = build(run, "watched")
    condition = running.status.condition("Succeeded")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == ("Unknown", None, None)
    assert condition.last_transition_time
    assert running.status.observed_generation == running.generation
    shown = await kubectl(
        run,
        "get",
        "build",
        "watched",
        "-n",
        run.namespace,
        "-o",
        "jsonpath={.status.podName} {.status.conditions[?(@.type=='Succeeded')].status}",
        cache=cache,
    )
    assert shown == "watched-build-pod Unknown"

    run.sb.kubelet.config = dataclasses.replace(run.sb.kubelet.config, step_seconds=0.05)
    [finished] = await run.wait_finished(1, what="the watched Build to finish")

    done = finished.status.condition("Succeeded")
    assert done is not None
    assert (done.status, done.reason) == ("True", "Completed")
    assert finished.status.pod_name == "watched-build-pod"
    assert finished.status.steps_completed == STEPS


async def test_a_running_builds_deleted_pod_is_made_again_and_a_finished_builds_is_not(
    run: Run, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    await apply(
        run, build_manifest(run, "restarted", annotations={failures.HOLD_AT_ANNOTATION: "build"}), tmp_path
    )
    first = await held(run, "restarted", step="build")
    await kubectl(
        run,
        "annotate",
        "build",
        "restarted",
        "-n",
        run.namespace,
        f"{failures.HOLD_AT_ANNOTATION}-",
        cache=cache,
    )

    await kubectl(
        run, "delete", "pod", "restarted-build-pod", "-n", run.namespace, "--wait=false", cache=cache
    )

    [finished] = await run.wait_finished(1, what="the Build to finish on a new pod")
    assert finished.succeeded(), finished.status.condition("Succeeded")
    second = pod(run, "restarted")
    assert second is not None
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert failures.HOLD_AT_ANNOTATION not in second["metadata"].get("annotations", {})

    await kubectl(run, "delete", "pod", "restarted-build-pod", "-n", run.namespace, cache=cache)
    await asyncio.sleep(2.0)  # a finished Build's pod is never made again

    assert pod(run, "restarted") is None
    assert build(run, "restarted").status == finished.status


async def test_a_build_applied_with_kubectl_whose_step_fails_ends_failed_with_the_steps_message(
    run: Run, tmp_path: Path
) -> None:
    notes = {failures.FAIL_AT_ANNOTATION: "detect", failures.FAIL_MESSAGE_ANNOTATION: "no buildpack matched"}
    await apply(run, build_manifest(run, "failing", annotations=notes), tmp_path)

    [finished] = await run.wait_finished(1, what="the failing Build to finish")

    failed = finished.status.condition("Succeeded")
    assert failed is not None
    assert (failed.status, failed.reason) == ("False", "Failed")
    assert (failed.message or "").startswith("Error: ")
    assert "no buildpack matched" in (failed.message or "")
    assert finished.status.steps_completed == ["prepare", "analyze"]
