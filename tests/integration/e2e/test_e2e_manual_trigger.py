"""A manual trigger (``image.kpack.io/additionalBuildNeeded`` on an Image's newest Build, kpack spec
§5.4) builds again within seconds: the bridge sees the annotation on the Build and announces the
Image, where kpack's informer would enqueue it; nothing waits for the resync, which is set here far
beyond the test's length. ``kiln trigger`` sets the annotation as ``kp image trigger`` does, run as
a user runs it, with the kubeconfig the sandbox prints.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.kubelet import failures
from services.testbed.sandbox import harness
from tests.integration.e2e.conftest import BUILDER, REGISTRY, Run
from tests.integration.e2e.user_commands import kiln

pytestmark = pytest.mark.integration
RESYNC_SECONDS = 3600.0
"""The bridge's resync: no announcement in these tests can come from it."""
WITHIN_SECONDS = 10.0
"""How soon a trigger's build must exist (kpack's users waited up to the 5-minute resync in Kiln)."""


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    suffix = uuid.uuid4().hex[:10]
    async with harness.sandbox(
        registry_host=REGISTRY, step_seconds=0.05, resync_seconds=RESYNC_SECONDS
    ) as sb:
        await sb.add_builder(name=BUILDER)
        yield Run(sb=sb, namespace=f"trigger-{suffix}", name=f"app-{suffix}")


def ready(run: Run) -> tuple[str, str] | None:
    """The Image's Ready condition: status and reason."""
    status = (run.sb.emulator.get("images", run.name, run.namespace) or {}).get("status") or {}
    found = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    return None if found is None else (found.get("status", ""), found.get("reason", ""))


async def built_once(run: Run) -> build_models.Build:
    """Apply the registry-cache Image; its first Build once the Image shows it done."""
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)
    await run.sb.wait_for(lambda: ready(run) == ("True", "UpToDate"), what="the Image to be up to date")
    return first


def changes(build: build_models.Build) -> list[dict[str, Any]]:
    parsed: list[dict[str, Any]] = json.loads(build.annotations[build_models.CHANGES_ANNOTATION])
    return parsed


async def test_kiln_trigger_annotates_the_newest_build_and_a_trigger_build_follows_within_seconds(
    run: Run,
) -> None:
    first = await built_once(run)
    started = asyncio.get_running_loop().time()

    done = await kiln(run, "trigger", run.name, "-n", run.namespace)

    assert (done.code, done.stderr) == (0, "")
    assert done.stdout == (
        f'"{run.name}" triggered: annotated build {first.name} with {build_models.ADDITIONAL_BUILD_NEEDED_ANNOTATION}\n'
    )
    await run.wait_created(2, what="the TRIGGER build")
    elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < WITHIN_SECONDS, (
        f"the trigger took {elapsed:.1f} s (the resync is {RESYNC_SECONDS:.0f} s)"
    )
    first, second = await run.wait_finished(2)
    assert (second.reason(), second.build_number()) == ("TRIGGER", 2)
    [change] = changes(second)
    assert change["reason"] == "TRIGGER"
    assert change["new"].startswith("A new build was manually triggered on ")
    assert build_models.ADDITIONAL_BUILD_NEEDED_ANNOTATION in first.annotations
    assert second.succeeded(), second.status.condition("Succeeded")
    await asyncio.sleep(1.0)
    assert len(run.builds()) == 2, "the annotation stays on build 1, no longer the newest: it fires once"


async def test_a_trigger_on_a_running_build_builds_once_that_build_has_finished(run: Run) -> None:
    released = False

    def hold_build_one(pod: dict[str, Any]) -> failures.Failure | None:
        number = pod["metadata"]["labels"].get(build_models.BUILD_NUMBER_LABEL)
        return failures.Failure("build", hold=True) if number == "1" and not released else None

    run.sb.fail(hold_build_one)
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_created(1)
    await run.sb.wait_for(
        lambda: (
            (record := run.sb.kubelet.record(run.namespace, first.pod_name())) is not None
            and any(step.name == "build" for step in record.steps)
        ),
        what="build 1 to hold at its build step",
    )

    done = await kiln(run, "trigger", run.name, "-n", run.namespace)

    assert done.code == 0, done.stderr
    assert "still running, so the new build starts once it has finished" in done.stdout
    await asyncio.sleep(1.5)
    assert len(run.builds()) == 1, "nothing happens while the newest build runs"
    released = True
    await run.sb.wiring.cluster.delete_pod(
        run.namespace, first.pod_name(), uid=None
    )  # its pod, made anew, runs
    _, second = await run.wait_finished(2)
    assert second.reason() == "TRIGGER"


async def test_kiln_trigger_says_why_when_there_is_no_build(run: Run) -> None:
    absent = await kiln(run, "trigger", "absent", "-n", run.namespace)
    image = run.image("registry-cache")
    image["spec"]["builder"]["name"] = "no-such-builder"
    await run.sb.apply(image)
    await run.sb.wait_for(lambda: ready(run) is not None, what="the Image to be reconciled")
    unbuilt = await kiln(run, "trigger", run.name, "-n", run.namespace)

    assert (absent.code, absent.stdout) == (1, "")
    assert absent.stderr == f'Image "absent" in namespace "{run.namespace}" not found\n'
    assert (unbuilt.code, unbuilt.stdout) == (1, "")
    assert unbuilt.stderr == (
        f'no builds found for Image "{run.name}" in namespace "{run.namespace}": a trigger annotates '
        "the Image's newest Build, and its first build comes once its builder and source are ready\n"
    )
