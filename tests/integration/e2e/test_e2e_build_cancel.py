"""Canceling a running Build (Kiln's extension, kpack#245): ``kiln cancel BUILD``, or the
``kiln.dev/cancel: "true"`` annotation it sets, deletes the build pod and ends the Build
``Succeeded=False``, reason ``BuildCanceled``; the Build stays, and the Image's next build reads the
last good cache digest, as after a failure.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet,
whose build step of a chosen pod runs until the pod is deleted; ``kiln`` and ``kubectl`` run as a
user runs them, with the kubeconfig the sandbox prints.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from contracts import builds as build_models
from services.image_state import canceling
from services.testbed.kubelet import failures
from tests.integration.e2e.conftest import Run
from tests.integration.e2e.test_e2e_registry_cache import cache_image_args
from tests.integration.e2e.user_commands import KUBECTL, kiln, kubectl

pytestmark = pytest.mark.integration
CANCELED = ("False", build_models.CANCELED_REASON, canceling.MESSAGE)


def outcome(build: build_models.Build) -> tuple[str, str | None, str | None] | None:
    found = build.status.condition("Succeeded")
    return None if found is None else (found.status, found.reason, found.message)


def hold_build(number: str) -> failures.FailurePlan:
    """Build ``number``'s pod holds at its build step until it is deleted; the others run."""

    def plan(pod: dict[str, Any]) -> failures.Failure | None:
        held = pod["metadata"]["labels"].get(build_models.BUILD_NUMBER_LABEL) == number
        return failures.Failure("build", hold=True) if held else None

    return plan


async def holding(run: Run, pod: str) -> None:
    def at_build() -> bool:
        record = run.sb.kubelet.record(run.namespace, pod)
        return record is not None and any(s.name == "build" and s.exit_code is None for s in record.steps)

    await run.sb.wait_for(at_build, what=f"{pod} to hold at its build step")


def image_ready(run: Run) -> dict[str, Any]:
    status = (run.sb.emulator.get("images", run.name, run.namespace) or {}).get("status") or {}
    return next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})


async def test_kiln_cancel_ends_the_running_build_canceled_and_the_next_build_reads_the_last_good_cache(
    run: Run,
) -> None:
    run.sb.fail(hold_build("2"))
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    good = first.status.latest_cache_image
    assert good == f"{run.cache_tag}@{await run.sb.wiring.registry.resolve_digest(run.cache_tag)}"
    await run.sb.wait_for(lambda: image_ready(run).get("status") == "True", what="build 1 recorded")
    assert (await kiln(run, "trigger", run.name, "-n", run.namespace)).code == 0
    _, second = await run.wait_created(2)
    await holding(run, second.pod_name())

    done = await kiln(run, "cancel", second.name, "-n", run.namespace)

    assert (done.code, done.stderr) == (0, "")
    assert done.stdout == (
        f'"{second.name}" cancel requested: annotated with kiln.dev/cancel=true; '
        "it ends Succeeded=False, reason BuildCanceled, and its pod is deleted\n"
    )
    _, canceled = await run.wait_finished(2, what="build 2 to end canceled")
    assert outcome(canceled) == CANCELED
    assert canceled.status.steps_completed == ["prepare", "analyze", "detect", "restore"]
    assert canceled.status.pod_name == second.pod_name()
    assert not canceled.status.latest_cache_image
    await run.sb.wait_for(lambda: run.sb.pod(canceled) is None, what="build 2's pod to be deleted")
    record = run.sb.kubelet.record(run.namespace, second.pod_name())
    assert record is not None
    assert record.phase == "Deleted"
    ran = cache_image_args(reads=good, writes=run.cache_tag)
    del ran["export"]  # canceled while it built: export never started
    assert record.cache_args() == ran
    await run.sb.wait_for(lambda: image_ready(run).get("reason") == "BuildFailed", what="the Image to see it")
    assert image_ready(run)["message"] == (
        f"Error: Build '{second.name}' in namespace '{run.namespace}' failed: {canceling.MESSAGE}"
    )

    assert (await kiln(run, "trigger", run.name, "-n", run.namespace)).code == 0
    _, kept, third = await run.wait_finished(3, what="build 3, after the canceled one")

    assert outcome(kept) == CANCELED, "the canceled Build is kept as it ended"
    assert (third.reason(), third.build_number()) == ("TRIGGER", 3)
    assert third.spec.last_build is not None
    assert third.spec.last_build.cache.image == good
    assert run.sb.cache_args(third) == cache_image_args(reads=good, writes=run.cache_tag)
    assert third.succeeded(), third.status.condition("Succeeded")
    assert third.status.latest_cache_image not in ("", good)

    again = await kiln(run, "cancel", third.name, "-n", run.namespace)

    assert (again.code, again.stdout) == (1, "")
    assert again.stderr == (
        f'Build "{third.name}" in namespace "{run.namespace}" has already finished '
        "(Succeeded=True, reason Completed): there is nothing to cancel\n"
    )


def standalone(run: Run, name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {"name": name, "namespace": run.namespace, "annotations": annotations},
        "spec": {
            "tags": [run.tag],
            "builder": {"image": run.sb.builder_image},
            "source": {"git": {"url": "https://github.com/kiln-project/sample-go-app", "revision": "main"}},
        },
    }


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)")
async def test_the_cancel_annotation_set_with_kubectl_cancels_a_build_of_no_image_and_a_finished_one_ignores_it(
    run: Run, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    await run.sb.apply(standalone(run, "finished", {}))
    [finished] = await run.wait_finished(1)
    assert finished.succeeded(), finished.status.condition("Succeeded")
    await run.sb.apply(standalone(run, "to-cancel", {failures.HOLD_AT_ANNOTATION: "build"}))
    await holding(run, "to-cancel-build-pod")

    for name in ("to-cancel", "finished"):
        await kubectl(
            run, "annotate", "build", name, "-n", run.namespace, "kiln.dev/cancel=true", cache=cache
        )

    await run.sb.wait_for(
        lambda: outcome(build(run, "to-cancel")) == CANCELED, what="to-cancel to end canceled"
    )
    await run.sb.wait_for(
        lambda: pod(run, "to-cancel") is None, what="the canceled Build's pod to be deleted"
    )
    await asyncio.sleep(1.0)
    assert build(run, "finished").status == finished.status, "a finished Build ignores the annotation"
    assert pod(run, "finished") is not None, "and keeps its pod"


def build(run: Run, name: str) -> build_models.Build:
    return build_models.Build.model_validate(run.sb.emulator.get("builds", name, run.namespace) or {})


def pod(run: Run, name: str) -> dict[str, Any] | None:
    return run.sb.emulator.get("pods", f"{name}-build-pod", run.namespace)


async def test_a_build_created_canceled_never_gets_a_pod(run: Run) -> None:
    await run.sb.apply(standalone(run, "born-canceled", {build_models.CANCEL_ANNOTATION: "true"}))

    [build] = await run.wait_finished(1, what="the Build to end canceled")

    assert outcome(build) == CANCELED
    assert build.status.pod_name is None
    await asyncio.sleep(1.0)
    assert run.sb.pod(build) is None
